/**
 * Speculative sampling is exact: the per-position token distribution equals plain sampling's
 * (chi-square), and a wrong acceptance rule fails the same test, so the test can fail.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fixture, skipNoFixtures } from './fixtures.js';
import { loadModel, type GenerateOptions, type LlamaModel } from '../src/index.js';
import { Generation } from '../src/generate/generation.js';
import { Rng } from '../src/generate/rng.js';
import { exactAcceptRule, residual, type AcceptRule } from '../src/generate/speculative/accept.js';
import { verifyDrafts } from '../src/generate/speculative/verify.js';

const alwaysAccept: AcceptRule = () => true;
/** Plausible-looking but wrong: keeps d with probability p(d), ignoring q. */
const ignoreQ: AcceptRule = (pd, _qd, u) => u < pd;

/** Upper 0.1% point of chi-square with df degrees of freedom (Wilson–Hilferty). */
function chiCritical(df: number): number {
  const z = 3.0902;
  const a = 2 / (9 * df);
  return df * (1 - a + z * Math.sqrt(a)) ** 3;
}

/** Goodness of fit of counts to probabilities; bins expecting fewer than 5 are pooled. */
function chiSquare(counts: ReadonlyMap<number, number>, expected: ReadonlyMap<number, number>, n: number): { stat: number; df: number } {
  let stat = 0;
  let bins = 0;
  let poolE = 0;
  let poolO = 0;
  const keys = new Set([...counts.keys(), ...expected.keys()]);
  for (const k of keys) {
    const e = (expected.get(k) ?? 0) * n;
    const o = counts.get(k) ?? 0;
    if (e < 5) {
      poolE += e;
      poolO += o;
      continue;
    }
    stat += (o - e) ** 2 / e;
    bins++;
  }
  if (poolE > 0) {
    stat += (poolO - poolE) ** 2 / Math.max(poolE, 1e-9);
    bins++;
  }
  return { stat, df: Math.max(1, bins - 1) };
}

function draw(p: Float64Array, rng: Rng): number {
  let r = rng.next();
  for (let i = 0; i < p.length; i++) {
    r -= p[i]!;
    if (r < 0 && p[i]! > 0) return i;
  }
  let last = 0;
  p.forEach((x, i) => x > 0 && (last = i));
  return last;
}

function randomDist(n: number, rng: Rng, sharp: number): Float64Array {
  const w = Float64Array.from({ length: n }, () => Math.exp(sharp * (rng.next() - 0.5)));
  const z = w.reduce((a, b) => a + b, 0);
  return w.map((x) => x / z);
}

/** One speculative draw of a single position with the acceptance rule alone (pure function over p and q). */
function oneDraw(p: Float64Array, q: Float64Array | undefined, fixed: number, rule: AcceptRule, rng: Rng): number {
  const d = q ? draw(q, rng) : fixed;
  if (rule(p[d]!, q ? q[d]! : 1, rng.next())) return d;
  const w = residual(p, d, q);
  const z = w.reduce((a, b) => a + b, 0);
  return draw(w.map((x) => x / z), rng);
}

test('acceptance rule on distributions: 50,000 draws match p for a sampled and a point-mass proposal; wrong rules fail', () => {
  const rng = new Rng(7);
  const V = 40;
  const p = randomDist(V, rng, 6);
  const q = randomDist(V, rng, 6);
  const expected = new Map([...p].map((x, i) => [i, x]));
  const N = 50_000;
  const run = (rule: AcceptRule, proposal: Float64Array | undefined): { stat: number; df: number } => {
    const counts = new Map<number, number>();
    for (let i = 0; i < N; i++) {
      const t = oneDraw(p, proposal, 3, rule, rng);
      counts.set(t, (counts.get(t) ?? 0) + 1);
    }
    return chiSquare(counts, expected, N);
  };
  for (const proposal of [q, undefined]) {
    const ok = run(exactAcceptRule, proposal);
    assert.ok(ok.stat < chiCritical(ok.df), `exact rule: chi2 ${ok.stat.toFixed(1)} df ${ok.df}`);
    const bad = run(alwaysAccept, proposal);
    assert.ok(bad.stat > chiCritical(bad.df), `always-accept must fail: chi2 ${bad.stat.toFixed(1)}`);
  }
  const wrong = run(ignoreQ, q);
  assert.ok(wrong.stat > chiCritical(wrong.df), `ignoring q must fail: chi2 ${wrong.stat.toFixed(1)}`);
});

/**
 * End to end on real model rows: tiny-llama3.1 (target) and tiny-llama3.2-tied (a different model
 * with the same vocabulary, so q differs from p) with temperature 1, top-k 8 and a repetition
 * penalty. Rows are computed once per context by the models and memoised; each draw runs the real
 * Generation (processed distributions, speculate/unspeculate) and the real verifyDrafts.
 */
test('speculative sampling with real model rows: positions 1-3 distributed as plain sampling over 20,000 draws; always-accept fails', { skip: skipNoFixtures, timeout: 300_000 }, async (t) => {
  const target = await loadModel(fixture('models', 'tiny-llama3.1', 'tiny-llama3.1.f32.gguf'), { threads: 1 });
  const draft = await loadModel(fixture('models', 'tiny-llama3.2-tied', 'tiny-llama3.2-tied.f32.gguf'), { threads: 1 });
  try {
    const prompt = [1, 400, 401, 402];
    const V = target.config.vocabSize;
    const opts: GenerateOptions = { temperature: 1, topK: 8, repetitionPenalty: 1.3, maxTokens: 3, ignoreEos: true };
    const memo = new Map<string, Float32Array>();
    const rowOf = async (m: LlamaModel, ctx: readonly number[]): Promise<Float32Array> => {
      const key = `${m === target ? 't' : 'd'}:${ctx.join(',')}`;
      let r = memo.get(key);
      if (!r) {
        const all = await m.logits(ctx);
        r = all.slice((ctx.length - 1) * V);
        memo.set(key, r);
      }
      return r;
    };
    const newGen = (seed: number): Generation => new Generation(undefined, target.config.eosTokenIds, prompt, { ...opts, seed });

    // Exact per-position marginals of plain sampling, from the same processed distributions.
    const expected = [new Map<number, number>(), new Map<number, number>(), new Map<number, number>()];
    const walk = async (taken: number[], mass: number): Promise<void> => {
      if (taken.length === 3) return;
      const g = newGen(0);
      for (const t of taken) g.push(t, 0);
      const p = g.distribution(await rowOf(target, [...prompt, ...taken])).probs;
      for (let t = 0; t < V; t++) {
        if (p[t]! === 0) continue;
        const m = expected[taken.length]!;
        m.set(t, (m.get(t) ?? 0) + mass * p[t]!);
        await walk([...taken, t], mass * p[t]!);
      }
    };
    await walk([], 1);

    const N = Number(process.env.SPEC_CHI_N ?? 20_000);
    const simulate = async (mode: 'plain' | AcceptRule): Promise<Map<number, number>[]> => {
      const counts = [new Map<number, number>(), new Map<number, number>(), new Map<number, number>()];
      const draftRng = new Rng(99);
      for (let n = 0; n < N; n++) {
        const gen = newGen(1000 + n);
        const ctx = [...prompt];
        while (!gen.done) {
          if (mode === 'plain') {
            const r = gen.sample(await rowOf(target, ctx));
            gen.push(r.id, r.logprob);
            ctx.push(r.id);
            continue;
          }
          // Draft up to the tokens still wanted minus the bonus one (K = 2 at the first round).
          const k = 3 - gen.ids.length - 1;
          const ids: number[] = [];
          const qs: Float64Array[] = [];
          for (let j = 0; j < k; j++) {
            const q = gen.distribution(await rowOf(draft, [...ctx, ...ids])).probs;
            const d = draw(q, draftRng);
            ids.push(d);
            qs.push(q);
            if (j < k - 1) gen.speculate(d);
          }
          gen.unspeculate();
          const rows = new Float32Array((ids.length + 1) * V);
          for (let i = 0; i <= ids.length; i++) rows.set(await rowOf(target, [...ctx, ...ids.slice(0, i)]), i * V);
          const r = verifyDrafts(gen, ids, qs, rows, V, mode);
          ctx.push(...r.sampled);
        }
        gen.ids.forEach((t, i) => counts[i]!.set(t, (counts[i]!.get(t) ?? 0) + 1));
      }
      return counts;
    };
    const judge = (counts: Map<number, number>[]): { pass: boolean; detail: string } => {
      let pass = true;
      const detail: string[] = [];
      for (let pos = 0; pos < 3; pos++) {
        const c = chiSquare(counts[pos]!, expected[pos]!, N);
        const crit = chiCritical(c.df);
        if (c.stat >= crit) pass = false;
        detail.push(`pos ${pos + 1}: chi2 ${c.stat.toFixed(1)} df ${c.df} crit ${crit.toFixed(1)}`);
      }
      return { pass, detail: detail.join('; ') };
    };
    const plain = judge(await simulate('plain'));
    assert.ok(plain.pass, `plain sampling vs its exact marginals: ${plain.detail}`);
    const spec = judge(await simulate(exactAcceptRule));
    assert.ok(spec.pass, `speculative: ${spec.detail}`);
    const wrong = judge(await simulate(alwaysAccept));
    assert.ok(!wrong.pass, `always-accept must fail: ${wrong.detail}`);
    t.diagnostic(`plain: ${plain.detail}`);
    t.diagnostic(`speculative: ${spec.detail}`);
    t.diagnostic(`always-accept: ${wrong.detail}`);
  } finally {
    await target.dispose();
    await draft.dispose();
  }
});

test('through generate(): seeded speculative sampling repeats, follows plain sampling at position 1 (2,000 draws), and honours responseFormat', { skip: skipNoFixtures, timeout: 300_000 }, async () => {
  const target = await loadModel(fixture('models', 'tiny-llama3.1', 'tiny-llama3.1.f32.gguf'), { threads: 1 });
  const draft = await loadModel(fixture('models', 'tiny-llama3.2-tied', 'tiny-llama3.2-tied.f32.gguf'), { threads: 1 });
  try {
    const prompt = [1, 400, 401, 402];
    const base: GenerateOptions = { temperature: 1, topK: 4, maxTokens: 2, ignoreEos: true };
    const ids = async (o: GenerateOptions): Promise<number[]> => {
      const g = target.generate(prompt, o);
      for (;;) {
        const x = await g.next();
        if (x.done) return x.value.ids;
      }
    };
    const a = await ids({ ...base, maxTokens: 12, seed: 5, draft, draftMax: 4 });
    const b = await ids({ ...base, maxTokens: 12, seed: 5, draft, draftMax: 4 });
    assert.deepEqual(a, b, 'same seed, same output');
    const g0 = new Generation(undefined, target.config.eosTokenIds, prompt, { ...base, seed: 0 });
    const p = g0.distribution((await target.logits(prompt)).slice((prompt.length - 1) * target.config.vocabSize)).probs;
    const expected = new Map<number, number>();
    p.forEach((x, i) => x > 0 && expected.set(i, x));
    const N = 2000;
    const counts = new Map<number, number>();
    for (let n = 0; n < N; n++) {
      const out = await ids({ ...base, seed: n, draft, draftMax: 1, draftFixed: true });
      counts.set(out[0]!, (counts.get(out[0]!) ?? 0) + 1);
    }
    const c = chiSquare(counts, expected, N);
    assert.ok(c.stat < chiCritical(c.df), `position 1 through generate(): chi2 ${c.stat.toFixed(1)} df ${c.df}`);

    // Structured output: every drafted token is judged under the constraint, so the JSON stays valid.
    for (const d of [draft, 'lookup'] as const) {
      const g = target.generate(prompt, { temperature: 0.7, seed: 1, maxTokens: 40, draft: d, responseFormat: { type: 'json_object' } });
      let r;
      for (;;) {
        const x = await g.next();
        if (x.done) {
          r = x.value;
          break;
        }
      }
      if (r.finishReason === 'stop') assert.doesNotThrow(() => JSON.parse(r.text), r.text);
      assert.match(r.text, /^\s*\{/);
    }
  } finally {
    await target.dispose();
    await draft.dispose();
  }
});
