// Matmul for Q8_0 and Q4_0 weights, repacked at load into 4-row interleaved groups so one
// relaxed dot yields four rows' partial sums at once, against activation records (quant.ts:
// each 4-value chunk of a block pre-broadcast to a whole vector, with its scale and offset term).
//
// Q8x4 group block (136 bytes, 4 rows × 32 columns, as many bytes as ggml's): 4 f16 scales |
//   8 vectors, vector k = [row0 w[4k..4k+3], row1 …, row2 …, row3 …] offset by 128 (unsigned).
// Q4x4 group block (80 bytes): 4 f32 scales | 4 vectors, vector k = each row's qs[4k..4k+3]:
//   low nibbles are columns 4k..4k+3, high nibbles columns 16+4k..16+4k+3.
//
// Why this shape: V8 keeps a wasm loop's loaded values live from the top of the iteration, so
// the kernels keep few values in flight (one group per pass in decode) and take every operand
// from a plain vector load at a constant offset (no broadcasts, no per-iteration constants).
import { dot8, dotAdd, fma } from './simd';
import { OP_Q4_0, OP_Q8_0, V_DOTADD, V_G2, variant } from './variants';
import { REC, REC_D, REC_S } from './quant';
import { groupTile, tokenBlock, touch, nibbleDot, nibbleDot2, nibbleDotA, PAIR, pin, SCRATCH, SINK, chunkBlocks, loadRows, storeRows, TILE_SCALES, TILE_SCALES_BYTES } from './kernel-util';

/** Loop-invariant vectors, loaded once per kernel call (V8 rematerializes v128 constants per use). */
const CONSTS = memory.data<u32>([
  0x0f0f0f0f, 0x0f0f0f0f, 0x0f0f0f0f, 0x0f0f0f0f, // 0: nibble mask
  0x00010001, 0x00010001, 0x00010001, 0x00010001, // 16: i16 ones
], 16);

// f32 scales of one cache tile of Q8x4 groups, converted once for all its token tiles, live in
// TILE_SCALES (kernel-util.ts): one group of rows up to 65536 columns wide.

/** Bytes of one 4-token tile of records. */
@inline function tileBytes(nb: i32): usize {
  return <usize>nb * 4 * REC;
}

// ---------------------------------------------------------------- Q8x4 · 7-bit signed records

/**
 * Four f16 scales at p as f32 times 2^-112: shifting a non-negative finite f16 into an f32's
 * exponent/mantissa is exact and leaves the bias short by 112. repack_q8_0 makes every scale
 * non-negative and the records carry d·2^64, so q8out's final ·2^48 restores the scale exactly
 * (powers of two, far from f32's limits) at 2 instructions per block instead of 7.
 */
@inline function scales16(p: usize): v128 {
  return i32x4.shl(i32x4.extend_low_i16x8_u(v128.load64_zero(p)), 13);
}

/** The 2^48 left over from scales16 and the records' 2^64. */
@inline function q8out(acc: v128): v128 {
  return f32x4.mul(acc, f32x4.splat(reinterpret<f32>(0x57800000)));
}

/** Σ over one block of 4 rows: i32x4 of (w+128)·q, before the 128·Σq correction. */
@inline function q8blk(scr: usize, p: usize, x: usize, ones: v128): v128 {
  let i = i32x4.dot_i16x8_s(dot8(v128.load(x), v128.load(p, 8)), ones);
  i = i32x4.add(i, i32x4.dot_i16x8_s(dot8(v128.load(x, 16), v128.load(p, 24)), ones));
  i = i32x4.add(i, i32x4.dot_i16x8_s(dot8(v128.load(x, 32), v128.load(p, 40)), ones));
  i = i32x4.add(i, i32x4.dot_i16x8_s(dot8(v128.load(x, 48), v128.load(p, 56)), ones));
  v128.store(scr, i, SINK);
  i = i32x4.add(i, i32x4.dot_i16x8_s(dot8(v128.load(x, 64), v128.load(p, 72)), ones));
  i = i32x4.add(i, i32x4.dot_i16x8_s(dot8(v128.load(x, 80), v128.load(p, 88)), ones));
  i = i32x4.add(i, i32x4.dot_i16x8_s(dot8(v128.load(x, 96), v128.load(p, 104)), ones));
  i = i32x4.add(i, i32x4.dot_i16x8_s(dot8(v128.load(x, 112), v128.load(p, 120)), ones));
  return i;
}

/**
 * One token against one group from sums `init` (raw: q8out after the last column chunk); xstep =
 * bytes between the token's consecutive block records.
 */
function q8x4_t1(scr: usize, w: usize, nb: i32, x: usize, xstep: usize, init: v128): v128 {
  const ones = v128.load(CONSTS, 16);
  let acc = init;
  const end = w + <usize>nb * 136;
  for (let p = w; p < end; p += 136, x += xstep) {
    const i = i32x4.sub(q8blk(scr, p, x, ones), v128.load(x, REC_S));
    acc = fma(f32x4.convert_i32x4_s(i), f32x4.mul(scales16(p), v128.load(x, REC_D)), acc);
  }
  return acc;
}

/** As q8blk with relaxed dot-adds, in two chains so the dot's latency overlaps. */
@inline function q8blkA(scr: usize, p: usize, x: usize, ones: v128): v128 {
  let a = dotAdd(v128.load(x), v128.load(p, 8), i32x4.splat(0), ones);
  let b = dotAdd(v128.load(x, 16), v128.load(p, 24), i32x4.splat(0), ones);
  a = dotAdd(v128.load(x, 32), v128.load(p, 40), a, ones);
  b = dotAdd(v128.load(x, 48), v128.load(p, 56), b, ones);
  v128.store(scr, a, SINK);
  a = dotAdd(v128.load(x, 64), v128.load(p, 72), a, ones);
  b = dotAdd(v128.load(x, 80), v128.load(p, 88), b, ones);
  a = dotAdd(v128.load(x, 96), v128.load(p, 104), a, ones);
  b = dotAdd(v128.load(x, 112), v128.load(p, 120), b, ones);
  return i32x4.add(a, b);
}

/** q8x4_t1 with V_DOTADD. */
function q8x4_t1a(scr: usize, w: usize, nb: i32, x: usize, xstep: usize, init: v128): v128 {
  const ones = v128.load(CONSTS, 16);
  let acc = init;
  const end = w + <usize>nb * 136;
  for (let p = w; p < end; p += 136, x += xstep) {
    const i = i32x4.sub(q8blkA(scr, p, x, ones), v128.load(x, REC_S));
    acc = fma(f32x4.convert_i32x4_s(i), f32x4.mul(scales16(p), v128.load(x, REC_D)), acc);
  }
  return acc;
}

/**
 * V_G2: one token against groups g and g + 1 (weights at w and w + gBytes), each activation
 * vector loaded once for both; rows g·4 .. g·4 + 7 of the token's output at out.
 */
function q8x4_t1g2(scr: usize, w: usize, gBytes: usize, nb: i32, x: usize, xstep: usize, out: usize, rem: i32, carry: bool, last: bool): void {
  const ones = v128.load(CONSTS, 16);
  let a0 = f32x4.splat(0), a1 = f32x4.splat(0);
  if (carry) {
    a0 = loadRows(out, rem);
    a1 = loadRows(out + 16, rem - 4);
  }
  const end = w + <usize>nb * 136;
  for (let p = w; p < end; p += 136, x += xstep) {
    const q = p + gBytes;
    let i0 = i32x4.splat(0), i1 = i32x4.splat(0);
    for (let k: usize = 0; k < 128; k += 32) {
      let xv = v128.load(x + k);
      i0 = i32x4.add(i0, i32x4.dot_i16x8_s(dot8(xv, v128.load(p + k, 8)), ones));
      i1 = i32x4.add(i1, i32x4.dot_i16x8_s(dot8(xv, v128.load(q + k, 8)), ones));
      xv = v128.load(x + k, 16);
      i0 = i32x4.add(i0, i32x4.dot_i16x8_s(dot8(xv, v128.load(p + k, 24)), ones));
      i1 = i32x4.add(i1, i32x4.dot_i16x8_s(dot8(xv, v128.load(q + k, 24)), ones));
      v128.store(scr, i0, SINK);
      v128.store(scr, i1, SINK + 16);
    }
    const d = v128.load(x, REC_D);
    const s = v128.load(x, REC_S);
    a0 = fma(f32x4.convert_i32x4_s(i32x4.sub(i0, s)), f32x4.mul(scales16(p), d), a0);
    a1 = fma(f32x4.convert_i32x4_s(i32x4.sub(i1, s)), f32x4.mul(scales16(q), d), a1);
  }
  storeRows(out, last ? q8out(a0) : a0, rem);
  storeRows(out + 16, last ? q8out(a1) : a1, rem - 4);
}

@inline function q8fin(i: v128, sc: v128, x: usize, acc: v128): v128 {
  return fma(f32x4.convert_i32x4_s(i32x4.sub(i, v128.load(x, REC_S))), f32x4.mul(sc, v128.load(x, REC_D)), acc);
}

/** One 4-token tile against one group: each weight vector is loaded once and used four times. */
function q8x4_t4(scr: usize, w: usize, sp: usize, nb: i32, x: usize, out: usize, ldo: i32, rem: i32, carry: bool, last: bool): void {
  const ones = v128.load(CONSTS, 16);
  const os = <usize>ldo << 2;
  let a0 = f32x4.splat(0), a1 = f32x4.splat(0), a2 = f32x4.splat(0), a3 = f32x4.splat(0);
  if (carry) {
    a0 = loadRows(out, rem);
    a1 = loadRows(out + os, rem);
    a2 = loadRows(out + 2 * os, rem);
    a3 = loadRows(out + 3 * os, rem);
  }
  const end = w + <usize>nb * 136;
  for (let p = w; p < end; p += 136, x += 4 * REC) {
    // Each weight vector serves the four tokens. The pin after every two chunks keeps the next
    // loads behind it (V8 would hoist and spill them); a store after each token's finish keeps
    // its record loads from piling up.
    let v: v128, i0: v128, i1: v128, i2: v128, i3: v128;
    v = v128.load(p, 8);
    i0 = i32x4.dot_i16x8_s(dot8(v128.load(x, 0), v), ones);
    i1 = i32x4.dot_i16x8_s(dot8(v128.load(x, REC + 0), v), ones);
    i2 = i32x4.dot_i16x8_s(dot8(v128.load(x, 2 * REC + 0), v), ones);
    i3 = i32x4.dot_i16x8_s(dot8(v128.load(x, 3 * REC + 0), v), ones);
    v = v128.load(p, 24);
    i0 = i32x4.add(i0, i32x4.dot_i16x8_s(dot8(v128.load(x, 16), v), ones));
    i1 = i32x4.add(i1, i32x4.dot_i16x8_s(dot8(v128.load(x, REC + 16), v), ones));
    i2 = i32x4.add(i2, i32x4.dot_i16x8_s(dot8(v128.load(x, 2 * REC + 16), v), ones));
    i3 = i32x4.add(i3, i32x4.dot_i16x8_s(dot8(v128.load(x, 3 * REC + 16), v), ones));
    pin(scr, i0, i1, i2, i3);
    v = v128.load(p, 40);
    i0 = i32x4.add(i0, i32x4.dot_i16x8_s(dot8(v128.load(x, 32), v), ones));
    i1 = i32x4.add(i1, i32x4.dot_i16x8_s(dot8(v128.load(x, REC + 32), v), ones));
    i2 = i32x4.add(i2, i32x4.dot_i16x8_s(dot8(v128.load(x, 2 * REC + 32), v), ones));
    i3 = i32x4.add(i3, i32x4.dot_i16x8_s(dot8(v128.load(x, 3 * REC + 32), v), ones));
    v = v128.load(p, 56);
    i0 = i32x4.add(i0, i32x4.dot_i16x8_s(dot8(v128.load(x, 48), v), ones));
    i1 = i32x4.add(i1, i32x4.dot_i16x8_s(dot8(v128.load(x, REC + 48), v), ones));
    i2 = i32x4.add(i2, i32x4.dot_i16x8_s(dot8(v128.load(x, 2 * REC + 48), v), ones));
    i3 = i32x4.add(i3, i32x4.dot_i16x8_s(dot8(v128.load(x, 3 * REC + 48), v), ones));
    pin(scr, i0, i1, i2, i3);
    v = v128.load(p, 72);
    i0 = i32x4.add(i0, i32x4.dot_i16x8_s(dot8(v128.load(x, 64), v), ones));
    i1 = i32x4.add(i1, i32x4.dot_i16x8_s(dot8(v128.load(x, REC + 64), v), ones));
    i2 = i32x4.add(i2, i32x4.dot_i16x8_s(dot8(v128.load(x, 2 * REC + 64), v), ones));
    i3 = i32x4.add(i3, i32x4.dot_i16x8_s(dot8(v128.load(x, 3 * REC + 64), v), ones));
    v = v128.load(p, 88);
    i0 = i32x4.add(i0, i32x4.dot_i16x8_s(dot8(v128.load(x, 80), v), ones));
    i1 = i32x4.add(i1, i32x4.dot_i16x8_s(dot8(v128.load(x, REC + 80), v), ones));
    i2 = i32x4.add(i2, i32x4.dot_i16x8_s(dot8(v128.load(x, 2 * REC + 80), v), ones));
    i3 = i32x4.add(i3, i32x4.dot_i16x8_s(dot8(v128.load(x, 3 * REC + 80), v), ones));
    pin(scr, i0, i1, i2, i3);
    v = v128.load(p, 104);
    i0 = i32x4.add(i0, i32x4.dot_i16x8_s(dot8(v128.load(x, 96), v), ones));
    i1 = i32x4.add(i1, i32x4.dot_i16x8_s(dot8(v128.load(x, REC + 96), v), ones));
    i2 = i32x4.add(i2, i32x4.dot_i16x8_s(dot8(v128.load(x, 2 * REC + 96), v), ones));
    i3 = i32x4.add(i3, i32x4.dot_i16x8_s(dot8(v128.load(x, 3 * REC + 96), v), ones));
    v = v128.load(p, 120);
    i0 = i32x4.add(i0, i32x4.dot_i16x8_s(dot8(v128.load(x, 112), v), ones));
    i1 = i32x4.add(i1, i32x4.dot_i16x8_s(dot8(v128.load(x, REC + 112), v), ones));
    i2 = i32x4.add(i2, i32x4.dot_i16x8_s(dot8(v128.load(x, 2 * REC + 112), v), ones));
    i3 = i32x4.add(i3, i32x4.dot_i16x8_s(dot8(v128.load(x, 3 * REC + 112), v), ones));
    pin(scr, i0, i1, i2, i3);
    const sc = v128.load(sp);
    sp += 16;
    a0 = q8fin(i0, sc, x, a0);
    v128.store(scr, a0, SINK + 16);
    a1 = q8fin(i1, sc, x + REC, a1);
    v128.store(scr, a1, SINK + 16);
    a2 = q8fin(i2, sc, x + 2 * REC, a2);
    v128.store(scr, a2, SINK + 16);
    a3 = q8fin(i3, sc, x + 3 * REC, a3);
  }
  // A column chunk before the last leaves its raw sums for the next one to carry on.
  storeRows(out, last ? q8out(a0) : a0, rem);
  storeRows(out + os, last ? q8out(a1) : a1, rem);
  storeRows(out + 2 * os, last ? q8out(a2) : a2, rem);
  storeRows(out + 3 * os, last ? q8out(a3) : a3, rem);
}

/**
 * q8x4_t4 with V_DOTADD: one relaxed dot-add per weight vector and token (a single vpdpbusd
 * where V8 has AVX-VNNI, Node 24 on), the same integer sums.
 */
function q8x4_t4a(scr: usize, w: usize, sp: usize, nb: i32, x: usize, out: usize, ldo: i32, rem: i32, carry: bool, last: bool): void {
  const ones = v128.load(CONSTS, 16);
  const os = <usize>ldo << 2;
  let a0 = f32x4.splat(0), a1 = f32x4.splat(0), a2 = f32x4.splat(0), a3 = f32x4.splat(0);
  if (carry) {
    a0 = loadRows(out, rem);
    a1 = loadRows(out + os, rem);
    a2 = loadRows(out + 2 * os, rem);
    a3 = loadRows(out + 3 * os, rem);
  }
  const end = w + <usize>nb * 136;
  for (let p = w; p < end; p += 136, x += 4 * REC) {
    let v: v128;
    let i0 = i32x4.splat(0), i1 = i32x4.splat(0), i2 = i32x4.splat(0), i3 = i32x4.splat(0);
    for (let k: usize = 0; k < 128; k += 32) {
      v = v128.load(p + k, 8);
      i0 = dotAdd(v128.load(x + k), v, i0, ones);
      i1 = dotAdd(v128.load(x + k, REC), v, i1, ones);
      i2 = dotAdd(v128.load(x + k, 2 * REC), v, i2, ones);
      i3 = dotAdd(v128.load(x + k, 3 * REC), v, i3, ones);
      v = v128.load(p + k, 24);
      i0 = dotAdd(v128.load(x + k, 16), v, i0, ones);
      i1 = dotAdd(v128.load(x + k, REC + 16), v, i1, ones);
      i2 = dotAdd(v128.load(x + k, 2 * REC + 16), v, i2, ones);
      i3 = dotAdd(v128.load(x + k, 3 * REC + 16), v, i3, ones);
      pin(scr, i0, i1, i2, i3);
    }
    const sc = v128.load(sp);
    sp += 16;
    a0 = q8fin(i0, sc, x, a0);
    a1 = q8fin(i1, sc, x + REC, a1);
    a2 = q8fin(i2, sc, x + 2 * REC, a2);
    a3 = q8fin(i3, sc, x + 3 * REC, a3);
  }
  // A column chunk before the last leaves its raw sums for the next one to carry on.
  storeRows(out, last ? q8out(a0) : a0, rem);
  storeRows(out + os, last ? q8out(a1) : a1, rem);
  storeRows(out + 2 * os, last ? q8out(a2) : a2, rem);
  storeRows(out + 3 * os, last ? q8out(a3) : a3, rem);
}

/**
 * out[t, r] = Σ_c x[t, c] · w[r, c] for r < rowsValid. w: `groups` Q8x4 groups; xr: n tokens of
 * 7-bit signed records (quant_rec_q7s); out row stride ldo floats.
 */
export function mm_q8x4(w: usize, groups: i32, rowsValid: i32, cols: i32, n: i32, xr: usize, out: usize, ldo: i32): void {
  const scr = SCRATCH;
  const nb = cols >> 5;
  const gBytes = <usize>nb * 136;
  const vQ8 = variant(OP_Q8_0);
  const kc = chunkBlocks(nb, n, 12);
  const tbN = tokenBlock(tileBytes(kc));
  for (let tb = 0; tb < n; tb += tbN) {
    const te = min(n, tb + tbN);
    for (let c0 = 0; c0 < nb; c0 += kc) {
      const nbc = min(kc, nb - c0);
      const cBytes = <usize>nbc * 136;
      const carry = c0 > 0;
      const last = c0 + nbc == nb;
      // Many tokens convert a cache tile's scales once for all its token tiles.
      const gt = n >= 4 ? min(groupTile(cBytes), TILE_SCALES_BYTES / (nbc << 4)) : groupTile(cBytes);
      for (let g0 = 0; g0 < groups; g0 += gt) {
        const g1 = min(groups, g0 + gt);
        if (n >= 4) {
          for (let g = g0; g < g1; g++) {
            const p0 = w + <usize>g * gBytes + <usize>c0 * 136;
            // Q8_0's many-token kernels are the most bytes per multiply: demand misses behind their
            // arithmetic left DRAM idle (4 tokens cost 1.9× one); loading the tile first streams
            // it. (Q4_0 and the K-quants measured no gain or a loss.)
            touch(scr, p0, cBytes);
            const sp = scr + TILE_SCALES + <usize>((g - g0) * nbc) * 16;
            for (let i = 0; i < nbc; i++) v128.store(sp + (<usize>i << 4), scales16(p0 + <usize>i * 136));
          }
        }
        for (let t = tb; t < te; t += 4) {
          const ts = min(4, n - t);
          const xt = xr + <usize>(t >> 2) * tileBytes(nb) + <usize>(c0 * ts) * REC;
          if (ts == 4) {
            for (let g = g0; g < g1; g++) {
              const sp = scr + TILE_SCALES + <usize>((g - g0) * nbc) * 16;
              const o = out + ((<usize>t * ldo + (g << 2)) << 2);
              const wg = w + <usize>g * gBytes + <usize>c0 * 136;
              if (vQ8 == V_DOTADD) q8x4_t4a(scr, wg, sp, nbc, xt, o, ldo, rowsValid - (g << 2), carry, last);
              else q8x4_t4(scr, wg, sp, nbc, xt, o, ldo, rowsValid - (g << 2), carry, last);
            }
          } else {
            for (let j = 0; j < ts; j++) {
              const xj = xt + <usize>j * REC;
              const oj = out + (<usize>(t + j) * ldo << 2);
              let g = g0;
              if (vQ8 == V_G2) {
                for (; g + 1 < g1; g += 2) {
                  q8x4_t1g2(scr, w + <usize>g * gBytes + <usize>c0 * 136, gBytes, nbc, xj, <usize>ts * REC, oj + (<usize>g << 4), rowsValid - (g << 2), carry, last);
                }
              }
              for (; g < g1; g++) {
                const wg = w + <usize>g * gBytes + <usize>c0 * 136;
                const o = oj + (<usize>g << 4);
                const rem = rowsValid - (g << 2);
                const init = carry ? loadRows(o, rem) : f32x4.splat(0);
                const v = vQ8 == V_DOTADD ? q8x4_t1a(scr, wg, nbc, xj, <usize>ts * REC, init) : q8x4_t1(scr, wg, nbc, xj, <usize>ts * REC, init);
                storeRows(o, last ? q8out(v) : v, rem);
              }
            }
          }
        }
      }
    }
  }
}

// ---------------------------------------------------------------- Q4x4 · signed 8-bit records

/** acc + d_w·d_x·(Σ q·n − 8·Σq): the record carries 8·Σq, so Q4_0's −8 costs one subtract. */
@inline function q4fin(s: v128, sc: v128, x: usize, acc: v128): v128 {
  const i = i32x4.sub(i32x4.extadd_pairwise_i16x8_s(s), v128.load(x, REC_S));
  return fma(f32x4.convert_i32x4_s(i), f32x4.mul(sc, v128.load(x, REC_D)), acc);
}

function q4x4_t1(scr: usize, w: usize, nb: i32, x: usize, xstep: usize, init: v128): v128 {
  const m = v128.load(CONSTS);
  let acc = init;
  const end = w + <usize>nb * 80;
  for (let p = w; p < end; p += 80, x += xstep) acc = q4fin(nibbleDot(scr, p + 16, x, m), v128.load(p), x, acc);
  return acc;
}

/** As q4fin for i32 sums (V_DOTADD). */
@inline function q4finI(i: v128, sc: v128, x: usize, acc: v128): v128 {
  return fma(f32x4.convert_i32x4_s(i32x4.sub(i, v128.load(x, REC_S))), f32x4.mul(sc, v128.load(x, REC_D)), acc);
}

/** q4x4_t1 with V_DOTADD. */
function q4x4_t1a(scr: usize, w: usize, nb: i32, x: usize, xstep: usize, init: v128): v128 {
  const m = v128.load(CONSTS);
  const ones = v128.load(CONSTS, 16);
  let acc = init;
  const end = w + <usize>nb * 80;
  for (let p = w; p < end; p += 80, x += xstep) acc = q4finI(nibbleDotA(scr, p + 16, x, m, ones), v128.load(p), x, acc);
  return acc;
}

/** V_G2: one token against groups g and g + 1 (at w and w + gBytes); rows g·4 .. g·4 + 7 at out. */
function q4x4_t1g2(scr: usize, w: usize, gBytes: usize, nb: i32, x: usize, xstep: usize, out: usize, rem: i32, carry: bool): void {
  const m = v128.load(CONSTS);
  let a0 = f32x4.splat(0), a1 = f32x4.splat(0);
  if (carry) {
    a0 = loadRows(out, rem);
    a1 = loadRows(out + 16, rem - 4);
  }
  const end = w + <usize>nb * 80;
  for (let p = w; p < end; p += 80, x += xstep) {
    const q = p + gBytes;
    a0 = q4fin(nibbleDot2(scr, p + 16, q + 16, x, m), v128.load(p), x, a0);
    a1 = q4fin(v128.load(scr, PAIR), v128.load(q), x, a1);
  }
  storeRows(out, a0, rem);
  storeRows(out + 16, a1, rem - 4);
}

function q4x4_t4(scr: usize, w: usize, nb: i32, x: usize, out: usize, ldo: i32, rem: i32, carry: bool): void {
  const m = v128.load(CONSTS);
  const os = <usize>ldo << 2;
  let a0 = f32x4.splat(0), a1 = f32x4.splat(0), a2 = f32x4.splat(0), a3 = f32x4.splat(0);
  if (carry) {
    a0 = loadRows(out, rem);
    a1 = loadRows(out + os, rem);
    a2 = loadRows(out + 2 * os, rem);
    a3 = loadRows(out + 3 * os, rem);
  }
  const end = w + <usize>nb * 80;
  for (let p = w; p < end; p += 80, x += 4 * REC) {
    // Low nibbles for all four tokens, then high nibbles, chunk by chunk: live registers stay
    // under 16. The pin after each chunk keeps the next chunk's loads behind it (V8 would hoist
    // and spill them); a store after each token's finish keeps its record loads from piling up.
    let v: v128, h: v128, s0: v128, s1: v128, s2: v128, s3: v128;
    v = v128.load(p, 16);
    h = v128.and(v, m);
    s0 = dot8(v128.load(x, 0), h);
    s1 = dot8(v128.load(x, REC + 0), h);
    s2 = dot8(v128.load(x, 2 * REC + 0), h);
    s3 = dot8(v128.load(x, 3 * REC + 0), h);
    h = v128.and(i16x8.shr_u(v, 4), m);
    s0 = i16x8.add(s0, dot8(v128.load(x, 64), h));
    s1 = i16x8.add(s1, dot8(v128.load(x, REC + 64), h));
    s2 = i16x8.add(s2, dot8(v128.load(x, 2 * REC + 64), h));
    s3 = i16x8.add(s3, dot8(v128.load(x, 3 * REC + 64), h));
    pin(scr, s0, s1, s2, s3);
    v = v128.load(p, 32);
    h = v128.and(v, m);
    s0 = i16x8.add(s0, dot8(v128.load(x, 16), h));
    s1 = i16x8.add(s1, dot8(v128.load(x, REC + 16), h));
    s2 = i16x8.add(s2, dot8(v128.load(x, 2 * REC + 16), h));
    s3 = i16x8.add(s3, dot8(v128.load(x, 3 * REC + 16), h));
    h = v128.and(i16x8.shr_u(v, 4), m);
    s0 = i16x8.add(s0, dot8(v128.load(x, 80), h));
    s1 = i16x8.add(s1, dot8(v128.load(x, REC + 80), h));
    s2 = i16x8.add(s2, dot8(v128.load(x, 2 * REC + 80), h));
    s3 = i16x8.add(s3, dot8(v128.load(x, 3 * REC + 80), h));
    pin(scr, s0, s1, s2, s3);
    v = v128.load(p, 48);
    h = v128.and(v, m);
    s0 = i16x8.add(s0, dot8(v128.load(x, 32), h));
    s1 = i16x8.add(s1, dot8(v128.load(x, REC + 32), h));
    s2 = i16x8.add(s2, dot8(v128.load(x, 2 * REC + 32), h));
    s3 = i16x8.add(s3, dot8(v128.load(x, 3 * REC + 32), h));
    h = v128.and(i16x8.shr_u(v, 4), m);
    s0 = i16x8.add(s0, dot8(v128.load(x, 96), h));
    s1 = i16x8.add(s1, dot8(v128.load(x, REC + 96), h));
    s2 = i16x8.add(s2, dot8(v128.load(x, 2 * REC + 96), h));
    s3 = i16x8.add(s3, dot8(v128.load(x, 3 * REC + 96), h));
    pin(scr, s0, s1, s2, s3);
    v = v128.load(p, 64);
    h = v128.and(v, m);
    s0 = i16x8.add(s0, dot8(v128.load(x, 48), h));
    s1 = i16x8.add(s1, dot8(v128.load(x, REC + 48), h));
    s2 = i16x8.add(s2, dot8(v128.load(x, 2 * REC + 48), h));
    s3 = i16x8.add(s3, dot8(v128.load(x, 3 * REC + 48), h));
    h = v128.and(i16x8.shr_u(v, 4), m);
    s0 = i16x8.add(s0, dot8(v128.load(x, 112), h));
    s1 = i16x8.add(s1, dot8(v128.load(x, REC + 112), h));
    s2 = i16x8.add(s2, dot8(v128.load(x, 2 * REC + 112), h));
    s3 = i16x8.add(s3, dot8(v128.load(x, 3 * REC + 112), h));
    pin(scr, s0, s1, s2, s3);
    const sc = v128.load(p);
    a0 = q4fin(s0, sc, x, a0);
    v128.store(scr, a0, SINK + 16);
    a1 = q4fin(s1, sc, x + REC, a1);
    v128.store(scr, a1, SINK + 16);
    a2 = q4fin(s2, sc, x + 2 * REC, a2);
    v128.store(scr, a2, SINK + 16);
    a3 = q4fin(s3, sc, x + 3 * REC, a3);
  }
  storeRows(out, a0, rem);
  storeRows(out + os, a1, rem);
  storeRows(out + 2 * os, a2, rem);
  storeRows(out + 3 * os, a3, rem);
}

/** q4x4_t4 with V_DOTADD: relaxed dot-adds into i32 sums (the same integers as the i16 sums). */
function q4x4_t4a(scr: usize, w: usize, nb: i32, x: usize, out: usize, ldo: i32, rem: i32, carry: bool): void {
  const m = v128.load(CONSTS);
  const ones = v128.load(CONSTS, 16);
  const os = <usize>ldo << 2;
  let a0 = f32x4.splat(0), a1 = f32x4.splat(0), a2 = f32x4.splat(0), a3 = f32x4.splat(0);
  if (carry) {
    a0 = loadRows(out, rem);
    a1 = loadRows(out + os, rem);
    a2 = loadRows(out + 2 * os, rem);
    a3 = loadRows(out + 3 * os, rem);
  }
  const end = w + <usize>nb * 80;
  for (let p = w; p < end; p += 80, x += 4 * REC) {
    let i0 = i32x4.splat(0), i1 = i32x4.splat(0), i2 = i32x4.splat(0), i3 = i32x4.splat(0);
    for (let k: usize = 0; k < 64; k += 16) {
      const v = v128.load(p + k, 16);
      let h = v128.and(v, m);
      i0 = dotAdd(v128.load(x + k), h, i0, ones);
      i1 = dotAdd(v128.load(x + k, REC), h, i1, ones);
      i2 = dotAdd(v128.load(x + k, 2 * REC), h, i2, ones);
      i3 = dotAdd(v128.load(x + k, 3 * REC), h, i3, ones);
      h = v128.and(i16x8.shr_u(v, 4), m);
      i0 = dotAdd(v128.load(x + k, 64), h, i0, ones);
      i1 = dotAdd(v128.load(x + k, REC + 64), h, i1, ones);
      i2 = dotAdd(v128.load(x + k, 2 * REC + 64), h, i2, ones);
      i3 = dotAdd(v128.load(x + k, 3 * REC + 64), h, i3, ones);
      pin(scr, i0, i1, i2, i3);
    }
    const sc = v128.load(p);
    a0 = q4finI(i0, sc, x, a0);
    a1 = q4finI(i1, sc, x + REC, a1);
    a2 = q4finI(i2, sc, x + 2 * REC, a2);
    a3 = q4finI(i3, sc, x + 3 * REC, a3);
  }
  storeRows(out, a0, rem);
  storeRows(out + os, a1, rem);
  storeRows(out + 2 * os, a2, rem);
  storeRows(out + 3 * os, a3, rem);
}

/** As mm_q8x4 for Q4x4 groups against signed 8-bit records (quant_rec_q8s). */
export function mm_q4x4(w: usize, groups: i32, rowsValid: i32, cols: i32, n: i32, xr: usize, out: usize, ldo: i32): void {
  const scr = SCRATCH;
  const nb = cols >> 5;
  const gBytes = <usize>nb * 80;
  const vQ4 = variant(OP_Q4_0);
  const kc = chunkBlocks(nb, n, 8);
  const tbN = tokenBlock(tileBytes(kc));
  for (let tb = 0; tb < n; tb += tbN) {
    const te = min(n, tb + tbN);
    for (let c0 = 0; c0 < nb; c0 += kc) {
      const nbc = min(kc, nb - c0);
      const carry = c0 > 0;
      const gt = groupTile(<usize>nbc * 80);
      for (let g0 = 0; g0 < groups; g0 += gt) {
        const g1 = min(groups, g0 + gt);
        for (let t = tb; t < te; t += 4) {
          const ts = min(4, n - t);
          const xt = xr + <usize>(t >> 2) * tileBytes(nb) + <usize>(c0 * ts) * REC;
          if (ts == 4) {
            for (let g = g0; g < g1; g++) {
              const o = out + ((<usize>t * ldo + (g << 2)) << 2);
              const wg = w + <usize>g * gBytes + <usize>c0 * 80;
              if (vQ4 == V_DOTADD) q4x4_t4a(scr, wg, nbc, xt, o, ldo, rowsValid - (g << 2), carry);
              else q4x4_t4(scr, wg, nbc, xt, o, ldo, rowsValid - (g << 2), carry);
            }
          } else {
            for (let j = 0; j < ts; j++) {
              const xj = xt + <usize>j * REC;
              const oj = out + (<usize>(t + j) * ldo << 2);
              let g = g0;
              if (vQ4 == V_G2) {
                for (; g + 1 < g1; g += 2) {
                  q4x4_t1g2(scr, w + <usize>g * gBytes + <usize>c0 * 80, gBytes, nbc, xj, <usize>ts * REC, oj + (<usize>g << 4), rowsValid - (g << 2), carry);
                }
              }
              for (; g < g1; g++) {
                const wg = w + <usize>g * gBytes + <usize>c0 * 80;
                const o = oj + (<usize>g << 4);
                const rem = rowsValid - (g << 2);
                const init = carry ? loadRows(o, rem) : f32x4.splat(0);
                storeRows(o, vQ4 == V_DOTADD ? q4x4_t1a(scr, wg, nbc, xj, <usize>ts * REC, init) : q4x4_t1(scr, wg, nbc, xj, <usize>ts * REC, init), rem);
              }
            }
          }
        }
      }
    }
  }
}
