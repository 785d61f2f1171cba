import { test } from 'node:test';
import assert from 'node:assert/strict';
import { keyId, rankKey, selectSmallest } from '../src/generate/rank.js';
import { Sampler } from '../src/generate/sampler.js';
import { Rng } from '../src/generate/rng.js';

/** The order the sampler always used: logit descending, then id ascending. */
const byRank = (l: Float32Array) => (a: number, b: number): number => l[b]! - l[a]! || a - b;

function randomRow(rng: Rng, n: number, spread: number): Float32Array {
  const row = new Float32Array(n);
  for (let i = 0; i < n; i++) row[i] = (rng.next() - 0.5) * spread;
  // Ties, signed zeros, masked tokens and extremes: the cases a key encoding gets wrong.
  for (let i = 0; i < n; i += 7) row[i] = row[(i * 13) % n]!;
  row[1] = 0;
  row[2] = -0;
  row[3] = -Infinity;
  row[4] = 3.4e38;
  row[5] = -3.4e38;
  row[6] = 1e-45;
  row[8] = -1e-45;
  return row;
}

test('rank keys order as logit descending, then id ascending', () => {
  const rng = new Rng(3);
  for (const spread of [0.01, 8, 1e6]) {
    const row = randomRow(rng, 3000, spread);
    const ids = Array.from(row.keys());
    const expected = [...ids].sort(byRank(row));
    const keys = Float64Array.from(ids, (i) => rankKey(row[i]!, i)).sort();
    assert.deepEqual(Array.from(keys, keyId), expected);
  }
});

test('selectSmallest puts the k best first, in rank order, for any k', () => {
  const rng = new Rng(9);
  const row = randomRow(rng, 2000, 4);
  const expected = Array.from(row.keys()).sort(byRank(row));
  for (const k of [1, 2, 5, 40, 64, 999, 1999, 2000]) {
    const keys = Float64Array.from(row, (x, i) => rankKey(x, i));
    selectSmallest(keys, keys.length, k);
    assert.deepEqual(Array.from(keys.subarray(0, k), keyId), expected.slice(0, k), `k=${k}`);
  }
  // Already sorted and reversed inputs (quickselect's worst cases for a naive pivot).
  const sorted = Float64Array.from({ length: 5000 }, (_, i) => i);
  selectSmallest(sorted, 5000, 10);
  assert.deepEqual(Array.from(sorted.subarray(0, 10)), [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
  const reversed = Float64Array.from({ length: 5000 }, (_, i) => 4999 - i);
  selectSmallest(reversed, 5000, 3);
  assert.deepEqual(Array.from(reversed.subarray(0, 3)), [0, 1, 2]);
});

/** The sampler as it was written before ranking by keys: a full comparator sort of the candidates. */
function referenceSample(l: Float32Array, o: { temperature: number; topK: number; topP: number; minP: number }, rng: Rng): number {
  let top = -Infinity;
  for (const x of l) if (x > top) top = x;
  if (o.topK === 0 && o.topP === 1 && o.minP === 0) {
    // No truncation: the whole vocabulary in id order.
    const w = Array.from(l, (x) => Math.exp((x - top) / o.temperature));
    let r = rng.next() * w.reduce((a, b) => a + b, 0);
    let last = 0;
    for (let i = 0; i < l.length; i++) {
      if (w[i]! > 0) last = i;
      r -= w[i]!;
      if (r < 0) return i;
    }
    return last;
  }
  const floor = o.minP > 0 ? Math.max(top + Math.log(o.minP), top - 28) : top - 28;
  let cand: number[] = [];
  for (let i = 0; i < l.length; i++) if (l[i]! >= floor) cand.push(i);
  cand.sort(byRank(l));
  if (o.topK > 0 && o.topK < cand.length) cand = cand.slice(0, o.topK);
  if (o.topP < 1) {
    const probs = cand.map((i) => Math.exp(l[i]! - top));
    const z = probs.reduce((a, b) => a + b, 0);
    let cum = 0;
    for (let j = 0; j < cand.length; j++) {
      cum += probs[j]! / z;
      if (cum >= o.topP) {
        cand = cand.slice(0, j + 1);
        break;
      }
    }
  }
  const w = cand.map((i) => Math.exp((l[i]! - top) / o.temperature));
  let r = rng.next() * w.reduce((a, b) => a + b, 0);
  for (let j = 0; j < cand.length; j++) {
    r -= w[j]!;
    if (r < 0) return cand[j]!;
  }
  return cand[cand.length - 1]!;
}

test('every truncation draws the same tokens as a full sort of the candidates (or the whole vocabulary in id order)', () => {
  const rowRng = new Rng(11);
  const settings = [
    { temperature: 1, topK: 0, topP: 1, minP: 0 },
    { temperature: 0.8, topK: 0, topP: 1, minP: 0 },
    { temperature: 0.8, topK: 40, topP: 1, minP: 0 },
    { temperature: 1, topK: 0, topP: 0.9, minP: 0 },
    { temperature: 0.7, topK: 0, topP: 0.3, minP: 0 },
    { temperature: 1.3, topK: 100, topP: 0.95, minP: 0 },
    { temperature: 0.9, topK: 0, topP: 1, minP: 0.05 },
    { temperature: 1, topK: 5, topP: 0.5, minP: 0.1 },
  ];
  for (const o of settings) {
    for (const spread of [2, 12, 40]) {
      const row = randomRow(rowRng, 4096, spread);
      const sampler = new Sampler({ ...o, seed: 5 });
      const rng = new Rng(5);
      for (let k = 0; k < 30; k++) assert.equal(sampler.sample(row).id, referenceSample(row, o, rng), `${JSON.stringify(o)} spread ${spread} draw ${k}`);
    }
  }
});
