/** Checks a freshly parsed LlamaConfig once, so nothing downstream has to. */
import { BadConfigError } from '../errors/errors.js';
import type { LlamaConfig } from './config.js';

function positiveInt(name: string, v: number): void {
  if (!Number.isSafeInteger(v) || v <= 0) throw new BadConfigError(`${name} must be a positive integer, got ${v}`);
}

export function validateConfig(c: LlamaConfig, source: string): LlamaConfig {
  const where = ` (${source})`;
  try {
    positiveInt('vocabSize', c.vocabSize);
    positiveInt('hiddenSize', c.hiddenSize);
    positiveInt('intermediateSize', c.intermediateSize);
    positiveInt('numLayers', c.numLayers);
    positiveInt('numHeads', c.numHeads);
    positiveInt('numKVHeads', c.numKVHeads);
    positiveInt('headDim', c.headDim);
    positiveInt('contextLength', c.contextLength);
  } catch (e) {
    if (e instanceof BadConfigError) throw new BadConfigError(e.message.replace(/^invalid model config: /, '') + where);
    throw e;
  }
  if (c.numHeads % c.numKVHeads !== 0) {
    throw new BadConfigError(`${c.numHeads} attention heads are not divisible by ${c.numKVHeads} KV heads${where}`);
  }
  if (c.headDim % 2 !== 0) throw new BadConfigError(`head dimension ${c.headDim} must be even for RoPE${where}`);
  if (!(c.rmsNormEps > 0 && c.rmsNormEps < 1)) throw new BadConfigError(`rms_norm_eps ${c.rmsNormEps} out of range${where}`);
  if (!(c.ropeTheta > 0 && Number.isFinite(c.ropeTheta))) throw new BadConfigError(`rope_theta ${c.ropeTheta} must be positive${where}`);
  const rs = c.ropeScaling;
  if (rs.type === 'llama3') {
    if (!(rs.factor > 0) || !(rs.lowFreqFactor > 0) || !(rs.highFreqFactor > rs.lowFreqFactor) || !(rs.originalMaxPositionEmbeddings > 0)) {
      throw new BadConfigError(`llama3 rope_scaling needs factor > 0, high_freq_factor > low_freq_factor > 0 and original_max_position_embeddings > 0${where}`);
    }
  } else if (rs.type === 'linear') {
    if (!(rs.factor > 0)) throw new BadConfigError(`linear rope_scaling factor must be positive${where}`);
  } else if (rs.type === 'freqs') {
    if (rs.divisors.length !== c.headDim / 2) {
      throw new BadConfigError(`rope_freqs has ${rs.divisors.length} values, expected head_dim/2 = ${c.headDim / 2}${where}`);
    }
    if (!rs.divisors.every((d) => d > 0 && Number.isFinite(d))) throw new BadConfigError(`rope_freqs values must be positive${where}`);
  }
  for (const id of [...c.eosTokenIds, ...(c.bosTokenId === undefined ? [] : [c.bosTokenId])]) {
    if (!Number.isSafeInteger(id) || id < 0 || id >= c.vocabSize) {
      throw new BadConfigError(`special token id ${id} is outside the vocabulary of ${c.vocabSize}${where}`);
    }
  }
  return c;
}
