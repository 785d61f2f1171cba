// Matmul for float weights (F32, F16, BF16) with f32 activations: each weight row is converted
// once per 8 columns and used for four tokens at a time.
import { fma, hsum, h2f, h2fs } from './simd';

export const KIND_F32 = 0;
export const KIND_F16 = 1;
export const KIND_BF16 = 30;

/** Eight weights of row `w` starting at column c, as two f32x4. */
@inline function w8lo(kind: i32, w: usize, c: usize): v128 {
  if (kind == KIND_F32) return v128.load(w + (c << 2));
  const v = v128.load(w + (c << 1));
  return kind == KIND_F16 ? h2f(i32x4.extend_low_i16x8_u(v)) : i32x4.shl(i32x4.extend_low_i16x8_u(v), 16);
}
@inline function w8hi(kind: i32, w: usize, c: usize): v128 {
  if (kind == KIND_F32) return v128.load(w + (c << 2), 16);
  const v = v128.load(w + (c << 1));
  return kind == KIND_F16 ? h2f(i32x4.extend_high_i16x8_u(v)) : i32x4.shl(i32x4.extend_high_i16x8_u(v), 16);
}
@inline function w1(kind: i32, w: usize, c: usize): f32 {
  if (kind == KIND_F32) return load<f32>(w + (c << 2));
  const h = <u32>load<u16>(w + (c << 1));
  return kind == KIND_F16 ? h2fs(h) : reinterpret<f32>(h << 16);
}

// Each token keeps the same two accumulators (low and high 4 columns) as rowT1, summed in the same
// order, so a token's result is bit-identical whichever tile it falls in (batching relies on it).
function rowT4(kind: i32, w: usize, cols: i32, x: usize, out: usize, ldo: i32): void {
  const xs = <usize>cols << 2;
  let a0 = f32x4.splat(0), a1 = f32x4.splat(0), a2 = f32x4.splat(0), a3 = f32x4.splat(0);
  let b0 = f32x4.splat(0), b1 = f32x4.splat(0), b2 = f32x4.splat(0), b3 = f32x4.splat(0);
  const c8 = <usize>(cols & ~7);
  for (let c: usize = 0; c < c8; c += 8) {
    const lo = w8lo(kind, w, c);
    const hi = w8hi(kind, w, c);
    const p = x + (c << 2);
    a0 = fma(lo, v128.load(p), a0);
    b0 = fma(hi, v128.load(p, 16), b0);
    a1 = fma(lo, v128.load(p + xs), a1);
    b1 = fma(hi, v128.load(p + xs, 16), b1);
    a2 = fma(lo, v128.load(p + 2 * xs), a2);
    b2 = fma(hi, v128.load(p + 2 * xs, 16), b2);
    a3 = fma(lo, v128.load(p + 3 * xs), a3);
    b3 = fma(hi, v128.load(p + 3 * xs, 16), b3);
  }
  let s0 = hsum(f32x4.add(a0, b0)), s1 = hsum(f32x4.add(a1, b1)), s2 = hsum(f32x4.add(a2, b2)), s3 = hsum(f32x4.add(a3, b3));
  for (let c = c8; c < <usize>cols; c++) {
    const wv = w1(kind, w, c);
    const p = x + (c << 2);
    s0 += wv * load<f32>(p);
    s1 += wv * load<f32>(p + xs);
    s2 += wv * load<f32>(p + 2 * xs);
    s3 += wv * load<f32>(p + 3 * xs);
  }
  const os = <usize>ldo << 2;
  store<f32>(out, s0);
  store<f32>(out + os, s1);
  store<f32>(out + 2 * os, s2);
  store<f32>(out + 3 * os, s3);
}

function rowT1(kind: i32, w: usize, cols: i32, x: usize): f32 {
  let a0 = f32x4.splat(0), a1 = f32x4.splat(0);
  const c8 = <usize>(cols & ~7);
  for (let c: usize = 0; c < c8; c += 8) {
    const p = x + (c << 2);
    a0 = fma(w8lo(kind, w, c), v128.load(p), a0);
    a1 = fma(w8hi(kind, w, c), v128.load(p, 16), a1);
  }
  let s = hsum(f32x4.add(a0, a1));
  for (let c = c8; c < <usize>cols; c++) s += w1(kind, w, c) * load<f32>(x + (c << 2));
  return s;
}

/** out[t, r] = Σ_c x[t, c] · w[r, c]; w: rows × cols of `kind`, x: [n, cols] f32. */
export function mm_f(kind: i32, w: usize, rows: i32, cols: i32, n: i32, x: usize, out: usize, ldo: i32): void {
  const esz: usize = kind == KIND_F32 ? 4 : 2;
  const rb = <usize>cols * esz;
  // Rows in tiles of 16 so a tile's weights stay in L1/L2 while all token tiles pass.
  for (let r0 = 0; r0 < rows; r0 += 16) {
    const r1 = min(rows, r0 + 16);
    let t = 0;
    for (; t + 4 <= n; t += 4) {
      for (let r = r0; r < r1; r++) {
        rowT4(kind, w + <usize>r * rb, cols, x + ((<usize>t * cols) << 2), out + ((<usize>t * ldo + r) << 2), ldo);
      }
    }
    for (; t < n; t++) {
      for (let r = r0; r < r1; r++) {
        store<f32>(out + ((<usize>t * ldo + r) << 2), rowT1(kind, w + <usize>r * rb, cols, x + ((<usize>t * cols) << 2)));
      }
    }
  }
}

/** One row of a float weight → f32. */
export function deq_f(kind: i32, w: usize, cols: i32, out: usize): void {
  for (let c: usize = 0; c < <usize>cols; c++) store<f32>(out + (c << 2), w1(kind, w, c));
}
