import { test } from 'node:test';
import assert from 'node:assert/strict';
import { rowKernels, JsRowKernels, type RowKernels } from '../src/generate/row-kernels.js';

const wasm = rowKernels();
const js = new JsRowKernels();

function fill(k: RowKernels, values: ArrayLike<number>): Float32Array {
  const r = k.row(values.length);
  r.set(values);
  return r;
}

function randomRow(n: number, seed: number, spread = 8): Float32Array {
  const out = new Float32Array(n);
  let s = seed >>> 0;
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1103515245) + 12345) >>> 0;
    out[i] = (s / 2 ** 32 - 0.5) * spread;
  }
  return out;
}

test('the wasm row kernels are in use (not the JS fallback)', () => {
  assert.ok(!(wasm instanceof JsRowKernels), 'row-kernels.wasm did not load');
});

test('argmax: first of equal maxima, NaN never wins, −1 when nothing is above −∞, any length', () => {
  for (const k of [wasm, js]) {
    fill(k, [0, 5, 5, 1]);
    assert.equal(k.argmax(4), 1);
    fill(k, [NaN, -1, NaN, -0.5, -0.5]);
    assert.equal(k.argmax(5), 3);
    fill(k, [-Infinity, NaN, -Infinity]);
    assert.equal(k.argmax(3), -1);
    fill(k, [-0, 0, -1]);
    assert.equal(k.argmax(3), 0);
    const big = randomRow(1000 + 37, 5);
    big[1036] = 100; // the last value, past the last full 64-value block
    fill(k, big);
    assert.equal(k.argmax(1037), 1036);
  }
});

test('firstNonFinite: the first NaN or +∞ anywhere in the row, never −∞ or the padding', () => {
  for (const k of [wasm, js]) {
    for (const n of [1, 15, 16, 17, 64, 1037, 128256]) {
      const row = randomRow(n, n + 1);
      row[0] = -Infinity;
      assert.equal(k.firstNonFinite(row), -1, `clean row of ${n}`);
      for (const bad of [NaN, Infinity]) {
        for (const at of [0, n >> 1, n - 1]) {
          const r = row.slice();
          r[at] = bad;
          if (at + 3 < n) r[at + 3] = NaN; // a later one is not the answer
          assert.equal(k.firstNonFinite(r), at, `${bad} at ${at} of ${n}`);
        }
      }
    }
  }
});

test('massBins and gatherBins agree with each other and with exp, wasm and JS alike', () => {
  const n = 5000;
  const row = randomRow(n, 9, 20);
  row[7] = -Infinity;
  let top = -Infinity;
  for (const v of row) top = Math.max(top, v);
  const floor = Math.fround(top - 12);
  const bins = 512;
  const k = Math.fround(bins / (top - floor));
  for (const kern of [wasm, js]) {
    fill(kern, row);
    const { total, hist, weights } = kern.massBins(n, top, floor, k, bins);
    let ref = 0;
    for (let i = 0; i < n; i++) if (row[i]! >= floor) ref += Math.exp(row[i]! - top);
    assert.ok(Math.abs(total - ref) / ref < 1e-6, `total ${total} vs ${ref}`);
    const hsum = [...hist].reduce((a, b) => a + b, 0);
    assert.ok(Math.abs(hsum - total) / total < 1e-12);
    for (const last of [0, 3, 100, bins - 1]) {
      const ids = kern.gatherBins(n, top, floor, k, bins, last);
      let w = 0;
      for (let j = 0; j < ids.length; j++) {
        if (j > 0) assert.ok(ids[j]! > ids[j - 1]!, 'ids ascending');
        assert.ok(row[ids[j]!]! >= floor);
        w += weights[ids[j]!]!;
      }
      const want = hist.subarray(0, last + 1).reduce((a, b) => a + b, 0);
      // The gathered tokens are exactly those whose weight the first last + 1 bins hold.
      assert.ok(Math.abs(w - want) <= 1e-12 * total, `last ${last}: ${w} vs ${want}`);
      if (last === bins - 1) assert.equal(ids.length, row.filter((v) => v >= floor).length);
    }
    for (let i = 0; i < n; i++) if (row[i]! < floor) assert.equal(weights[i], 0);
  }
});

test('sumExp matches float64 exp within 1e-6 and counts masked (−∞) tokens as 0', () => {
  for (const n of [1, 63, 64, 65, 1000, 128256]) {
    const row = randomRow(n, n, 12);
    if (n > 10) row[3] = -Infinity;
    for (const scale of [1, 1 / 0.8, 1 / 1.7]) {
      fill(wasm, row);
      const top = row[wasm.argmax(n)]!;
      let ref = 0;
      for (let i = 0; i < n; i++) ref += Math.exp((row[i]! - top) * scale);
      const got = wasm.sumExp(n, top, scale, false);
      assert.ok(Math.abs(got - ref) / ref < 1e-6, `n ${n} scale ${scale}: ${got} vs ${ref}`);
      fill(js, row);
      assert.ok(Math.abs(js.sumExp(n, top, scale, false) - ref) / ref < 1e-12);
    }
  }
});

test('weights: the draw\'s own weights, their total exactly sumExp\'s, wasm and JS alike', () => {
  for (const n of [1, 63, 65, 1000, 128256]) {
    const row = randomRow(n, n + 7, 12);
    if (n > 10) row[5] = -Infinity;
    for (const scale of [1, 1 / 0.8]) {
      for (const kern of [wasm, js]) {
        fill(kern, row);
        const top = row[kern.argmax(n)]!;
        const z = kern.sumExp(n, top, scale, false);
        const { total, weights } = kern.weights(n, top, scale);
        assert.equal(total, z, `n ${n} scale ${scale}: the same total as sumExp`);
        assert.equal(weights.length, n);
        for (let i = 0; i < n; i++) {
          // float32 arguments: (v − top)·scale rounds to ~6e-8 of its size, so far tokens carry more error.
          const ref = Math.exp((row[i]! - top) * scale);
          assert.ok(Math.abs(weights[i]! - ref) <= 5e-6 * ref + 1e-30, `n ${n} token ${i}: ${weights[i]} vs ${ref}`);
        }
        if (n > 10) assert.equal(weights[5], 0, 'a masked token weighs nothing');
      }
    }
  }
});

test('pick: the token where the running sum crosses the target, never a zero-weight one', () => {
  const n = 5000;
  const row = randomRow(n, 9, 10);
  for (let i = 0; i < n; i += 3) row[i] = -Infinity; // masked
  const top = row.reduce((m, x) => Math.max(m, x), -Infinity);
  for (const scale of [1, 1.25]) {
    fill(wasm, row);
    const zw = wasm.sumExp(n, top, scale, true);
    fill(js, row);
    const zj = js.sumExp(n, top, scale, true);
    let same = 0;
    const draws = 4000;
    for (let d = 0; d < draws; d++) {
      const u = (d + 0.5) / draws;
      const a = wasm.pick(n, top, scale, u * zw);
      const b = js.pick(n, top, scale, u * zj);
      assert.ok(a >= 0 && a < n && a % 3 !== 0, `wasm picked ${a}`);
      assert.ok(b >= 0 && b < n && b % 3 !== 0, `js picked ${b}`);
      // The exact cumulative rule in float64: the first token whose running sum exceeds u · Z.
      if (a === b) same++;
      else assert.ok(Math.abs(a - b) <= 3, `picks ${a} and ${b} are not neighbours`);
    }
    assert.ok(same >= draws - 4, `${draws - same} of ${draws} draws differ between wasm and js`);
    // Rounding past the total ends on the last token of positive weight.
    let lastLive = n - 1;
    while (lastLive % 3 === 0) lastLive--;
    assert.equal(wasm.pick(n, top, scale, zw * 2), lastLive);
    assert.equal(js.pick(n, top, scale, zj * 2), wasm.pick(n, top, scale, zw * 2));
  }
});

test('pick follows the weights: frequencies over a small row match exp(l − top)', () => {
  const row = Float32Array.from([0, 1, -Infinity, 2, 0.5, -3]);
  fill(wasm, row);
  const z = wasm.sumExp(6, 2, 1, true);
  const counts = new Array<number>(6).fill(0);
  const draws = 20000;
  for (let d = 0; d < draws; d++) counts[wasm.pick(6, 2, 1, ((d + 0.5) / draws) * z)]!++;
  for (let i = 0; i < 6; i++) {
    const p = row[i] === -Infinity ? 0 : Math.exp(row[i]! - 2) / z;
    assert.ok(Math.abs(counts[i]! / draws - p) < 1e-3, `token ${i}: ${counts[i]! / draws} vs ${p}`);
  }
});

test('the scratch row grows and shrinks with the vocabulary; padding never leaks into results', () => {
  const big = randomRow(200000, 1);
  fill(wasm, big);
  const a = wasm.argmax(200000);
  assert.equal(big[a], big.reduce((m, x) => Math.max(m, x), -Infinity));
  const small = fill(wasm, [-5, -6, -7]);
  assert.equal(small.length, 3);
  assert.equal(wasm.argmax(3), 0);
  const z = wasm.sumExp(3, -5, 1, true);
  assert.ok(Math.abs(z - (1 + Math.exp(-1) + Math.exp(-2))) < 1e-6);
  assert.equal(wasm.pick(3, -5, 1, z * 0.999999), 2);
});

test('a temperature too small for float32 samples the argmax instead of NaN weights', async () => {
  const { Sampler } = await import('../src/generate/sampler.js');
  const s = new Sampler({ temperature: 1e-40, seed: 3 });
  assert.equal(s.sample(Float32Array.from([0.5, 2, 1.5, 2])).id, 1);
});

test('top-k keeps exactly the k best tokens (ties by id) when the floor is narrowed first', async () => {
  const { Sampler } = await import('../src/generate/sampler.js');
  for (const [n, k, seed] of [[128256, 40, 1], [5000, 7, 2], [3000, 1, 3], [2000, 64, 4]] as const) {
    const row = randomRow(n, seed, 6);
    // Ties straddling the cut: many tokens share the 10th-best value.
    const sorted = Float32Array.from(row).sort().reverse();
    const tie = sorted[Math.min(9, k - 1)]!;
    for (let i = 0; i < n; i += 97) row[i] = tie;
    if (n > 128000) row[5] = sorted[0]! + 25; // a peaked row: most tokens far below the top
    // The sampler drops tokens more than e^28 below the top before any cut (sampler.ts candidates).
    const top = row.reduce((m, x) => Math.max(m, x), -Infinity);
    const order = Array.from(row.keys()).filter((i) => row[i]! >= top - 28).sort((a, b) => row[b]! - row[a]! || a - b);
    const want = new Set(order.slice(0, k));
    for (const topP of [1, 0.999]) {
      const d = new Sampler({ temperature: 1, topK: k, topP, seed }).distribution(row);
      const got = new Set<number>();
      d.probs.forEach((p, i) => {
        if (p > 0) got.add(i);
      });
      if (topP === 1) assert.deepEqual([...got].sort((a, b) => a - b), [...want].sort((a, b) => a - b), `n ${n} k ${k}`);
      else for (const i of got) assert.ok(want.has(i), `n ${n} k ${k}: token ${i} outside the top k`);
    }
  }
});
