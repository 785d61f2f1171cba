// Activation quantization (llama.cpp's quantize_row_q8_0 numerics, blocks of 32).
import { hsumi } from './simd';

@inline function absmax32(p: usize): f32 {
  let m = f32x4.abs(v128.load(p));
  m = f32x4.max(m, f32x4.abs(v128.load(p, 16)));
  m = f32x4.max(m, f32x4.abs(v128.load(p, 32)));
  m = f32x4.max(m, f32x4.abs(v128.load(p, 48)));
  m = f32x4.max(m, f32x4.abs(v128.load(p, 64)));
  m = f32x4.max(m, f32x4.abs(v128.load(p, 80)));
  m = f32x4.max(m, f32x4.abs(v128.load(p, 96)));
  m = f32x4.max(m, f32x4.abs(v128.load(p, 112)));
  m = f32x4.max(m, v128.shuffle<f32>(m, m, 2, 3, 0, 1));
  return max(f32x4.extract_lane(m, 0), f32x4.extract_lane(m, 1));
}

/** 16 floats at p, times id, rounded to nearest-even, narrowed to int8 (|q| ≤ 127 by construction). */
@inline function q16(p: usize, id: v128): v128 {
  const a = i32x4.trunc_sat_f32x4_s(f32x4.nearest(f32x4.mul(v128.load(p), id)));
  const b = i32x4.trunc_sat_f32x4_s(f32x4.nearest(f32x4.mul(v128.load(p, 16), id)));
  const c = i32x4.trunc_sat_f32x4_s(f32x4.nearest(f32x4.mul(v128.load(p, 32), id)));
  const d = i32x4.trunc_sat_f32x4_s(f32x4.nearest(f32x4.mul(v128.load(p, 48), id)));
  return i8x16.narrow_i16x8_s(i16x8.narrow_i32x4_s(a, b), i16x8.narrow_i32x4_s(c, d));
}

@inline function sum16(q: v128): i32 {
  return hsumi(i32x4.extadd_pairwise_i16x8_s(i16x8.extadd_pairwise_i8x16_s(q)));
}

/**
 * Signed 8-bit activations for weights whose quants are unsigned (Q4_0 and the K-quants):
 * per 32-block d = amax/127, q = round(x/d) ∈ [-127, 127].
 * x: [n, cols] f32 → q: [n, cols] i8, d: [n, cols/32] f32, s: [n, cols/16] i32 (sums of q per 16).
 */
export function quant_q8s(x: usize, n: i32, cols: i32, q: usize, d: usize, s: usize): void {
  const nb = cols >> 5;
  const total = n * nb;
  for (let b = 0; b < total; b++) {
    const xp = x + (<usize>b << 7);
    const amax = absmax32(xp);
    const dd: f32 = amax / 127.0;
    const id = f32x4.splat(amax > 0 ? 127.0 / amax : 0);
    const q0 = q16(xp, id);
    const q1 = q16(xp + 64, id);
    v128.store(q + (<usize>b << 5), q0);
    v128.store(q + (<usize>b << 5), q1, 16);
    store<f32>(d + (<usize>b << 2), dd);
    store<i32>(s + (<usize>b << 3), sum16(q0));
    store<i32>(s + (<usize>b << 3), sum16(q1), 4);
  }
}

/**
 * Offset 7-bit activations for Q8_0 weights, whose quants are signed and so must take the
 * signed operand of the relaxed dot: d = amax/63, q = round(x/d) ∈ [-63, 63], stored as
 * q + 64 ∈ [1, 127]. The kernel subtracts 64·Σw per block (Σw is precomputed at load).
 * x: [n, cols] → q: [n, cols] u8, d: [n, cols/32] f32.
 */
export function quant_q7u(x: usize, n: i32, cols: i32, q: usize, d: usize): void {
  const nb = cols >> 5;
  const total = n * nb;
  const off = i8x16.splat(64);
  for (let b = 0; b < total; b++) {
    const xp = x + (<usize>b << 7);
    const amax = absmax32(xp);
    const dd: f32 = amax / 63.0;
    const id = f32x4.splat(amax > 0 ? 63.0 / amax : 0);
    v128.store(q + (<usize>b << 5), i8x16.add(q16(xp, id), off));
    v128.store(q + (<usize>b << 5), i8x16.add(q16(xp + 64, id), off), 16);
    store<f32>(d + (<usize>b << 2), dd);
  }
}
