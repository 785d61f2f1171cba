/**
 * Tensor tables of Llama-shaped models without any weights: what a GGUF of that shape and quant
 * would list (names, dtypes, shapes, byte lengths). For memory planning at sizes no fixture has.
 */
import type { LlamaConfig } from '../src/config/config.js';
import { DType, rowBytes } from '../src/quant/dtype.js';
import type { PlanTensor } from '../src/model/memory-plan.js';

export type SyntheticQuant = 'F16' | 'Q8_0' | 'Q4_0' | 'Q4_K_M' | 'Q6_K' | 'Q2_K';

function llama(o: { vocab: number; hidden: number; ffn: number; layers: number; heads: number; kvHeads: number; ctx: number; tied: boolean }): LlamaConfig {
  return {
    architecture: 'llama',
    vocabSize: o.vocab,
    hiddenSize: o.hidden,
    intermediateSize: o.ffn,
    numLayers: o.layers,
    numHeads: o.heads,
    numKVHeads: o.kvHeads,
    headDim: o.hidden / o.heads,
    rmsNormEps: 1e-5,
    ropeTheta: 500000,
    ropeScaling: { type: 'llama3', factor: 8, lowFreqFactor: 1, highFreqFactor: 4, originalMaxPositionEmbeddings: 8192 },
    tiedEmbeddings: o.tied,
    contextLength: o.ctx,
    bosTokenId: 128000,
    eosTokenIds: [128001, 128008, 128009],
  };
}

export const LLAMA_3_1_8B = llama({ vocab: 128256, hidden: 4096, ffn: 14336, layers: 32, heads: 32, kvHeads: 8, ctx: 131072, tied: false });
export const LLAMA_3_1_70B = llama({ vocab: 128256, hidden: 8192, ffn: 28672, layers: 80, heads: 64, kvHeads: 8, ctx: 131072, tied: false });
export const LLAMA_3_2_1B = llama({ vocab: 128256, hidden: 2048, ffn: 8192, layers: 16, heads: 32, kvHeads: 8, ctx: 131072, tied: true });

/** llama.cpp's use_more_bits: the first and last eighth of layers and every third between get Q6_K in Q4_K_M. */
const moreBits = (i: number, n: number): boolean => i < n / 8 || i >= (7 * n) / 8 || (i - Math.floor(n / 8)) % 3 === 2;

export function syntheticTensors(c: LlamaConfig, quant: SyntheticQuant): PlanTensor[] {
  const out: PlanTensor[] = [];
  const base = quant === 'Q4_K_M' ? DType.Q4_K : DType[quant === 'F16' ? 'F16' : quant];
  const add = (name: string, dtype: DType, shape: number[]): void => {
    const cols = shape[shape.length - 1]!;
    const rows = shape.length === 1 ? 1 : shape[0]!;
    out.push({ name, dtype, shape, byteLength: rows * rowBytes(dtype, cols) });
  };
  const qDim = c.numHeads * c.headDim;
  const kvDim = c.numKVHeads * c.headDim;
  add('token_embd.weight', base, [c.vocabSize, c.hiddenSize]);
  for (let i = 0; i < c.numLayers; i++) {
    const hi = quant === 'Q4_K_M' && moreBits(i, c.numLayers) ? DType.Q6_K : base;
    add(`blk.${i}.attn_norm.weight`, DType.F32, [c.hiddenSize]);
    add(`blk.${i}.attn_q.weight`, base, [qDim, c.hiddenSize]);
    add(`blk.${i}.attn_k.weight`, base, [kvDim, c.hiddenSize]);
    add(`blk.${i}.attn_v.weight`, hi, [kvDim, c.hiddenSize]);
    add(`blk.${i}.attn_output.weight`, base, [c.hiddenSize, qDim]);
    add(`blk.${i}.ffn_norm.weight`, DType.F32, [c.hiddenSize]);
    add(`blk.${i}.ffn_gate.weight`, base, [c.intermediateSize, c.hiddenSize]);
    add(`blk.${i}.ffn_up.weight`, base, [c.intermediateSize, c.hiddenSize]);
    add(`blk.${i}.ffn_down.weight`, hi, [c.hiddenSize, c.intermediateSize]);
  }
  add('output_norm.weight', DType.F32, [c.hiddenSize]);
  if (!c.tiedEmbeddings) add('output.weight', quant === 'Q4_K_M' ? DType.Q6_K : base, [c.vocabSize, c.hiddenSize]);
  return out;
}
