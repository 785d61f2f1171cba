/**
 * Speculative decoding on synthetic Llama 3.2 1B-shaped GGUFs (../shared/tools/synth_gguf.py,
 * generated on demand into --cache, never committed):
 *
 *  1. the verify-cost curve: time of evaluating K + 1 tokens with logits 'all' in one step (what
 *     the driver's verification runs; session.eval would chunk it at the scheduler's budget) against one
 *     decode step, K = 1..8 (min and median over --reps), the figure that decides every speedup;
 *     The curve is the target's (--target, Q8_0 by default; Q4_0 / Q4_K are what most people serve): its
 *     type decides how far a step of a few tokens stays memory-bound like a decode step;
 *  2. plain vs speculative tokens/s for a Q8_0 target with a Q4_0 draft of the same weights (greedy,
 *     and sampled at T = 0.8), and for prompt lookup on a copy-heavy prompt, with acceptance rates;
 *  3. the speedup the measured curve predicts for a real 1B-drafts-8B pair at acceptance 0.6–0.8.
 *
 *   node --import tsx bench/speculative/run.ts [-t 2] [--reps 5] [--gen 32] [--context 64] [--target q8_0|q4_0|q4_k|f16]
 *
 * Prints one JSON line per measurement, then a summary; every figure names the CPU it ran on.
 * Random weights do not behave like trained ones: the verify-cost curve carries over to real
 * pairs, the acceptance rates measured here do not.
 */
import { mkdirSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { loadModel, type GenerateOptions, type GenerateResult, type LlamaModel } from '../../src/index.js';
import { expectedTokens, predictSpeedup } from './predict.js';
import { ensureSyntheticGguf } from '../synthetic-gguf.js';

const { values } = parseArgs({
  options: {
    shape: { type: 'string', default: 'llama3.2-1b' },
    t: { type: 'string', short: 't', default: '2' },
    reps: { type: 'string', default: '5' },
    gen: { type: 'string', default: '32' },
    context: { type: 'string', default: '64' },
    'max-k': { type: 'string', default: '8' },
    cache: { type: 'string', default: join(tmpdir(), 'llama-ts-bench') },
    target: { type: 'string', default: 'q8_0' },
    'skip-generate': { type: 'boolean', default: false },
  },
});
const threads = Number(values.t);
const reps = Number(values.reps);
const genLen = Number(values.gen);
const contextLen = Number(values.context);
const maxK = Number(values['max-k']);
const cache = resolve(values.cache!);
const cpu = cpus()[0]?.model ?? 'unknown CPU';
mkdirSync(cache, { recursive: true });

function ensureModel(type: string): string {
  return ensureSyntheticGguf(cache, values.shape!, type);
}

const emit = (o: object): void => console.log(JSON.stringify({ cpu, threads, ...o }));
const stats = (xs: number[]): { min: number; median: number } => {
  const s = [...xs].sort((a, b) => a - b);
  return { min: s[0]!, median: s[Math.floor(s.length / 2)]! };
};
const round = (x: number, d = 2): number => Math.round(x * 10 ** d) / 10 ** d;

/**
 * ms of session.eval of n tokens (logits 'all') after `contextLen` cached tokens, for n = 1..maxN:
 * the sizes alternate within each rep, so drift on a shared machine hits them alike.
 */
async function verifyCosts(model: LlamaModel, maxN: number): Promise<number[][]> {
  const s = model.session({ contextSize: contextLen + maxN + 1 });
  try {
    const ctx = Array.from({ length: contextLen }, (_, i) => 1000 + ((i * 7919) % 20000));
    await s.eval(ctx, { logits: 'none' });
    const tokens = (n: number): number[] => Array.from({ length: n }, (_, i) => 2000 + i);
    await s.eval(tokens(maxN)); // warm-up
    s.truncate(contextLen);
    const out: number[][] = Array.from({ length: maxN + 1 }, () => []);
    const rows = new Float32Array(maxN * model.config.vocabSize); // reused, as the driver reuses its buffer
    for (let r = 0; r < reps; r++) {
      for (let n = 1; n <= maxN; n++) {
        const t0 = performance.now();
        // What the speculative driver runs: one evalTokens of all rows in one forward step.
        await model.scheduler.evalTokens(s.sequence, tokens(n), tokens(n).map((_, i) => contextLen + i), 'all', { whole: true, into: rows });
        out[n]!.push(performance.now() - t0);
        s.truncate(contextLen);
      }
    }
    return out;
  } finally {
    s.dispose();
  }
}

async function generate(model: LlamaModel, prompt: readonly number[], o: GenerateOptions): Promise<{ result: GenerateResult; ms: number }> {
  const t0 = performance.now();
  const g = model.generate(prompt, { maxTokens: genLen, ignoreEos: true, ...o });
  for (;;) {
    const x = await g.next();
    if (x.done) return { result: x.value, ms: performance.now() - t0 };
  }
}

const targetType = values.target!;
if (!['q8_0', 'q4_0', 'q4_k', 'f16'].includes(targetType)) throw new Error(`--target: q8_0, q4_0, q4_k or f16, got ${targetType}`);
const target = await loadModel(ensureModel(targetType), { threads });
const curve: { k: number; ratioMin: number; ratioMedian: number }[] = [];
try {
  const costs = await verifyCosts(target, maxK + 1);
  const one = stats(costs[1]!);
  emit({ bench: 'verify', target: targetType, k: 0, tokens: 1, min_ms: round(one.min), median_ms: round(one.median) });
  for (let k = 1; k <= maxK; k++) {
    const t = stats(costs[k + 1]!);
    const row = { k, ratioMin: t.min / one.min, ratioMedian: t.median / one.median };
    curve.push(row);
    emit({ bench: 'verify', target: targetType, k, tokens: k + 1, min_ms: round(t.min), median_ms: round(t.median), ratio_min: round(row.ratioMin), ratio_median: round(row.ratioMedian) });
  }

  // A Q4_0 draft of a Q4_0 target is the target itself, and the Q4_K file's layers are random
  // blocks, not the draft's weights: nothing to measure.
  if (!values['skip-generate'] && targetType !== 'q4_0' && targetType !== 'q4_k') {
    const draft = await loadModel(ensureModel('q4_0'), { threads });
    try {
      const prompt = [128000, ...Array.from({ length: 31 }, (_, i) => 1000 + ((i * 104729) % 30000))];
      const plain = await generate(target, prompt, {});
      const tps = (r: { result: GenerateResult; ms: number }): number => (r.result.ids.length * 1000) / (r.ms - r.result.timings.prefillMs);
      emit({ bench: 'generate', mode: 'plain', tokens: plain.result.ids.length, tps: round(tps(plain)) });
      const spec = await generate(target, prompt, { draft, draftMax: maxK });
      const same = spec.result.ids.join() === plain.result.ids.join();
      const d = spec.result.draft!;
      emit({ bench: 'generate', mode: 'draft q4_0', tokens: spec.result.ids.length, tps: round(tps(spec)), speedup: round(tps(spec) / tps(plain)), drafted: d.drafted, accepted: d.accepted, acceptance: round(d.accepted / Math.max(1, d.drafted)), tokens_per_step: round(spec.result.ids.length / d.steps), identical_to_plain: same });
      // Sampling (T = 0.8, seeded): modified rejection sampling on the draft's and the target's
      // distributions; with a draft of the same weights they nearly agree, so acceptance is high.
      const sampling: GenerateOptions = { temperature: 0.8, seed: 7 };
      const plainS = await generate(target, prompt, sampling);
      emit({ bench: 'generate', mode: 'plain (sampled)', tokens: plainS.result.ids.length, tps: round(tps(plainS)) });
      const specS = await generate(target, prompt, { ...sampling, draft, draftMax: maxK });
      const ds = specS.result.draft!;
      emit({ bench: 'generate', mode: 'draft q4_0 (sampled)', tokens: specS.result.ids.length, tps: round(tps(specS)), speedup: round(tps(specS) / tps(plainS)), drafted: ds.drafted, accepted: ds.accepted, acceptance: round(ds.accepted / Math.max(1, ds.drafted)), tokens_per_step: round(specS.result.ids.length / ds.steps) });
      // Copy-heavy: a passage, then the same passage again; greedy output on random weights is
      // whatever it is, so lookup's acceptance here measures how often that output copies.
      const passage = Array.from({ length: 24 }, (_, i) => 3000 + ((i * 7307) % 5000));
      const copyPrompt = [128000, ...passage, ...passage, ...passage.slice(0, 6)];
      const plainCopy = await generate(target, copyPrompt, {});
      emit({ bench: 'generate', mode: 'plain (copy prompt)', tokens: plainCopy.result.ids.length, tps: round(tps(plainCopy)) });
      const look = await generate(target, copyPrompt, { draft: 'lookup', draftMax: maxK });
      const dl = look.result.draft!;
      emit({ bench: 'generate', mode: 'lookup (copy prompt)', tokens: look.result.ids.length, tps: round(tps(look)), speedup: round(tps(look) / tps(plainCopy)), drafted: dl.drafted, accepted: dl.accepted, acceptance: round(dl.accepted / Math.max(1, dl.drafted)), tokens_per_step: round(look.result.ids.length / dl.steps), identical_to_plain: look.result.ids.join() === plainCopy.result.ids.join() });
    } finally {
      await draft.dispose();
    }
  }
} finally {
  await target.dispose();
}

// A real 1B-drafts-8B pair: decode is memory-bound, so a draft step costs about the ratio of the
// bytes read per token (Llama 3.2 1B vs Llama 3.1 8B at the same quantisation: ≈ 1.24 / 8.03).
const draftCost = 1.24 / 8.03;
console.log(`\nverify-cost curve (${cpu}, ${threads} threads, ${targetType} target): t(eval K+1 tokens) / t(one decode step)`);
for (const c of curve) console.log(`  K=${c.k}: ${c.ratioMin.toFixed(2)}× (min)  ${c.ratioMedian.toFixed(2)}× (median)`);
// "Verify 4 tokens": the last token plus K = 3 drafts in one step.
const k3 = curve.find((c) => c.k === 3);
if (k3) console.log(`goal: verify 4 tokens (K = 3) ≤ 1.5× one decode — measured ${k3.ratioMin.toFixed(2)}× (min), ${k3.ratioMedian.toFixed(2)}× (median): ${k3.ratioMin <= 1.5 ? 'met' : 'not met'}`);
console.log(`\npredicted speedup, 1B drafting for 8B, draft step = ${draftCost.toFixed(3)}× a target step:`);
console.log('  speedup(K) = E[tokens per round] / (K·c + V(K)),  E = (1 − α^(K+1)) / (1 − α),  c = draft/target step cost, V(K) = measured verify ratio');
for (const alpha of [0.6, 0.7, 0.8]) {
  const best = predictSpeedup(alpha, draftCost, curve.map((c) => ({ k: c.k, verify: c.ratioMin })));
  // best_k 0: no K beats plain decoding on this curve (speculation would only slow it down).
  emit({ bench: 'predicted', pair: 'llama3.2-1b drafts llama3.1-8b', alpha, best_k: best.k, tokens_per_round: round(expectedTokens(alpha, best.k)), speedup: round(best.speedup), ...(best.k === 0 ? { note: 'no K beats plain decoding on this curve' } : {}) });
}
