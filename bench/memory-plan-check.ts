/**
 * How close the memory plan is to what the wasm backend really takes: loads a model, runs one
 * prompt chunk at the given context, and compares each thread's wasm memory size (its high-water
 * mark: memories never shrink) with the plan's per-thread total.
 *
 *   node --expose-gc dist/bench/memory-plan-check.js <model.gguf> [--ctx 4096] [-t 2] [--tokens 600]
 */
import { parseArgs } from 'node:util';
import { loadModel, openModelFiles } from '../src/model/load.js';
import { checkModelFits } from '../src/model/memory-plan.js';

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: { ctx: { type: 'string', default: '4096' }, t: { type: 'string', short: 't', default: '2' }, tokens: { type: 'string', default: '600' } },
});
const path = positionals[0];
if (!path) throw new Error('usage: memory-plan-check <model> [--ctx N] [-t T]');
const ctx = Number(values.ctx);
const threads = Number(values.t);
const opened = await openModelFiles(path);
const plan = checkModelFits(opened, { backend: 'wasm', threads, contextSize: ctx, maxMemory: 2 ** 50 }, false);
const vocab = opened.config.vocabSize;
opened.close();
const model = await loadModel(path, { threads });
const session = model.session({ contextSize: ctx });
const n = Math.min(Number(values.tokens), ctx - 1);
await session.eval(Array.from({ length: n }, (_, i) => (i * 7919) % vocab));
// The backend's memories are internal; read their sizes for this measurement only.
const memories = (model as unknown as { backend: { memories: WebAssembly.Memory[] } }).backend.memories;
const actual = memories.map((m) => m.buffer.byteLength);
const mib = (b: number): number => Math.round((b / 2 ** 20) * 10) / 10;
process.stdout.write(
  `${JSON.stringify({
    model: path.split('/').pop(),
    ctx,
    threads,
    prompt_tokens: n,
    planned_mib: plan.perThread.map((t) => mib(t.total)),
    actual_mib: actual.map(mib),
    planned_sum_mib: mib(plan.perThread.reduce((a, t) => a + t.total, 0)),
    actual_sum_mib: mib(actual.reduce((a, b) => a + b, 0)),
  })}\n`,
);
session.dispose();
await model.dispose();
