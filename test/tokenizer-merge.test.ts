import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PairTable, NO_RANK } from '../src/tokenizer/pair-table.js';
import { mergeSymbols } from '../src/tokenizer/merge.js';
import { AddedTokenSplitter } from '../src/tokenizer/added-tokens.js';
import { WordCache } from '../src/tokenizer/word-cache.js';
import { prng } from './tokenizer-helpers.js';

/** Textbook BPE: merge the lowest-ranked adjacent pair, leftmost on ties, until none applies. */
function naiveMerge(table: PairTable, syms: number[]): number[] {
  const s = [...syms];
  for (;;) {
    let best = NO_RANK;
    let at = -1;
    for (let i = 0; i + 1 < s.length; i++) {
      const r = table.rank(s[i]!, s[i + 1]!);
      if (r < best) {
        best = r;
        at = i;
      }
    }
    if (at < 0) return s;
    s.splice(at, 2, table.mergedAt(table.find(s[at]!, s[at + 1]!)));
  }
}

test('PairTable: lookups, absent pairs, lower rank wins', () => {
  const t = new PairTable(3);
  t.set(1, 2, 5, 100);
  t.set(1, 2, 3, 101);
  t.set(2, 1, 9, 102);
  assert.equal(t.rank(1, 2), 3);
  assert.equal(t.mergedAt(t.find(1, 2)), 101);
  assert.equal(t.rank(2, 1), 9);
  assert.equal(t.rank(2, 2), NO_RANK);
  assert.equal(t.find(7, 7), -1);
  assert.equal(t.size, 2);
});

test('merge loop: small and heap paths equal textbook BPE, ties included', () => {
  const rnd = prng(5);
  for (let trial = 0; trial < 60; trial++) {
    // A small alphabet with random merges; ranks drawn from a narrow range to force ties.
    const table = new PairTable(400);
    let next = 10;
    for (let k = 0; k < 150; k++) {
      const a = Math.floor(rnd() * next);
      const b = Math.floor(rnd() * next);
      if (table.find(a, b) < 0) table.set(a, b, Math.floor(rnd() * 40), next++);
    }
    for (const len of [1, 2, 5, 40, 96, 97, 300, 2000]) {
      const syms = Array.from({ length: len }, () => Math.floor(rnd() * 10));
      const buf = Int32Array.from(syms);
      const n = mergeSymbols(table, buf, len);
      assert.deepEqual([...buf.subarray(0, n)], naiveMerge(table, syms), `trial ${trial}, length ${len}`);
    }
  }
});

test('added tokens: leftmost-longest matching and lstrip / rstrip / single_word', () => {
  const parts: string[] = [];
  const split = (s: AddedTokenSplitter, text: string): string[] => {
    parts.length = 0;
    s.split(text, (a, b) => parts.push(text.slice(a, b)), (id) => parts.push(`#${id}`));
    return [...parts];
  };
  const s = new AddedTokenSplitter([
    { id: 1, content: '<a>', special: true },
    { id: 2, content: '<a><b>', special: true },
    { id: 3, content: '[L]', special: true, lstrip: true },
    { id: 4, content: '[R]', special: true, rstrip: true },
    { id: 5, content: 'cat', special: false, singleWord: true },
  ]);
  assert.deepEqual(split(s, 'x<a><b>y<a>'), ['x', '#2', 'y', '#1']);
  assert.deepEqual(split(s, 'x  [L]  y'), ['x', '#3', '  y']);
  assert.deepEqual(split(s, 'x  [R]  y'), ['x  ', '#4', 'y']);
  assert.deepEqual(split(s, 'a cat concatenate cat'), ['a ', '#5', ' concatenate ', '#5']);
  assert.deepEqual(split(new AddedTokenSplitter([]), 'plain'), ['plain']);
});

test('word cache: hits by text range, distinct words, bounded by clearing', () => {
  const c = new WordCache(4);
  const text = 'hello world hello';
  const h = WordCache.hash(text, 0, 5);
  assert.equal(c.find(text, 0, 5, h), -1);
  c.insert('hello', h, Int32Array.of(7, 8), 2);
  const slot = c.find(text, 12, 17, WordCache.hash(text, 12, 17));
  assert.ok(slot >= 0);
  const out: number[] = [];
  c.emit(slot, out);
  assert.deepEqual(out, [7, 8]);
  assert.equal(c.find(text, 6, 11, WordCache.hash(text, 6, 11)), -1);
  for (let i = 0; i < 100; i++) c.insert(`w${i}`, WordCache.hash(`w${i}`, 0, `w${i}`.length), Int32Array.of(i), 1);
  const w = 'w99';
  const s99 = c.find(w, 0, 3, WordCache.hash(w, 0, 3));
  assert.ok(s99 >= 0);
  out.length = 0;
  c.emit(s99, out);
  assert.deepEqual(out, [99]);
});
