/**
 * Hugging Face Llama folder → GGUF v3, the way llama.cpp's convert_hf_to_gguf.py lays it out:
 * llama.cpp tensor names, q/k rows permuted from rotate-half to interleaved pairs, rope_freqs for
 * llama3 scaling, `llama.*` hyper-parameters, the tokenizer and chat template, and the tensor
 * types of the chosen file type (with llama.cpp's K-quant mixes). Streams tensor by tensor.
 */
import { readFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import type { LlamaConfig } from '../config/config.js';
import { BadArgumentError, MissingTensorError } from '../errors/errors.js';
import type { FileTensorRecord } from '../formats/file-reader.js';
import { GGUFValueType, GGUFValueType as VT, type GGUFType } from '../formats/gguf-types.js';
import { readHFModel } from '../formats/hf-folder.js';
import type { GGUFValue } from '../formats/types.js';
import { dtypeName } from '../quant/dtype.js';
import { tensorType, type FileType, type MixContext } from './ftype.js';
import { writeModel, type PlannedTensor, type WriteProgress } from './pipeline.js';
import { llama3RopeFreqs } from './rope-freqs.js';
import { fileRows, interleavedFromHF, memoryRows } from './rows.js';
import { ggufVocab } from './vocab.js';

export interface ConvertOptions {
  readonly type: FileType;
  /** tokenizer.json, tokenizer.model, a folder with one, or a .gguf to copy the vocabulary from. */
  readonly tokenizer?: string;
  readonly onProgress?: WriteProgress;
  /** Threads that quantize (default 1; the CLI uses every core). */
  readonly threads?: number;
}

export interface ConvertResult {
  readonly tensors: number;
  readonly bytes: number;
  readonly types: ReadonlyMap<string, string>;
}

const LAYER_MAP: ReadonlyArray<[string, string]> = [
  ['input_layernorm.weight', 'attn_norm.weight'],
  ['self_attn.q_proj.weight', 'attn_q.weight'],
  ['self_attn.k_proj.weight', 'attn_k.weight'],
  ['self_attn.v_proj.weight', 'attn_v.weight'],
  ['self_attn.o_proj.weight', 'attn_output.weight'],
  ['post_attention_layernorm.weight', 'ffn_norm.weight'],
  ['mlp.gate_proj.weight', 'ffn_gate.weight'],
  ['mlp.up_proj.weight', 'ffn_up.weight'],
  ['mlp.down_proj.weight', 'ffn_down.weight'],
];

/** HF tensors the converter knows it may leave out. */
const IGNORED = /(^|\.)rotary_emb\.inv_freq$/;

/** The `llama.*` and `general.*` keys for a config (convert_hf_to_gguf order). */
export function llamaMetadata(config: LlamaConfig, name: string, fileType: number, explicitHeadDim: boolean): Array<[string, GGUFValue, GGUFType]> {
  const u32 = { type: VT.UINT32 };
  const f32 = { type: VT.FLOAT32 };
  const kv: Array<[string, GGUFValue, GGUFType]> = [
    ['general.architecture', 'llama', { type: VT.STRING }],
    ['general.type', 'model', { type: VT.STRING }],
    ['general.name', name, { type: VT.STRING }],
    ['llama.block_count', config.numLayers, u32],
    ['llama.context_length', config.contextLength, u32],
    ['llama.embedding_length', config.hiddenSize, u32],
    ['llama.feed_forward_length', config.intermediateSize, u32],
    ['llama.attention.head_count', config.numHeads, u32],
    ['llama.attention.head_count_kv', config.numKVHeads, u32],
    ['llama.rope.freq_base', config.ropeTheta, f32],
    ['llama.attention.layer_norm_rms_epsilon', config.rmsNormEps, f32],
  ];
  kv.push(['general.file_type', fileType, u32], ['llama.vocab_size', config.vocabSize, u32], ['llama.rope.dimension_count', config.headDim, u32]);
  // Written when config.json states head_dim (as the reference converter does); llama.cpp needs them when head_dim ≠ hidden/heads.
  if (explicitHeadDim || config.headDim * config.numHeads !== config.hiddenSize) {
    kv.push(['llama.attention.key_length', config.headDim, u32], ['llama.attention.value_length', config.headDim, u32]);
  }
  if (config.ropeScaling.type === 'linear') {
    kv.push(['llama.rope.scaling.type', 'linear', { type: VT.STRING }], ['llama.rope.scaling.factor', config.ropeScaling.factor, f32]);
  }
  return kv;
}

export async function convertHFToGGUF(folder: string, out: string, opts: ConvertOptions): Promise<ConvertResult> {
  const hf = readHFModel(folder);
  try {
    const c = hf.config;
    const vocab = ggufVocab(hf.path, c.vocabSize, opts.tokenizer);
    const metadata = new Map<string, GGUFValue>();
    const types = new Map<string, GGUFType>();
    const set = (k: string, v: GGUFValue, t: GGUFType): void => {
      metadata.set(k, v);
      types.set(k, t);
    };
    const raw = JSON.parse(readFileSync(join(hf.path, 'config.json'), 'utf8')) as Record<string, unknown>;
    const explicitHeadDim = typeof raw['head_dim'] === 'number';
    for (const [k, v, t] of llamaMetadata(c, basename(hf.path), opts.type.id, explicitHeadDim)) set(k, v, t);
    for (const [k, v] of vocab.metadata) set(k, v, vocab.types.get(k)!);
    if (hf.chatTemplate !== undefined && !metadata.has('tokenizer.chat_template')) set('tokenizer.chat_template', hf.chatTemplate, { type: GGUFValueType.STRING });
    set('general.quantization_version', 2, { type: GGUFValueType.UINT32 });

    const used = new Set<string>();
    const take = (hfName: string): FileTensorRecord => {
      const rec = hf.tensors.get(hfName);
      if (!rec) throw new MissingTensorError(hfName, hf.path);
      used.add(hfName);
      return rec;
    };
    const hasOutput = hf.tensors.has('lm_head.weight');
    const ctx: MixContext = { numLayers: c.numLayers, hasOutput, is70B: c.numLayers === 80 && c.numHeads !== c.numKVHeads };
    const plan: PlannedTensor[] = [];
    const add = (name: string, rec: FileTensorRecord, heads?: number): void => {
      const rows = rec.shape[0]!;
      const source = fileRows(rec, heads === undefined ? undefined : interleavedFromHF(rows, heads));
      plan.push({ name, type: tensorType(name, rec.shape, opts.type, ctx), shape: rec.shape, source });
    };
    if (c.ropeScaling.type === 'llama3') {
      const freqs = llama3RopeFreqs(c.ropeTheta, c.headDim, c.ropeScaling);
      plan.push({ name: 'rope_freqs.weight', type: tensorType('rope_freqs.weight', [freqs.length], opts.type, ctx), shape: [freqs.length], source: memoryRows(freqs, [freqs.length]) });
    }
    add('token_embd.weight', take('model.embed_tokens.weight'));
    for (let l = 0; l < c.numLayers; l++) {
      for (const [hfPart, ggufPart] of LAYER_MAP) {
        const heads = ggufPart === 'attn_q.weight' ? c.numHeads : ggufPart === 'attn_k.weight' ? c.numKVHeads : undefined;
        add(`blk.${l}.${ggufPart}`, take(`model.layers.${l}.${hfPart}`), heads);
      }
    }
    add('output_norm.weight', take('model.norm.weight'));
    if (hasOutput) add('output.weight', take('lm_head.weight'));
    const unknown = [...hf.tensors.keys()].filter((k) => !used.has(k) && !IGNORED.test(k));
    if (unknown.length > 0) throw new BadArgumentError(`${hf.path}: tensors a Llama model does not have: ${unknown.slice(0, 5).join(', ')}${unknown.length > 5 ? ', …' : ''}`);

    const bytes = await writeModel(out, metadata, types, plan, opts.onProgress, opts.threads ?? 1);
    return { tensors: plan.length, bytes, types: new Map(plan.map((t) => [t.name, dtypeName(t.type)])) };
  } finally {
    hf.close();
  }
}
