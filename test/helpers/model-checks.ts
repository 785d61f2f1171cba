import assert from 'node:assert/strict';
import { fixture } from '../fixtures.js';
import { readReference, f32, i32, maxAbsDiff, rowArgmax } from './reference.js';
import { loadModel, type LoadOptions } from '../../src/model/load.js';
import type { LlamaModel } from '../../src/model/model.js';

/**
 * Every tiny fixture model in every container, on the given backend, against the float64
 * reference (fixtures README §2): logits at positions 0..47, far (20000+) and gap positions,
 * greedy continuation; prefill must equal token-by-token decoding.
 */
export interface Container {
  readonly model: string;
  readonly file: string;
  /** Max |Δlogit| allowed at positions 0..47 (and far/gap get max(tol, 2e-3)). */
  readonly tol: number;
  /** Exact argmax + greedy agreement expected (not for Q8_0). */
  readonly exact: boolean;
  readonly options?: LoadOptions;
}

export const CONTAINERS: readonly Container[] = [
  { model: 'tiny-llama3.1', file: '', tol: 1e-3, exact: true },
  { model: 'tiny-llama3.1', file: 'model.bf16.safetensors', tol: 1e-3, exact: true },
  { model: 'tiny-llama3.1', file: 'tiny-llama3.1.f32.gguf', tol: 1e-3, exact: true },
  { model: 'tiny-llama3.1', file: 'tiny-llama3.1.f16.gguf', tol: 1e-3, exact: true },
  { model: 'tiny-llama3.1', file: 'tiny-llama3.1.q8_0.gguf', tol: 0.3, exact: false },
  { model: 'tiny-llama3.2-tied', file: '', tol: 1e-3, exact: true },
  { model: 'tiny-llama3.2-tied', file: 'model.bf16.safetensors', tol: 1e-3, exact: true },
  { model: 'tiny-llama3.2-tied', file: 'tiny-llama3.2-tied.f32.gguf', tol: 1e-3, exact: true },
  { model: 'tiny-llama2', file: '', tol: 1e-3, exact: true },
  { model: 'tiny-llama2', file: 'model.bf16.safetensors', tol: 1e-3, exact: true },
  { model: 'tiny-llama2', file: 'tiny-llama2.f32.gguf', tol: 1e-3, exact: true },
  { model: 'tiny-llama2', file: 'tiny-llama2.llama2c.bin', tol: 1e-3, exact: true },
];

export interface ContainerResult {
  readonly name: string;
  readonly pos: number;
  readonly far: number;
  readonly gap: number;
  readonly greedy: boolean;
}

/** Runs every check on one container; returns the measured errors for the report. */
export async function checkContainer(c: Container, options: LoadOptions): Promise<ContainerResult> {
  const dir = fixture('models', c.model);
  const ref = readReference(`${dir}/reference.safetensors`);
  const model: LlamaModel = await loadModel(c.file ? `${dir}/${c.file}` : dir, options);
  const name = `${c.model}/${c.file || '(HF folder)'}`;
  try {
    const vocab = model.config.vocabSize;
    const ids = i32(ref, 'input_ids');
    const want = f32(ref, 'logits');

    const got = await model.logits(ids);
    const pos = maxAbsDiff(got, want);
    assert.ok(pos <= c.tol, `${name}: positions 0..47 max |Δ| ${pos} > ${c.tol}`);
    if (c.exact) assert.deepEqual(rowArgmax(got, vocab), rowArgmax(want, vocab), `${name}: argmax`);

    const farTol = Math.max(c.tol, 2e-3);
    const gotFar = await model.logits(ids, { startPos: 20000 });
    const far = maxAbsDiff(gotFar, f32(ref, 'logits_far'));
    assert.ok(far <= farTol, `${name}: far max |Δ| ${far}`);

    // gap: ids[:24] at 0..23, ids[24:] at 20000..20023, in one session.
    const gapPos = i32(ref, 'gap_positions');
    const s = model.session({ contextSize: 64 });
    const a = await s.eval(ids.slice(0, 24), { startPos: gapPos[0] });
    const b = await s.eval(ids.slice(24), { startPos: gapPos[24] });
    s.dispose();
    const gotGap = new Float32Array(48 * vocab);
    gotGap.set(a, 0);
    gotGap.set(b, 24 * vocab);
    const gap = maxAbsDiff(gotGap, f32(ref, 'logits_gap'));
    assert.ok(gap <= farTol, `${name}: gap max |Δ| ${gap}`);

    // Prefill at once vs one token at a time.
    const t = model.session({ contextSize: 48 });
    const stepwise = new Float32Array(48 * vocab);
    for (let i = 0; i < 48; i++) stepwise.set(await t.eval([ids[i]!]), i * vocab);
    t.dispose();
    const pd = maxAbsDiff(stepwise, got);
    assert.ok(pd <= 1e-4, `${name}: prefill vs token-by-token max |Δ| ${pd}`);

    let greedy = false;
    if (c.exact) {
      const prompt = i32(ref, 'greedy_prompt');
      const gen = model.generate(prompt, { maxTokens: 32, ignoreEos: true });
      const outIds: number[] = [];
      for await (const chunk of gen) outIds.push(chunk.id);
      assert.deepEqual(outIds, i32(ref, 'greedy_ids'), `${name}: greedy`);
      greedy = true;
    }
    return { name, pos, far, gap, greedy };
  } finally {
    await model.dispose();
  }
}


export const KQ_QUANTS = ['q4_k_m', 'q5_k_m', 'q6_k', 'q4_0', 'q8_0'] as const;

/**
 * A llama.cpp-quantized GGUF against the float64 reference run on ggml's own dequantized weights
 * (fixtures README §5.2): exact block decoding shows as ≤ `tol` logit error and identical greedy ids.
 */
export async function checkQuantized(quant: (typeof KQ_QUANTS)[number], options: LoadOptions, tol: number, exact: boolean): Promise<{ name: string; pos: number; greedy: boolean }> {
  const dir = fixture('models', 'small-llama3.1-kq');
  const ref = readReference(`${dir}/reference.safetensors`);
  const model = await loadModel(`${dir}/small-llama3.1-kq.${quant}.gguf`, options);
  const name = `small-llama3.1-kq/${quant}`;
  try {
    const vocab = model.config.vocabSize;
    const got = await model.logits(i32(ref, 'input_ids'));
    const want = f32(ref, `dequant.${quant}.logits`);
    const pos = maxAbsDiff(got, want);
    assert.ok(pos <= tol, `${name}: max |Δ| ${pos} > ${tol}`);
    let greedy = false;
    if (exact) {
      // argmax wherever the reference margin is above 1e-3 (one q5_k_m position has 0.00044)
      const ga = rowArgmax(got, vocab);
      const wa = rowArgmax(want, vocab);
      for (let p = 0; p < ga.length; p++) {
        const row = Array.from(want.subarray(p * vocab, (p + 1) * vocab)).sort((a, b) => b - a);
        if (row[0]! - row[1]! > 1e-3) assert.equal(ga[p], wa[p], `${name}: argmax at ${p}`);
      }
      const outIds: number[] = [];
      for await (const chunk of model.generate(i32(ref, 'greedy_prompt'), { maxTokens: 32, ignoreEos: true })) outIds.push(chunk.id);
      assert.deepEqual(outIds, i32(ref, `dequant.${quant}.greedy_ids`), `${name}: greedy`);
      greedy = true;
    }
    return { name, pos, greedy };
  } finally {
    await model.dispose();
  }
}

/** The 20,048-token `long` case: logits of the last 48 positions (catches long-range RoPE errors). */
export async function checkLong(modelName: string, file: string, options: LoadOptions, tol: number): Promise<number> {
  const dir = fixture('models', modelName);
  const ref = readReference(`${dir}/reference.safetensors`);
  const model = await loadModel(file ? `${dir}/${file}` : dir, options);
  try {
    const ids = i32(ref, 'long_ids');
    const s = model.session({ contextSize: ids.length });
    const vocab = model.config.vocabSize;
    // Prefill all but the last 48 without the output head, then the last 48 with all logits.
    await s.eval(ids.slice(0, ids.length - 48), { logits: 'last' });
    const got = await s.eval(ids.slice(ids.length - 48));
    s.dispose();
    const want = f32(ref, 'logits_long_last48');
    const d = maxAbsDiff(got, want);
    assert.equal(got.length, 48 * vocab);
    assert.ok(d <= tol, `${modelName} long: max |Δ| ${d} > ${tol}`);
    assert.deepEqual(rowArgmax(got, vocab), rowArgmax(want, vocab), `${modelName} long: argmax`);
    return d;
  } finally {
    await model.dispose();
  }
}
