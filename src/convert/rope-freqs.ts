/**
 * `rope_freqs.weight` for Llama 3 frequency scaling, computed as llama.cpp's converter does
 * (torch float32): inv_freq_i = 1/θ^(2i/d), wavelen = 2π/inv_freq, and per pair a divisor of 1
 * (short wavelengths), `factor` (long ones) or 1/((1−s)/factor + s) with
 * s = (orig/wavelen − low)/(high − low) in between. llama.cpp divides each pair's frequency by it.
 */
import type { RopeScaling } from '../config/config.js';

const fr = Math.fround;

export function llama3RopeFreqs(theta: number, headDim: number, s: Extract<RopeScaling, { type: 'llama3' }>): Float32Array {
  const out = new Float32Array(headDim / 2);
  const factor = fr(s.factor);
  const low = s.lowFreqFactor;
  const high = s.highFreqFactor;
  const lowWavelen = s.originalMaxPositionEmbeddings / low;
  const highWavelen = s.originalMaxPositionEmbeddings / high;
  const twoPi = 2 * Math.PI;
  for (let i = 0; i < out.length; i++) {
    const invFreq = fr(1 / fr(Math.pow(fr(theta), fr(fr(2 * i) / headDim))));
    const wavelen = fr(twoPi / invFreq);
    if (wavelen < highWavelen) out[i] = 1;
    else if (wavelen > lowWavelen) out[i] = factor;
    else {
      const smooth = fr(fr(fr(s.originalMaxPositionEmbeddings / wavelen) - low) / (high - low));
      out[i] = fr(1 / fr(fr(fr(1 - smooth) / factor) + smooth));
    }
  }
  return out;
}
