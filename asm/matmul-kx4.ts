// Q4_K, Q5_K and Q6_K repacked at load into 4-row interleaved groups (as Q4x4 / Q8x4 in matmul-q.ts)
// and dotted against the same activation records, so the per-block scaling is one vector op for
// four rows. Sub-block scales stay small integers; each 256-column superblock starts with the
// rows' f32 super-scales, so the bytes stay close to ggml's.
//
// Q4Kx4, per group and 256-column superblock (608 bytes, 4.75 bits per weight):
//   D f32×4 (each row's d) | DMN f32×4 (each row's −dmin) | SC: sc u8, block j's row r at 4j + r |
//   MIN: m u8 by block pairs, blocks 2J and 2J+1 of row r at 8J + 2r (+1) | 8 blocks of 64 bytes
//   of nibbles arranged as Q4x4 (low: columns 4k.., high: 16+4k..).
//   value = d·sc·q − dmin·m (ggml's). Against Q8_K-style records (one dx per 256 values,
//   quant_rec_q8k) a row's superblock is dx·(d·Σ_j sc_j·Σq·n − dmin·Σ_j m_j·Σq_j): integer sums
//   (pmaddwd applies the scales and the mins), one f32 finish per superblock as in llama.cpp.
// Q5Kx4, per group and superblock (736 bytes, 5.75 bits per weight): Q4Kx4's header (D, DMN, SC,
//   MIN) | 8 blocks of 80 bytes: 64 bytes of low nibbles arranged as Q4x4 | 16 bytes of fifth
//   bits: bit c of byte 4·row + i is column 4c + i's. value = d·sc·q − dmin·m, summed as Q4_K.
// Q6Kx4, per group and superblock (1104 bytes, 8.6 bits per weight):
//   D f32×4 | 8 blocks of 136 bytes: sc i8×8 by row, [r0 lo, r0 hi, r1 lo, r1 hi, …] (lo: columns
//   0..15, hi: 16..31) | 128 bytes of q ∈ [0, 63] arranged as Q8x4 (vector k = each row's columns
//   4k..4k+3). value = D·sc·(q − 32). Against Q8_K-style records a row's superblock is
//   dx·D·Σ_h sc_h·(Σ q·xq − 32·Σ xq) over its 16 halves: integers, one f32 finish (as Q4_K).
import { dot8, dotAdd, fma } from './simd';
import { REC, REC_D, REC_S, REC_S16 } from './quant';
import { ACC4, groupTile, tokenBlock, nibbleDot, nibbleDot2, nibbleDotA, PAIR, pin, Q5CHUNKS, SCRATCH, SINK, storeRows } from './kernel-util';
import { OP_Q4_K, OP_Q6_K, V_DOTADD, V_G2, variant } from './variants';

export const Q4KX4_SB: usize = 608;
export const Q4K_SC: usize = 32;
export const Q4K_MIN: usize = 64;
export const Q4K_NIB: usize = 96;
/** Bytes of one Q5Kx4 block (nibbles, then fifth bits), from Q4K_NIB. */
const Q5K_BLOCK: usize = 80;
export const Q6KX4_SB: usize = 1104;
export const Q5KX4_SB: usize = 736;

const NIBBLES = memory.data<u32>([0x0f0f0f0f, 0x0f0f0f0f, 0x0f0f0f0f, 0x0f0f0f0f, 0x10101010, 0x10101010, 0x10101010, 0x10101010], 16);

/** Block j's scales as i16 pairs per row, [sc_0 sc_0 sc_1 sc_1 …], the pmaddwd partner of nibbleDot's sums. */
@inline function scPairs(s: usize, j: usize): v128 {
  const v = v128.load8x8_u(s + Q4K_SC + (j << 2));
  return v128.shuffle<i16>(v, v, 0, 0, 1, 1, 2, 2, 3, 3);
}

/** One token's Σ_j m_j·Σq_j over a superblock (x: its block 0 record, xstep: to the next block's). */
@inline function q4kMins(s: usize, x: usize, xstep: usize): v128 {
  let t = i32x4.dot_i16x8_s(v128.load8x8_u(s + Q4K_MIN), v128.load(x, REC_S));
  t = i32x4.add(t, i32x4.dot_i16x8_s(v128.load8x8_u(s + Q4K_MIN + 8), v128.load(x + 2 * xstep, REC_S)));
  t = i32x4.add(t, i32x4.dot_i16x8_s(v128.load8x8_u(s + Q4K_MIN + 16), v128.load(x + 4 * xstep, REC_S)));
  return i32x4.add(t, i32x4.dot_i16x8_s(v128.load8x8_u(s + Q4K_MIN + 24), v128.load(x + 6 * xstep, REC_S)));
}

/**
 * acc + dx·(d·isum − dmin·msum) for one superblock: the one place its f32 steps happen, so every
 * kernel rounds alike. The weight scales multiply first: d·dx of two small scales can fall below
 * f32's normal range, and x86 multiplies subnormals through microcode (3× slower prefill seen).
 */
@inline function q4kFinish(isum: v128, msum: v128, s: usize, x: usize, acc: v128): v128 {
  const v = fma(f32x4.convert_i32x4_s(isum), v128.load(s), f32x4.mul(f32x4.convert_i32x4_s(msum), v128.load(s, 16)));
  return fma(v, v128.load(x, REC_D), acc);
}

/** Block j of the superblock at s against one token's record x: Σ over its columns of sc·q·n per row (i32). */
@inline function q4kBlock(scr: usize, s: usize, j: usize, x: usize, m: v128): v128 {
  return i32x4.dot_i16x8_s(nibbleDot(scr, s + Q4K_NIB + (j << 6), x, m), scPairs(s, j));
}

/** isum + block j's sum, pinned (stored) before the next block's loads. */
@inline function q4kNext(scr: usize, isum: v128, s: usize, j: usize, x: usize, m: v128): v128 {
  v128.store(scr, isum, SINK + 16);
  return i32x4.add(isum, q4kBlock(scr, s, j, x, m));
}

/** One token against one Q4Kx4 group (x: its records, quant_rec_q8k; xstep: record to record). */
function q4k_t1(scr: usize, w: usize, nsb: i32, x: usize, xstep: usize): v128 {
  const m = v128.load(NIBBLES);
  let acc = f32x4.splat(0);
  const end = w + <usize>nsb * Q4KX4_SB;
  for (let s = w; s < end; s += Q4KX4_SB, x += 8 * xstep) {
    // Unrolled: a loop over the 8 blocks spent ~10 of ~60 instructions a block on its counter,
    // addresses and V8's stack check. Each block's sum is stored (q4kNext) so that its arithmetic
    // happens before the next block's loads instead of holding them all in spilled registers.
    let xb = x;
    let isum = q4kBlock(scr, s, 0, xb, m);
    isum = q4kNext(scr, isum, s, 1, (xb += xstep), m);
    isum = q4kNext(scr, isum, s, 2, (xb += xstep), m);
    isum = q4kNext(scr, isum, s, 3, (xb += xstep), m);
    isum = q4kNext(scr, isum, s, 4, (xb += xstep), m);
    isum = q4kNext(scr, isum, s, 5, (xb += xstep), m);
    isum = q4kNext(scr, isum, s, 6, (xb += xstep), m);
    isum = q4kNext(scr, isum, s, 7, (xb += xstep), m);
    acc = q4kFinish(isum, q4kMins(s, x, xstep), s, x, acc);
  }
  return acc;
}

/** q4k_t1 with V_DOTADD: i32 block sums times the widened scales. */
function q4k_t1a(scr: usize, w: usize, nsb: i32, x: usize, xstep: usize): v128 {
  const m = v128.load(NIBBLES);
  const ones = i16x8.splat(1);
  let acc = f32x4.splat(0);
  const end = w + <usize>nsb * Q4KX4_SB;
  for (let s = w; s < end; s += Q4KX4_SB, x += 8 * xstep) {
    let isum = i32x4.splat(0);
    let xb = x;
    for (let j: usize = 0; j < 8; j++, xb += xstep) {
      const sc = i32x4.extend_low_i16x8_u(v128.load8x8_u(s + Q4K_SC + (j << 2)));
      isum = i32x4.add(isum, i32x4.mul(nibbleDotA(scr, s + Q4K_NIB + (j << 6), xb, m, ones), sc));
    }
    acc = q4kFinish(isum, q4kMins(s, x, xstep), s, x, acc);
  }
  return acc;
}

/** V_G2: one token against Q4Kx4 groups g and g + 1 (at w and w + gBytes); rows g·4 .. g·4 + 7 at out. */
function q4k_t1g2(scr: usize, w: usize, gBytes: usize, nsb: i32, x: usize, xstep: usize, out: usize, rem: i32): void {
  const m = v128.load(NIBBLES);
  let a0 = f32x4.splat(0), a1 = f32x4.splat(0);
  const end = w + <usize>nsb * Q4KX4_SB;
  for (let s = w; s < end; s += Q4KX4_SB, x += 8 * xstep) {
    const r = s + gBytes;
    let i0 = i32x4.splat(0), i1 = i32x4.splat(0);
    let xb = x;
    for (let j: usize = 0; j < 8; j++, xb += xstep) {
      const o = Q4K_NIB + (j << 6);
      const t0 = nibbleDot2(scr, s + o, r + o, xb, m);
      i0 = i32x4.add(i0, i32x4.dot_i16x8_s(t0, scPairs(s, j)));
      i1 = i32x4.add(i1, i32x4.dot_i16x8_s(v128.load(scr, PAIR), scPairs(r, j)));
    }
    a0 = q4kFinish(i0, q4kMins(s, x, xstep), s, x, a0);
    a1 = q4kFinish(i1, q4kMins(r, x, xstep), r, x, a1);
  }
  storeRows(out, a0, rem);
  storeRows(out + 16, a1, rem - 4);
}

/** Each row's two 16-column scales of the Q6Kx4 block at p, as i16 lanes [lo_0 hi_0 lo_1 hi_1 …]. */
@inline function q6sc(p: usize): v128 {
  return v128.load8x8_s(p);
}
/** [lo_0 lo_0 lo_1 lo_1 …]: the pmaddwd partner of a half's i16 pair sums (rows in lane pairs). */
@inline function q6lo(sc: v128): v128 {
  return v128.shuffle<i16>(sc, sc, 0, 0, 2, 2, 4, 4, 6, 6);
}
@inline function q6hi(sc: v128): v128 {
  return v128.shuffle<i16>(sc, sc, 1, 1, 3, 3, 5, 5, 7, 7);
}

/**
 * sc·Σ over one 16-column half of 4 rows: chunks at x, x + 16, x + 32, x + 48 against weight
 * vectors w0..w3. Pairs of dots fit in i16 (2·2·127·63 < 2^15); pmaddwd applies the scale.
 */
@inline function q6half(x: usize, w0: v128, w1: v128, w2: v128, w3: v128, sc: v128): v128 {
  return i32x4.add(
    i32x4.dot_i16x8_s(i16x8.add(dot8(v128.load(x), w0), dot8(v128.load(x, 16), w1)), sc),
    i32x4.dot_i16x8_s(i16x8.add(dot8(v128.load(x, 32), w2), dot8(v128.load(x, 48), w3)), sc),
  );
}

/** 32·Σ_h sc_h·Σ xq over a block's two halves, per row (the q − 32 term; x: the token's record). */
@inline function q6min(sc: v128, x: usize): v128 {
  return i32x4.shl(i32x4.dot_i16x8_s(sc, v128.load(x, REC_S16)), 5);
}

/** One token against the Q6Kx4 block at p: Σ_h sc_h·Σ (q − 32)·xq per row, i32. */
@inline function q6kBlock(scr: usize, x: usize, p: usize): v128 {
  const sc = q6sc(p);
  const t = q6half(x, v128.load(p, 8), v128.load(p, 24), v128.load(p, 40), v128.load(p, 56), q6lo(sc));
  v128.store(scr, t, SINK);
  const u = q6half(x + 64, v128.load(p, 72), v128.load(p, 88), v128.load(p, 104), v128.load(p, 120), q6hi(sc));
  return i32x4.sub(i32x4.add(t, u), q6min(sc, x));
}

/** isum + the next block's sum, pinned before that block's loads (as q4kNext). */
@inline function q6kNext(scr: usize, isum: v128, x: usize, p: usize): v128 {
  v128.store(scr, isum, SINK + 16);
  return i32x4.add(isum, q6kBlock(scr, x, p));
}

/** acc + dx·(D·t) for one Q6Kx4 superblock at s (weight scale first, as q4kFinish). */
@inline function q6kFinish(t: v128, s: usize, x: usize, acc: v128): v128 {
  return fma(f32x4.mul(f32x4.convert_i32x4_s(t), v128.load(s)), v128.load(x, REC_D), acc);
}

/** One token against one Q6Kx4 group (x: its quant_rec_q8k records, xstep: record to record). */
function q6k_t1(scr: usize, w: usize, nsb: i32, x: usize, xstep: usize): v128 {
  let acc = f32x4.splat(0);
  const end = w + <usize>nsb * Q6KX4_SB;
  for (let s = w; s < end; s += Q6KX4_SB, x += 8 * xstep) {
    let xb = x;
    let t = q6kBlock(scr, xb, s + 16);
    t = q6kNext(scr, t, (xb += xstep), s + 16 + 136);
    t = q6kNext(scr, t, (xb += xstep), s + 16 + 2 * 136);
    t = q6kNext(scr, t, (xb += xstep), s + 16 + 3 * 136);
    t = q6kNext(scr, t, (xb += xstep), s + 16 + 4 * 136);
    t = q6kNext(scr, t, (xb += xstep), s + 16 + 5 * 136);
    t = q6kNext(scr, t, (xb += xstep), s + 16 + 6 * 136);
    t = q6kNext(scr, t, (xb += xstep), s + 16 + 7 * 136);
    acc = q6kFinish(t, s, x, acc);
  }
  return acc;
}

/** Σ over one 16-column half (chunks at x .. x + 48, weights at p + 8 ..) of 4 rows with relaxed dot-adds (V_DOTADD). */
@inline function q6halfA(x: usize, p: usize, ones: v128): v128 {
  const a = dotAdd(v128.load(x, 16), v128.load(p, 24), dotAdd(v128.load(x), v128.load(p, 8), i32x4.splat(0), ones), ones);
  const b = dotAdd(v128.load(x, 48), v128.load(p, 56), dotAdd(v128.load(x, 32), v128.load(p, 40), i32x4.splat(0), ones), ones);
  return i32x4.add(a, b);
}

/** q6k_t1 with V_DOTADD: i32 half sums times the widened scales. */
function q6k_t1a(scr: usize, w: usize, nsb: i32, x: usize, xstep: usize): v128 {
  const ones = i16x8.splat(1);
  let acc = f32x4.splat(0);
  const end = w + <usize>nsb * Q6KX4_SB;
  for (let s = w; s < end; s += Q6KX4_SB) {
    const x0 = x;
    let t = i32x4.splat(0);
    for (let p = s + 16; p < s + Q6KX4_SB; p += 136, x += xstep) {
      const sc = q6sc(p);
      const lo = q6halfA(x, p, ones);
      v128.store(scr, lo, SINK);
      const hi = q6halfA(x + 64, p + 64, ones);
      const l = i32x4.mul(lo, i32x4.extend_low_i16x8_s(v128.shuffle<i16>(sc, sc, 0, 2, 4, 6, 0, 2, 4, 6)));
      const h = i32x4.mul(hi, i32x4.extend_low_i16x8_s(v128.shuffle<i16>(sc, sc, 1, 3, 5, 7, 1, 3, 5, 7)));
      t = i32x4.add(t, i32x4.sub(i32x4.add(l, h), q6min(sc, x)));
    }
    acc = q6kFinish(t, s, x0, acc);
  }
  return acc;
}

/** q6kBlock for two groups' blocks at p and q against the same record (V_G2): q's sum left at PAIR. */
@inline function q6kBlock2(scr: usize, x: usize, p: usize, q: usize): v128 {
  const sp = q6sc(p), sq = q6sc(q);
  let x0 = v128.load(x), x1 = v128.load(x, 16);
  let a = i32x4.dot_i16x8_s(i16x8.add(dot8(x0, v128.load(p, 8)), dot8(x1, v128.load(p, 24))), q6lo(sp));
  let b = i32x4.dot_i16x8_s(i16x8.add(dot8(x0, v128.load(q, 8)), dot8(x1, v128.load(q, 24))), q6lo(sq));
  v128.store(scr, a, SINK);
  v128.store(scr, b, SINK + 16);
  x0 = v128.load(x, 32);
  x1 = v128.load(x, 48);
  a = i32x4.add(a, i32x4.dot_i16x8_s(i16x8.add(dot8(x0, v128.load(p, 40)), dot8(x1, v128.load(p, 56))), q6lo(sp)));
  b = i32x4.add(b, i32x4.dot_i16x8_s(i16x8.add(dot8(x0, v128.load(q, 40)), dot8(x1, v128.load(q, 56))), q6lo(sq)));
  v128.store(scr, a, SINK);
  v128.store(scr, b, SINK + 16);
  x0 = v128.load(x, 64);
  x1 = v128.load(x, 80);
  a = i32x4.add(a, i32x4.dot_i16x8_s(i16x8.add(dot8(x0, v128.load(p, 72)), dot8(x1, v128.load(p, 88))), q6hi(sp)));
  b = i32x4.add(b, i32x4.dot_i16x8_s(i16x8.add(dot8(x0, v128.load(q, 72)), dot8(x1, v128.load(q, 88))), q6hi(sq)));
  v128.store(scr, a, SINK);
  v128.store(scr, b, SINK + 16);
  x0 = v128.load(x, 96);
  x1 = v128.load(x, 112);
  a = i32x4.add(a, i32x4.dot_i16x8_s(i16x8.add(dot8(x0, v128.load(p, 104)), dot8(x1, v128.load(p, 120))), q6hi(sp)));
  b = i32x4.add(b, i32x4.dot_i16x8_s(i16x8.add(dot8(x0, v128.load(q, 104)), dot8(x1, v128.load(q, 120))), q6hi(sq)));
  v128.store(scr, i32x4.sub(b, q6min(sq, x)), PAIR);
  return i32x4.sub(a, q6min(sp, x));
}

/** V_G2: one token against Q6Kx4 groups g and g + 1 (at w and w + gBytes); rows g·4 .. g·4 + 7 at out. */
function q6k_t1g2(scr: usize, w: usize, gBytes: usize, nsb: i32, x: usize, xstep: usize, out: usize, rem: i32): void {
  let a0 = f32x4.splat(0), a1 = f32x4.splat(0);
  const end = w + <usize>nsb * Q6KX4_SB;
  for (let s = w; s < end; s += Q6KX4_SB) {
    const r = s + gBytes;
    const x0 = x;
    let t0 = i32x4.splat(0), t1 = i32x4.splat(0);
    for (let o: usize = 16; o < Q6KX4_SB; o += 136, x += xstep) {
      t0 = i32x4.add(t0, q6kBlock2(scr, x, s + o, r + o));
      t1 = i32x4.add(t1, v128.load(scr, PAIR));
    }
    a0 = q6kFinish(t0, s, x0, a0);
    a1 = q6kFinish(t1, r, x0, a1);
  }
  storeRows(out, a0, rem);
  storeRows(out + 16, a1, rem - 4);
}

/**
 * One 4-token tile against one Q4Kx4 group (weights unpacked once for four tokens): per block the
 * four tokens' i16 sums meet the scales in one pmaddwd each; the f32 sums wait in ACC4 while a
 * superblock's integer work holds the registers.
 */
function q4k_t4(scr: usize, w: usize, nsb: i32, x: usize, out: usize, ldo: i32, rem: i32): void {
  const m = v128.load(NIBBLES);
  v128.store(scr, f32x4.splat(0), ACC4);
  v128.store(scr, f32x4.splat(0), ACC4 + 16);
  v128.store(scr, f32x4.splat(0), ACC4 + 32);
  v128.store(scr, f32x4.splat(0), ACC4 + 48);
  const end = w + <usize>nsb * Q4KX4_SB;
  for (let s = w; s < end; s += Q4KX4_SB, x += 32 * REC) {
    let i0 = i32x4.splat(0), i1 = i32x4.splat(0), i2 = i32x4.splat(0), i3 = i32x4.splat(0);
    let xb = x;
    for (let p = s + Q4K_NIB; p < s + Q4KX4_SB; p += 64, xb += 4 * REC) {
      // Low nibbles for the four tokens, then high nibbles, chunk by chunk. The pin after each
      // chunk keeps the next chunk's loads behind it (V8 would hoist and spill them).
      let v: v128, h: v128, s0: v128, s1: v128, s2: v128, s3: v128;
      v = v128.load(p);
      h = v128.and(v, m);
      s0 = dot8(v128.load(xb, 0), h);
      s1 = dot8(v128.load(xb, REC + 0), h);
      s2 = dot8(v128.load(xb, 2 * REC + 0), h);
      s3 = dot8(v128.load(xb, 3 * REC + 0), h);
      h = v128.and(i16x8.shr_u(v, 4), m);
      s0 = i16x8.add(s0, dot8(v128.load(xb, 64), h));
      s1 = i16x8.add(s1, dot8(v128.load(xb, REC + 64), h));
      s2 = i16x8.add(s2, dot8(v128.load(xb, 2 * REC + 64), h));
      s3 = i16x8.add(s3, dot8(v128.load(xb, 3 * REC + 64), h));
      pin(scr, s0, s1, s2, s3);
      v = v128.load(p, 16);
      h = v128.and(v, m);
      s0 = i16x8.add(s0, dot8(v128.load(xb, 16), h));
      s1 = i16x8.add(s1, dot8(v128.load(xb, REC + 16), h));
      s2 = i16x8.add(s2, dot8(v128.load(xb, 2 * REC + 16), h));
      s3 = i16x8.add(s3, dot8(v128.load(xb, 3 * REC + 16), h));
      h = v128.and(i16x8.shr_u(v, 4), m);
      s0 = i16x8.add(s0, dot8(v128.load(xb, 80), h));
      s1 = i16x8.add(s1, dot8(v128.load(xb, REC + 80), h));
      s2 = i16x8.add(s2, dot8(v128.load(xb, 2 * REC + 80), h));
      s3 = i16x8.add(s3, dot8(v128.load(xb, 3 * REC + 80), h));
      pin(scr, s0, s1, s2, s3);
      v = v128.load(p, 32);
      h = v128.and(v, m);
      s0 = i16x8.add(s0, dot8(v128.load(xb, 32), h));
      s1 = i16x8.add(s1, dot8(v128.load(xb, REC + 32), h));
      s2 = i16x8.add(s2, dot8(v128.load(xb, 2 * REC + 32), h));
      s3 = i16x8.add(s3, dot8(v128.load(xb, 3 * REC + 32), h));
      h = v128.and(i16x8.shr_u(v, 4), m);
      s0 = i16x8.add(s0, dot8(v128.load(xb, 96), h));
      s1 = i16x8.add(s1, dot8(v128.load(xb, REC + 96), h));
      s2 = i16x8.add(s2, dot8(v128.load(xb, 2 * REC + 96), h));
      s3 = i16x8.add(s3, dot8(v128.load(xb, 3 * REC + 96), h));
      pin(scr, s0, s1, s2, s3);
      v = v128.load(p, 48);
      h = v128.and(v, m);
      s0 = i16x8.add(s0, dot8(v128.load(xb, 48), h));
      s1 = i16x8.add(s1, dot8(v128.load(xb, REC + 48), h));
      s2 = i16x8.add(s2, dot8(v128.load(xb, 2 * REC + 48), h));
      s3 = i16x8.add(s3, dot8(v128.load(xb, 3 * REC + 48), h));
      h = v128.and(i16x8.shr_u(v, 4), m);
      s0 = i16x8.add(s0, dot8(v128.load(xb, 112), h));
      s1 = i16x8.add(s1, dot8(v128.load(xb, REC + 112), h));
      s2 = i16x8.add(s2, dot8(v128.load(xb, 2 * REC + 112), h));
      s3 = i16x8.add(s3, dot8(v128.load(xb, 3 * REC + 112), h));
      pin(scr, s0, s1, s2, s3);
      const sc = scPairs(s, (p - s - Q4K_NIB) >> 6);
      i0 = i32x4.add(i0, i32x4.dot_i16x8_s(s0, sc));
      i1 = i32x4.add(i1, i32x4.dot_i16x8_s(s1, sc));
      i2 = i32x4.add(i2, i32x4.dot_i16x8_s(s2, sc));
      i3 = i32x4.add(i3, i32x4.dot_i16x8_s(s3, sc));
    }
    v128.store(scr, q4kFinish(i0, q4kMins(s, x, 4 * REC), s, x, v128.load(scr, ACC4)), ACC4);
    v128.store(scr, q4kFinish(i1, q4kMins(s, x + REC, 4 * REC), s, x + REC, v128.load(scr, ACC4 + 16)), ACC4 + 16);
    v128.store(scr, q4kFinish(i2, q4kMins(s, x + 2 * REC, 4 * REC), s, x + 2 * REC, v128.load(scr, ACC4 + 32)), ACC4 + 32);
    v128.store(scr, q4kFinish(i3, q4kMins(s, x + 3 * REC, 4 * REC), s, x + 3 * REC, v128.load(scr, ACC4 + 48)), ACC4 + 48);
  }
  const os = <usize>ldo << 2;
  storeRows(out, v128.load(scr, ACC4), rem);
  storeRows(out + os, v128.load(scr, ACC4 + 16), rem);
  storeRows(out + 2 * os, v128.load(scr, ACC4 + 32), rem);
  storeRows(out + 3 * os, v128.load(scr, ACC4 + 48), rem);
}

/**
 * One 4-token tile against one Q6Kx4 group: each 16-column half's weights loaded once for four
 * tokens; integer sums per superblock, the f32 sums in ACC4 meanwhile (as q4k_t4).
 */
function q6k_t4(scr: usize, w: usize, nsb: i32, x: usize, out: usize, ldo: i32, rem: i32): void {
  v128.store(scr, f32x4.splat(0), ACC4);
  v128.store(scr, f32x4.splat(0), ACC4 + 16);
  v128.store(scr, f32x4.splat(0), ACC4 + 32);
  v128.store(scr, f32x4.splat(0), ACC4 + 48);
  const end = w + <usize>nsb * Q6KX4_SB;
  for (let s = w; s < end; s += Q6KX4_SB, x += 32 * REC) {
    let i0 = i32x4.splat(0), i1 = i32x4.splat(0), i2 = i32x4.splat(0), i3 = i32x4.splat(0);
    let xb = x;
    for (let p = s + 16; p < s + Q6KX4_SB; p += 136, xb += 4 * REC) {
      const sc = q6sc(p);
      let h = q6lo(sc);
      let w0 = v128.load(p, 8), w1 = v128.load(p, 24), w2 = v128.load(p, 40), w3 = v128.load(p, 56);
      i0 = i32x4.add(i0, q6half(xb, w0, w1, w2, w3, h));
      v128.store(scr, i0, SINK);
      i1 = i32x4.add(i1, q6half(xb + REC, w0, w1, w2, w3, h));
      v128.store(scr, i1, SINK + 16);
      i2 = i32x4.add(i2, q6half(xb + 2 * REC, w0, w1, w2, w3, h));
      v128.store(scr, i2, SINK + 32);
      i3 = i32x4.add(i3, q6half(xb + 3 * REC, w0, w1, w2, w3, h));
      v128.store(scr, i3, SINK + 48);
      h = q6hi(sc);
      w0 = v128.load(p, 72);
      w1 = v128.load(p, 88);
      w2 = v128.load(p, 104);
      w3 = v128.load(p, 120);
      i0 = i32x4.sub(i32x4.add(i0, q6half(xb + 64, w0, w1, w2, w3, h)), q6min(sc, xb));
      v128.store(scr, i0, SINK);
      i1 = i32x4.sub(i32x4.add(i1, q6half(xb + REC + 64, w0, w1, w2, w3, h)), q6min(sc, xb + REC));
      v128.store(scr, i1, SINK + 16);
      i2 = i32x4.sub(i32x4.add(i2, q6half(xb + 2 * REC + 64, w0, w1, w2, w3, h)), q6min(sc, xb + 2 * REC));
      v128.store(scr, i2, SINK + 32);
      i3 = i32x4.sub(i32x4.add(i3, q6half(xb + 3 * REC + 64, w0, w1, w2, w3, h)), q6min(sc, xb + 3 * REC));
      v128.store(scr, i3, SINK + 48);
    }
    v128.store(scr, q6kFinish(i0, s, x, v128.load(scr, ACC4)), ACC4);
    v128.store(scr, q6kFinish(i1, s, x + REC, v128.load(scr, ACC4 + 16)), ACC4 + 16);
    v128.store(scr, q6kFinish(i2, s, x + 2 * REC, v128.load(scr, ACC4 + 32)), ACC4 + 32);
    v128.store(scr, q6kFinish(i3, s, x + 3 * REC, v128.load(scr, ACC4 + 48)), ACC4 + 48);
  }
  const os = <usize>ldo << 2;
  storeRows(out, v128.load(scr, ACC4), rem);
  storeRows(out + os, v128.load(scr, ACC4 + 16), rem);
  storeRows(out + 2 * os, v128.load(scr, ACC4 + 32), rem);
  storeRows(out + 3 * os, v128.load(scr, ACC4 + 48), rem);
}

/**
 * sc·Σ over 32 columns of 4 rows against the chunk vectors in Q5CHUNKS (values ≤ 31: 4 dots per i16 sum,
 * 4·2·127·31 < 2^15); sc: the block's scale pairs (scPairs).
 */
@inline function q5blk(scr: usize, x: usize, sc: v128): v128 {
  const lo = i16x8.add(i16x8.add(dot8(v128.load(x), v128.load(scr, Q5CHUNKS)), dot8(v128.load(x, 16), v128.load(scr, Q5CHUNKS + 16))),
    i16x8.add(dot8(v128.load(x, 32), v128.load(scr, Q5CHUNKS + 32)), dot8(v128.load(x, 48), v128.load(scr, Q5CHUNKS + 48))));
  v128.store(scr, lo, SINK);
  const hi = i16x8.add(i16x8.add(dot8(v128.load(x, 64), v128.load(scr, Q5CHUNKS + 64)), dot8(v128.load(x, 80), v128.load(scr, Q5CHUNKS + 80))),
    i16x8.add(dot8(v128.load(x, 96), v128.load(scr, Q5CHUNKS + 96)), dot8(v128.load(x, 112), v128.load(scr, Q5CHUNKS + 112))));
  return i32x4.add(i32x4.dot_i16x8_s(lo, sc), i32x4.dot_i16x8_s(hi, sc));
}

/** Chunk k (k < 4) of a Q5Kx4 block: low nibbles of vector k plus fifth bit k (moved to bit 4). */
@inline function q5lo(v: v128, h: v128, k: i32, m: v128, b4: v128): v128 {
  return v128.or(v128.and(v, m), v128.and(i16x8.shl(h, 4 - k), b4));
}
/** Chunk 4 + k: high nibbles of vector k plus fifth bit 4 + k. */
@inline function q5hi(v: v128, h: v128, k: i32, m: v128, b4: v128): v128 {
  return v128.or(v128.and(i16x8.shr_u(v, 4), m), v128.and(i16x8.shr_u(h, k), b4));
}

/** Unpacks the Q5Kx4 block at p (nibbles; fifth bits at p + 64) into Q5CHUNKS' 8 chunk vectors. */
@inline function q5unpack(scr: usize, p: usize, m: v128, b4: v128): void {
  const h = v128.load(p, 64);
  const v0 = v128.load(p), v1 = v128.load(p, 16), v2 = v128.load(p, 32), v3 = v128.load(p, 48);
  v128.store(scr, q5lo(v0, h, 0, m, b4), Q5CHUNKS);
  v128.store(scr, q5lo(v1, h, 1, m, b4), Q5CHUNKS + 16);
  v128.store(scr, q5lo(v2, h, 2, m, b4), Q5CHUNKS + 32);
  v128.store(scr, q5lo(v3, h, 3, m, b4), Q5CHUNKS + 48);
  v128.store(scr, q5hi(v0, h, 0, m, b4), Q5CHUNKS + 64);
  v128.store(scr, q5hi(v1, h, 1, m, b4), Q5CHUNKS + 80);
  v128.store(scr, q5hi(v2, h, 2, m, b4), Q5CHUNKS + 96);
  v128.store(scr, q5hi(v3, h, 3, m, b4), Q5CHUNKS + 112);
}

/** isum + one token's sum over block j of the Q5Kx4 superblock at s, unpacked through Q5CHUNKS. */
@inline function q5kNext(scr: usize, isum: v128, s: usize, j: usize, x: usize, m: v128, b4: v128): v128 {
  q5unpack(scr, s + Q4K_NIB + j * Q5K_BLOCK, m, b4);
  return i32x4.add(isum, q5blk(scr, x, scPairs(s, j)));
}

/**
 * One token against one Q5Kx4 group (x: its quant_rec_q8k records, xstep: record to record). Each
 * block is unpacked through memory: in registers (the 8 chunks built and dotted at once) the
 * body's loads were all hoisted and spilled. Unrolled over the superblock as q4k_t1.
 */
function q5k_t1(scr: usize, w: usize, nsb: i32, x: usize, xstep: usize): v128 {
  const m = v128.load(NIBBLES);
  const b4 = v128.load(NIBBLES, 16);
  let acc = f32x4.splat(0);
  const end = w + <usize>nsb * Q5KX4_SB;
  for (let s = w; s < end; s += Q5KX4_SB, x += 8 * xstep) {
    let xb = x;
    let isum = q5kNext(scr, i32x4.splat(0), s, 0, xb, m, b4);
    isum = q5kNext(scr, isum, s, 1, (xb += xstep), m, b4);
    isum = q5kNext(scr, isum, s, 2, (xb += xstep), m, b4);
    isum = q5kNext(scr, isum, s, 3, (xb += xstep), m, b4);
    isum = q5kNext(scr, isum, s, 4, (xb += xstep), m, b4);
    isum = q5kNext(scr, isum, s, 5, (xb += xstep), m, b4);
    isum = q5kNext(scr, isum, s, 6, (xb += xstep), m, b4);
    isum = q5kNext(scr, isum, s, 7, (xb += xstep), m, b4);
    acc = q4kFinish(isum, q4kMins(s, x, xstep), s, x, acc);
  }
  return acc;
}

/** One 4-token tile against one Q5Kx4 group: each block unpacked once (Q5CHUNKS) for four tokens. */
function q5k_t4(scr: usize, w: usize, nsb: i32, x: usize, out: usize, ldo: i32, rem: i32): void {
  const m = v128.load(NIBBLES);
  const b4 = v128.load(NIBBLES, 16);
  v128.store(scr, f32x4.splat(0), ACC4);
  v128.store(scr, f32x4.splat(0), ACC4 + 16);
  v128.store(scr, f32x4.splat(0), ACC4 + 32);
  v128.store(scr, f32x4.splat(0), ACC4 + 48);
  const end = w + <usize>nsb * Q5KX4_SB;
  for (let s = w; s < end; s += Q5KX4_SB, x += 32 * REC) {
    let i0 = i32x4.splat(0), i1 = i32x4.splat(0), i2 = i32x4.splat(0), i3 = i32x4.splat(0);
    let xb = x;
    for (let j: usize = 0; j < 8; j++, xb += 4 * REC) {
      q5unpack(scr, s + Q4K_NIB + j * Q5K_BLOCK, m, b4);
      const sc = scPairs(s, j);
      i0 = i32x4.add(i0, q5blk(scr, xb, sc));
      v128.store(scr, i0, SINK + 16);
      i1 = i32x4.add(i1, q5blk(scr, xb + REC, sc));
      v128.store(scr, i1, SINK + 16);
      i2 = i32x4.add(i2, q5blk(scr, xb + 2 * REC, sc));
      v128.store(scr, i2, SINK + 16);
      i3 = i32x4.add(i3, q5blk(scr, xb + 3 * REC, sc));
      v128.store(scr, i3, SINK + 16);
    }
    v128.store(scr, q4kFinish(i0, q4kMins(s, x, 4 * REC), s, x, v128.load(scr, ACC4)), ACC4);
    v128.store(scr, q4kFinish(i1, q4kMins(s, x + REC, 4 * REC), s, x + REC, v128.load(scr, ACC4 + 16)), ACC4 + 16);
    v128.store(scr, q4kFinish(i2, q4kMins(s, x + 2 * REC, 4 * REC), s, x + 2 * REC, v128.load(scr, ACC4 + 32)), ACC4 + 32);
    v128.store(scr, q4kFinish(i3, q4kMins(s, x + 3 * REC, 4 * REC), s, x + 3 * REC, v128.load(scr, ACC4 + 48)), ACC4 + 48);
  }
  const os = <usize>ldo << 2;
  storeRows(out, v128.load(scr, ACC4), rem);
  storeRows(out + os, v128.load(scr, ACC4 + 16), rem);
  storeRows(out + 2 * os, v128.load(scr, ACC4 + 32), rem);
  storeRows(out + 3 * os, v128.load(scr, ACC4 + 48), rem);
}

/**
 * out[t, r] = Σ_c x[t, c] · w[r, c] for r < rowsValid; kind 12 = Q4Kx4, 13 = Q5Kx4, 14 = Q6Kx4; xr: signed
 * 8-bit records (quant_rec_q8k). Groups are tiled so ~96 KiB of weights stay hot across tokens.
 */
export function mm_kx4(kind: i32, w: usize, groups: i32, rowsValid: i32, cols: i32, n: i32, xr: usize, out: usize, ldo: i32): void {
  const scr = SCRATCH;
  const nsb = cols >> 8;
  const sb = kind == 12 ? Q4KX4_SB : kind == 13 ? Q5KX4_SB : Q6KX4_SB;
  const gBytes = <usize>nsb * sb;
  const tileBytes = <usize>(cols >> 5) * 4 * REC;
  const vQ4K = variant(OP_Q4_K), vQ6K = variant(OP_Q6_K);
  const gt = groupTile(gBytes);
  const tbN = tokenBlock(tileBytes);
  for (let tb = 0; tb < n; tb += tbN) {
    const te = min(n, tb + tbN);
    for (let g0 = 0; g0 < groups; g0 += gt) {
      const g1 = min(groups, g0 + gt);
      for (let t = tb; t < te; t += 4) {
        const ts = min(4, n - t);
        const xt = xr + <usize>(t >> 2) * tileBytes;
        if (ts == 4) {
          for (let g = g0; g < g1; g++) {
            const o = out + ((<usize>t * ldo + (g << 2)) << 2);
            if (kind == 12) q4k_t4(scr, w + <usize>g * gBytes, nsb, xt, o, ldo, rowsValid - (g << 2));
            else if (kind == 13) q5k_t4(scr, w + <usize>g * gBytes, nsb, xt, o, ldo, rowsValid - (g << 2));
            else q6k_t4(scr, w + <usize>g * gBytes, nsb, xt, o, ldo, rowsValid - (g << 2));
          }
          continue;
        }
        for (let j = 0; j < ts; j++) {
          let g = g0;
          const xj = xt + <usize>j * REC;
          const step = <usize>ts * REC;
          if (kind == 12 && vQ4K == V_G2) {
            for (; g + 1 < g1; g += 2) {
              q4k_t1g2(scr, w + <usize>g * gBytes, gBytes, nsb, xj, step, out + ((<usize>(t + j) * ldo + (g << 2)) << 2), rowsValid - (g << 2));
            }
          } else if (kind == 14 && vQ6K == V_G2) {
            for (; g + 1 < g1; g += 2) {
              q6k_t1g2(scr, w + <usize>g * gBytes, gBytes, nsb, xj, step, out + ((<usize>(t + j) * ldo + (g << 2)) << 2), rowsValid - (g << 2));
            }
          }
          for (; g < g1; g++) {
            const wg = w + <usize>g * gBytes;
            const v = kind == 12 ? (vQ4K == V_DOTADD ? q4k_t1a(scr, wg, nsb, xj, step) : q4k_t1(scr, wg, nsb, xj, step)) : kind == 13 ? q5k_t1(scr, wg, nsb, xj, step) : vQ6K == V_DOTADD ? q6k_t1a(scr, wg, nsb, xj, step) : q6k_t1(scr, wg, nsb, xj, step);
            storeRows(out + ((<usize>(t + j) * ldo + (g << 2)) << 2), v, rowsValid - (g << 2));
          }
        }
      }
    }
  }
}
