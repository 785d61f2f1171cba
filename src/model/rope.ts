import type { LlamaConfig } from '../config/config.js';

/**
 * Inverse RoPE frequencies for one head, [headDim / 2], in f64.
 * Base: θ^(-2j/d). Scaling is read from config, never guessed from a model name.
 */
export function ropeInvFreq(config: LlamaConfig): Float64Array {
  const d = config.headDim;
  const half = d / 2;
  const inv = new Float64Array(half);
  for (let j = 0; j < half; j++) inv[j] = 1 / Math.pow(config.ropeTheta, (2 * j) / d);
  const s = config.ropeScaling;
  switch (s.type) {
    case 'none':
      break;
    case 'linear':
      for (let j = 0; j < half; j++) inv[j] = inv[j]! / s.factor;
      break;
    case 'freqs':
      // GGUF rope_freqs: llama.cpp divides each pair's frequency by the stored factor.
      if (s.divisors.length !== half) throw new Error(`rope_freqs has ${s.divisors.length} values, expected ${half}`);
      for (let j = 0; j < half; j++) inv[j] = inv[j]! / s.divisors[j]!;
      break;
    case 'llama3': {
      // Llama 3.1: long wavelengths are slowed by `factor`, short ones kept, the band between
      // interpolated smoothly (HF `_compute_llama3_parameters`).
      const lowWavelen = s.originalMaxPositionEmbeddings / s.lowFreqFactor;
      const highWavelen = s.originalMaxPositionEmbeddings / s.highFreqFactor;
      for (let j = 0; j < half; j++) {
        const f = inv[j]!;
        const wavelen = (2 * Math.PI) / f;
        if (wavelen < highWavelen) continue;
        if (wavelen > lowWavelen) {
          inv[j] = f / s.factor;
          continue;
        }
        const smooth = (s.originalMaxPositionEmbeddings / wavelen - s.lowFreqFactor) / (s.highFreqFactor - s.lowFreqFactor);
        inv[j] = (1 - smooth) * (f / s.factor) + smooth * f;
      }
      break;
    }
  }
  return inv;
}
