// Small per-token ops, run on the calling thread (no dispatch).
import { exp4, fma, h2fs } from './simd';

/** out[i,:] = x[i,:] / sqrt(mean(x[i,:]²) + eps) · w; sum of squares accumulated in f64. */
export function rmsnorm(x: usize, w: usize, out: usize, n: i32, dim: i32, eps: f64): void {
  const d4 = <usize>(dim & ~3);
  for (let i = 0; i < n; i++) {
    const xr = x + ((<usize>i * dim) << 2);
    const orow = out + ((<usize>i * dim) << 2);
    let a = f64x2.splat(0), b = f64x2.splat(0);
    for (let j: usize = 0; j < d4; j += 4) {
      const v = v128.load(xr + (j << 2));
      const lo = f64x2.promote_low_f32x4(v);
      const hi = f64x2.promote_low_f32x4(v128.shuffle<f32>(v, v, 2, 3, 0, 1));
      a = f64x2.add(a, f64x2.mul(lo, lo));
      b = f64x2.add(b, f64x2.mul(hi, hi));
    }
    const ab = f64x2.add(a, b);
    let ss = f64x2.extract_lane(ab, 0) + f64x2.extract_lane(ab, 1);
    for (let j = d4; j < <usize>dim; j++) {
      const v = <f64>load<f32>(xr + (j << 2));
      ss += v * v;
    }
    const sc = <f32>(1.0 / Math.sqrt(ss / <f64>dim + eps));
    const sv = f32x4.splat(sc);
    for (let j: usize = 0; j < d4; j += 4) {
      v128.store(orow + (j << 2), f32x4.mul(f32x4.mul(v128.load(xr + (j << 2)), sv), v128.load(w + (j << 2))));
    }
    for (let j = d4; j < <usize>dim; j++) store<f32>(orow + (j << 2), load<f32>(xr + (j << 2)) * sc * load<f32>(w + (j << 2)));
  }
}

/** out = silu(g) · u = g / (1 + e^−g) · u. */
export function silu_mul(out: usize, g: usize, u: usize, len: i32): void {
  const l4 = <usize>(len & ~3);
  const one = f32x4.splat(1);
  for (let i: usize = 0; i < l4; i += 4) {
    const x = v128.load(g + (i << 2));
    const s = f32x4.div(x, f32x4.add(one, exp4(f32x4.neg(x))));
    v128.store(out + (i << 2), f32x4.mul(s, v128.load(u + (i << 2))));
  }
  for (let i = l4; i < <usize>len; i++) {
    const x = load<f32>(g + (i << 2));
    const e = f32x4.extract_lane(exp4(f32x4.splat(-x)), 0);
    store<f32>(out + (i << 2), (x / (1 + e)) * load<f32>(u + (i << 2)));
  }
}

export function add(out: usize, a: usize, b: usize, len: i32): void {
  const l4 = <usize>(len & ~3);
  for (let i: usize = 0; i < l4; i += 4) v128.store(out + (i << 2), f32x4.add(v128.load(a + (i << 2)), v128.load(b + (i << 2))));
  for (let i = l4; i < <usize>len; i++) store<f32>(out + (i << 2), load<f32>(a + (i << 2)) + load<f32>(b + (i << 2)));
}

/**
 * In-place RoPE on adjacent pairs. cs: [n, hd] cos(θ_j) duplicated per pair; sn: [n, hd]
 * (−sin θ_j, +sin θ_j) per pair; both precomputed from f64 angles by the caller.
 */
export function rope(x: usize, n: i32, heads: i32, hd: i32, cs: usize, sn: usize): void {
  for (let i = 0; i < n; i++) {
    const c = cs + ((<usize>i * hd) << 2);
    const s = sn + ((<usize>i * hd) << 2);
    for (let h = 0; h < heads; h++) {
      const p = x + ((<usize>(i * heads + h) * hd) << 2);
      for (let j: usize = 0; j < <usize>hd; j += 4) {
        const v = v128.load(p + (j << 2));
        const sw = v128.shuffle<f32>(v, v, 1, 0, 3, 2);
        v128.store(p + (j << 2), fma(sw, v128.load(s + (j << 2)), f32x4.mul(v, v128.load(c + (j << 2)))));
      }
    }
  }
}

/** Dequantizes row `lane` (0..3) of a Q8x4 (q4 = 0) or Q4x4 (q4 = 1) group row. */
export function deq_x4(q4: i32, w: usize, lane: i32, cols: i32, out: usize): void {
  const nb = cols >> 5;
  for (let b = 0; b < nb; b++) {
    if (q4) {
      const p = w + <usize>b * 80;
      const d = load<f32>(p + (<usize>lane << 2));
      for (let k = 0; k < 4; k++) {
        for (let j = 0; j < 4; j++) {
          const by = <i32>load<u8>(p + 16 + (<usize>k << 4) + (<usize>lane << 2) + j);
          store<f32>(out + (<usize>(b * 32 + k * 4 + j) << 2), <f32>((by & 15) - 8) * d);
          store<f32>(out + (<usize>(b * 32 + 16 + k * 4 + j) << 2), <f32>((by >> 4) - 8) * d);
        }
      }
    } else {
      const p = w + <usize>b * 136;
      const d = h2fs(load<u16>(p + (<usize>lane << 1)));
      for (let k = 0; k < 8; k++) {
        for (let j = 0; j < 4; j++) {
          const q = <i32>load<u8>(p + 8 + (<usize>k << 4) + (<usize>lane << 2) + j) - 128;
          store<f32>(out + (<usize>(b * 32 + k * 4 + j) << 2), <f32>q * d);
        }
      }
    }
  }
}

/** Reads `bytes` (a multiple of 64) at p and folds them into one value (memory-bandwidth probe). */
export function read_bytes(p: usize, bytes: usize): i32 {
  let a = i32x4.splat(0), b = i32x4.splat(0), c = i32x4.splat(0), d = i32x4.splat(0);
  const end = p + bytes;
  for (let q = p; q < end; q += 64) {
    a = v128.xor(a, v128.load(q));
    b = v128.xor(b, v128.load(q, 16));
    c = v128.xor(c, v128.load(q, 32));
    d = v128.xor(d, v128.load(q, 48));
  }
  return i32x4.extract_lane(v128.xor(v128.xor(a, b), v128.xor(c, d)), 0);
}
