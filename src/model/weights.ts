import type { Backend, Weight, WeightSpec } from '../backend/backend.js';
import type { LlamaConfig } from '../config/config.js';
import type { TensorRecord } from '../formats/types.js';
import type { FileTensorRecord } from '../formats/file-reader.js';
import { MissingTensorError, ShapeMismatchError } from '../errors/errors.js';
import { permuteRowsHFToInterleaved } from '../formats/qk-permute.js';

/** The weights of one transformer block, by role. */
export interface LayerWeights {
  readonly attnNorm: Weight; // [dim]
  readonly wq: Weight; // [heads·hd, dim]
  readonly wk: Weight; // [kvHeads·hd, dim]
  readonly wv: Weight; // [kvHeads·hd, dim]
  readonly wo: Weight; // [dim, heads·hd]
  readonly ffnNorm: Weight; // [dim]
  readonly wGate: Weight; // [ffn, dim]
  readonly wUp: Weight; // [ffn, dim]
  readonly wDown: Weight; // [dim, ffn]
}

export interface ModelWeights {
  readonly embed: Weight; // [vocab, dim]
  readonly layers: readonly LayerWeights[];
  readonly norm: Weight; // [dim]
  /** The embedding itself when tied. */
  readonly output: Weight; // [vocab, dim]
}

export type LayerRole = keyof LayerWeights;
export type TensorLayout = 'hf' | 'gguf' | 'llama2c';

/** Per-format checkpoint key for each role (the `sanitize` step of mlx-lm). */
const KEYS: Record<TensorLayout, { embed: string; norm: string; output: string; layer: Record<LayerRole, string> }> = {
  gguf: {
    embed: 'token_embd.weight',
    norm: 'output_norm.weight',
    output: 'output.weight',
    layer: {
      attnNorm: 'blk.{i}.attn_norm.weight',
      wq: 'blk.{i}.attn_q.weight',
      wk: 'blk.{i}.attn_k.weight',
      wv: 'blk.{i}.attn_v.weight',
      wo: 'blk.{i}.attn_output.weight',
      ffnNorm: 'blk.{i}.ffn_norm.weight',
      wGate: 'blk.{i}.ffn_gate.weight',
      wUp: 'blk.{i}.ffn_up.weight',
      wDown: 'blk.{i}.ffn_down.weight',
    },
  },
  hf: {
    embed: 'model.embed_tokens.weight',
    norm: 'model.norm.weight',
    output: 'lm_head.weight',
    layer: {
      attnNorm: 'model.layers.{i}.input_layernorm.weight',
      wq: 'model.layers.{i}.self_attn.q_proj.weight',
      wk: 'model.layers.{i}.self_attn.k_proj.weight',
      wv: 'model.layers.{i}.self_attn.v_proj.weight',
      wo: 'model.layers.{i}.self_attn.o_proj.weight',
      ffnNorm: 'model.layers.{i}.post_attention_layernorm.weight',
      wGate: 'model.layers.{i}.mlp.gate_proj.weight',
      wUp: 'model.layers.{i}.mlp.up_proj.weight',
      wDown: 'model.layers.{i}.mlp.down_proj.weight',
    },
  },
  llama2c: {
    embed: 'tok_embeddings',
    norm: 'rms_final',
    output: 'wcls',
    layer: {
      attnNorm: 'layers.{i}.rms_att',
      wq: 'layers.{i}.wq',
      wk: 'layers.{i}.wk',
      wv: 'layers.{i}.wv',
      wo: 'layers.{i}.wo',
      ffnNorm: 'layers.{i}.rms_ffn',
      wGate: 'layers.{i}.w1',
      wUp: 'layers.{i}.w3',
      wDown: 'layers.{i}.w2',
    },
  },
};

/** Expected [rows, cols] (or [n]) of every role, from the config alone. */
function expectedShape(c: LlamaConfig, role: LayerRole | 'embed' | 'norm' | 'output'): number[] {
  const qDim = c.numHeads * c.headDim;
  const kvDim = c.numKVHeads * c.headDim;
  switch (role) {
    case 'embed':
    case 'output':
      return [c.vocabSize, c.hiddenSize];
    case 'norm':
    case 'attnNorm':
    case 'ffnNorm':
      return [c.hiddenSize];
    case 'wq':
      return [qDim, c.hiddenSize];
    case 'wk':
    case 'wv':
      return [kvDim, c.hiddenSize];
    case 'wo':
      return [c.hiddenSize, qDim];
    case 'wGate':
    case 'wUp':
      return [c.intermediateSize, c.hiddenSize];
    case 'wDown':
      return [c.hiddenSize, c.intermediateSize];
  }
}

export interface WeightLoadProgress {
  (loadedBytes: number, totalBytes: number, tensor: string): void;
}

/** The checkpoint keys a model of this config needs, in load order. */
export function requiredKeys(config: LlamaConfig, layout: TensorLayout, hasOutput: boolean): string[] {
  const k = KEYS[layout];
  const keys = [k.embed];
  for (let i = 0; i < config.numLayers; i++) {
    for (const role of Object.keys(k.layer) as LayerRole[]) keys.push(k.layer[role].replace('{i}', String(i)));
  }
  keys.push(k.norm);
  if (hasOutput && !config.tiedEmbeddings) keys.push(k.output);
  return keys;
}

/** A spec whose bytes are read only when asked for: whole (`data`) or straight into a backend's memory. */
function lazySpec(name: string, rec: TensorRecord, shape: readonly number[]): WeightSpec {
  const file = 'readInto' in rec ? (rec as FileTensorRecord) : undefined;
  let data: Uint8Array | undefined;
  return {
    name,
    dtype: rec.dtype,
    shape,
    byteLength: rec.byteLength,
    get data(): Uint8Array {
      data ??= rec.read();
      return data;
    },
    ...(file ? { readInto: (dst: Uint8Array, dstOffset: number, byteOffset: number, length: number) => file.readInto(dst, dstOffset, byteOffset, length) } : {}),
  };
}

/**
 * Reads each tensor once, checks its shape against the config, converts HF rotate-half q/k rows
 * to the adjacent-pair layout, and hands the bytes to the backend.
 */
export function loadWeights(
  config: LlamaConfig,
  tensors: ReadonlyMap<string, TensorRecord>,
  layout: TensorLayout,
  backend: Backend,
  source: string,
  onProgress?: WeightLoadProgress,
): ModelWeights {
  const k = KEYS[layout];
  const tied = config.tiedEmbeddings || !tensors.has(k.output);
  const keys = requiredKeys(config, layout, !tied);
  let total = 0;
  for (const key of keys) total += tensors.get(key)?.byteLength ?? 0;
  let done = 0;

  const load = (key: string, role: LayerRole | 'embed' | 'norm' | 'output', name: string): Weight => {
    const rec = tensors.get(key);
    if (!rec) throw new MissingTensorError(key, source);
    const want = expectedShape(config, role);
    if (rec.shape.length !== want.length || rec.shape.some((d, i) => d !== want[i])) {
      throw new ShapeMismatchError(key, want, rec.shape);
    }
    let spec: WeightSpec;
    if (layout === 'hf' && (role === 'wq' || role === 'wk')) {
      const heads = role === 'wq' ? config.numHeads : config.numKVHeads;
      spec = { name, dtype: rec.dtype, shape: want, data: permuteRowsHFToInterleaved(rec.read(), rec.dtype, want[0]!, want[1]!, heads) };
    } else {
      spec = lazySpec(name, rec, want);
    }
    const w = backend.loadWeight(spec);
    done += rec.byteLength;
    onProgress?.(done, total, key);
    return w;
  };

  const embed = load(k.embed, 'embed', 'embed');
  const layers: LayerWeights[] = [];
  for (let i = 0; i < config.numLayers; i++) {
    const get = (role: LayerRole): Weight => load(k.layer[role].replace('{i}', String(i)), role, `layers.${i}.${role}`);
    layers.push({
      attnNorm: get('attnNorm'),
      wq: get('wq'),
      wk: get('wk'),
      wv: get('wv'),
      wo: get('wo'),
      ffnNorm: get('ffnNorm'),
      wGate: get('wGate'),
      wUp: get('wUp'),
      wDown: get('wDown'),
    });
  }
  const norm = load(k.norm, 'norm', 'norm');
  const output = tied ? embed : load(k.output, 'output', 'output');
  return { embed, layers, norm, output };
}
