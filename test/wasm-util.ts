import assert from 'node:assert/strict';
import type { Backend } from '../src/backend/backend.js';
import { dequantizeRow } from '../src/quant/dequant.js';
import { DType, dtypeName, rowBytes } from '../src/quant/dtype.js';
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

/** A type without a kernel: widened to F32 at load. */
export const CONVERTED = [DType.Q4_1];

/**
 * Matmul thresholds come from the arithmetic: activations are rounded to a grid of step
 * Δ_b = amax_b/127 per 32-block (signed 8-bit, Q4_0), per 256-block (the K-quants: llama.cpp's
 * Q8_K) or amax_b/64 per 32-block (7-bit, Q8_0), so each product's error is at most |w|·Δ_b/2 and
 *   |out − ref| ≤ Σ_b Δ_b/2 · Σ_{c∈b} |w_c|  +  f32 accumulation slack (1e-5 · Σ|w·x|).
 * Float weights (F32/F16/BF16) keep f32 activations: only the slack applies.
 */
function actStep(dtype: DType): number {
  if (dtype === DType.Q8_0) return 64;
  if (dtype === DType.F32 || dtype === DType.F16 || dtype === DType.BF16 || CONVERTED.includes(dtype)) return 0;
  return 127;
}

/** Values that share one activation scale. */
function actBlock(dtype: DType): number {
  return dtype === DType.Q4_K || dtype === DType.Q5_K || dtype === DType.Q6_K ? 256 : 32;
}

function dequant(dtype: DType, data: Uint8Array, rows: number, cols: number): Float32Array {
  const out = new Float32Array(rows * cols);
  const rb = data.length / rows;
  for (let r = 0; r < rows; r++) dequantizeRow(dtype, data, r * rb, out, r * cols, cols);
  return out;
}

export function checkMatmul(be: Backend, r: () => number, dtype: DType, rows: number, cols: number, n: number, weight?: Uint8Array): void {
  const data = weight ?? randomWeight(r, dtype, rows, cols);
  const w = be.loadWeight({ name: `w.${dtypeName(dtype)}`, dtype, shape: [rows, cols], data });
  const wf = dequant(dtype, data, rows, cols);
  const x = randn(r, n * cols);
  const xt = be.alloc(n * cols);
  const ot = be.alloc(n * rows);
  be.write(xt, x);
  be.matmul(ot, xt, w, n);
  const got = be.read(ot);
  be.free(xt);
  be.free(ot);
  const q = actStep(dtype);
  for (let i = 0; i < n; i++) {
    for (let row = 0; row < rows; row++) {
      let exact = 0;
      let absSum = 0;
      let bound = 0;
      const ab = actBlock(dtype);
      for (let b = 0; b < cols; b += ab) {
        let amax = 0;
        let wsum = 0;
        for (let c = b; c < Math.min(cols, b + ab); c++) {
          const xv = x[i * cols + c]!;
          const wv = wf[row * cols + c]!;
          exact += xv * wv;
          absSum += Math.abs(xv * wv);
          amax = Math.max(amax, Math.abs(xv));
          wsum += Math.abs(wv);
        }
        if (q) bound += (amax / q / 2) * wsum;
      }
      bound += 1e-5 * absSum + 1e-6;
      const err = Math.abs(got[i * rows + row]! - exact);
      if (!(err <= bound)) {
        assert.fail(`${dtypeName(dtype)} rows=${rows} cols=${cols} n=${n}: out[${i},${row}] = ${got[i * rows + row]} vs ${exact} (err ${err} > bound ${bound})`);
      }
    }
  }
}


/**
 * A matmul of n tokens against `rows` × `cols` random weights equals, token by token and bit for
 * bit, the same token alone (batching relies on it: a sequence's logits may not depend on its
 * neighbours, whatever tiles, column chunks or token blocks the step runs in).
 */
export function checkRowIndependence(be: Backend, r: () => number, dtype: DType, rows: number, cols: number, n: number, label = ''): void {
  const w = be.loadWeight({ name: `w.${dtypeName(dtype)}.${cols}.${n}`, dtype, shape: [rows, cols], data: randomWeight(r, dtype, rows, cols) });
  const x = randn(r, n * cols);
  const xt = be.alloc(n * cols);
  const ot = be.alloc(n * rows);
  const x1 = be.alloc(cols);
  const o1 = be.alloc(rows);
  be.write(xt, x);
  be.matmul(ot, xt, w, n);
  const all = be.read(ot);
  for (let t = 0; t < n; t++) {
    be.write(x1, x.subarray(t * cols, (t + 1) * cols));
    be.matmul(o1, x1, w, 1);
    assert.deepEqual(all.subarray(t * rows, (t + 1) * rows), be.read(o1), `${label}${dtypeName(dtype)} ${cols} columns, n=${n}, token ${t}`);
  }
  for (const b of [xt, ot, x1, o1]) be.free(b);
}
