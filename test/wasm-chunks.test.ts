import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { availableParallelism } from 'node:os';
import type { Weight } from '../src/backend/backend.js';
import { chunkTag, chunksOf, claimChunk, exhausted, MAX_CHUNKS, planChunks } from '../src/backend/wasm/chunks.js';
import { createWasmBackend, type WasmBackend } from '../src/backend/wasm/index.js';
import type { Backend } from '../src/backend/backend.js';
import { DType, dtypeName } from '../src/quant/dtype.js';
import type { LlamaError } from '../src/errors/errors.js';
import { randn, randomWeight, rng } from './wasm-util.js';

/**
 * Matmul work sharing (src/backend/wasm/chunks.ts): each thread's row shard is cut into chunks any
 * thread may run. The claim protocol on its own, the plans, and the property everything else relies
 * on: a matmul gives the same bits whatever the thread count and whoever ran which chunk.
 */
describe('chunk claims', () => {
  test('a share hands out each chunk once, then none; another op\'s tag claims nothing', () => {
    const ctrl = new Int32Array(4);
    const seq = 77;
    Atomics.store(ctrl, 1, chunkTag(seq));
    const got: number[] = [];
    for (let i; (i = claimChunk(ctrl, 1, chunkTag(seq), 5)) >= 0; ) got.push(i);
    assert.deepEqual(got, [0, 1, 2, 3, 4]);
    Atomics.store(ctrl, 1, chunkTag(seq + 1));
    assert.equal(claimChunk(ctrl, 1, chunkTag(seq), 5), -1, 'a thread still on the previous op');
    assert.equal(claimChunk(ctrl, 1, chunkTag(seq + 1), 5), 0);
    // An op closed with exhausted() gives nothing even to a reader who saw a larger chunk count.
    Atomics.store(ctrl, 1, exhausted(seq + 1));
    assert.equal(claimChunk(ctrl, 1, chunkTag(seq + 1), MAX_CHUNKS), -1);
    // Sequence numbers wrap (int32): the tag keeps its low 20 bits and still tells ops apart.
    for (const s of [-1, 2 ** 31 - 1, (2 ** 31) | 0]) {
      Atomics.store(ctrl, 1, chunkTag(s));
      assert.equal(claimChunk(ctrl, 1, chunkTag(s), 2), 0);
      assert.equal(claimChunk(ctrl, 1, chunkTag((s + 1) | 0), 2), -1);
    }
  });

  test('plans: rows for few tokens (at least 128 KiB of weights a chunk), tokens for many', () => {
    const few = planChunks(512, 4608, 4);
    assert.equal(few.tokens, 4);
    assert.ok(few.groups * 4608 >= 128 * 1024, `${few.groups} groups`);
    assert.equal(chunksOf(512, 4, few), Math.ceil(512 / few.groups));
    const decode = planChunks(16032, 4608, 1);
    assert.equal(chunksOf(16032, 1, decode), 8, 'a large share: 8 chunks');
    const many = planChunks(512, 4608, 512);
    assert.equal(many.tokens % 4, 0, 'token chunks start on a 4-token tile');
    assert.equal(chunksOf(512, 512, many), 8);
    assert.equal(chunksOf(0, 512, many), 0);
    assert.equal(chunksOf(512, 70, planChunks(512, 4608, 70)), 3, '70 tokens: 32 + 32 + 6');
  });
});

describe('a matmul gives the same bits on 1 to 4 threads', () => {
  const types = [DType.F32, DType.F16, DType.Q8_0, DType.Q4_0, DType.Q4_K, DType.Q5_K, DType.Q6_K];
  const backends: (Backend & WasmBackend)[] = [];
  before(async () => {
    for (const threads of [1, 2, 3, 4]) backends.push(await createWasmBackend({ threads }));
  });
  after(async () => {
    for (const b of backends) await b.dispose();
  });

  function run(be: Backend, ws: Weight[], rows: number[], x: Float32Array, n: number): Float32Array[] {
    const xt = be.alloc(x.length);
    be.write(xt, x);
    const outs = rows.map((r) => be.alloc(n * r));
    be.matmulMany(outs, xt, ws, n);
    const res = outs.map((o) => be.read(o));
    for (const t of [xt, ...outs]) be.free(t);
    return res;
  }

  for (const dtype of types) {
    test(dtypeName(dtype), () => {
      const r = rng(dtype * 31 + 7);
      const cols = 512;
      // Fused like gate/up (two weights, one op), odd row counts, and token counts that take
      // both plans: rows (1, 5, 16) and tokens (70: a partial 4-token tile in the last chunk; 133).
      const rows = [420, 262];
      const raw = rows.map((n) => randomWeight(r, dtype, n, cols));
      const ws = backends.map((be) => rows.map((n, j) => be.loadWeight({ name: `w${j}`, dtype, shape: [n, cols], data: raw[j]! })));
      for (const n of [1, 5, 16, 70, 133]) {
        const x = randn(r, n * cols);
        const want = run(backends[0]!, ws[0]!, rows, x, n);
        for (let b = 1; b < backends.length; b++) {
          const got = run(backends[b]!, ws[b]!, rows, x, n);
          for (let j = 0; j < rows.length; j++) {
            assert.deepEqual(got[j], want[j], `${b + 1} threads, weight ${j}, ${n} tokens`);
          }
        }
      }
    });
  }

  test('row-wise ops over many tokens (on every thread) give the bits one thread gives', () => {
    const r = rng(11);
    const [n, heads, hd] = [70, 4, 64];
    const dim = heads * hd;
    const x = randn(r, n * dim);
    const y = randn(r, n * dim);
    const g = randn(r, n * 1100, 3);
    const u = randn(r, n * 1100);
    const wv = randn(r, dim);
    const positions = Int32Array.from({ length: n }, (_, i) => 3 * i + 1);
    const invFreq = Float64Array.from({ length: hd / 2 }, (_, j) => 500000 ** (-(2 * j) / hd));
    const results = backends.map((be) => {
      const w = be.loadWeight({ name: 'norm', dtype: DType.F32, shape: [dim], data: new Uint8Array(wv.buffer.slice(0)) });
      const [xt, yt, ot, gt, ut, st] = [n * dim, n * dim, n * dim, g.length, u.length, g.length].map((len) => be.alloc(len));
      be.write(xt, x);
      be.write(yt, y);
      be.write(gt, g);
      be.write(ut, u);
      be.rmsnorm(ot, xt, w, n, dim, 1e-5);
      const norm = be.read(ot);
      be.rope(xt, n, heads, hd, positions, invFreq);
      const roped = be.read(xt);
      be.add(ot, xt, yt, n * dim);
      const sum = be.read(ot);
      be.siluMul(st, gt, ut, g.length);
      const silu = be.read(st);
      be.add(st, gt, ut, g.length);
      const wide = be.read(st);
      for (const t of [xt, yt, ot, gt, ut, st]) be.free(t);
      return { norm, roped, sum, silu, wide };
    });
    for (let b = 1; b < backends.length; b++) assert.deepEqual(results[b], results[0], `${b + 1} threads`);
  });

  test('a chunk that traps fails the op with BACKEND_ERROR, and the next op runs', () => {
    const be = backends[1]!;
    const r = rng(5);
    const [rows, cols, n] = [64, 256, 3];
    const raw = randomWeight(r, DType.Q8_0, rows, cols);
    const w = be.loadWeight({ name: 'w', dtype: DType.Q8_0, shape: [rows, cols], data: raw });
    const w1 = backends[0]!.loadWeight({ name: 'w', dtype: DType.Q8_0, shape: [rows, cols], data: raw });
    const x = randn(r, n * cols);
    // Thread 1's rows pointed past the end of its memory: whichever thread runs them traps.
    const shard = (w as unknown as { byThread: { ptr: number }[] }).byThread[1]!;
    const ptr = shard.ptr;
    shard.ptr = 0xffff0000;
    for (let i = 0; i < 3; i++) assert.throws(() => run(be, [w], [rows], x, n), (e: unknown) => (e as LlamaError).code === 'BACKEND_ERROR');
    shard.ptr = ptr;
    assert.deepEqual(run(be, [w], [rows], x, n), run(backends[0]!, [w1], [rows], x, n));
  });

  test('threads took chunks of other threads\' shares (more threads than cores)', { skip: availableParallelism() >= 4 ? 'as many cores as threads: stealing is likely, not certain' : false }, () => {
    const four = backends[3]!;
    const { chunks, stolen } = four.workSharing();
    assert.ok(chunks > 0);
    assert.ok(stolen > 0, `${stolen} of ${chunks} chunks run by another thread`);
  });
});
