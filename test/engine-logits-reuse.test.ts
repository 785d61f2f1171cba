/**
 * A step's logits array is handed back (Executor.recycle) and the next step writes into it: the
 * values must be exactly those of a fresh array, on this thread and through the engine thread.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fixture, skipNoFixtures } from './fixtures.js';
import { loadModel, loadWeightsInto } from '../src/model/load.js';
import { WorkerExecutor } from '../src/engine/worker-executor.js';
import type { Executor } from '../src/engine/executor.js';
import type { ForwardBatch } from '../src/engine/batch.js';

const MODEL = (): string => fixture('models', 'tiny-llama3.1', 'tiny-llama3.1.f32.gguf');

/** Rows [from, from + n) of one sequence (cache 1), logits for the rows in `want`. */
function batch(from: number, ids: number[], want: number[]): ForwardBatch {
  return {
    tokens: Int32Array.from(ids),
    positions: Int32Array.from(ids, (_, i) => from + i),
    seqs: [{ cache: 1, row: 0, rows: ids.length, slot: from }],
    logitRows: Int32Array.from(want),
  };
}

/** Three steps: 3 rows with logits, 2 rows with none (an intermediate chunk), 1 row with logits. */
const STEPS: [number, number[], number[]][] = [
  [0, [1, 50, 90], [0, 1, 2]],
  [3, [7, 8], []],
  [5, [300], [0]],
];

async function run(exec: Executor, recycle: boolean): Promise<{ values: Float32Array[]; buffers: ArrayBufferLike[]; bytes: number[] }> {
  await exec.createCache(1, 32, 'f32');
  const values: Float32Array[] = [];
  const buffers: ArrayBufferLike[] = [];
  const bytes: number[] = [];
  for (const [from, ids, want] of STEPS) {
    const logits = await exec.step(batch(from, ids, want));
    values.push(logits.slice());
    buffers.push(logits.buffer);
    bytes.push(logits.buffer.byteLength); // before recycle: a buffer sent back to the engine thread is detached here
    if (recycle) exec.recycle(logits);
  }
  exec.freeCache(1);
  return { values, buffers, bytes };
}

test('recycled logits arrays are written in place and hold exactly what fresh ones hold', { skip: skipNoFixtures, timeout: 120_000 }, async () => {
  const fresh = await loadWeightsInto(MODEL(), 'wasm', 2);
  const local = await loadWeightsInto(MODEL(), 'wasm', 2);
  const worker = await WorkerExecutor.start({ path: MODEL(), backend: 'wasm', threads: 2 });
  try {
    const want = await run(fresh, false);
    assert.equal(want.values[0]!.length, 3 * want.values[2]!.length);
    assert.equal(want.values[1]!.length, 0);
    const here = await run(local, true);
    // On this thread the same memory comes back, through the empty step too.
    assert.equal(here.buffers[1], here.buffers[0]);
    assert.equal(here.buffers[2], here.buffers[0]);
    const there = await run(worker, true);
    // Through the engine thread the buffer travels both ways: the same size each step.
    assert.deepEqual(there.bytes, STEPS.map(() => 3 * want.values[2]!.length * 4));
    for (let i = 0; i < STEPS.length; i++) {
      assert.deepEqual(here.values[i], want.values[i], `step ${i}, this thread`);
      assert.deepEqual(there.values[i], want.values[i], `step ${i}, engine thread`);
    }
  } finally {
    await fresh.dispose();
    await local.dispose();
    await worker.dispose();
  }
});

test('evalTokens writes into a caller buffer that holds the rows, and allocates when it does not', { skip: skipNoFixtures, timeout: 120_000 }, async () => {
  const model = await loadModel(MODEL(), { threads: 2 });
  const s = model.session({ contextSize: 32 });
  try {
    const V = model.config.vocabSize;
    const ctx = [1, 50, 90, 7];
    await s.eval(ctx, { logits: 'none' });
    const toks = [8, 300, 12];
    const pos = toks.map((_, i) => ctx.length + i);
    const fresh = await model.scheduler.evalTokens(s.sequence, toks, pos, 'all', { whole: true });
    s.truncate(ctx.length);
    const buf = new Float32Array(5 * V).fill(7);
    const into = await model.scheduler.evalTokens(s.sequence, toks, pos, 'all', { whole: true, into: buf });
    s.truncate(ctx.length);
    assert.equal(into.buffer, buf.buffer, 'the rows land in the caller buffer');
    assert.equal(into.byteOffset, 0);
    assert.equal(into.length, 3 * V);
    assert.deepEqual(into, fresh);
    assert.equal(buf[3 * V], 7, 'nothing past the rows is written');
    // 'last' fills one row; a buffer too short for the rows is left alone.
    const last = await model.scheduler.evalTokens(s.sequence, toks, pos, 'last', { into: buf });
    s.truncate(ctx.length);
    assert.equal(last.buffer, buf.buffer);
    assert.deepEqual(last, fresh.subarray(2 * V));
    const short = new Float32Array(V - 1);
    const own = await model.scheduler.evalTokens(s.sequence, toks, pos, 'last', { into: short });
    assert.notEqual(own.buffer, short.buffer);
    assert.deepEqual(own, fresh.subarray(2 * V));
  } finally {
    s.dispose();
    await model.dispose();
  }
});
