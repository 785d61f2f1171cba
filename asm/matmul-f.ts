// Matmul for float weights (F32, F16, BF16) with f32 activations. A weight row is converted once
// per 8 columns and used for four tokens at a time (two for a last pair of tokens); a lone token
// runs four rows at a time, so eight accumulator chains hide the FMA latency that one row's two
// chains left exposed. Every token of every row keeps the same two accumulators (low and high 4
// columns of each 8), summed in the same order, so a token's result is bit-identical whichever
// tile it falls in (batching relies on it).
//
// The kernels are generic over W, the weight's storage, so each kind gets its own loop without a
// branch inside: f32 = F32, u16 = F16 bits, i16 = BF16 bits. hm / hs: h2f's constants, loaded
// once per call.
import { fma, hsum, h2f, h2fMask, h2fScale, h2fs } from './simd';
import { PAIR, pin, SCRATCH } from './kernel-util';

/** Where a 3-token tile's repeated token lands (scratch no other part of mm_f uses). */
const DROP = PAIR;

export const KIND_F32 = 0;
export const KIND_F16 = 1;
export const KIND_BF16 = 30;

/** Eight weights of row `w` starting at column c, as two f32x4. */
@inline function w8lo<W>(w: usize, c: usize, hm: v128, hs: v128): v128 {
  if (isFloat<W>()) return v128.load(w + (c << 2));
  const v = v128.load(w + (c << 1));
  if (isSigned<W>()) return i32x4.shl(i32x4.extend_low_i16x8_u(v), 16);
  return h2f(i32x4.extend_low_i16x8_s(v), hm, hs);
}
@inline function w8hi<W>(w: usize, c: usize, hm: v128, hs: v128): v128 {
  if (isFloat<W>()) return v128.load(w + (c << 2), 16);
  const v = v128.load(w + (c << 1));
  if (isSigned<W>()) return i32x4.shl(i32x4.extend_high_i16x8_u(v), 16);
  return h2f(i32x4.extend_high_i16x8_s(v), hm, hs);
}
@inline function w1<W>(w: usize, c: usize): f32 {
  if (isFloat<W>()) return load<f32>(w + (c << 2));
  const h = <u32>load<u16>(w + (c << 1));
  if (isSigned<W>()) return reinterpret<f32>(h << 16);
  return h2fs(h);
}

/**
 * One row against four tokens (x rows `cols` apart); out[t·ldo]. The fourth token's activations
 * are at x + x3 and its result goes to o3: a 3-token tile repeats the third token and drops the
 * copy (one pass over the weights instead of two). The pins after each pair of tokens keep V8
 * from loading all eight activation vectors first and spilling the sums.
 */
function rowT4<W>(scr: usize, w: usize, cols: i32, x: usize, x3: usize, out: usize, ldo: i32, o3: usize, hm: v128, hs: v128): void {
  const xs = <usize>cols << 2;
  let a0 = f32x4.splat(0), a1 = f32x4.splat(0), a2 = f32x4.splat(0), a3 = f32x4.splat(0);
  let b0 = f32x4.splat(0), b1 = f32x4.splat(0), b2 = f32x4.splat(0), b3 = f32x4.splat(0);
  const c8 = <usize>(cols & ~7);
  for (let c: usize = 0; c < c8; c += 8) {
    const lo = w8lo<W>(w, c, hm, hs);
    const hi = w8hi<W>(w, c, hm, hs);
    const p = x + (c << 2);
    a0 = fma(lo, v128.load(p), a0);
    b0 = fma(hi, v128.load(p, 16), b0);
    a1 = fma(lo, v128.load(p + xs), a1);
    b1 = fma(hi, v128.load(p + xs, 16), b1);
    pin(scr, a0, b0, a1, b1);
    a2 = fma(lo, v128.load(p + 2 * xs), a2);
    b2 = fma(hi, v128.load(p + 2 * xs, 16), b2);
    a3 = fma(lo, v128.load(p + x3), a3);
    b3 = fma(hi, v128.load(p + x3, 16), b3);
    pin(scr, a2, b2, a3, b3);
  }
  let s0 = hsum(f32x4.add(a0, b0)), s1 = hsum(f32x4.add(a1, b1)), s2 = hsum(f32x4.add(a2, b2)), s3 = hsum(f32x4.add(a3, b3));
  for (let c = c8; c < <usize>cols; c++) {
    const wv = w1<W>(w, c);
    const p = x + (c << 2);
    s0 += wv * load<f32>(p);
    s1 += wv * load<f32>(p + xs);
    s2 += wv * load<f32>(p + 2 * xs);
    s3 += wv * load<f32>(p + x3);
  }
  const os = <usize>ldo << 2;
  store<f32>(out, s0);
  store<f32>(out + os, s1);
  store<f32>(out + 2 * os, s2);
  store<f32>(o3, s3);
}

/** rowT4 for two tokens: a verify step's last pair reads the weights once, not twice. */
function rowT2<W>(w: usize, cols: i32, x: usize, out: usize, ldo: i32, hm: v128, hs: v128): void {
  const xs = <usize>cols << 2;
  let a0 = f32x4.splat(0), a1 = f32x4.splat(0), b0 = f32x4.splat(0), b1 = f32x4.splat(0);
  const c8 = <usize>(cols & ~7);
  for (let c: usize = 0; c < c8; c += 8) {
    const lo = w8lo<W>(w, c, hm, hs);
    const hi = w8hi<W>(w, c, hm, hs);
    const p = x + (c << 2);
    a0 = fma(lo, v128.load(p), a0);
    b0 = fma(hi, v128.load(p, 16), b0);
    a1 = fma(lo, v128.load(p + xs), a1);
    b1 = fma(hi, v128.load(p + xs, 16), b1);
  }
  let s0 = hsum(f32x4.add(a0, b0)), s1 = hsum(f32x4.add(a1, b1));
  for (let c = c8; c < <usize>cols; c++) {
    const wv = w1<W>(w, c);
    const p = x + (c << 2);
    s0 += wv * load<f32>(p);
    s1 += wv * load<f32>(p + xs);
  }
  store<f32>(out, s0);
  store<f32>(out + (<usize>ldo << 2), s1);
}

/** Four rows (rb bytes apart) against one token; out[0..3]. */
function rowsX4T1<W>(w: usize, rb: usize, cols: i32, x: usize, out: usize, hm: v128, hs: v128): void {
  let a0 = f32x4.splat(0), a1 = f32x4.splat(0), a2 = f32x4.splat(0), a3 = f32x4.splat(0);
  let b0 = f32x4.splat(0), b1 = f32x4.splat(0), b2 = f32x4.splat(0), b3 = f32x4.splat(0);
  const c8 = <usize>(cols & ~7);
  for (let c: usize = 0; c < c8; c += 8) {
    const p = x + (c << 2);
    const xl = v128.load(p);
    const xh = v128.load(p, 16);
    a0 = fma(w8lo<W>(w, c, hm, hs), xl, a0);
    b0 = fma(w8hi<W>(w, c, hm, hs), xh, b0);
    a1 = fma(w8lo<W>(w + rb, c, hm, hs), xl, a1);
    b1 = fma(w8hi<W>(w + rb, c, hm, hs), xh, b1);
    a2 = fma(w8lo<W>(w + 2 * rb, c, hm, hs), xl, a2);
    b2 = fma(w8hi<W>(w + 2 * rb, c, hm, hs), xh, b2);
    a3 = fma(w8lo<W>(w + 3 * rb, c, hm, hs), xl, a3);
    b3 = fma(w8hi<W>(w + 3 * rb, c, hm, hs), xh, b3);
  }
  let s0 = hsum(f32x4.add(a0, b0)), s1 = hsum(f32x4.add(a1, b1)), s2 = hsum(f32x4.add(a2, b2)), s3 = hsum(f32x4.add(a3, b3));
  for (let c = c8; c < <usize>cols; c++) {
    const xv = load<f32>(x + (c << 2));
    s0 += w1<W>(w, c) * xv;
    s1 += w1<W>(w + rb, c) * xv;
    s2 += w1<W>(w + 2 * rb, c) * xv;
    s3 += w1<W>(w + 3 * rb, c) * xv;
  }
  store<f32>(out, s0);
  store<f32>(out, s1, 4);
  store<f32>(out, s2, 8);
  store<f32>(out, s3, 12);
}

function rowT1<W>(w: usize, cols: i32, x: usize, hm: v128, hs: v128): f32 {
  let a0 = f32x4.splat(0), a1 = f32x4.splat(0);
  const c8 = <usize>(cols & ~7);
  for (let c: usize = 0; c < c8; c += 8) {
    const p = x + (c << 2);
    a0 = fma(w8lo<W>(w, c, hm, hs), v128.load(p), a0);
    a1 = fma(w8hi<W>(w, c, hm, hs), v128.load(p, 16), a1);
  }
  let s = hsum(f32x4.add(a0, a1));
  for (let c = c8; c < <usize>cols; c++) s += w1<W>(w, c) * load<f32>(x + (c << 2));
  return s;
}

function mmF<W>(w: usize, rows: i32, cols: i32, n: i32, x: usize, out: usize, ldo: i32): void {
  const rb = <usize>cols * sizeof<W>();
  const hm = h2fMask(), hs = h2fScale();
  const scr = SCRATCH;
  const xs = <usize>cols << 2;
  // Rows in tiles of 16 so a tile's weights stay in L1/L2 while all token tiles pass.
  for (let r0 = 0; r0 < rows; r0 += 16) {
    const r1 = min(rows, r0 + 16);
    let t = 0;
    for (; t + 3 <= n; t += 4) {
      const full = t + 4 <= n;
      const x3 = <usize>(full ? 3 : 2) * xs;
      for (let r = r0; r < r1; r++) {
        const o = out + ((<usize>t * ldo + r) << 2);
        rowT4<W>(scr, w + <usize>r * rb, cols, x + ((<usize>t * cols) << 2), x3, o, ldo, full ? o + 3 * (<usize>ldo << 2) : scr + DROP, hm, hs);
      }
    }
    if (t + 2 <= n) {
      for (let r = r0; r < r1; r++) {
        rowT2<W>(w + <usize>r * rb, cols, x + ((<usize>t * cols) << 2), out + ((<usize>t * ldo + r) << 2), ldo, hm, hs);
      }
      t += 2;
    }
    if (t < n) {
      const xt = x + ((<usize>t * cols) << 2);
      const ot = out + ((<usize>t * ldo) << 2);
      let r = r0;
      for (; r + 4 <= r1; r += 4) rowsX4T1<W>(w + <usize>r * rb, rb, cols, xt, ot + (<usize>r << 2), hm, hs);
      for (; r < r1; r++) store<f32>(ot + (<usize>r << 2), rowT1<W>(w + <usize>r * rb, cols, xt, hm, hs));
    }
  }
}

/** out[t, r] = Σ_c x[t, c] · w[r, c]; w: rows × cols of `kind`, x: [n, cols] f32. */
export function mm_f(kind: i32, w: usize, rows: i32, cols: i32, n: i32, x: usize, out: usize, ldo: i32): void {
  if (kind == KIND_F32) mmF<f32>(w, rows, cols, n, x, out, ldo);
  else if (kind == KIND_F16) mmF<u16>(w, rows, cols, n, x, out, ldo);
  else mmF<i16>(w, rows, cols, n, x, out, ldo);
}

/** One row of a float weight → f32. */
export function deq_f(kind: i32, w: usize, cols: i32, out: usize): void {
  for (let c: usize = 0; c < <usize>cols; c++) {
    const v = kind == KIND_F32 ? w1<f32>(w, c) : kind == KIND_F16 ? w1<u16>(w, c) : w1<i16>(w, c);
    store<f32>(out + (c << 2), v);
  }
}
