import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { fixture, skipNoFixtures } from './fixtures.js';
import { ropeInvFreq } from '../src/model/rope.js';
import type { LlamaConfig, RopeScaling } from '../src/config/config.js';

function cfg(headDim: number, theta: number, ropeScaling: RopeScaling): LlamaConfig {
  return {
    architecture: 'llama', vocabSize: 8, hiddenSize: headDim, intermediateSize: 8, numLayers: 1, numHeads: 1, numKVHeads: 1,
    headDim, rmsNormEps: 1e-5, ropeTheta: theta, ropeScaling, tiedEmbeddings: false, contextLength: 8, bosTokenId: 1, eosTokenIds: [2],
  };
}

for (const name of ['tiny-llama3.1', 'tiny-llama3.2-tied', 'tiny-llama2']) {
  test(`llama3 / plain inverse frequencies match the float64 reference (${name})`, { skip: skipNoFixtures }, () => {
    const ref = JSON.parse(readFileSync(fixture('models', name, 'reference.json'), 'utf8')) as {
      rope_inv_freq_float64: number[];
      head_dim: number;
      config: { rope_theta: number; rope_scaling?: { factor: number; low_freq_factor: number; high_freq_factor: number; original_max_position_embeddings: number } | null };
    };
    const rs = ref.config.rope_scaling;
    const scaling: RopeScaling = rs
      ? { type: 'llama3', factor: rs.factor, lowFreqFactor: rs.low_freq_factor, highFreqFactor: rs.high_freq_factor, originalMaxPositionEmbeddings: rs.original_max_position_embeddings }
      : { type: 'none' };
    const got = ropeInvFreq(cfg(ref.head_dim, ref.config.rope_theta, scaling));
    ref.rope_inv_freq_float64.forEach((want, j) => assert.ok(Math.abs(got[j]! - want) <= 1e-15 * Math.max(1, want) + want * 1e-12, `j=${j}: ${got[j]} vs ${want}`));
  });
}

test('rope_freqs divisors (GGUF) reproduce llama3 scaling to f32 precision', () => {
  const llama3 = ropeInvFreq(cfg(16, 500000, { type: 'llama3', factor: 8, lowFreqFactor: 1, highFreqFactor: 4, originalMaxPositionEmbeddings: 8192 }));
  const divisors = Float32Array.from([1, 1, 1, 1, 2.69453, 8, 8, 8]);
  const freqs = ropeInvFreq(cfg(16, 500000, { type: 'freqs', divisors }));
  for (let j = 0; j < 8; j++) assert.ok(Math.abs(freqs[j]! / llama3[j]! - 1) < 2e-6, `j=${j}`);
});

test('linear scaling divides every frequency', () => {
  const a = ropeInvFreq(cfg(8, 10000, { type: 'none' }));
  const b = ropeInvFreq(cfg(8, 10000, { type: 'linear', factor: 4 }));
  for (let j = 0; j < 4; j++) assert.ok(Math.abs(b[j]! * 4 - a[j]!) < 1e-15);
});
