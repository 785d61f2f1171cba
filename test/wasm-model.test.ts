import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { loadModel } from '../src/model/load.js';
import type { LlamaModel } from '../src/model/model.js';
import { fixture, skipNoFixtures } from './fixtures.js';

/**
 * Whole models on the wasm backend against the reference backend (same files, same ids).
 * Float weights keep f32 activations on both sides, so logits agree to f32 rounding and greedy
 * decoding must be identical. Quantized weights are multiplied against 8-bit (7-bit for Q8_0)
 * activations, llama.cpp's scheme, which moves logits by a few hundredths to tenths (llama.cpp
 * itself moves tiny-llama3.1 q8_0 by up to 0.13 this way); there we bound the logit error and
 * require the argmax to agree wherever the reference's top-1/top-2 margin exceeds twice that bound.
 */
interface Case {
  file: string[];
  ref: string[];
  /** Max |Δlogit| allowed vs the reference backend. */
  tol: number;
  exactGreedy: boolean;
}

const CASES: Case[] = [
  { file: ['tiny-llama3.1', 'tiny-llama3.1.f32.gguf'], ref: ['tiny-llama3.1'], tol: 1e-3, exactGreedy: true },
  { file: ['tiny-llama3.1', 'tiny-llama3.1.f16.gguf'], ref: ['tiny-llama3.1'], tol: 1e-3, exactGreedy: true },
  { file: ['tiny-llama3.2-tied', 'tiny-llama3.2-tied.f32.gguf'], ref: ['tiny-llama3.2-tied'], tol: 1e-3, exactGreedy: true },
  { file: ['tiny-llama2', 'tiny-llama2.f32.gguf'], ref: ['tiny-llama2'], tol: 1e-3, exactGreedy: true },
  // Q8_0 weights take 7-bit activations (see asm/quant.ts): about twice the 8-bit error.
  // Measured: 0.24 and 0.35 (7-bit activations).
  { file: ['tiny-llama3.1', 'tiny-llama3.1.q8_0.gguf'], ref: ['tiny-llama3.1'], tol: 0.45, exactGreedy: false },
  { file: ['small-llama3.1-kq', 'small-llama3.1-kq.q8_0.gguf'], ref: ['small-llama3.1-kq'], tol: 0.45, exactGreedy: false },
  // Measured: 0.18–0.21 for these 8-bit-activation types.
  { file: ['small-llama3.1-kq', 'small-llama3.1-kq.q4_0.gguf'], ref: ['small-llama3.1-kq'], tol: 0.3, exactGreedy: false },
  { file: ['small-llama3.1-kq', 'small-llama3.1-kq.q4_k_m.gguf'], ref: ['small-llama3.1-kq'], tol: 0.3, exactGreedy: false },
  { file: ['small-llama3.1-kq', 'small-llama3.1-kq.q5_k_m.gguf'], ref: ['small-llama3.1-kq'], tol: 0.3, exactGreedy: false },
  { file: ['small-llama3.1-kq', 'small-llama3.1-kq.q6_k.gguf'], ref: ['small-llama3.1-kq'], tol: 0.3, exactGreedy: false },
];

function inputIds(c: Case): number[] {
  const j = JSON.parse(readFileSync(fixture('models', ...c.ref, 'reference.json'), 'utf8')) as { input_ids: number[] };
  return j.input_ids;
}

async function greedy(m: LlamaModel, prompt: number[], steps: number, kv: 'f32' | 'f16'): Promise<number[]> {
  const s = m.session({ contextSize: prompt.length + steps, kvDType: kv });
  const out: number[] = [];
  let logits = await s.eval(prompt, { logits: 'last' });
  for (let i = 0; i < steps; i++) {
    let best = 0;
    for (let v = 1; v < logits.length; v++) if (logits[v]! > logits[best]!) best = v;
    out.push(best);
    logits = await s.eval([best], { logits: 'last' });
  }
  s.dispose();
  return out;
}

for (const c of CASES) {
  describe(`wasm vs ref: ${c.file[1]}`, { skip: skipNoFixtures }, () => {
    let wasm: LlamaModel;
    let ref: LlamaModel;
    before(async () => {
      const path = fixture('models', ...c.file);
      wasm = await loadModel(path, { backend: 'wasm', threads: 2 });
      ref = await loadModel(path, { backend: 'ref' });
    });
    after(async () => {
      await wasm?.dispose();
      await ref?.dispose();
    });

    test('logits of 48 positions (and at positions 20000+)', async () => {
      const ids = inputIds(c);
      const vocab = wasm.config.vocabSize;
      for (const startPos of [0, 20000]) {
        const a = await wasm.logits(ids, { startPos });
        const b = await ref.logits(ids, { startPos });
        let maxd = 0;
        for (let i = 0; i < a.length; i++) maxd = Math.max(maxd, Math.abs(a[i]! - b[i]!));
        if (process.env.WASM_PRINT) console.log(c.file[1], startPos, maxd);
        assert.ok(maxd <= c.tol, `max |Δlogit| ${maxd} > ${c.tol} at startPos ${startPos}`);
        for (let p = 0; p < ids.length; p++) {
          const row = (x: Float32Array): number[] => Array.from(x.subarray(p * vocab, (p + 1) * vocab));
          const rb = row(b);
          const sorted = [...rb].sort((x, y) => y - x);
          const argmax = (r: number[]): number => r.indexOf(Math.max(...r));
          if (c.exactGreedy || sorted[0]! - sorted[1]! > 2 * maxd) assert.equal(argmax(row(a)), argmax(rb), `argmax at position ${p}`);
        }
      }
    });

    test('greedy decoding one token at a time (f32 and f16 KV)', { skip: !c.exactGreedy }, async () => {
      const prompt = inputIds(c).slice(0, 8);
      for (const kv of ['f32', 'f16'] as const) {
        assert.deepEqual(await greedy(wasm, prompt, 16, kv), await greedy(ref, prompt, 16, kv), `greedy with ${kv} KV`);
      }
    });
  });
}
