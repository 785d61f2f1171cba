/**
 * Output file types of `convert` / `quantize` and the per-tensor type choice, following
 * llama.cpp: `general.file_type` numbers are llama.cpp's `llama_ftype`, and the K-quant mixes
 * reproduce `llama_tensor_get_type` (llama-quant.cpp) for the llama architecture without an
 * importance matrix: output (or tied token_embd) → Q6_K, attn_v and ffn_down → Q6_K in the layers
 * `use_more_bits` picks for Q4_K_M/Q5_K_M, and the same fallbacks for rows that are not a whole
 * number of blocks (Q4_K → Q5_0, Q5_K → Q5_1, Q6_K → Q8_0, then F16).
 */
import { BadArgumentError } from '../errors/errors.js';
import { BLOCK, DType } from '../quant/dtype.js';

export type FileTypeName = 'f32' | 'f16' | 'bf16' | 'q8_0' | 'q4_0' | 'q4_k_m' | 'q5_k_m' | 'q6_k';

export interface FileType {
  readonly name: FileTypeName;
  /** llama.cpp `llama_ftype` (GGUF `general.file_type`). */
  readonly id: number;
  /** The type of 2-D weights before the mix rules. */
  readonly base: DType;
}

export const FILE_TYPES: Readonly<Record<FileTypeName, FileType>> = {
  f32: { name: 'f32', id: 0, base: DType.F32 },
  f16: { name: 'f16', id: 1, base: DType.F16 },
  bf16: { name: 'bf16', id: 32, base: DType.BF16 },
  q8_0: { name: 'q8_0', id: 7, base: DType.Q8_0 },
  q4_0: { name: 'q4_0', id: 2, base: DType.Q4_0 },
  q4_k_m: { name: 'q4_k_m', id: 15, base: DType.Q4_K },
  q5_k_m: { name: 'q5_k_m', id: 17, base: DType.Q5_K },
  q6_k: { name: 'q6_k', id: 18, base: DType.Q6_K },
};

export function parseFileType(s: string): FileType {
  const ft = FILE_TYPES[s.toLowerCase() as FileTypeName];
  if (!ft) throw new BadArgumentError(`unknown --type ${JSON.stringify(s)}; one of ${Object.keys(FILE_TYPES).join(', ')}`);
  return ft;
}

/** What the mix rules need to know about the whole model. */
export interface MixContext {
  readonly numLayers: number;
  /** The file has its own `output.weight` (else token_embd doubles as the output head). */
  readonly hasOutput: boolean;
  /** llama.cpp's LLM_TYPE_70B (80 layers with grouped-query attention) bumps attn_v. */
  readonly is70B: boolean;
}

/** llama.cpp's layer pick for extra bits: the first and last eighth, and every third layer between. */
export function useMoreBits(layer: number, layers: number): boolean {
  const e = Math.trunc(layers / 8);
  return layer < e || layer >= Math.trunc((7 * layers) / 8) || (layer - e) % 3 === 2;
}

function layerOf(name: string): number {
  const m = /^blk\.(\d+)\./.exec(name);
  return m ? Number(m[1]) : -1;
}

const fits = (t: DType, cols: number): boolean => cols % BLOCK[t]!.blockElems === 0;

/** llama.cpp's fallback for a type whose block does not divide the row; F16 when nothing fits. */
function fallback(t: DType, cols: number): DType {
  const next = t === DType.Q4_K ? DType.Q5_0 : t === DType.Q5_K ? DType.Q5_1 : t === DType.Q6_K ? DType.Q8_0 : DType.F16;
  // llama.cpp refuses Q4_0/Q8_0 rows that are not whole blocks; F16 (as gguf-py's converter does) keeps the file usable.
  return fits(next, cols) ? next : DType.F16;
}

/**
 * The type of one tensor. 1-D tensors (norms, rope_freqs) stay F32; 2-D weights get the file type,
 * adjusted as llama.cpp's quantizer adjusts it. `layer` order equals llama.cpp's counters because
 * its quantizer visits tensors sorted by layer number.
 */
export function tensorType(name: string, shape: readonly number[], ft: FileType, ctx: MixContext): DType {
  if (shape.length < 2 || !name.endsWith('.weight')) return DType.F32;
  const cols = shape[shape.length - 1]!;
  let t = ft.base;
  if (t === DType.F32 || t === DType.F16 || t === DType.BF16) return t;
  const layer = layerOf(name);
  if (name === 'output.weight' || (!ctx.hasOutput && name === 'token_embd.weight')) {
    if (!fits(t, cols)) t = DType.Q8_0;
    else if (t !== DType.Q8_0) t = DType.Q6_K;
  } else if (name.includes('attn_v.weight')) {
    if ((ft.name === 'q4_k_m' || ft.name === 'q5_k_m') && useMoreBits(layer, ctx.numLayers)) t = DType.Q6_K;
    if (ctx.is70B && (t === DType.Q3_K || t === DType.Q4_K)) t = DType.Q5_K;
  } else if (name.includes('ffn_down')) {
    if ((ft.name === 'q4_k_m' || ft.name === 'q5_k_m') && useMoreBits(layer, ctx.numLayers)) t = DType.Q6_K;
  }
  return fits(t, cols) ? t : fallback(t, cols);
}
