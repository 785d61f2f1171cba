/** LlamaConfig from a Hugging Face config.json (+ generation_config.json). */
import { showValue } from '../errors/show.js';
import { BadConfigError } from '../errors/errors.js';
import type { LlamaConfig, RopeScaling } from './config.js';
import { validateConfig } from './validate.js';

type Json = Record<string, unknown>;

function isObject(v: unknown): v is Json {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function num(obj: Json, key: string, fallback?: number): number {
  const v = obj[key];
  if (v === undefined || v === null) {
    if (fallback === undefined) throw new BadConfigError(`config.json is missing ${key}`);
    return fallback;
  }
  if (typeof v !== 'number' || !Number.isFinite(v)) throw new BadConfigError(`config.json ${key} must be a number, got ${showValue(v)}`);
  return v;
}

/** eos_token_id may be a number, an array of numbers, or null. */
function ids(v: unknown, key: string): number[] {
  if (v === undefined || v === null) return [];
  if (typeof v === 'number') return [v];
  if (Array.isArray(v) && v.every((x) => typeof x === 'number')) return v as number[];
  throw new BadConfigError(`${key} must be a token id or a list of ids, got ${showValue(v)}`);
}

function ropeScalingFromHF(v: unknown): RopeScaling {
  if (v === undefined || v === null) return { type: 'none' };
  if (!isObject(v)) throw new BadConfigError(`rope_scaling must be an object or null, got ${showValue(v)}`);
  // Newer configs say rope_type, older ones type.
  const kind = v['rope_type'] ?? v['type'];
  switch (kind) {
    case 'default':
      return { type: 'none' };
    case 'llama3':
      return {
        type: 'llama3',
        factor: num(v, 'factor'),
        lowFreqFactor: num(v, 'low_freq_factor'),
        highFreqFactor: num(v, 'high_freq_factor'),
        originalMaxPositionEmbeddings: num(v, 'original_max_position_embeddings'),
      };
    case 'linear':
      return { type: 'linear', factor: num(v, 'factor') };
    default:
      throw new BadConfigError(`unsupported rope_scaling type ${showValue(kind)} (supported: llama3, linear, default)`);
  }
}

export function configFromHF(configJson: unknown, generationConfig?: unknown): LlamaConfig {
  if (!isObject(configJson)) throw new BadConfigError('config.json is not a JSON object');
  const c = configJson;
  const modelType = c['model_type'];
  if (modelType !== undefined && modelType !== 'llama') {
    throw new BadConfigError(`model_type ${showValue(modelType)} is not supported (only llama)`);
  }
  const hidden = num(c, 'hidden_size');
  const heads = num(c, 'num_attention_heads');
  if (!Number.isInteger(hidden / heads) && (c['head_dim'] === undefined || c['head_dim'] === null)) {
    throw new BadConfigError(`hidden_size ${hidden} is not divisible by num_attention_heads ${heads} and head_dim is not given`);
  }
  const gen = isObject(generationConfig) ? generationConfig : undefined;
  const eos = ids(c['eos_token_id'], 'eos_token_id');
  for (const id of ids(gen?.['eos_token_id'], 'generation_config eos_token_id')) if (!eos.includes(id)) eos.push(id);
  const bosRaw = c['bos_token_id'] ?? gen?.['bos_token_id'];
  const bos = bosRaw === undefined || bosRaw === null ? undefined : ids(bosRaw, 'bos_token_id')[0];

  const config: LlamaConfig = {
    architecture: 'llama',
    vocabSize: num(c, 'vocab_size'),
    hiddenSize: hidden,
    intermediateSize: num(c, 'intermediate_size'),
    numLayers: num(c, 'num_hidden_layers'),
    numHeads: heads,
    numKVHeads: num(c, 'num_key_value_heads', heads),
    headDim: num(c, 'head_dim', hidden / heads),
    // HF LlamaConfig defaults.
    rmsNormEps: num(c, 'rms_norm_eps', 1e-6),
    ropeTheta: num(c, 'rope_theta', 10000),
    ropeScaling: ropeScalingFromHF(c['rope_scaling']),
    tiedEmbeddings: c['tie_word_embeddings'] === true,
    contextLength: num(c, 'max_position_embeddings', 2048),
    bosTokenId: bos,
    eosTokenIds: eos,
  };
  return validateConfig(config, 'config.json');
}
