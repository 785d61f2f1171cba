// Matmul for Q8_0 and Q4_0 weights, repacked at load into 4-row interleaved groups so one
// relaxed dot yields four rows' partial sums at once (activations are broadcast 4 bytes at a time).
//
// Q8x4 group block (144 bytes, 4 rows × 32 columns): 4 f16 scales | 4 i16 Σw | 8 vectors,
//   vector k = [row0 w[4k..4k+3], row1 …, row2 …, row3 …].
// Q4x4 group block (72 bytes): 4 f16 scales | 4 vectors, vector k = each row's qs[4k..4k+3]:
//   low nibbles are columns 4k..4k+3, high nibbles columns 16+4k..16+4k+3.
import { dot8, dot32, dot32o, fma, loadH4 } from './simd';

/** Writes rows g·4 .. g·4+3 of one token's output (fewer when the shard ends mid-group). */
@inline function storeRows(p: usize, v: v128, rem: i32): void {
  if (rem >= 4) {
    v128.store(p, v);
  } else {
    store<f32>(p, f32x4.extract_lane(v, 0));
    if (rem > 1) store<f32>(p, f32x4.extract_lane(v, 1), 4);
    if (rem > 2) store<f32>(p, f32x4.extract_lane(v, 2), 8);
  }
}

/** Group blocks per cache tile: keep ~96 KiB of weights hot while the token tiles stream past. */
@inline function groupTile(bytesPerGroup: i32): i32 {
  const t = 98304 / bytesPerGroup;
  return t < 1 ? 1 : t;
}

/**
 * The f16 scales of `groups` consecutive groups (blockBytes per group block, scales first) as
 * f32x4 per block into scr: converted once per cache tile instead of once per token tile.
 */
function scalesF32(w: usize, groups: i32, nb: i32, blockBytes: usize, scr: usize): void {
  const total = groups * nb;
  for (let i = 0; i < total; i++) v128.store(scr + (<usize>i << 4), loadH4(w + <usize>i * blockBytes));
}

/** Scratch bytes mm_q8x4 / mm_q4x4 need for their scale tiles. */
export function mmq_scratch_bytes(cols: i32): i32 {
  const nb = cols >> 5;
  const g = max(groupTile(nb * 72), 1);
  return g * nb * 16 + 64;
}

// ---------------------------------------------------------------- Q8x4 · Q7u activations

@inline function q8blk1(p: usize, x: usize, ones: v128): v128 {
  let i = dot32o(v128.load(p, 16), v128.load32_splat(x), ones);
  i = i32x4.add(i, dot32o(v128.load(p, 32), v128.load32_splat(x, 4), ones));
  i = i32x4.add(i, dot32o(v128.load(p, 48), v128.load32_splat(x, 8), ones));
  i = i32x4.add(i, dot32o(v128.load(p, 64), v128.load32_splat(x, 12), ones));
  i = i32x4.add(i, dot32o(v128.load(p, 80), v128.load32_splat(x, 16), ones));
  i = i32x4.add(i, dot32o(v128.load(p, 96), v128.load32_splat(x, 20), ones));
  i = i32x4.add(i, dot32o(v128.load(p, 112), v128.load32_splat(x, 24), ones));
  i = i32x4.add(i, dot32o(v128.load(p, 128), v128.load32_splat(x, 28), ones));
  return i;
}

function q8x4_t1(w: usize, nb: i32, xq: usize, xd: usize): v128 {
  let acc = f32x4.splat(0);
  const ones = i16x8.splat(1);
  for (let b = 0; b < nb; b++) {
    const p = w + <usize>b * 144;
    const corr = i32x4.shl(i32x4.extend_low_i16x8_s(v128.load64_zero(p, 8)), 6);
    const i = i32x4.sub(q8blk1(p, xq + (<usize>b << 5), ones), corr);
    const sc = f32x4.mul(loadH4(p), f32x4.splat(load<f32>(xd + (<usize>b << 2))));
    acc = fma(f32x4.convert_i32x4_s(i), sc, acc);
  }
  return acc;
}

/** One token against two groups (gb bytes apart): shares the activation loads, two chains. */
function q8x4_t1x2(w: usize, gb: usize, nb: i32, xq: usize, xd: usize, out: usize, rem: i32): void {
  let acc0 = f32x4.splat(0);
  let acc1 = f32x4.splat(0);
  const ones = i16x8.splat(1);
  // Pointers advance per block (no per-block multiplies in the loop).
  let p = w;
  let x = xq;
  let d = xd;
  const end = w + <usize>nb * 144;
  for (; p < end; p += 144, x += 32, d += 4) {
    const q = p + gb;
    let x0 = v128.load32_splat(x);
    let i = dot32o(v128.load(p, 16), x0, ones);
    let j = dot32o(v128.load(q, 16), x0, ones);
    x0 = v128.load32_splat(x, 4);
    i = i32x4.add(i, dot32o(v128.load(p, 32), x0, ones));
    j = i32x4.add(j, dot32o(v128.load(q, 32), x0, ones));
    x0 = v128.load32_splat(x, 8);
    i = i32x4.add(i, dot32o(v128.load(p, 48), x0, ones));
    j = i32x4.add(j, dot32o(v128.load(q, 48), x0, ones));
    x0 = v128.load32_splat(x, 12);
    i = i32x4.add(i, dot32o(v128.load(p, 64), x0, ones));
    j = i32x4.add(j, dot32o(v128.load(q, 64), x0, ones));
    x0 = v128.load32_splat(x, 16);
    i = i32x4.add(i, dot32o(v128.load(p, 80), x0, ones));
    j = i32x4.add(j, dot32o(v128.load(q, 80), x0, ones));
    x0 = v128.load32_splat(x, 20);
    i = i32x4.add(i, dot32o(v128.load(p, 96), x0, ones));
    j = i32x4.add(j, dot32o(v128.load(q, 96), x0, ones));
    x0 = v128.load32_splat(x, 24);
    i = i32x4.add(i, dot32o(v128.load(p, 112), x0, ones));
    j = i32x4.add(j, dot32o(v128.load(q, 112), x0, ones));
    x0 = v128.load32_splat(x, 28);
    i = i32x4.add(i, dot32o(v128.load(p, 128), x0, ones));
    j = i32x4.add(j, dot32o(v128.load(q, 128), x0, ones));
    const dx = f32x4.splat(load<f32>(d));
    // Both groups' scales and Σw in one go: [p scales | q scales] as 8 lanes of u16.
    i = i32x4.sub(i, i32x4.shl(i32x4.extend_low_i16x8_s(v128.load64_zero(p, 8)), 6));
    j = i32x4.sub(j, i32x4.shl(i32x4.extend_low_i16x8_s(v128.load64_zero(q, 8)), 6));
    acc0 = fma(f32x4.convert_i32x4_s(i), f32x4.mul(loadH4(p), dx), acc0);
    acc1 = fma(f32x4.convert_i32x4_s(j), f32x4.mul(loadH4(q), dx), acc1);
  }
  storeRows(out, acc0, rem);
  storeRows(out + 16, acc1, rem - 4);
}

/** Four tokens against one group: each weight vector is loaded once and used four times. */
function q8x4_t4(w: usize, sp: usize, nb: i32, xq: usize, xd: usize, cols: i32, out: usize, ldo: i32, rem: i32): void {
  const xs = <usize>cols;
  const ds = <usize>nb << 2;
  const ones = i16x8.splat(1);
  let a0 = f32x4.splat(0), a1 = f32x4.splat(0), a2 = f32x4.splat(0), a3 = f32x4.splat(0);
  for (let b = 0; b < nb; b++) {
    const p = w + <usize>b * 144;
    const x0 = xq + (<usize>b << 5);
    const x1 = x0 + xs, x2 = x0 + 2 * xs, x3 = x0 + 3 * xs;
    let wv = v128.load(p, 16);
    let i0 = dot32o(wv, v128.load32_splat(x0), ones);
    let i1 = dot32o(wv, v128.load32_splat(x1), ones);
    let i2 = dot32o(wv, v128.load32_splat(x2), ones);
    let i3 = dot32o(wv, v128.load32_splat(x3), ones);
    wv = v128.load(p, 32);
    i0 = i32x4.add(i0, dot32o(wv, v128.load32_splat(x0, 4), ones));
    i1 = i32x4.add(i1, dot32o(wv, v128.load32_splat(x1, 4), ones));
    i2 = i32x4.add(i2, dot32o(wv, v128.load32_splat(x2, 4), ones));
    i3 = i32x4.add(i3, dot32o(wv, v128.load32_splat(x3, 4), ones));
    wv = v128.load(p, 48);
    i0 = i32x4.add(i0, dot32o(wv, v128.load32_splat(x0, 8), ones));
    i1 = i32x4.add(i1, dot32o(wv, v128.load32_splat(x1, 8), ones));
    i2 = i32x4.add(i2, dot32o(wv, v128.load32_splat(x2, 8), ones));
    i3 = i32x4.add(i3, dot32o(wv, v128.load32_splat(x3, 8), ones));
    wv = v128.load(p, 64);
    i0 = i32x4.add(i0, dot32o(wv, v128.load32_splat(x0, 12), ones));
    i1 = i32x4.add(i1, dot32o(wv, v128.load32_splat(x1, 12), ones));
    i2 = i32x4.add(i2, dot32o(wv, v128.load32_splat(x2, 12), ones));
    i3 = i32x4.add(i3, dot32o(wv, v128.load32_splat(x3, 12), ones));
    wv = v128.load(p, 80);
    i0 = i32x4.add(i0, dot32o(wv, v128.load32_splat(x0, 16), ones));
    i1 = i32x4.add(i1, dot32o(wv, v128.load32_splat(x1, 16), ones));
    i2 = i32x4.add(i2, dot32o(wv, v128.load32_splat(x2, 16), ones));
    i3 = i32x4.add(i3, dot32o(wv, v128.load32_splat(x3, 16), ones));
    wv = v128.load(p, 96);
    i0 = i32x4.add(i0, dot32o(wv, v128.load32_splat(x0, 20), ones));
    i1 = i32x4.add(i1, dot32o(wv, v128.load32_splat(x1, 20), ones));
    i2 = i32x4.add(i2, dot32o(wv, v128.load32_splat(x2, 20), ones));
    i3 = i32x4.add(i3, dot32o(wv, v128.load32_splat(x3, 20), ones));
    wv = v128.load(p, 112);
    i0 = i32x4.add(i0, dot32o(wv, v128.load32_splat(x0, 24), ones));
    i1 = i32x4.add(i1, dot32o(wv, v128.load32_splat(x1, 24), ones));
    i2 = i32x4.add(i2, dot32o(wv, v128.load32_splat(x2, 24), ones));
    i3 = i32x4.add(i3, dot32o(wv, v128.load32_splat(x3, 24), ones));
    wv = v128.load(p, 128);
    i0 = i32x4.add(i0, dot32o(wv, v128.load32_splat(x0, 28), ones));
    i1 = i32x4.add(i1, dot32o(wv, v128.load32_splat(x1, 28), ones));
    i2 = i32x4.add(i2, dot32o(wv, v128.load32_splat(x2, 28), ones));
    i3 = i32x4.add(i3, dot32o(wv, v128.load32_splat(x3, 28), ones));
    const corr = i32x4.shl(i32x4.extend_low_i16x8_s(v128.load64_zero(p, 8)), 6);
    const sc = v128.load(sp + (<usize>b << 4));
    const d = xd + (<usize>b << 2);
    a0 = fma(f32x4.convert_i32x4_s(i32x4.sub(i0, corr)), f32x4.mul(sc, f32x4.splat(load<f32>(d))), a0);
    a1 = fma(f32x4.convert_i32x4_s(i32x4.sub(i1, corr)), f32x4.mul(sc, f32x4.splat(load<f32>(d + ds))), a1);
    a2 = fma(f32x4.convert_i32x4_s(i32x4.sub(i2, corr)), f32x4.mul(sc, f32x4.splat(load<f32>(d + 2 * ds))), a2);
    a3 = fma(f32x4.convert_i32x4_s(i32x4.sub(i3, corr)), f32x4.mul(sc, f32x4.splat(load<f32>(d + 3 * ds))), a3);
  }
  const os = <usize>ldo << 2;
  storeRows(out, a0, rem);
  storeRows(out + os, a1, rem);
  storeRows(out + 2 * os, a2, rem);
  storeRows(out + 3 * os, a3, rem);
}

/**
 * out[t, r] = Σ_c x[t, c] · w[r, c] for r < rowsValid. w: `groups` Q8x4 groups; xq/xd: Q7u
 * activations [n, cols]; out row stride ldo floats.
 */
export function mm_q8x4(w: usize, groups: i32, rowsValid: i32, cols: i32, n: i32, xq: usize, xd: usize, out: usize, ldo: i32, scr: usize): void {
  const nb = cols >> 5;
  const gBytes = <usize>nb * 144;
  const gt = groupTile(<i32>gBytes);
  const ss = <usize>nb << 4;
  for (let g0 = 0; g0 < groups; g0 += gt) {
    const g1 = min(groups, g0 + gt);
    // Prefill tiles reuse each group's scales for every token tile: convert them once.
    if (n >= 4) scalesF32(w + <usize>g0 * gBytes, g1 - g0, nb, 144, scr);
    let t = 0;
    for (; t + 4 <= n; t += 4) {
      for (let g = g0; g < g1; g++) {
        q8x4_t4(w + <usize>g * gBytes, scr + <usize>(g - g0) * ss, nb, xq + <usize>t * cols, xd + ((<usize>t * nb) << 2), cols,
          out + ((<usize>t * ldo + (g << 2)) << 2), ldo, rowsValid - (g << 2));
      }
    }
    for (; t < n; t++) {
      let g = g0;
      for (; g + 2 <= g1; g += 2) {
        q8x4_t1x2(w + <usize>g * gBytes, gBytes, nb, xq + <usize>t * cols, xd + ((<usize>t * nb) << 2),
          out + ((<usize>t * ldo + (g << 2)) << 2), rowsValid - (g << 2));
      }
      for (; g < g1; g++) {
        const v = q8x4_t1(w + <usize>g * gBytes, nb, xq + <usize>t * cols, xd + ((<usize>t * nb) << 2));
        storeRows(out + ((<usize>t * ldo + (g << 2)) << 2), v, rowsValid - (g << 2));
      }
    }
  }
}

// ---------------------------------------------------------------- Q4x4 · Q8s activations

/** One token, one group: nibbles are the unsigned operand; 8 dots fit in i16 (8·2·127·15 < 2^15). */
function q4x4_t1(w: usize, nb: i32, xq: usize, xd: usize, xs: usize): v128 {
  let acc = f32x4.splat(0);
  const m = i8x16.splat(0x0f);
  const ones = i16x8.splat(1);
  for (let b = 0; b < nb; b++) {
    const p = w + <usize>b * 72;
    const x = xq + (<usize>b << 5);
    const v0 = v128.load(p, 8), v1 = v128.load(p, 24), v2 = v128.load(p, 40), v3 = v128.load(p, 56);
    let s = dot8(v128.load32_splat(x), v128.and(v0, m));
    s = i16x8.add(s, dot8(v128.load32_splat(x, 16), v128.and(i16x8.shr_u(v0, 4), m)));
    s = i16x8.add(s, dot8(v128.load32_splat(x, 4), v128.and(v1, m)));
    s = i16x8.add(s, dot8(v128.load32_splat(x, 20), v128.and(i16x8.shr_u(v1, 4), m)));
    s = i16x8.add(s, dot8(v128.load32_splat(x, 8), v128.and(v2, m)));
    s = i16x8.add(s, dot8(v128.load32_splat(x, 24), v128.and(i16x8.shr_u(v2, 4), m)));
    s = i16x8.add(s, dot8(v128.load32_splat(x, 12), v128.and(v3, m)));
    s = i16x8.add(s, dot8(v128.load32_splat(x, 28), v128.and(i16x8.shr_u(v3, 4), m)));
    const bs = load<i32>(xs + (<usize>b << 3)) + load<i32>(xs + (<usize>b << 3), 4);
    const i = i32x4.sub(i32x4.dot_i16x8_s(s, ones), i32x4.splat(bs << 3));
    const sc = f32x4.mul(loadH4(p), f32x4.splat(load<f32>(xd + (<usize>b << 2))));
    acc = fma(f32x4.convert_i32x4_s(i), sc, acc);
  }
  return acc;
}

/** One token against two Q4x4 groups (gb bytes apart): shared activation loads and offset term. */
function q4x4_t1x2(w: usize, gb: usize, nb: i32, xq: usize, xd: usize, xs: usize, out: usize, rem: i32): void {
  let acc0 = f32x4.splat(0);
  let acc1 = f32x4.splat(0);
  const m = i8x16.splat(0x0f);
  let p = w;
  let x = xq;
  let d = xd;
  let su = xs;
  const end = w + <usize>nb * 72;
  for (; p < end; p += 72, x += 32, d += 4, su += 8) {
    const q = p + gb;
    let s = i16x8.splat(0);
    let u = i16x8.splat(0);
    {
      const xl = v128.load32_splat(x, 0);
      const xh = v128.load32_splat(x, 16);
      const v = v128.load(p, 8);
      const z = v128.load(q, 8);
      s = i16x8.add(i16x8.add(s, dot8(xl, v128.and(v, m))), dot8(xh, v128.and(i16x8.shr_u(v, 4), m)));
      u = i16x8.add(i16x8.add(u, dot8(xl, v128.and(z, m))), dot8(xh, v128.and(i16x8.shr_u(z, 4), m)));
    }
    {
      const xl = v128.load32_splat(x, 4);
      const xh = v128.load32_splat(x, 20);
      const v = v128.load(p, 24);
      const z = v128.load(q, 24);
      s = i16x8.add(i16x8.add(s, dot8(xl, v128.and(v, m))), dot8(xh, v128.and(i16x8.shr_u(v, 4), m)));
      u = i16x8.add(i16x8.add(u, dot8(xl, v128.and(z, m))), dot8(xh, v128.and(i16x8.shr_u(z, 4), m)));
    }
    {
      const xl = v128.load32_splat(x, 8);
      const xh = v128.load32_splat(x, 24);
      const v = v128.load(p, 40);
      const z = v128.load(q, 40);
      s = i16x8.add(i16x8.add(s, dot8(xl, v128.and(v, m))), dot8(xh, v128.and(i16x8.shr_u(v, 4), m)));
      u = i16x8.add(i16x8.add(u, dot8(xl, v128.and(z, m))), dot8(xh, v128.and(i16x8.shr_u(z, 4), m)));
    }
    {
      const xl = v128.load32_splat(x, 12);
      const xh = v128.load32_splat(x, 28);
      const v = v128.load(p, 56);
      const z = v128.load(q, 56);
      s = i16x8.add(i16x8.add(s, dot8(xl, v128.and(v, m))), dot8(xh, v128.and(i16x8.shr_u(v, 4), m)));
      u = i16x8.add(i16x8.add(u, dot8(xl, v128.and(z, m))), dot8(xh, v128.and(i16x8.shr_u(z, 4), m)));
    }
    const bs = i32x4.splat((load<i32>(su) + load<i32>(su, 4)) << 3);
    const dx = f32x4.splat(load<f32>(d));
    acc0 = fma(f32x4.convert_i32x4_s(i32x4.sub(i32x4.extadd_pairwise_i16x8_s(s), bs)), f32x4.mul(loadH4(p), dx), acc0);
    acc1 = fma(f32x4.convert_i32x4_s(i32x4.sub(i32x4.extadd_pairwise_i16x8_s(u), bs)), f32x4.mul(loadH4(q), dx), acc1);
  }
  storeRows(out, acc0, rem);
  storeRows(out + 16, acc1, rem - 4);
}

@inline function q4fin(s: v128, acc: v128, sc: v128, xd: usize, xs: usize): v128 {
  const bs = load<i32>(xs) + load<i32>(xs, 4);
  const i = i32x4.sub(i32x4.extadd_pairwise_i16x8_s(s), i32x4.splat(bs << 3));
  return fma(f32x4.convert_i32x4_s(i), f32x4.mul(sc, f32x4.splat(load<f32>(xd))), acc);
}

function q4x4_t4(w: usize, sp: usize, nb: i32, xq: usize, xd: usize, xsum: usize, cols: i32, out: usize, ldo: i32, rem: i32): void {
  const qs = <usize>cols;
  const ds = <usize>nb << 2;
  const ss = <usize>nb << 3;
  const m = i8x16.splat(0x0f);
  let a0 = f32x4.splat(0), a1 = f32x4.splat(0), a2 = f32x4.splat(0), a3 = f32x4.splat(0);
  for (let b = 0; b < nb; b++) {
    const p = w + <usize>b * 72;
    const x0 = xq + (<usize>b << 5);
    const x1 = x0 + qs, x2 = x0 + 2 * qs, x3 = x0 + 3 * qs;
    let s0 = i16x8.splat(0), s1 = i16x8.splat(0), s2 = i16x8.splat(0), s3 = i16x8.splat(0);
    // Low nibbles for all four tokens, then high nibbles: keeps live registers under 16.
    {
      const v = v128.load(p, 8);
      let h = v128.and(v, m);
      s0 = i16x8.add(s0, dot8(v128.load32_splat(x0, 0), h));
      s1 = i16x8.add(s1, dot8(v128.load32_splat(x1, 0), h));
      s2 = i16x8.add(s2, dot8(v128.load32_splat(x2, 0), h));
      s3 = i16x8.add(s3, dot8(v128.load32_splat(x3, 0), h));
      h = v128.and(i16x8.shr_u(v, 4), m);
      s0 = i16x8.add(s0, dot8(v128.load32_splat(x0, 16), h));
      s1 = i16x8.add(s1, dot8(v128.load32_splat(x1, 16), h));
      s2 = i16x8.add(s2, dot8(v128.load32_splat(x2, 16), h));
      s3 = i16x8.add(s3, dot8(v128.load32_splat(x3, 16), h));
    }
    {
      const v = v128.load(p, 24);
      let h = v128.and(v, m);
      s0 = i16x8.add(s0, dot8(v128.load32_splat(x0, 4), h));
      s1 = i16x8.add(s1, dot8(v128.load32_splat(x1, 4), h));
      s2 = i16x8.add(s2, dot8(v128.load32_splat(x2, 4), h));
      s3 = i16x8.add(s3, dot8(v128.load32_splat(x3, 4), h));
      h = v128.and(i16x8.shr_u(v, 4), m);
      s0 = i16x8.add(s0, dot8(v128.load32_splat(x0, 20), h));
      s1 = i16x8.add(s1, dot8(v128.load32_splat(x1, 20), h));
      s2 = i16x8.add(s2, dot8(v128.load32_splat(x2, 20), h));
      s3 = i16x8.add(s3, dot8(v128.load32_splat(x3, 20), h));
    }
    {
      const v = v128.load(p, 40);
      let h = v128.and(v, m);
      s0 = i16x8.add(s0, dot8(v128.load32_splat(x0, 8), h));
      s1 = i16x8.add(s1, dot8(v128.load32_splat(x1, 8), h));
      s2 = i16x8.add(s2, dot8(v128.load32_splat(x2, 8), h));
      s3 = i16x8.add(s3, dot8(v128.load32_splat(x3, 8), h));
      h = v128.and(i16x8.shr_u(v, 4), m);
      s0 = i16x8.add(s0, dot8(v128.load32_splat(x0, 24), h));
      s1 = i16x8.add(s1, dot8(v128.load32_splat(x1, 24), h));
      s2 = i16x8.add(s2, dot8(v128.load32_splat(x2, 24), h));
      s3 = i16x8.add(s3, dot8(v128.load32_splat(x3, 24), h));
    }
    {
      const v = v128.load(p, 56);
      let h = v128.and(v, m);
      s0 = i16x8.add(s0, dot8(v128.load32_splat(x0, 12), h));
      s1 = i16x8.add(s1, dot8(v128.load32_splat(x1, 12), h));
      s2 = i16x8.add(s2, dot8(v128.load32_splat(x2, 12), h));
      s3 = i16x8.add(s3, dot8(v128.load32_splat(x3, 12), h));
      h = v128.and(i16x8.shr_u(v, 4), m);
      s0 = i16x8.add(s0, dot8(v128.load32_splat(x0, 28), h));
      s1 = i16x8.add(s1, dot8(v128.load32_splat(x1, 28), h));
      s2 = i16x8.add(s2, dot8(v128.load32_splat(x2, 28), h));
      s3 = i16x8.add(s3, dot8(v128.load32_splat(x3, 28), h));
    }
    const sc = v128.load(sp + (<usize>b << 4));
    const d = xd + (<usize>b << 2);
    const su = xsum + (<usize>b << 3);
    a0 = q4fin(s0, a0, sc, d, su);
    a1 = q4fin(s1, a1, sc, d + ds, su + ss);
    a2 = q4fin(s2, a2, sc, d + 2 * ds, su + 2 * ss);
    a3 = q4fin(s3, a3, sc, d + 3 * ds, su + 3 * ss);
  }
  const os = <usize>ldo << 2;
  storeRows(out, a0, rem);
  storeRows(out + os, a1, rem);
  storeRows(out + 2 * os, a2, rem);
  storeRows(out + 3 * os, a3, rem);
}

/** As mm_q8x4 for Q4x4 groups with Q8s activations (xs: per-16 sums). */
export function mm_q4x4(w: usize, groups: i32, rowsValid: i32, cols: i32, n: i32, xq: usize, xd: usize, xs: usize, out: usize, ldo: i32, scr: usize): void {
  const nb = cols >> 5;
  const gBytes = <usize>nb * 72;
  const gt = groupTile(<i32>gBytes);
  const ss = <usize>nb << 4;
  for (let g0 = 0; g0 < groups; g0 += gt) {
    const g1 = min(groups, g0 + gt);
    // Prefill tiles reuse each group's scales for every token tile: convert them once.
    if (n >= 4) scalesF32(w + <usize>g0 * gBytes, g1 - g0, nb, 72, scr);
    let t = 0;
    for (; t + 4 <= n; t += 4) {
      for (let g = g0; g < g1; g++) {
        q4x4_t4(w + <usize>g * gBytes, scr + <usize>(g - g0) * ss, nb, xq + <usize>t * cols, xd + ((<usize>t * nb) << 2), xs + ((<usize>t * nb) << 3), cols,
          out + ((<usize>t * ldo + (g << 2)) << 2), ldo, rowsValid - (g << 2));
      }
    }
    for (; t < n; t++) {
      let g = g0;
      for (; g + 2 <= g1; g += 2) {
        q4x4_t1x2(w + <usize>g * gBytes, gBytes, nb, xq + <usize>t * cols, xd + ((<usize>t * nb) << 2), xs + ((<usize>t * nb) << 3),
          out + ((<usize>t * ldo + (g << 2)) << 2), rowsValid - (g << 2));
      }
      for (; g < g1; g++) {
        const v = q4x4_t1(w + <usize>g * gBytes, nb, xq + <usize>t * cols, xd + ((<usize>t * nb) << 2), xs + ((<usize>t * nb) << 3));
        storeRows(out + ((<usize>t * ldo + (g << 2)) << 2), v, rowsValid - (g << 2));
      }
    }
  }
}
