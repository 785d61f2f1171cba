import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { compileJsonSchema, compileGrammar, applyMask, type Constraint, type ConstraintState } from '../src/generate/constrain/index.js';
import { loadTokenizer } from '../src/tokenizer/load.js';
import type { Tokenizer } from '../src/tokenizer/types.js';
import { fixture, skipNoFixtures, HAVE_FIXTURES } from './fixtures.js';
import { byteTokenizer } from './helpers/constrain-tokenizer.js';
import { JSON_GBNF } from './constrain-gbnf-grammars.js';

/** Deterministic xorshift so failures reproduce. */
function rng(seed: number): () => number {
  let s = seed >>> 0 || 1;
  return () => {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    return (s >>> 0) / 4294967296;
  };
}

const SCHEMA = {
  type: 'object',
  properties: {
    name: { type: 'string', maxLength: 12 },
    age: { type: 'integer', minimum: 0, maximum: 150 },
    tags: { type: 'array', items: { type: 'string', pattern: '^[a-z]+$' }, maxItems: 3 },
    kind: { enum: ['a', 'b', 'cé'] },
    score: { type: 'number' },
  },
  required: ['name'],
};

/** Check mask() against allows() for every id at `steps` random states; returns states visited. */
function checkRandomStates(tok: Tokenizer, c: Constraint, seed: number, steps: number): number {
  const r = rng(seed);
  let st: ConstraintState = c.start();
  let visited = 0;
  for (let k = 0; k < steps; k++) {
    const m = st.mask();
    const allowed: number[] = [];
    for (let id = 0; id < tok.vocabSize; id++) {
      const bit = ((m[id >>> 5]! >>> (id & 31)) & 1) === 1;
      const a = st.allows(id);
      if (bit !== a) assert.fail(`seed ${seed} step ${k}: token ${id} ${JSON.stringify(tok.idToPiece(id))}: mask ${bit}, allows ${a}`);
      if (a) allowed.push(id);
    }
    visited++;
    if (allowed.length === 0 || (st.canFinish() && r() < 0.2)) {
      assert.equal(st.canFinish(), true, 'a state with no allowed token must be finishable');
      st = c.start();
      continue;
    }
    st.advance(allowed[Math.floor(r() * allowed.length)]!);
  }
  return visited;
}

const SCHEMA2 = {
  type: 'object',
  properties: { id: { type: 'integer', minimum: -20, maximum: 20, multipleOf: 3 }, x: { type: 'number', exclusiveMinimum: -1, maximum: 2 } },
  patternProperties: { '^p_': { type: 'boolean' } },
  additionalProperties: { type: 'array', items: { type: ['null', 'string'], format: 'date' }, minItems: 1 },
  minProperties: 1,
  maxProperties: 4,
};

test('mask() equals allows() on random states (byte tokenizer)', () => {
  const tok = byteTokenizer();
  checkRandomStates(tok, compileJsonSchema(SCHEMA, tok), 1, 300);
  checkRandomStates(tok, compileJsonSchema(SCHEMA2, tok), 3, 300);
  checkRandomStates(tok, compileJsonSchema(SCHEMA2, tok, { whitespace: 'compact' }), 4, 200);
  checkRandomStates(tok, compileGrammar(JSON_GBNF, tok), 2, 300);
});

let llama: Tokenizer;
before(async () => {
  if (HAVE_FIXTURES) llama = await loadTokenizer(fixture('tokenizers', 'llama3.1'));
});

test('mask() equals allows() over the whole Llama 3 vocabulary on random states', { skip: skipNoFixtures }, () => {
  const n = checkRandomStates(llama, compileJsonSchema(SCHEMA, llama), 7, 40) + checkRandomStates(llama, compileJsonSchema(SCHEMA2, llama), 9, 30) +
    checkRandomStates(llama, compileGrammar(JSON_GBNF, llama), 8, 20);
  assert.ok(n >= 90);
});

test('applyMask: -Infinity exactly where the mask is clear; EOS only when finishable', () => {
  const tok = byteTokenizer();
  const c = compileJsonSchema({ type: 'integer' }, tok);
  const st = c.start();
  const eos = tok.eosIds[0]!;
  const logits = new Float32Array(tok.vocabSize).fill(1);
  applyMask(logits, st, tok.eosIds);
  for (let id = 0; id < tok.vocabSize; id++) assert.equal(logits[id] === 1, st.allows(id), `id ${id}`);
  assert.equal(logits[eos], -Infinity);
  st.advance(tok.encode('7')[0]!);
  const l2 = new Float32Array(tok.vocabSize).fill(2);
  applyMask(l2, st, tok.eosIds);
  assert.equal(l2[eos], 2, 'EOS keeps its score once the value is complete');
  assert.equal(l2[tok.encode('8')[0]!], 2);
  assert.equal(l2[tok.encode('x')[0]!], -Infinity);
});
