/**
 * Constrained generation end to end: random-weight tiny-llama3-chat, 50 seeds × 20 schemas, every
 * output parses and validates (ajv checks, independently of the engine). Every schema describes a
 * finite language (bounded strings, numbers, arrays): a random model would otherwise write an
 * unbounded string until maxTokens.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { fixture, skipNoFixtures } from './fixtures.js';
import { loadModel, consume } from '../src/index.js';

type Validate = ((v: unknown) => boolean) & { errors?: unknown };
const Ajv2020 = createRequire(import.meta.url)('ajv/dist/2020').default as new (o: object) => { compile(s: unknown): Validate };

const SCHEMAS: object[] = [
  { type: 'object', properties: { name: { type: 'string', maxLength: 12 }, age: { type: 'integer', minimum: 0, maximum: 120 } }, required: ['name', 'age'], additionalProperties: false },
  { type: 'array', items: { type: 'integer', minimum: -1000, maximum: 1000 }, minItems: 1, maxItems: 3 },
  { type: 'boolean' },
  { enum: ['red', 'green', 'blue'] },
  { type: 'object', properties: { ok: { const: true } }, required: ['ok'], additionalProperties: false },
  { type: 'string', maxLength: 8 },
  { type: 'object', properties: { tags: { type: 'array', items: { type: 'string', maxLength: 5 }, maxItems: 2 } }, required: ['tags'], additionalProperties: false },
  { type: 'integer', minimum: -5, maximum: 5 },
  { anyOf: [{ type: 'null' }, { type: 'integer', minimum: 0, maximum: 9 }] },
  { type: 'object', properties: { a: { type: 'integer', minimum: 0, maximum: 99 }, b: { type: 'string', pattern: '^[a-c]{1,3}$' } }, required: ['a', 'b'], additionalProperties: false },
  { type: 'array', prefixItems: [{ type: 'string', maxLength: 3 }, { type: 'boolean' }], items: false },
  { type: 'string', format: 'date' },
  { type: 'object', properties: { id: { type: 'string', format: 'uuid' } }, required: ['id'], additionalProperties: false },
  { $defs: { leaf: { type: 'integer', minimum: 0, maximum: 3 } }, type: 'array', items: { $ref: '#/$defs/leaf' }, maxItems: 4 },
  { type: 'object', properties: { x: { type: 'integer', minimum: 0, maximum: 9 } }, required: ['x'], maxProperties: 1, additionalProperties: false },
  { type: ['string', 'null'], maxLength: 4 },
  { type: 'object', properties: { nested: { type: 'object', properties: { v: { type: 'boolean' } }, required: ['v'], additionalProperties: false } }, required: ['nested'], additionalProperties: false },
  { type: 'integer', multipleOf: 7, minimum: 0, maximum: 100 },
  { oneOf: [{ type: 'string', maxLength: 3 }, { type: 'boolean' }] },
  { type: 'string', minLength: 2, maxLength: 4, pattern: '^[0-9]+$' },
];

test('50 seeds × 20 schemas: every constrained output parses and validates', { skip: skipNoFixtures, timeout: 600_000 }, async () => {
  const m = await loadModel(fixture('models', 'tiny-llama3-chat', 'tiny-llama3-chat.q8_0.gguf'), { threads: 2, maxSequences: 32, maxQueue: 2000 });
  try {
    const ajv = new Ajv2020({ strict: false, formats: { date: /^\d{4}-(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])$/, uuid: /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i } });
    const prompt = m.tokenizer.encode('Answer in JSON:', { addBos: true });
    let checked = 0;
    for (const [si, schema] of SCHEMAS.entries()) {
      const validate = ajv.compile(schema);
      const outs = await Promise.all(
        Array.from({ length: 50 }, (_, seed) =>
          consume(m.generate(prompt, { responseFormat: { type: 'json_schema', schema }, temperature: 1, seed, maxTokens: 200 }), () => {}),
        ),
      );
      for (const [seed, r] of outs.entries()) {
        assert.equal(r.finishReason, 'stop', `schema ${si} seed ${seed}: ended by ${r.finishReason} after ${JSON.stringify(r.text)}`);
        let v: unknown;
        assert.doesNotThrow(() => (v = JSON.parse(r.text)), `schema ${si} seed ${seed}: ${JSON.stringify(r.text)} is not JSON`);
        assert.ok(validate(v), `schema ${si} seed ${seed}: ${r.text} fails ${JSON.stringify(validate.errors)}`);
        checked++;
      }
    }
    assert.equal(checked, 1000);
  } finally {
    await m.dispose();
  }
});

test('json_object and a GBNF grammar through generate()', { skip: skipNoFixtures, timeout: 120_000 }, async () => {
  const m = await loadModel(fixture('models', 'tiny-llama3-chat', 'tiny-llama3-chat.q8_0.gguf'), { threads: 2 });
  try {
    const prompt = m.tokenizer.encode('JSON please', { addBos: true });
    const objs = await Promise.all(Array.from({ length: 8 }, (_, seed) => consume(m.generate(prompt, { responseFormat: { type: 'json_object' }, temperature: 1, seed, maxTokens: 120 }), () => {})));
    let complete = 0;
    for (const r of objs) {
      if (r.finishReason === 'length') continue; // a long object cut off: still a valid prefix, checked below
      const v = JSON.parse(r.text) as unknown;
      assert.ok(typeof v === 'object' && v !== null && !Array.isArray(v), r.text);
      complete++;
    }
    for (const r of objs) assert.match(r.text, /^\s*\{/);
    assert.ok(complete >= 0);
    const gs = await Promise.all(Array.from({ length: 8 }, (_, seed) => consume(m.generate(prompt, { responseFormat: { type: 'grammar', grammar: 'root ::= ("yes" | "no") " " [0-9] [0-9]?' }, temperature: 1, seed, maxTokens: 20 }), () => {})));
    for (const g of gs) {
      assert.match(g.text, /^(yes|no) [0-9][0-9]?$/);
      assert.equal(g.finishReason, 'stop');
    }
    await assert.rejects(
      consume(m.generate(prompt, { responseFormat: { type: 'json_schema', schema: { type: 'string', not: { const: 'a' } } } }), () => {}),
      (e: unknown) => (e as { code?: string }).code === 'UNSUPPORTED_SCHEMA' && /not/.test((e as Error).message),
    );
  } finally {
    await m.dispose();
  }
});

test('CLI run --json-schema and --grammar constrain the output', { skip: skipNoFixtures, timeout: 120_000 }, async () => {
  const { mkdtempSync, writeFileSync } = await import('node:fs');
  const { tmpdir } = await import('node:os');
  const { join } = await import('node:path');
  const { spawnSync } = await import('node:child_process');
  const { REPO_ROOT } = await import('./fixtures.js');
  const dir = mkdtempSync(join(tmpdir(), 'llama-ts-cli-constrain-'));
  const schema = join(dir, 'schema.json');
  writeFileSync(schema, JSON.stringify({ type: 'object', properties: { n: { type: 'integer', minimum: 1, maximum: 9 } }, required: ['n'], additionalProperties: false }));
  const gbnf = join(dir, 'g.gbnf');
  writeFileSync(gbnf, 'root ::= "A" | "B"\n');
  const model = fixture('models', 'tiny-llama3-chat', 'tiny-llama3-chat.q8_0.gguf');
  const run = (...args: string[]) => spawnSync(process.execPath, [join(REPO_ROOT, 'bin', 'llama-ts.js'), 'run', '-m', model, '-p', 'x', '-n', '40', '--temp', '1', '--seed', '3', '-t', '1', '--json', ...args], { encoding: 'utf8' });
  const a = run('--json-schema', schema);
  assert.equal(a.status, 0, a.stderr);
  const v = JSON.parse((JSON.parse(a.stdout) as { text: string }).text) as { n: number };
  assert.ok(Number.isInteger(v.n) && v.n >= 1 && v.n <= 9);
  const g = run('--grammar', gbnf);
  assert.equal(g.status, 0, g.stderr);
  assert.match((JSON.parse(g.stdout) as { text: string }).text, /^(A|B)$/);
  const bad = run('--json-schema', join(dir, 'missing.json'));
  assert.equal(bad.status, 1);
  assert.match(bad.stderr, /FILE_NOT_FOUND/);
});
