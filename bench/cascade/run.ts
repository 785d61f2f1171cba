/**
 * What the cascade's verification saves: for the big model, scoring a small model's answer of A
 * tokens after a P-token prompt (one prefill over P + A, what verification costs) against
 * generating those A tokens itself (prefill P, then A decode steps, what escalation costs), measured
 * alternately in one process; and the same scoring through a llama-ts server's /v1/completions
 * echo (HTTP + JSON + log-softmax of every row), and a prefill with logits for every row (what
 * verification would cost without skipping the output head for the prompt's rows). Random ids: the cost does not depend on them.
 * Synthetic Llama 3.2 1B-shaped GGUF (../shared/tools/synth_gguf.py, into --cache).
 *
 *   node --import tsx bench/cascade/run.ts [--type q8_0] [-t 2] [--prompt 64] [--answer 32] [--reps 3]
 */
import { cpus, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { loadModel, EndpointBigModel, LocalBigModel } from '../../src/index.js';
import { createServer } from '../../src/server/app.js';
import { ensureSyntheticGguf } from '../synthetic-gguf.js';

const { values } = parseArgs({
  options: {
    type: { type: 'string', default: 'q8_0' },
    shape: { type: 'string', default: 'llama3.2-1b' },
    model: { type: 'string' },
    t: { type: 'string', short: 't', default: '2' },
    prompt: { type: 'string', default: '64' },
    answer: { type: 'string', default: '32' },
    reps: { type: 'string', default: '3' },
    cache: { type: 'string', default: join(tmpdir(), 'llama-ts-bench') },
  },
});

function ensureModel(): string {
  return values.model ?? ensureSyntheticGguf(resolve(values.cache!), values.shape!, values.type!);
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const P = Number(values.prompt);
const A = Number(values.answer);
const reps = Number(values.reps);
const file = ensureModel();
// No prefix cache: every repetition pays for its whole prompt, as a new request would.
const model = await loadModel(file, { threads: Number(values.t), prefixCacheBytes: 0 });
const { app } = createServer(model, { modelName: 'big' });
const url = await app.listen({ host: '127.0.0.1', port: 0 });
const local = new LocalBigModel(model);
const endpoint = new EndpointBigModel(url);
const V = model.config.vocabSize;
let seed = 12345;
const rand = (): number => (seed = (seed * 1103515245 + 12345) >>> 0) % (V - 300) + 256;

const verify: number[] = [];
const verifyHttp: number[] = [];
const verifyAllRows: number[] = [];
const prefillPrompt: number[] = [];
const generate: number[] = [];
for (let r = 0; r < reps + 1; r++) {
  const ids = [1, ...Array.from({ length: P + A - 1 }, rand)];
  let t = performance.now();
  await local.score(ids, P);
  const v = performance.now() - t;
  t = performance.now();
  await endpoint.score(ids, P);
  const vh = performance.now() - t;
  t = performance.now();
  await model.logits(ids); // logits for every row, as a plain prefill gives them
  const va = performance.now() - t;
  t = performance.now();
  await model.logits(ids.slice(0, P)); // the prompt alone: what both stages pay before the answer
  const pp = performance.now() - t;
  t = performance.now();
  const g = await local.generate(ids.slice(0, P), { maxTokens: A, ignoreEos: true, temperature: 0 });
  const gm = performance.now() - t;
  if (g.completionTokens !== A) throw new Error(`generated ${g.completionTokens} tokens, wanted ${A}`);
  if (r === 0) continue; // warm-up
  verify.push(v);
  verifyHttp.push(vh);
  verifyAllRows.push(va);
  prefillPrompt.push(pp);
  generate.push(gm);
}
await app.close();
await model.dispose();
const fmt = (x: number): string => x.toFixed(0);
console.log(`cascade stage costs: ${file} (${values.t} threads, ${cpus()[0]?.model ?? 'unknown CPU'}), prompt ${P}, answer ${A}, median of ${reps}`);
console.log(`  verify  (one prefill of ${P + A}, local)      ${fmt(median(verify))} ms`);
console.log(`  verify  (same, through /v1/completions echo)  ${fmt(median(verifyHttp))} ms`);
console.log(`  prefill of ${P + A} with logits for every row  ${fmt(median(verifyAllRows))} ms`);
console.log(`  escalate (prefill ${P} + ${A} decode steps)    ${fmt(median(generate))} ms`);
console.log(`  prefill of the prompt alone (${P})             ${fmt(median(prefillPrompt))} ms`);
const pre = median(prefillPrompt);
console.log(`  escalate / verify: ${(median(generate) / median(verify)).toFixed(2)}×  (http verify / local verify: ${(median(verifyHttp) / median(verify)).toFixed(2)}×)`);
console.log(`  beyond the prompt: verifying ${A} tokens ${fmt(median(verify) - pre)} ms, generating them ${fmt(median(generate) - pre)} ms (${((median(generate) - pre) / (median(verify) - pre)).toFixed(2)}×)`);
