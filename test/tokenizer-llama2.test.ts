import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fixture, skipNoFixtures } from './fixtures.js';
import { loadTokenizer, tokenizerFromGGUFMetadata } from '../src/tokenizer/load.js';
import type { GGUFValue } from '../src/formats/types.js';
import { pbFields, pbFloat } from '../src/tokenizer/protobuf.js';
import type { Tokenizer } from '../src/tokenizer/types.js';
import { awkwardText, EXTRA_TEXTS, goldenCases, prng, type Llama2Case } from './tokenizer-helpers.js';

const DIR = fixture('tokenizers', 'llama2');

/** Pieces, scores and types of Llama 2's tokenizer.model, read with the protobuf reader. */
function modelPieces(): { pieces: string[]; scores: number[]; types: number[] } {
  const pieces: string[] = [];
  const scores: number[] = [];
  const types: number[] = [];
  for (const f of pbFields(new Uint8Array(readFileSync(join(DIR, 'tokenizer.model'))))) {
    if (f.field !== 1) continue;
    let piece = '';
    let score = 0;
    let type = 1;
    for (const g of pbFields(f.bytes)) {
      if (g.field === 1) piece = new TextDecoder('utf-8', { ignoreBOM: true }).decode(g.bytes);
      if (g.field === 2) score = pbFloat(g.bytes);
      if (g.field === 3) type = g.varint;
    }
    pieces.push(piece);
    scores.push(score);
    types.push(type);
  }
  return { pieces, scores, types };
}

/** llama2.c's tokenizer.bin, written the way its tokenizer.py exports tokenizer.model. */
function writeLlama2cTokenizer(path: string): void {
  const model = modelPieces();
  const scores = model.scores;
  const pieces = model.pieces.map((p) => (p === '<s>' ? '\n<s>\n' : p === '</s>' ? '\n</s>\n' : p.replaceAll('\u2581', ' ')));
  const bytes = pieces.map((p) => Buffer.from(p, 'utf8'));
  const maxLen = Math.max(...bytes.map((b) => b.length));
  const parts: Buffer[] = [Buffer.from(new Int32Array([maxLen]).buffer)];
  bytes.forEach((b, i) => {
    const head = Buffer.alloc(8);
    head.writeFloatLE(scores[i]!, 0);
    head.writeInt32LE(b.length, 4);
    parts.push(head, b);
  });
  writeFileSync(path, Buffer.concat(parts));
}

type Source = 'json' | 'model' | 'bin' | 'gguf';
let cache: Promise<Record<Source, Tokenizer>> | undefined;
const tokenizers = (): Promise<Record<Source, Tokenizer>> =>
  (cache ??= (async () => {
    const tmp = mkdtempSync(join(tmpdir(), 'llama-ts-l2c-'));
    try {
      writeLlama2cTokenizer(join(tmp, 'tokenizer.bin'));
      return {
        json: await loadTokenizer(join(DIR, 'tokenizer.json')),
        model: await loadTokenizer(join(DIR, 'tokenizer.model')),
        bin: await loadTokenizer(join(tmp, 'tokenizer.bin')),
        gguf: ggufLlama2(),
      };
    } finally {
      rmSync(tmp, { recursive: true, force: true });
    }
  })());

/** The metadata llama.cpp's converter writes for Llama 2 (model "llama": tokens, scores, types). */
function ggufLlama2(): Tokenizer {
  const { pieces, scores, types } = modelPieces();
  const meta = new Map<string, GGUFValue>([
    ['tokenizer.ggml.model', 'llama'],
    ['tokenizer.ggml.pre', 'default'],
    ['tokenizer.ggml.tokens', pieces],
    ['tokenizer.ggml.scores', scores],
    ['tokenizer.ggml.token_type', types],
    ['tokenizer.ggml.bos_token_id', 1],
    ['tokenizer.ggml.eos_token_id', 2],
    ['tokenizer.ggml.unknown_token_id', 0],
    ['tokenizer.ggml.add_bos_token', true],
  ]);
  return tokenizerFromGGUFMetadata(meta);
}

const NAMES: Record<Source, string> = {
  json: 'tokenizer.json',
  model: 'tokenizer.model (SentencePiece protobuf)',
  bin: 'llama2.c tokenizer.bin',
  gguf: 'GGUF metadata (model "llama")',
};

for (const source of ['json', 'model', 'bin', 'gguf'] as const) {
  test(`llama2 from ${NAMES[source]}: every golden case byte-exact`, { skip: skipNoFixtures }, async () => {
    const tok = (await tokenizers())[source];
    assert.equal(tok.kind, 'spm');
    assert.equal(tok.vocabSize, 32000);
    assert.equal(tok.bosId, 1);
    assert.deepEqual(tok.eosIds, [2]);
    assert.ok(tok.addBosByDefault);
    for (const c of goldenCases<Llama2Case>('llama2')) {
      const what = JSON.stringify(c.text);
      assert.deepEqual(tok.encode(c.text, { addBos: false, specials: 'parse' }), c.ids, `ids of ${what}`);
      assert.deepEqual(tok.encode(c.text, { specials: 'parse' }), c.ids_with_special, `ids_with_special of ${what}`);
      assert.deepEqual(tok.encode(c.text), c.ids_with_special, `plain ids of ${what}`);
      assert.deepEqual(c.ids.map((id) => tok.idToPiece(id)), c.pieces, `pieces of ${what}`);
      assert.equal(tok.decode(c.ids), c.decoded, `decode of ${what}`);
    }
  });
}

test('llama2: the three loaders agree on extra and random text, and round-trip it', { skip: skipNoFixtures }, async () => {
  const { json, model, bin, gguf } = await tokenizers();
  const rnd = prng(11);
  const texts = [...EXTRA_TEXTS, ...Array.from({ length: 400 }, () => awkwardText(rnd)), ...Array.from({ length: 10 }, () => awkwardText(rnd, undefined, 300))];
  for (const t of texts) {
    const ids = json.encode(t, { addBos: false });
    assert.deepEqual(model.encode(t, { addBos: false }), ids, `tokenizer.model vs json on ${JSON.stringify(t)}`);
    assert.deepEqual(bin.encode(t, { addBos: false }), ids, `tokenizer.bin vs json on ${JSON.stringify(t)}`);
    assert.deepEqual(gguf.encode(t, { addBos: false }), ids, `GGUF vs json on ${JSON.stringify(t)}`);
    // A literal "▁" is SentencePiece's space marker and comes back as a space.
    if (!t.includes('\u2581')) assert.equal(json.decode(ids), t.replace(/\p{Cs}/gu, '\uFFFD'), `round trip of ${JSON.stringify(t)}`);
    assert.equal(model.decode(ids), json.decode(ids));
  }
});

test('llama2: byte fallback, dummy prefix, specials and HF decode details', { skip: skipNoFixtures }, async () => {
  const { json: tok } = await tokenizers();
  // U+1F642 is not a piece: four byte tokens <0xF0><0x9F><0x99><0x82>.
  const ids = tok.encode('🙂', { addBos: false });
  assert.deepEqual(ids.map((id) => tok.idToPiece(id)), ['▁', '<0xF0>', '<0x9F>', '<0x99>', '<0x82>']);
  assert.equal(tok.decode(ids), '🙂');
  // An incomplete byte run decodes to one U+FFFD per byte (HF ByteFallback).
  assert.equal(tok.decode(ids.slice(0, 3)), '\uFFFD\uFFFD');
  // Special tokens: plain text by default; parsed on request, each text segment gets its own ▁ prefix.
  assert.ok(!tok.encode('a</s>b', { addBos: false }).includes(2));
  assert.deepEqual(tok.encode('Hello</s>', { addBos: false, specials: 'parse' }), [15043, 2]);
  assert.equal(tok.decode([1, 15043, 2]), '<s> Hello</s>');
  assert.equal(tok.decode([1, 15043, 2], { skipSpecial: true }), 'Hello');
  assert.equal(tok.decode([15043, 3186]), 'Hello world');
  assert.deepEqual(tok.encode('', { addBos: false }), []);
});

test('llama2: the tiny models’ dummy SentencePiece vocabulary loads from GGUF and round-trips', { skip: skipNoFixtures }, async () => {
  const tok = await loadTokenizer(fixture('models', 'tiny-llama2', 'tiny-llama2.f32.gguf'));
  assert.equal(tok.kind, 'spm');
  assert.equal(tok.vocabSize, 1024);
  assert.equal(tok.bosId, 1);
  // Letters are pieces (with and without ▁, but "▁" alone is not one: it still merges, as in
  // SentencePiece and llama.cpp); digits and ✓ fall back to bytes.
  const text = 'a quick test of the dummy vocabulary abc123✓';
  const ids = tok.encode(text);
  assert.equal(ids[0], 1);
  assert.equal(tok.decode(ids.slice(1)), text);
  assert.ok(ids.includes(tok.pieceToId('▁a')!));
  assert.ok(ids.includes(tok.pieceToId('<0xE2>')!));
});
