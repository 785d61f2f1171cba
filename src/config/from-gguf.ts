/** LlamaConfig from GGUF metadata (llama.cpp key names) and the tensor list. */
import { BadConfigError } from '../errors/errors.js';
import type { GGUFValue, TensorRecord } from '../formats/types.js';
import { dequantizeTensor } from '../quant/dequant.js';
import type { LlamaConfig, RopeScaling } from './config.js';
import { validateConfig } from './validate.js';
import { checkConfigAgainstTensors } from './tensor-check.js';

type Meta = ReadonlyMap<string, GGUFValue>;

/** GGUF token_type for control tokens (llama_token_type LLAMA_TOKEN_TYPE_CONTROL). */
const TOKEN_TYPE_CONTROL = 3;
/**
 * Llama 3 end-of-turn/end-of-text tokens. Llama 3 GGUFs usually name only one EOS id, while the
 * model ends turns with any of these (Meta's generation_config lists all three); llama.cpp also
 * treats them as end-of-generation by their text. Only control tokens with exactly this text count.
 */
const LLAMA3_EOG_TEXTS: ReadonlySet<string> = new Set(['<|end_of_text|>', '<|eot_id|>', '<|eom_id|>']);

function getNum(meta: Meta, key: string): number | undefined {
  const v = meta.get(key);
  if (v === undefined) return undefined;
  if (typeof v === 'number') return v;
  if (typeof v === 'bigint') return Number(v);
  throw new BadConfigError(`GGUF metadata ${key} must be a number, got ${Array.isArray(v) ? 'an array' : typeof v}`);
}

function need(meta: Meta, key: string): number {
  const v = getNum(meta, key);
  if (v === undefined) throw new BadConfigError(`GGUF metadata is missing ${key}`);
  return v;
}

/** `tensors` may be the file's list or a name → record map. */
export function configFromGGUF(metadata: Meta, tensors: readonly TensorRecord[] | ReadonlyMap<string, TensorRecord>): LlamaConfig {
  const arch = metadata.get('general.architecture');
  if (arch !== 'llama') throw new BadConfigError(`GGUF general.architecture is ${JSON.stringify(arch)}, only "llama" is supported`);
  const k = (s: string): string => `llama.${s}`;
  const byName: ReadonlyMap<string, TensorRecord> = Array.isArray(tensors)
    ? new Map((tensors as readonly TensorRecord[]).map((t) => [t.name, t]))
    : (tensors as ReadonlyMap<string, TensorRecord>);

  const hidden = need(metadata, k('embedding_length'));
  const heads = need(metadata, k('attention.head_count'));
  const headDim = getNum(metadata, k('rope.dimension_count')) ?? getNum(metadata, k('attention.key_length')) ?? hidden / heads;

  const tokens = metadata.get('tokenizer.ggml.tokens');
  const embd = byName.get('token_embd.weight');
  const vocabSize = getNum(metadata, k('vocab_size')) ?? (Array.isArray(tokens) ? tokens.length : undefined) ?? embd?.shape[0];
  if (vocabSize === undefined) throw new BadConfigError('GGUF gives no vocabulary size (no vocab_size, tokens or token_embd)');

  let ropeScaling: RopeScaling = { type: 'none' };
  const freqs = byName.get('rope_freqs.weight');
  const scalingType = metadata.get(k('rope.scaling.type'));
  if (freqs) {
    ropeScaling = { type: 'freqs', divisors: dequantizeTensor(freqs) };
  } else if (scalingType === 'linear') {
    ropeScaling = { type: 'linear', factor: need(metadata, k('rope.scaling.factor')) };
  } else if (scalingType !== undefined && scalingType !== 'none') {
    throw new BadConfigError(`unsupported GGUF rope scaling type ${JSON.stringify(scalingType)}`);
  }

  const bos = getNum(metadata, 'tokenizer.ggml.bos_token_id');
  const eos: number[] = [];
  const add = (id: number | undefined): void => {
    if (id !== undefined && id >= 0 && !eos.includes(id)) eos.push(id);
  };
  add(getNum(metadata, 'tokenizer.ggml.eos_token_id'));
  add(getNum(metadata, 'tokenizer.ggml.eot_token_id'));
  add(getNum(metadata, 'tokenizer.ggml.eom_token_id'));
  const types = metadata.get('tokenizer.ggml.token_type');
  if (Array.isArray(tokens) && Array.isArray(types)) {
    for (let i = 0; i < tokens.length; i++) {
      const t = tokens[i];
      if (typeof t === 'string' && LLAMA3_EOG_TEXTS.has(t) && types[i] === TOKEN_TYPE_CONTROL) add(i);
    }
  }

  const config: LlamaConfig = {
    architecture: 'llama',
    vocabSize,
    hiddenSize: hidden,
    intermediateSize: need(metadata, k('feed_forward_length')),
    numLayers: need(metadata, k('block_count')),
    numHeads: heads,
    numKVHeads: getNum(metadata, k('attention.head_count_kv')) ?? heads,
    headDim,
    // llama.cpp's defaults for llama when the keys are absent.
    rmsNormEps: getNum(metadata, k('attention.layer_norm_rms_epsilon')) ?? 1e-5,
    ropeTheta: getNum(metadata, k('rope.freq_base')) ?? 10000,
    ropeScaling,
    tiedEmbeddings: !byName.has('output.weight'),
    contextLength: getNum(metadata, k('context_length')) ?? 2048,
    bosTokenId: bos,
    eosTokenIds: eos,
  };
  validateConfig(config, 'GGUF metadata');
  checkConfigAgainstTensors(config, byName, 'gguf', 'GGUF metadata');
  return config;
}
