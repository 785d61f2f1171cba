import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fixture, skipNoFixtures } from './fixtures.js';
import { loadTokenizer } from '../src/tokenizer/load.js';
import { StreamDecoder, completeUtf8Prefix } from '../src/tokenizer/stream.js';
import type { Tokenizer } from '../src/tokenizer/types.js';
import { awkwardText, prng } from './tokenizer-helpers.js';

/** Pushes ids one by one; every chunk must be free of split characters; returns the chunks. */
function stream(tok: Tokenizer, ids: readonly number[], options = {}): string[] {
  const d = new StreamDecoder(tok, options);
  const chunks = ids.map((id) => d.push(id));
  chunks.push(d.flush());
  for (const c of chunks.slice(0, -1)) {
    assert.ok(!/\p{Cs}/u.test(c), `chunk ${JSON.stringify(c)} holds half a surrogate pair`);
  }
  return chunks;
}

test('completeUtf8Prefix: holds back only a sequence the next bytes can still complete', () => {
  const b = (...xs: number[]): Uint8Array => Uint8Array.from(xs);
  assert.equal(completeUtf8Prefix(b(0x61, 0xe4, 0xbd), 3), 1);
  assert.equal(completeUtf8Prefix(b(0xe4, 0xbd, 0xa0), 3), 3);
  assert.equal(completeUtf8Prefix(b(0xf0, 0x9f, 0x98), 3), 0);
  assert.equal(completeUtf8Prefix(b(0x61, 0x80), 2), 2, 'a stray continuation byte is already invalid');
  assert.equal(completeUtf8Prefix(b(0xe0, 0x80), 2), 2, 'E0 80 can never become valid');
  assert.equal(completeUtf8Prefix(b(0xff), 1), 1);
  assert.equal(completeUtf8Prefix(b(0x61, 0xc3), 2), 1);
});

for (const [name, path] of [
  ['llama3 (byte-level BPE)', fixture('tokenizers', 'llama3.1')],
  ['llama2 (SentencePiece, byte fallback)', fixture('tokenizers', 'llama2', 'tokenizer.model')],
] as const) {
  test(`StreamDecoder ${name}: only whole characters, and the chunks concatenate to decode()`, { skip: skipNoFixtures }, async () => {
    const tok = await loadTokenizer(path);
    const rnd = prng(3);
    const texts = ['emoji 😀😃 👨‍👩‍👧 🇫🇷 done', '你好，世界！', 'Ünïcödé', '\u{1F642}\u{1F642}x'];
    for (let i = 0; i < 200; i++) texts.push(awkwardText(rnd));
    for (const t of texts) {
      const ids = tok.encode(t, { addBos: true, specials: 'parse' });
      for (const options of [{}, { skipSpecial: true }]) {
        const chunks = stream(tok, ids, options);
        assert.equal(chunks.join(''), tok.decode(ids, options), JSON.stringify(t));
      }
    }
    // Arbitrary id sequences, including byte tokens in any order (invalid UTF-8).
    for (let i = 0; i < 200; i++) {
      const ids = Array.from({ length: 1 + Math.floor(rnd() * 20) }, () => (rnd() < 0.5 ? 3 + Math.floor(rnd() * 300) : Math.floor(rnd() * tok.vocabSize)));
      assert.equal(stream(tok, ids).join(''), tok.decode(ids), JSON.stringify(ids));
    }
  });
}

test('StreamDecoder: a character split over byte tokens appears once it is complete', { skip: skipNoFixtures }, async () => {
  const l2 = await loadTokenizer(fixture('tokenizers', 'llama2', 'tokenizer.json'));
  const ids = l2.encode('a🙂b', { addBos: false });
  // ▁a, <0xF0>, <0x9F>, <0x99>, <0x82>, b
  assert.deepEqual(stream(l2, ids), ['a', '', '', '', '', '🙂b', '']);
  const l3 = await loadTokenizer(fixture('tokenizers', 'llama3.1'));
  const e = l3.encode('😀', { addBos: false });
  assert.ok(e.length > 1, 'the emoji spans several byte-level tokens');
  const chunks = stream(l3, e);
  assert.deepEqual(chunks.filter((c) => c !== ''), ['😀']);
});

test('StreamDecoder: works with any Tokenizer implementation through tokenBytes()', () => {
  const bytes = [Uint8Array.of(0x68, 0x69), Uint8Array.of(0xe2, 0x82), Uint8Array.of(0xac), Uint8Array.of(0x3c, 0x3e)];
  const fake: Tokenizer = {
    kind: 'bpe',
    vocabSize: 4,
    bosId: undefined,
    eosIds: [],
    addBosByDefault: false,
    encode: () => [],
    decode: (ids) => new TextDecoder().decode(Buffer.concat(ids.map((i) => bytes[i]!))),
    tokenBytes: (id) => bytes[id]!,
    idToPiece: (id) => String(id),
    pieceToId: () => undefined,
    isSpecial: (id) => id === 3,
    specialId: () => undefined,
  };
  assert.deepEqual(stream(fake, [0, 1, 2, 3]), ['hi', '', '€', '<>', '']);
  assert.deepEqual(stream(fake, [0, 1, 2, 3], { skipSpecial: true }), ['hi', '', '€', '', '']);
  assert.deepEqual(stream(fake, [1]), ['', '\uFFFD']);
});
