/**
 * A random-weight Llama GGUF (Q4_0 matrices, F32 norms, no tokenizer) of any shape, written in a
 * second or so: big enough per op that thread timing means something, which the tiny fixtures
 * are not. Q4_0 blocks get a fixed small f16 scale and random nibbles, so activations stay finite.
 */
import { writeGGUF, type GGUFWriteTensor } from '../../src/formats/gguf-writer.js';
import { DType } from '../../src/quant/dtype.js';

export interface SynthShape {
  readonly hidden: number;
  readonly ffn: number;
  readonly layers: number;
  readonly heads: number;
  readonly kvHeads: number;
  readonly vocab: number;
}

function q40(rows: number, cols: number, seed: number): Uint8Array {
  const blocks = (rows * cols) / 32;
  const out = new Uint8Array(blocks * 18);
  let x = seed >>> 0 || 1;
  for (let b = 0; b < blocks; b++) {
    const p = b * 18;
    out[p] = 0x00;
    out[p + 1] = 0x20; // f16 0x2000 = 2^-7
    for (let j = 2; j < 18; j += 4) {
      x ^= x << 13;
      x ^= x >>> 17;
      x ^= x << 5;
      out[p + j] = x & 255;
      out[p + j + 1] = (x >>> 8) & 255;
      out[p + j + 2] = (x >>> 16) & 255;
      out[p + j + 3] = x >>> 24;
    }
  }
  return out;
}

export function writeSynthLlama(path: string, s: SynthShape): void {
  const hd = s.hidden / s.heads;
  const ones = (n: number): Uint8Array => new Uint8Array(Float32Array.from({ length: n }, () => 1).buffer);
  const t = (name: string, rows: number, cols: number, seed: number): GGUFWriteTensor => ({ name, type: DType.Q4_0, shape: [rows, cols], data: q40(rows, cols, seed) });
  const tensors: GGUFWriteTensor[] = [t('token_embd.weight', s.vocab, s.hidden, 1)];
  for (let l = 0; l < s.layers; l++) {
    const k = 100 * (l + 1);
    tensors.push(
      { name: `blk.${l}.attn_norm.weight`, type: DType.F32, shape: [s.hidden], data: ones(s.hidden) },
      t(`blk.${l}.attn_q.weight`, s.hidden, s.hidden, k + 1),
      t(`blk.${l}.attn_k.weight`, s.kvHeads * hd, s.hidden, k + 2),
      t(`blk.${l}.attn_v.weight`, s.kvHeads * hd, s.hidden, k + 3),
      t(`blk.${l}.attn_output.weight`, s.hidden, s.hidden, k + 4),
      { name: `blk.${l}.ffn_norm.weight`, type: DType.F32, shape: [s.hidden], data: ones(s.hidden) },
      t(`blk.${l}.ffn_gate.weight`, s.ffn, s.hidden, k + 5),
      t(`blk.${l}.ffn_up.weight`, s.ffn, s.hidden, k + 6),
      t(`blk.${l}.ffn_down.weight`, s.hidden, s.ffn, k + 7),
    );
  }
  tensors.push({ name: 'output_norm.weight', type: DType.F32, shape: [s.hidden], data: ones(s.hidden) });
  writeGGUF(path, {
    metadata: {
      'general.architecture': 'llama',
      'llama.block_count': s.layers,
      'llama.context_length': 2048,
      'llama.embedding_length': s.hidden,
      'llama.feed_forward_length': s.ffn,
      'llama.attention.head_count': s.heads,
      'llama.attention.head_count_kv': s.kvHeads,
      'llama.attention.layer_norm_rms_epsilon': 1e-5,
      'llama.rope.freq_base': 500000,
      'llama.vocab_size': s.vocab,
    },
    tensors,
  });
}
