// K-quant matmul (Q4_K, Q5_K, Q6_K) against the original ggml blocks. Each weight row is first
// unpacked into a uniform form (u8 quants + per-16 f32 scale A and offset B, value = A·q − B),
// then dotted with every token's Q8s activations, so the bit-twiddling is paid once per row.
import { dot32o, fma, hsum, h2fs } from './simd';

export const KIND_Q4_K = 12;
export const KIND_Q5_K = 13;
export const KIND_Q6_K = 14;

const UB = 384; // unpacked bytes per 256-block: q[256] | A f32[16] | B f32[16]

/** Q4_K / Q5_K 6-bit scale (or min) j of the 12 packed bytes at s. */
@inline export function scaleMin(s: usize, j: i32, wantMin: bool): u32 {
  if (j < 4) return wantMin ? <u32>load<u8>(s + j + 4) & 63 : <u32>load<u8>(s + j) & 63;
  if (wantMin) return (<u32>load<u8>(s + j + 4) >> 4) | ((<u32>load<u8>(s + j) >> 6) << 4);
  return (<u32>load<u8>(s + j + 4) & 0xf) | ((<u32>load<u8>(s + j - 4) >> 6) << 4);
}

function unpackQ4K(p: usize, u: usize): void {
  const d = h2fs(load<u16>(p));
  const dmin = h2fs(load<u16>(p, 2));
  for (let j = 0; j < 8; j++) {
    const a = d * <f32>scaleMin(p + 4, j, false);
    const b = dmin * <f32>scaleMin(p + 4, j, true);
    store<f32>(u + 256 + (<usize>j << 3), a);
    store<f32>(u + 256 + (<usize>j << 3), a, 4);
    store<f32>(u + 320 + (<usize>j << 3), b);
    store<f32>(u + 320 + (<usize>j << 3), b, 4);
  }
  const m = i8x16.splat(0x0f);
  for (let c: usize = 0; c < 4; c++) {
    const v0 = v128.load(p + 16 + (c << 5));
    const v1 = v128.load(p + 32 + (c << 5));
    v128.store(u + (c << 6), v128.and(v0, m));
    v128.store(u + (c << 6), v128.and(v1, m), 16);
    v128.store(u + (c << 6), i8x16.shr_u(v0, 4), 32);
    v128.store(u + (c << 6), i8x16.shr_u(v1, 4), 48);
  }
}

function unpackQ5K(p: usize, u: usize): void {
  const d = h2fs(load<u16>(p));
  const dmin = h2fs(load<u16>(p, 2));
  for (let j = 0; j < 8; j++) {
    const a = d * <f32>scaleMin(p + 4, j, false);
    const b = dmin * <f32>scaleMin(p + 4, j, true);
    store<f32>(u + 256 + (<usize>j << 3), a);
    store<f32>(u + 256 + (<usize>j << 3), a, 4);
    store<f32>(u + 320 + (<usize>j << 3), b);
    store<f32>(u + 320 + (<usize>j << 3), b, 4);
  }
  const m = i8x16.splat(0x0f);
  const one = i8x16.splat(1);
  const h0 = v128.load(p + 16);
  const h1 = v128.load(p + 32);
  for (let c = 0; c < 4; c++) {
    const v0 = v128.load(p + 48 + (<usize>c << 5));
    const v1 = v128.load(p + 64 + (<usize>c << 5));
    const jl = c << 1;
    const jh = jl + 1;
    const o = u + (<usize>c << 6);
    v128.store(o, v128.or(v128.and(v0, m), i8x16.shl(v128.and(i8x16.shr_u(h0, jl), one), 4)));
    v128.store(o, v128.or(v128.and(v1, m), i8x16.shl(v128.and(i8x16.shr_u(h1, jl), one), 4)), 16);
    v128.store(o, v128.or(i8x16.shr_u(v0, 4), i8x16.shl(v128.and(i8x16.shr_u(h0, jh), one), 4)), 32);
    v128.store(o, v128.or(i8x16.shr_u(v1, 4), i8x16.shl(v128.and(i8x16.shr_u(h1, jh), one), 4)), 48);
  }
}

function unpackQ6K(p: usize, u: usize): void {
  const d = h2fs(load<u16>(p, 208));
  for (let g = 0; g < 16; g++) {
    const a = d * <f32>load<i8>(p + 192 + g);
    store<f32>(u + 256 + (<usize>g << 2), a);
    store<f32>(u + 320 + (<usize>g << 2), a * 32);
  }
  const m = i8x16.splat(0x0f);
  const m3 = i8x16.splat(3);
  for (let h: usize = 0; h < 2; h++) {
    const ql = p + (h << 6);
    const qh = p + 128 + (h << 5);
    const o = u + (h << 7);
    for (let l: usize = 0; l < 32; l += 16) {
      const a = v128.load(ql + l);
      const b = v128.load(ql + 32 + l);
      const hb = v128.load(qh + l);
      v128.store(o + l, v128.or(v128.and(a, m), i8x16.shl(v128.and(hb, m3), 4)));
      v128.store(o + 32 + l, v128.or(v128.and(b, m), i8x16.shl(v128.and(i8x16.shr_u(hb, 2), m3), 4)));
      v128.store(o + 64 + l, v128.or(i8x16.shr_u(a, 4), i8x16.shl(v128.and(i8x16.shr_u(hb, 4), m3), 4)));
      v128.store(o + 96 + l, v128.or(i8x16.shr_u(b, 4), i8x16.shl(i8x16.shr_u(hb, 6), 4)));
    }
  }
}

/** One unpacked 256-block · one token's Q8s activations (256 values). */
@inline function blockDot(u: usize, xq: usize, xd: usize, xs: usize, ones: v128): f32 {
  let acc = f32x4.splat(0);
  let corr: f32 = 0;
  for (let b: usize = 0; b < 8; b++) {
    const q = u + (b << 5);
    const x = xq + (b << 5);
    const d0 = f32x4.convert_i32x4_s(dot32o(v128.load(x), v128.load(q), ones));
    const d1 = f32x4.convert_i32x4_s(dot32o(v128.load(x, 16), v128.load(q, 16), ones));
    const A = u + 256 + (b << 3);
    const B = u + 320 + (b << 3);
    const v = fma(d1, f32x4.splat(load<f32>(A, 4)), f32x4.mul(d0, f32x4.splat(load<f32>(A))));
    const dx = load<f32>(xd + (b << 2));
    acc = fma(v, f32x4.splat(dx), acc);
    const s = xs + (b << 3);
    corr += dx * (load<f32>(B) * <f32>load<i32>(s) + load<f32>(B, 4) * <f32>load<i32>(s, 4));
  }
  return hsum(acc) - corr;
}

/**
 * out[t, r] = Σ_c x[t, c] · w[r, c]; w: `rows` rows of ggml `kind` blocks; xq/xd/xs: Q8s
 * activations [n, cols]; scratch: cols/256 · 384 bytes.
 */
export function mm_kq(kind: i32, w: usize, rows: i32, cols: i32, n: i32, xq: usize, xd: usize, xs: usize, out: usize, ldo: i32, scratch: usize): void {
  const nblk = cols >> 8;
  const bb: usize = kind == KIND_Q4_K ? 144 : kind == KIND_Q5_K ? 176 : 210;
  const rowBytes = <usize>nblk * bb;
  const nb32 = <usize>(cols >> 5);
  const ones = i16x8.splat(1);
  for (let r = 0; r < rows; r++) {
    const wr = w + <usize>r * rowBytes;
    for (let k: usize = 0; k < <usize>nblk; k++) {
      const p = wr + k * bb;
      const u = scratch + k * UB;
      if (kind == KIND_Q4_K) unpackQ4K(p, u);
      else if (kind == KIND_Q5_K) unpackQ5K(p, u);
      else unpackQ6K(p, u);
    }
    for (let t = 0; t < n; t++) {
      const tq = xq + <usize>t * cols;
      const td = xd + ((<usize>t * nb32) << 2);
      const ts = xs + ((<usize>t * nb32) << 3);
      let s: f32 = 0;
      for (let k: usize = 0; k < <usize>nblk; k++) {
        s += blockDot(scratch + k * UB, tq + (k << 8), td + (k << 5), ts + (k << 6), ones);
      }
      store<f32>(out + ((<usize>t * ldo + r) << 2), s);
    }
  }
}

/** Dequantizes one row (cols values) of a K-quant into f32 (for embedding lookups). */
export function deq_kq(kind: i32, w: usize, cols: i32, out: usize, scratch: usize): void {
  const nblk = cols >> 8;
  const bb: usize = kind == KIND_Q4_K ? 144 : kind == KIND_Q5_K ? 176 : 210;
  for (let k: usize = 0; k < <usize>nblk; k++) {
    const p = w + k * bb;
    if (kind == KIND_Q4_K) unpackQ4K(p, scratch);
    else if (kind == KIND_Q5_K) unpackQ5K(p, scratch);
    else unpackQ6K(p, scratch);
    for (let e: usize = 0; e < 256; e++) {
      const g = e >> 4;
      const a = load<f32>(scratch + 256 + (g << 2));
      const q = <i32>load<u8>(scratch + e);
      // Same operation order as ggml's dequantize_row_*: bit-exact embeddings.
      const v = kind == KIND_Q6_K ? a * <f32>(q - 32) : a * <f32>q - load<f32>(scratch + 320 + (g << 2));
      store<f32>(out + ((k * 256 + e) << 2), v);
    }
  }
}
