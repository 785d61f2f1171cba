/**
 * A K-quant model for benchmarks, derived from a synthetic GGUF of the same shape (synth_gguf.py
 * writes only F16/F32/Q8_0/Q4_0): same metadata and tokenizer, every matrix as random Q4_K (or
 * Q5_K) blocks except the embedding/output (Q6_K, as in llama.cpp's Q4_K_M / Q5_K_M), norm
 * vectors kept. The weights are random, the layout and bytes real: enough for speed, not for text.
 */
import { readGGUF } from '../src/formats/gguf.js';
import { writeGGUF } from '../src/formats/gguf-writer.js';
import { DType, rowBytes } from '../src/quant/dtype.js';
import { f32ToF16 } from '../src/quant/half.js';

type KType = DType.Q4_K | DType.Q5_K | DType.Q6_K;
const BLOCK: Record<KType, number> = { [DType.Q4_K]: 144, [DType.Q5_K]: 176, [DType.Q6_K]: 210 };

/** Random blocks with small positive super-scales (Q4_K/Q5_K: d, dmin; Q6_K: d). */
function randomBlocks(type: KType, rows: number, cols: number, next: () => number): Uint8Array {
  const data = new Uint8Array(rows * rowBytes(type, cols));
  for (let i = 0; i < data.length; i++) data[i] = next() & 0xff;
  const dv = new DataView(data.buffer);
  const bb = BLOCK[type];
  for (let b = 0; b < data.length / bb; b++) {
    if (type !== DType.Q6_K) {
      dv.setUint16(b * bb, f32ToF16(0.001), true);
      dv.setUint16(b * bb + 2, f32ToF16(0.0005), true);
    } else {
      dv.setUint16(b * bb + 208, f32ToF16(0.0005), true);
    }
  }
  return data;
}

/** Writes `to` from the synthetic GGUF `from` with `layers` (Q4_K or Q5_K) matrices. */
export function synthKQuant(from: string, to: string, layers: DType.Q4_K | DType.Q5_K = DType.Q4_K): void {
  const g = readGGUF(from);
  let seed = 1;
  const next = (): number => {
    seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
    return seed >>> 13;
  };
  try {
    const tensors = g.tensors.map((t) => {
      if (t.shape.length === 1) return { name: t.name, type: t.dtype, shape: t.shape, data: t.read() };
      const type = t.name === 'token_embd.weight' || t.name === 'output.weight' ? DType.Q6_K : layers;
      const [rows, cols] = t.shape as [number, number];
      return { name: t.name, type, shape: t.shape, data: randomBlocks(type, rows, cols, next) };
    });
    const metadata = new Map(g.metadata);
    metadata.set('general.file_type', layers === DType.Q4_K ? 15 : 17); // LLAMA_FTYPE_MOSTLY_Q4_K_M / Q5_K_M
    writeGGUF(to, { metadata, types: g.metadataTypes, tensors, alignment: g.alignment });
  } finally {
    g.close();
  }
}
