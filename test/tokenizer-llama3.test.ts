import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fixture, skipNoFixtures } from './fixtures.js';
import { loadTokenizer } from '../src/tokenizer/load.js';
import { byteLevelToBytes } from '../src/tokenizer/byte-level.js';
import type { Tokenizer } from '../src/tokenizer/types.js';
import { awkwardText, EXTRA_TEXTS, goldenCases, prng, type Llama3Case } from './tokenizer-helpers.js';

const JSON_DIR = fixture('tokenizers', 'llama3.1');
const GGUF = fixture('models', 'tiny-llama3-chat', 'tiny-llama3-chat.q8_0.gguf');

let jsonTok: Promise<Tokenizer> | undefined;
const fromJson = (): Promise<Tokenizer> => (jsonTok ??= loadTokenizer(JSON_DIR));
let ggufTok: Promise<Tokenizer> | undefined;
const fromGguf = (): Promise<Tokenizer> => (ggufTok ??= loadTokenizer(GGUF));

/** Meta's tiktoken tokenizer.model, written from the tokenizer.json vocabulary (ranks = ids). */
let tiktokenTok: Promise<Tokenizer> | undefined;
const fromTiktoken = (): Promise<Tokenizer> =>
  (tiktokenTok ??= (async () => {
    const vocab = (JSON.parse(readFileSync(join(JSON_DIR, 'tokenizer.json'), 'utf8')) as { model: { vocab: Record<string, number> } }).model.vocab;
    const lines: string[] = [];
    for (const [piece, id] of Object.entries(vocab)) lines[id] = `${Buffer.from(byteLevelToBytes(piece)!).toString('base64')} ${id}`;
    const dir = mkdtempSync(join(tmpdir(), 'llama-ts-tiktoken-'));
    try {
      writeFileSync(join(dir, 'tokenizer.model'), lines.join('\n') + '\n');
      return await loadTokenizer(join(dir, 'tokenizer.model'));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  })());

function checkGoldens(tok: Tokenizer, cases: Llama3Case[], exactSpecialNames: boolean): void {
  for (const c of cases) {
    const what = JSON.stringify(c.text);
    assert.deepEqual(tok.encode(c.text, { addBos: false, specials: 'parse' }), c.ids, `ids of ${what}`);
    assert.deepEqual(tok.encode(c.text, { specials: 'parse' }), c.ids_with_special, `ids_with_special of ${what}`);
    assert.equal(tok.decode(c.ids), c.decoded, `decode of ${what}`);
    assert.equal(tok.decode(tok.encode(c.text, { addBos: false })), c.text, `plain round trip of ${what}`);
    if (exactSpecialNames) {
      assert.equal(tok.decode(c.ids_with_special), c.decoded_with_special, `decode with specials of ${what}`);
      assert.deepEqual(c.ids.map((id) => tok.idToPiece(id)), c.tokens, `pieces of ${what}`);
    }
  }
}

test('llama3 from tokenizer.json: every golden case byte-exact', { skip: skipNoFixtures }, async () => {
  const tok = await fromJson();
  assert.equal(tok.kind, 'bpe');
  assert.equal(tok.vocabSize, 128256);
  assert.equal(tok.bosId, 128000);
  assert.ok(tok.addBosByDefault);
  assert.ok(tok.eosIds.includes(128009) && tok.eosIds.includes(128001));
  checkGoldens(tok, goldenCases<Llama3Case>('llama3.1'), true);
});

test('llama3 from GGUF metadata: every golden case byte-exact, 3.1 special names', { skip: skipNoFixtures }, async () => {
  const tok = await fromGguf();
  checkGoldens(tok, goldenCases<Llama3Case>('llama3.1'), false);
  assert.equal(tok.specialId('<|eom_id|>'), 128008);
  assert.equal(tok.specialId('<|python_tag|>'), 128010);
  assert.equal(tok.specialId('<|eot_id|>'), 128009);
  assert.deepEqual([...tok.eosIds].sort(), [128001, 128008, 128009]);
  assert.equal(tok.decode([128000, 9906, 128009]), '<|begin_of_text|>Hello<|eot_id|>');
  assert.equal(tok.decode([128000, 9906, 128009], { skipSpecial: true }), 'Hello');
});

test("llama3 from Meta's tiktoken tokenizer.model: goldens byte-exact, Meta's special names", { skip: skipNoFixtures }, async () => {
  const tok = await fromTiktoken();
  checkGoldens(tok, goldenCases<Llama3Case>('llama3.1'), false);
  assert.equal(tok.specialId('<|begin_of_text|>'), 128000);
  assert.equal(tok.specialId('<|finetune_right_pad_id|>'), 128004);
  assert.equal(tok.specialId('<|reserved_special_token_2|>'), 128005);
  assert.equal(tok.specialId('<|python_tag|>'), 128010);
  assert.equal(tok.specialId('<|reserved_special_token_3|>'), 128011);
  assert.equal(tok.specialId('<|reserved_special_token_247|>'), 128255);
});

test('llama3: json, GGUF and tiktoken loaders agree on extra and random text', { skip: skipNoFixtures }, async () => {
  const [a, b, c] = await Promise.all([fromJson(), fromGguf(), fromTiktoken()]);
  const rnd = prng(7);
  const texts = [...EXTRA_TEXTS];
  for (let i = 0; i < 400; i++) texts.push(awkwardText(rnd));
  for (let i = 0; i < 20; i++) texts.push(awkwardText(rnd, undefined, 400));
  for (const t of texts) {
    const ids = a.encode(t, { addBos: false });
    assert.deepEqual(b.encode(t, { addBos: false }), ids, `GGUF vs json on ${JSON.stringify(t)}`);
    assert.deepEqual(c.encode(t, { addBos: false }), ids, `tiktoken vs json on ${JSON.stringify(t)}`);
    // Specials common to all three files parse identically.
    const withSpecials = `<|start_header_id|>user<|end_header_id|>\n\n${t}<|eot_id|>`;
    const parsed = a.encode(withSpecials, { specials: 'parse' });
    assert.deepEqual(b.encode(withSpecials, { specials: 'parse' }), parsed);
    assert.deepEqual(c.encode(withSpecials, { specials: 'parse' }), parsed);
    assert.equal(a.decode(ids), t.replace(/\p{Cs}/gu, '\uFFFD'), `round trip of ${JSON.stringify(t)}`);
  }
});

test('llama3: special-token text is plain unless specials are parsed', { skip: skipNoFixtures }, async () => {
  const tok = await fromJson();
  const text = 'a<|eot_id|>b';
  const plain = tok.encode(text, { addBos: false });
  const parsed = tok.encode(text, { addBos: false, specials: 'parse' });
  assert.ok(!plain.includes(128009));
  assert.deepEqual(parsed, [64, 128009, 65]);
  assert.equal(tok.decode(plain), text);
  assert.equal(tok.decode(parsed), text);
  assert.deepEqual(tok.encode('', { addBos: true }), [128000]);
  assert.deepEqual(tok.encode('x', { addBos: false }), [87]);
});

test('llama3: decode is lossless by default; cleanUpSpaces reproduces HF clean_up_tokenization', { skip: skipNoFixtures }, async () => {
  const tok = await fromJson();
  const text = "Hello , world . I 'm here ? yes !";
  const ids = tok.encode(text, { addBos: false });
  assert.equal(tok.decode(ids), text);
  assert.equal(tok.decode(ids, { cleanUpSpaces: true }), "Hello, world. I'm here? yes!");
  assert.throws(() => tok.decode([128256]), { code: 'TOKENIZER_ERROR' });
});

test('llama3: long inputs (heap merge path) and a large mixed text', { skip: skipNoFixtures }, async () => {
  const tok = await fromJson();
  // A 3000-letter word and a 20k-char CJK run exercise the heap merge; pieces must reassemble.
  const rnd = prng(99);
  const letters = Array.from({ length: 3000 }, () => 'abcdefghijklmnopqrstuvwxyz'[Math.floor(rnd() * 26)]).join('');
  const cjk = Array.from({ length: 20000 }, () => String.fromCharCode(0x4e00 + Math.floor(rnd() * 2000))).join('');
  for (const t of [letters, cjk, letters + ' ' + cjk]) {
    const ids = tok.encode(t, { addBos: false });
    assert.equal(tok.decode(ids), t);
    // The token bytes concatenate to the text's UTF-8, and merging really happened.
    const bytes = Buffer.concat(ids.map((id) => tok.tokenBytes(id)));
    assert.ok(bytes.equals(Buffer.from(t, 'utf8')));
    assert.ok(ids.length < bytes.length / 1.5, `${ids.length} tokens for ${bytes.length} bytes`);
  }
});
