// Activation quantization (llama.cpp's quantize_row_q8_0 numerics, blocks of 32).
import { hsumi } from './simd';

/**
 * max |x| over 32 floats at p. On |x| bit patterns integer order is float order and NaN ranks
 * above everything, so i32 max (one instruction) replaces f32x4.max (about nine on x64, for its
 * NaN rules) and a NaN still comes out as the maximum (d = NaN: a broken activation is not hidden).
 */
@inline function absmax32(p: usize): f32 {
  const a = i32x4.splat(0x7fffffff);
  let m = v128.and(v128.load(p), a);
  m = i32x4.max_s(m, v128.and(v128.load(p, 16), a));
  m = i32x4.max_s(m, v128.and(v128.load(p, 32), a));
  m = i32x4.max_s(m, v128.and(v128.load(p, 48), a));
  m = i32x4.max_s(m, v128.and(v128.load(p, 64), a));
  m = i32x4.max_s(m, v128.and(v128.load(p, 80), a));
  m = i32x4.max_s(m, v128.and(v128.load(p, 96), a));
  m = i32x4.max_s(m, v128.and(v128.load(p, 112), a));
  m = i32x4.max_s(m, v128.shuffle<i32>(m, m, 2, 3, 0, 1));
  m = i32x4.max_s(m, v128.shuffle<i32>(m, m, 1, 0, 3, 2));
  return f32x4.extract_lane(m, 0);
}

/** f32 → i32 of values already rounded to integers in [−127, 127] (relaxed: one cvttps2dq). */
@inline function toInt(v: v128): v128 {
  if (ASC_FEATURE_RELAXED_SIMD) {
    return i32x4.relaxed_trunc_f32x4_s(v);
  } else {
    return i32x4.trunc_sat_f32x4_s(v);
  }
}

/** 16 floats at p, times id, rounded to nearest-even, narrowed to int8 (|q| ≤ 127 by construction). */
@inline function q16(p: usize, id: v128): v128 {
  const a = toInt(f32x4.nearest(f32x4.mul(v128.load(p), id)));
  const b = toInt(f32x4.nearest(f32x4.mul(v128.load(p, 16), id)));
  const c = toInt(f32x4.nearest(f32x4.mul(v128.load(p, 32), id)));
  const d = toInt(f32x4.nearest(f32x4.mul(v128.load(p, 48), id)));
  return i8x16.narrow_i16x8_s(i16x8.narrow_i32x4_s(a, b), i16x8.narrow_i32x4_s(c, d));
}

@inline function sum16(q: v128): i32 {
  return hsumi(i32x4.extadd_pairwise_i16x8_s(i16x8.extadd_pairwise_i8x16_s(q)));
}

/**
 * Activation records for the 4-row Q8x4 / Q4x4 kernels: one per (token, 32-value block), REC
 * bytes: the block's 8 chunks of 4 int8 values (chunk j = values 4j..4j+3), each repeated to a
 * whole vector (the kernels load it where they would otherwise broadcast), then d ×4 (f32) at
 * REC_D, the offset term ×4 (i32) at REC_S (the weights' unsigned offset times Σq) and, in the
 * K-quant records only, Σq of each 16-value half at REC_S16. Tokens are tiled by 4: tile τ (tokens 4τ ..
 * 4τ+ts−1, ts = min(4, n − 4τ)) starts at τ·4·nb·REC and stores block b of its token j at
 * (b·ts + j)·REC, so a 4-token kernel reads its four tokens at fixed offsets.
 */
export const REC: usize = 176;
export const REC_D: usize = 128;
export const REC_S: usize = 144;
/** Σq over values 0..15 and 16..31 as i16 lanes, four times (Q6_K's q − 32 per 16-value sub-block, quant_rec_q8k). */
export const REC_S16: usize = 160;

/** Bytes of the records of n tokens of `cols` values. */
export function rec_bytes(n: i32, cols: i32): i32 {
  return n * (cols >> 5) * <i32>REC;
}

@inline function recAt(dst: usize, t: i32, b: i32, nb: i32, n: i32): usize {
  const tile = t >> 2;
  const ts = min(4, n - (tile << 2));
  return dst + <usize>tile * 4 * <usize>nb * REC + (<usize>b * ts + <usize>(t & 3)) * REC;
}

/** Stores q0 (values 0..15) and q1 (16..31) with every 4-byte chunk broadcast to a vector. */
@inline function storeChunks(r: usize, q0: v128, q1: v128): void {
  v128.store(r, v128.shuffle<i32>(q0, q0, 0, 0, 0, 0));
  v128.store(r, v128.shuffle<i32>(q0, q0, 1, 1, 1, 1), 16);
  v128.store(r, v128.shuffle<i32>(q0, q0, 2, 2, 2, 2), 32);
  v128.store(r, v128.shuffle<i32>(q0, q0, 3, 3, 3, 3), 48);
  v128.store(r, v128.shuffle<i32>(q1, q1, 0, 0, 0, 0), 64);
  v128.store(r, v128.shuffle<i32>(q1, q1, 1, 1, 1, 1), 80);
  v128.store(r, v128.shuffle<i32>(q1, q1, 2, 2, 2, 2), 96);
  v128.store(r, v128.shuffle<i32>(q1, q1, 3, 3, 3, 3), 112);
}

/**
 * Records of n tokens: per 32-block q = round(x·levels/amax) ∈ [−levels, levels], d = amax/levels
 * stored times dScale, and the offset term (Σq) << sShift.
 * x: [n, cols] f32 → dst: rec_bytes(n, cols).
 */
@inline function quantRecords(x: usize, n: i32, cols: i32, dst: usize, levels: f32, dScale: f32, sShift: i32): void {
  const nb = cols >> 5;
  for (let t = 0; t < n; t++) {
    for (let b = 0; b < nb; b++) {
      const xp = x + ((<usize>t * cols + (b << 5)) << 2);
      const amax = absmax32(xp);
      const id = f32x4.splat(amax > 0 ? levels / amax : 0);
      const q0 = q16(xp, id);
      const q1 = q16(xp + 64, id);
      const r = recAt(dst, t, b, nb, n);
      storeChunks(r, q0, q1);
      v128.store(r, f32x4.splat((amax / levels) * dScale), REC_D);
      v128.store(r, i32x4.splat((sum16(q0) + sum16(q1)) << sShift), REC_S);
    }
  }
}

/**
 * Records for the K-quants (llama.cpp's Q8_K numerics: one d = amax/127 per 256 values, q ∈
 * [-127, 127]): every block of a superblock carries the same d, so the kernels sum the sub-blocks'
 * integer dots times their integer scales and finish in f32 once per superblock. REC_S holds, as
 * i16 lanes, the Σq of the block pair 2J, 2J+1 that the block belongs to, [b_2J, b_2J+1] four times
 * (pmaddwd against each row's two mins gives that pair's Q4_K/Q5_K min term); REC_S16 the block's two
 * 16-value halves' Σq, [h_0, h_1] four times (the partner of each row's two Q6_K scales).
 * x: [n, cols] f32 (cols a multiple of 256) → dst: rec_bytes(n, cols).
 */
export function quant_rec_q8k(x: usize, n: i32, cols: i32, dst: usize): void {
  const nb = cols >> 5;
  for (let t = 0; t < n; t++) {
    for (let b0 = 0; b0 < nb; b0 += 8) {
      const xs = x + ((<usize>t * cols + (b0 << 5)) << 2);
      let amax: f32 = 0;
      for (let j = 0; j < 8; j++) amax = max(amax, absmax32(xs + (<usize>j << 7)));
      const id = f32x4.splat(amax > 0 ? 127 / amax : 0);
      const d = f32x4.splat(amax / 127);
      let prev: i32 = 0;
      for (let j = 0; j < 8; j++) {
        const xp = xs + (<usize>j << 7);
        const q0 = q16(xp, id);
        const q1 = q16(xp + 64, id);
        const r = recAt(dst, t, b0 + j, nb, n);
        storeChunks(r, q0, q1);
        v128.store(r, d, REC_D);
        const s0 = sum16(q0);
        const s1 = sum16(q1);
        v128.store(r, i32x4.splat((s0 & 0xffff) | (s1 << 16)), REC_S16);
        if ((j & 1) == 0) {
          prev = s0 + s1;
        } else {
          const pair = i32x4.splat((prev & 0xffff) | ((s0 + s1) << 16));
          v128.store(r, pair, REC_S);
          v128.store(recAt(dst, t, b0 + j - 1, nb, n), pair, REC_S);
        }
      }
    }
  }
}

/**
 * Signed 8-bit records for Q4_0 and the K-quants (llama.cpp's Q8_0 numerics: d = amax/127,
 * q = round(x/d) ∈ [-127, 127]); the offset term is 8·Σq (Q4_0 stores n = q + 8; Q4_K/Q5_K's
 * min term uses it too).
 */
export function quant_rec_q8s(x: usize, n: i32, cols: i32, dst: usize): void {
  quantRecords(x, n, cols, dst, 127, 1, 3);
}

/**
 * 7-bit signed records for Q8_0 weights, which the kernels hold offset by 128 (unsigned 0..255):
 * d = amax/64, q = round(x/d) ∈ [-64, 64], so a pair of products stays within i16 (2·255·64 <
 * 2^15); the offset term is 128·Σq and d is stored times 2^64, the other half of mm_q8x4's exact
 * f16-scale shortcut (matmul-q.ts scales16).
 */
export function quant_rec_q7s(x: usize, n: i32, cols: i32, dst: usize): void {
  quantRecords(x, n, cols, dst, 64, reinterpret<f32>(0x5f800000), 7);
}
