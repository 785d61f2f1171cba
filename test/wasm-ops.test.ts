import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Backend, KVDType } from '../src/backend/backend.js';
import { RefBackend } from '../src/backend/ref/ref-backend.js';
import { createWasmBackend } from '../src/backend/wasm/index.js';
import { DType, dtypeName } from '../src/quant/dtype.js';
import { f16ToF32, f32ToF16 } from '../src/quant/half.js';
import { rng, randn, randomWeight, checkMatmul, checkRowIndependence, CONVERTED } from './wasm-util.js';

/**
 * Every op of the wasm backend against the reference backend, for thread counts 1..4 (matmul
 * error bounds: checkMatmul in wasm-util.ts).
 */
const KERNEL_TYPES = [DType.F32, DType.F16, DType.BF16, DType.Q8_0, DType.Q4_0, DType.Q4_K, DType.Q5_K, DType.Q6_K];

function maxDiff(a: Float32Array, b: Float32Array): number {
  assert.equal(a.length, b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) {
    const d = Math.abs(a[i]! - b[i]!);
    if (!(d <= m)) m = Number.isNaN(d) ? Infinity : d;
  }
  return m;
}

function checkAttention(be: Backend, ref: Backend, r: () => number, kv: KVDType, heads: number, kvHeads: number, hd: number, qScale = 1, tol = 2e-5): void {
  const layers = 2;
  const spec = { layers, kvHeads, headDim: hd, capacity: 160, dtype: kv };
  const cw = be.createKVCache(spec);
  const cr = ref.createKVCache(spec);
  // Prefill 65 tokens at 0..64, then a jump to 20000 (7 tokens), then single tokens.
  const chunks: number[][] = [
    Array.from({ length: 65 }, (_, i) => i),
    Array.from({ length: 7 }, (_, i) => 20000 + i),
    [20007],
    [20008],
  ];
  const scale = 1 / Math.sqrt(hd);
  for (const pos of chunks) {
    const n = pos.length;
    const qp = Int32Array.from(pos);
    const slot = cw.length;
    for (const c of [cw, cr]) {
      c.positions.set(qp, slot);
      c.length = slot + n;
    }
    for (let l = 0; l < layers; l++) {
      const q = randn(r, n * heads * hd, qScale);
      const k = randn(r, n * kvHeads * hd);
      const v = randn(r, n * kvHeads * hd);
      const outs: Float32Array[] = [];
      for (const [b, c] of [[be, cw], [ref, cr]] as const) {
        const [qt, kt, vt, ot] = [b.alloc(q.length), b.alloc(k.length), b.alloc(v.length), b.alloc(q.length)];
        b.write(qt, q);
        b.write(kt, k);
        b.write(vt, v);
        b.storeKV(c, l, kt, vt, n, slot);
        b.attention(ot, qt, c, l, n, qp, heads, scale);
        outs.push(b.read(ot));
        for (const t of [qt, kt, vt, ot]) b.free(t);
      }
      // Softmax in f32 over ≤ 80 slots, outputs O(1): f32 rounding stays below 1e-5.
      const d = maxDiff(outs[0]!, outs[1]!);
      assert.ok(d < tol, `attention kv=${kv} heads=${heads}/${kvHeads} hd=${hd} n=${n} layer ${l}: max diff ${d}`);
    }
  }
  be.freeKVCache(cw);
}

for (const threads of [1, 2, 3, 4]) {
  describe(`wasm backend, ${threads} thread(s)`, () => {
    let be: Backend;
    const ref = new RefBackend();
    before(async () => {
      be = await createWasmBackend({ threads });
    });
    after(async () => {
      await be.dispose();
    });

    test('matmul: every dtype, odd row counts, n = 1, 7, 65', () => {
      const r = rng(100 + threads);
      for (const dtype of [...KERNEL_TYPES, ...CONVERTED]) {
        const kq = dtype === DType.Q4_K || dtype === DType.Q5_K || dtype === DType.Q6_K;
        const cols = kq ? 512 : 96;
        for (const [rows, n] of [[37, 1], [13, 7], [21, 65], [3, 2]] as const) checkMatmul(be, r, dtype, rows, cols, n);
      }
      // Wide rows: a prefill of 13 tokens over 8192 columns runs in two token blocks.
      for (const dtype of [DType.Q8_0, DType.Q4_0, DType.Q4_K, DType.Q5_K, DType.Q6_K]) checkMatmul(be, r, dtype, 9, 8192, 13);
      // Float weights with a column count that is not a multiple of 8.
      checkMatmul(be, r, DType.F32, 9, 45, 5);
      checkMatmul(be, r, DType.F16, 9, 45, 5);
    });

    test('matmul rows are independent: each token of a 4-token tile and of a 13-token prefill equals the same token alone, bit for bit', () => {
      // Batching relies on it (a sequence's logits may not depend on its neighbours), and the
      // prefill kernels compute per-block factors once per cache tile instead of per token tile.
      const r = rng(900 + threads);
      // 8192 columns: a 13-token step runs in 2048-column chunks that carry their sums
      // (asm/kernel-util.ts chunkBlocks; token blocks are crossed in test/wasm-token-blocks.test.ts).
      // Float weights: 6 and 7 tokens run a 4-token tile, a 2-token tile and (7) one token alone.
      for (const [dtype, cols] of [[DType.Q8_0, 96], [DType.Q4_0, 96], [DType.Q4_K, 512], [DType.Q5_K, 512], [DType.Q6_K, 512], [DType.Q8_0, 8192], [DType.Q4_0, 8192], [DType.Q4_K, 8192], [DType.F16, 45], [DType.F32, 96], [DType.BF16, 96]] as const) {
        const float = dtype === DType.F16 || dtype === DType.F32 || dtype === DType.BF16;
        for (const n of float ? [2, 3, 4, 6, 7, 13] : [4, 13]) checkRowIndependence(be, r, dtype, cols > 512 ? 9 : 23, cols, n);
      }
    });

    test('F16 weights: every finite half value converts exactly (subnormals, signed zeros, the largest)', () => {
      // One weight per row, in column r mod 8 of 8 (every SIMD lane), activations all 1: out[r] = w[r].
      const finite: number[] = [];
      for (let h = 0; h < 0x10000; h++) if (((h >> 10) & 0x1f) !== 0x1f) finite.push(h);
      const cols = 8;
      const data = new Uint16Array(finite.length * cols);
      finite.forEach((h, i) => (data[i * cols + (i % cols)] = h));
      const w = be.loadWeight({ name: 'w.f16.all', dtype: DType.F16, shape: [finite.length, cols], data: new Uint8Array(data.buffer) });
      const x = be.alloc(2 * cols);
      const xs = new Float32Array(2 * cols).fill(1, 0, cols).fill(-1, cols); // a second token: the 2-token tile, negated
      be.write(x, xs);
      const out = be.alloc(2 * finite.length);
      be.matmul(out, x, w, 2);
      const got = be.read(out);
      finite.forEach((h, i) => {
        const want = f16ToF32(h);
        // === : a sum of products turns −0 into +0, as the reference's does.
        assert.ok(got[i] === want, `f16 0x${h.toString(16)}: ${got[i]} ≠ ${want}`);
        assert.ok(got[finite.length + i] === -want, `f16 0x${h.toString(16)} (second token): ${got[finite.length + i]} ≠ ${-want}`);
      });
      for (const t of [x, out]) be.free(t);
    });

    test('matmulMany: fused q/k/v-like groups equal separate matmuls exactly; mixed types fall back', () => {
      const r = rng(600 + threads);
      const cases: DType[][] = [
        [DType.Q8_0, DType.Q8_0, DType.Q8_0],
        [DType.Q4_0, DType.Q4_0],
        [DType.Q4_K, DType.Q4_K, DType.Q6_K],
        [DType.F16, DType.F16],
      ];
      for (const types of cases) {
        const kq = types.some((t) => t === DType.Q4_K || t === DType.Q6_K);
        const cols = kq ? 256 : 64;
        const rowsOf = [21, 6, 9];
        const ws = types.map((dtype, j) => be.loadWeight({ name: `w${j}`, dtype, shape: [rowsOf[j]!, cols], data: randomWeight(r, dtype, rowsOf[j]!, cols) }));
        for (const n of [1, 7]) {
          const xt = be.alloc(n * cols);
          be.write(xt, randn(r, n * cols));
          const fused = ws.map((_, j) => be.alloc(n * rowsOf[j]!));
          be.matmulMany(fused, xt, ws, n);
          ws.forEach((w, j) => {
            const one = be.alloc(n * rowsOf[j]!);
            be.matmul(one, xt, w, n);
            assert.deepEqual(be.read(fused[j]!), be.read(one), `${types.map(dtypeName).join('+')} n=${n} weight ${j}`);
          });
        }
      }
      assert.throws(() => be.matmulMany([be.alloc(4)], be.alloc(4), [], 1), /1 outputs for 0 weights/);
    });

    test('loadWeight with readInto copies rows straight into the backend, never asking for data', () => {
      const r = rng(700 + threads);
      for (const dtype of [DType.Q8_0, DType.Q4_0, DType.Q4_K, DType.F16]) {
        const cols = dtype === DType.Q4_K ? 256 : 64;
        const rows = 11;
        const bytes = randomWeight(r, dtype, rows, cols);
        const spec = {
          name: 'streamed',
          dtype,
          shape: [rows, cols],
          byteLength: bytes.length,
          get data(): Uint8Array {
            throw new Error('data was materialized');
          },
          readInto: (dst: Uint8Array, at: number, from: number, length: number) => dst.set(bytes.subarray(from, from + length), at),
        };
        const streamed = be.loadWeight(spec);
        const whole = be.loadWeight({ name: 'whole', dtype, shape: [rows, cols], data: bytes });
        const xt = be.alloc(3 * cols);
        be.write(xt, randn(r, 3 * cols));
        const [a, b] = [streamed, whole].map((w) => {
          const o = be.alloc(3 * rows);
          be.matmul(o, xt, w, 3);
          return be.read(o);
        });
        assert.deepEqual(a, b, dtypeName(dtype));
      }
    });

    test('Q8_0 scales: negative (held negated), subnormal, and a −128 quant under a negative scale (widened to F32)', () => {
      const r = rng(500 + threads);
      const rows = 13;
      const cols = 96;
      const data = randomWeight(r, DType.Q8_0, rows, cols);
      const dv = new DataView(data.buffer);
      for (let b = 0; b < data.length / 34; b++) {
        if (b % 3 === 1) {
          dv.setUint16(b * 34, f32ToF16(-(0.2 + r()) * 0.01), true);
          for (let i = 2; i < 34; i++) if (data[b * 34 + i] === 0x80) data[b * 34 + i] = 0x81;
        } else if (b % 3 === 2) {
          dv.setUint16(b * 34, 1 + (b % 0x3ff), true); // f16 subnormal
        }
      }
      for (const n of [1, 7]) checkMatmul(be, r, DType.Q8_0, rows, cols, n, data);
      const corner = data.slice();
      corner[34 + 2 + 5] = 0x80; // block 1 has a negative scale
      for (const n of [1, 6]) checkMatmul(be, r, DType.Q8_0, rows, cols, n, corner);
      for (const d of [data, corner]) {
        const ids = Int32Array.from([0, 1, 2, 4, 12]);
        const [a, b] = [be, ref].map((x) => {
          const w = x.loadWeight({ name: 'emb', dtype: DType.Q8_0, shape: [rows, cols], data: d });
          const o = x.alloc(ids.length * cols);
          x.embed(o, w, ids);
          return x.read(o);
        });
        // Equal values; a zero quant under a negated scale comes out +0 where ggml gives −0.
        assert.ok(a!.every((v, i) => v === b![i]), 'embed Q8_0');
      }
    });

    test('embed matches the reference exactly for every dtype', () => {
      const r = rng(200 + threads);
      for (const dtype of [...KERNEL_TYPES, ...CONVERTED]) {
        const cols = dtype === DType.Q4_K || dtype === DType.Q5_K || dtype === DType.Q6_K ? 256 : 64;
        const rows = 23;
        const data = randomWeight(r, dtype, rows, cols);
        const spec = { name: 'emb', dtype, shape: [rows, cols], data };
        const ids = Int32Array.from([0, 22, 5, 5, 17, 3, 12]);
        const [a, b] = [be, ref].map((x) => {
          const w = x.loadWeight(spec);
          const o = x.alloc(ids.length * cols);
          x.embed(o, w, ids);
          return x.read(o);
        });
        assert.deepEqual(a, b, `embed ${dtypeName(dtype)}`);
      }
      assert.throws(() => {
        const w = be.loadWeight({ name: 'e', dtype: DType.F32, shape: [2, 4], data: new Uint8Array(32) });
        be.embed(be.alloc(4), w, Int32Array.from([2]));
      }, /outside the vocabulary/);
    });

    test('rmsnorm, rope, siluMul, add, copy', () => {
      const r = rng(300 + threads);
      const n = 7;
      const dim = 72;
      const x = randn(r, n * dim);
      const y = randn(r, n * dim);
      const g = randn(r, dim);
      const inv = Float64Array.from({ length: 4 }, (_, j) => 1 / Math.pow(500000, (2 * j) / 8));
      const pos = Int32Array.from([0, 1, 2, 3, 20000, 20001, 131071]);
      const res = [be, ref].map((b) => {
        const gw = b.loadWeight({ name: 'g', dtype: DType.F32, shape: [dim], data: new Uint8Array(g.buffer.slice(0)) });
        const [xt, yt, ot] = [b.alloc(n * dim), b.alloc(n * dim), b.alloc(n * dim)];
        b.write(xt, x);
        b.write(yt, y);
        const out: Float32Array[] = [];
        b.rmsnorm(ot, xt, gw, n, dim, 1e-5);
        out.push(b.read(ot));
        b.copy(ot, xt, n * dim);
        b.rope(ot, n, dim / 8, 8, pos, inv);
        out.push(b.read(ot));
        b.siluMul(ot, xt, yt, n * dim - 3);
        out.push(b.read(ot, 0, n * dim - 3));
        b.add(ot, xt, yt, n * dim - 1);
        out.push(b.read(ot, 0, n * dim - 1));
        b.copy(ot, yt, 10, 5, 20);
        out.push(b.read(ot, 5, 10));
        return out;
      });
      const names = ['rmsnorm', 'rope', 'siluMul', 'add', 'copy'];
      const tol = [1e-5, 2e-6, 1e-5, 0, 0];
      for (let i = 0; i < names.length; i++) {
        const d = maxDiff(res[0]![i]!, res[1]![i]!);
        assert.ok(d <= tol[i]!, `${names[i]}: max diff ${d}`);
      }
    });

    test('storeKV + attention: GQA, prefill and decode, position gaps, f32 and f16 KV', () => {
      const r = rng(400 + threads);
      for (const kv of ['f32', 'f16'] as const) {
        checkAttention(be, ref, r, kv, 8, 2, 16);
        checkAttention(be, ref, r, kv, 6, 3, 8);
        checkAttention(be, ref, r, kv, 4, 4, 12);
        // 65 tokens × 4 KV heads × 64 > the inline-store limit: the dispatched storeKV path too.
        checkAttention(be, ref, r, kv, 8, 4, 64);
      }
    });

    test('attention whose scores spread over hundreds (weights far below e^-87) matches the reference', () => {
      // The kernel sets softmax weights under e^-80 to zero instead of letting them reach the
      // subnormal range (asm/attention.ts UNDERFLOW); the result must not move.
      const r = rng(500 + threads);
      // Scores in the hundreds carry f32 rounding of ~3e-5 in the exponent (one ulp of 300), which
      // the unfused multiply-adds of the standard-SIMD module pass on to the outputs: 1e-4 here.
      for (const kv of ['f32', 'f16'] as const) {
        checkAttention(be, ref, r, kv, 8, 2, 16, 60, 1e-4);
        checkAttention(be, ref, r, kv, 8, 4, 64, 30, 1e-4);
      }
    });
  });
}
