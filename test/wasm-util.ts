import { DType, rowBytes } from '../src/quant/dtype.js';
import { f32ToBF16, f32ToF16 } from '../src/quant/half.js';

/** Deterministic PRNG (mulberry32) so failures reproduce. */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export function randn(r: () => number, n: number, scale = 1): Float32Array {
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    const u = Math.max(r(), 1e-12);
    out[i] = scale * Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * r());
  }
  return out;
}

/** Scale fields (byte offsets within a block) that must hold sane f16 values. */
const SCALES: Partial<Record<DType, number[]>> = {
  [DType.Q8_0]: [0],
  [DType.Q4_0]: [0],
  [DType.Q4_K]: [0, 2],
  [DType.Q5_K]: [0, 2],
  [DType.Q6_K]: [208],
  [DType.Q4_1]: [0, 2],
  [DType.Q5_0]: [0],
};

const BLOCK_BYTES: Partial<Record<DType, [number, number]>> = {
  [DType.Q8_0]: [32, 34],
  [DType.Q4_0]: [32, 18],
  [DType.Q4_K]: [256, 144],
  [DType.Q5_K]: [256, 176],
  [DType.Q6_K]: [256, 210],
  [DType.Q4_1]: [32, 20],
  [DType.Q5_0]: [32, 22],
};

/** A random [rows, cols] weight in `dtype`'s block layout (random quants, small f16 scales). */
export function randomWeight(r: () => number, dtype: DType, rows: number, cols: number): Uint8Array {
  const bytes = new Uint8Array(rows * rowBytes(dtype, cols));
  if (dtype === DType.F32) {
    new Float32Array(bytes.buffer).set(randn(r, rows * cols, 0.5));
    return bytes;
  }
  if (dtype === DType.F16 || dtype === DType.BF16) {
    const v = randn(r, rows * cols, 0.5);
    const h = new Uint16Array(bytes.buffer);
    for (let i = 0; i < v.length; i++) h[i] = dtype === DType.F16 ? f32ToF16(v[i]!) : f32ToBF16(v[i]!);
    return bytes;
  }
  for (let i = 0; i < bytes.length; i++) bytes[i] = Math.floor(r() * 256);
  const [, bb] = BLOCK_BYTES[dtype]!;
  const dv = new DataView(bytes.buffer);
  for (let b = 0; b < bytes.length / bb; b++) {
    for (const off of SCALES[dtype]!) dv.setUint16(b * bb + off, f32ToF16((0.2 + r()) * 0.01), true);
  }
  return bytes;
}
