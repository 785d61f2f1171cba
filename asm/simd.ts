// Shared SIMD helpers. Compiled twice: with relaxed SIMD (ASC_FEATURE_RELAXED_SIMD true) and without.

/**
 * Pairwise int8 dot into i16 lanes: lane j = a[2j]·b[2j] + a[2j+1]·b[2j+1], `a` signed, `b`
 * UNSIGNED (0..255). On x64 V8 lowers the relaxed op to pmaddubsw, which reads `b` as unsigned
 * and saturates the pair sum, so callers keep |a|·b·2 ≤ 32767 (no saturation) and the
 * standard-SIMD fallback below computes the same integers. Where the relaxed op reads `b` as
 * signed (arm64), the loader sees it with dot8_probe and takes the standard-SIMD module instead.
 */
@inline export function dot8(a: v128, b: v128): v128 {
  if (ASC_FEATURE_RELAXED_SIMD) {
    return i16x8.relaxed_dot_i8x16_i7x16_s(a, b);
  } else {
    const lo = i16x8.mul(i16x8.extend_low_i8x16_s(a), i16x8.extend_low_i8x16_u(b));
    const hi = i16x8.mul(i16x8.extend_high_i8x16_s(a), i16x8.extend_high_i8x16_u(b));
    const ev = v128.shuffle<i16>(lo, hi, 0, 2, 4, 6, 8, 10, 12, 14);
    const od = v128.shuffle<i16>(lo, hi, 1, 3, 5, 7, 9, 11, 13, 15);
    return i16x8.add(ev, od);
  }
}

/**
 * Lane 0 of dot8(splat(a), splat(b)); the loader calls it with a = 1, b = 0xff: 510 where `b` is
 * read as unsigned (what the kernels need), −2 where signed. Parameters, not constants, so the
 * optimizer cannot fold it with its own reading of the relaxed op.
 */
export function dot8_probe(a: i32, b: i32): i32 {
  return i16x8.extract_lane_s(dot8(i8x16.splat(<i8>a), i8x16.splat(<i8>b)), 0);
}

/** i32 lane j = Σ a[4j..4j+3]·b[4j..4j+3] (same operand rules as dot8). */
@inline export function dot32(a: v128, b: v128): v128 {
  // Not i32x4.relaxed_dot_i8x16_i7x16_add_s: Node 20's Liftoff tier miscompiles it (doubles
  // the result and drops the accumulator); this pair lowers to the same pmaddubsw + pmaddwd.
  return i32x4.extadd_pairwise_i16x8_s(dot8(a, b));
}

/** As dot32, widening with pmaddwd against `ones` (i16x8.splat(1) held in a register by the caller). */
@inline export function dot32o(a: v128, b: v128, ones: v128): v128 {
  return i32x4.dot_i16x8_s(dot8(a, b), ones);
}

/**
 * acc + dot32(a, b) in one relaxed op (V8 lowers it to vpdpbusd where the CPU has AVX-VNNI).
 * Node 20's Liftoff tier miscompiles it (doubles the result, drops the accumulator), so only the
 * V_DOTADD kernel variants use it, and the loader checks that variant's output against the
 * pmaddubsw form before choosing it (src/backend/wasm/kernel-choice.ts).
 */
@inline export function dotAdd(a: v128, b: v128, acc: v128, ones: v128): v128 {
  if (ASC_FEATURE_RELAXED_SIMD) {
    return i32x4.relaxed_dot_i8x16_i7x16_add_s(a, b, acc);
  } else {
    return i32x4.add(acc, i32x4.dot_i16x8_s(dot8(a, b), ones));
  }
}

/** a·b + c (fused where relaxed SIMD allows it). */
@inline export function fma(a: v128, b: v128, c: v128): v128 {
  if (ASC_FEATURE_RELAXED_SIMD) {
    return f32x4.relaxed_madd(a, b, c);
  } else {
    return f32x4.add(f32x4.mul(a, b), c);
  }
}

@inline export function hsum(v: v128): f32 {
  const s = f32x4.add(v, v128.shuffle<f32>(v, v, 2, 3, 0, 1));
  return f32x4.extract_lane(s, 0) + f32x4.extract_lane(s, 1);
}

@inline export function hsumi(v: v128): i32 {
  const s = i32x4.add(v, v128.shuffle<i32>(v, v, 2, 3, 0, 1));
  return i32x4.extract_lane(s, 0) + i32x4.extract_lane(s, 1);
}

@inline export function hmax(v: v128): f32 {
  const s = f32x4.max(v, v128.shuffle<f32>(v, v, 2, 3, 0, 1));
  return max(f32x4.extract_lane(s, 0), f32x4.extract_lane(s, 1));
}

/**
 * Four f16 values, SIGN-extended in i32 lanes (i32x4.extend_*_i16x8_s) → f32, exact for every
 * finite value including subnormals. Shifted left by 13, the magnitude lands in an f32's
 * exponent/mantissa and the sign in bit 31, with copies of it in bits 28–30 that `mask` clears;
 * the product by `scale` = 2^112 then fixes the exponent bias (a power of two: exact, and it keeps
 * the sign). 4 operations where masking the sign off and back on took 7. Inf/NaN f16 inputs are
 * not handled (they come out as large finite numbers). The caller loads mask and scale once
 * (h2fMask, h2fScale) and passes them down: V8 rebuilds a v128 constant at every use.
 */
@inline export function h2f(h: v128, mask: v128, scale: v128): v128 {
  return f32x4.mul(v128.and(i32x4.shl(h, 13), mask), scale);
}

const H2F_DATA = memory.data<u32>([
  0x8fffffff, 0x8fffffff, 0x8fffffff, 0x8fffffff,
  0x77800000, 0x77800000, 0x77800000, 0x77800000,
], 16);

@inline export function h2fMask(): v128 {
  return v128.load(H2F_DATA);
}
@inline export function h2fScale(): v128 {
  return v128.load(H2F_DATA, 16);
}

/** Scalar f16 bits → f32 (exact, including inf/NaN). */
export function h2fs(h: u32): f32 {
  const e = (h >> 10) & 0x1f;
  const s = (h & 0x8000) << 16;
  if (e == 0x1f) return reinterpret<f32>(s | 0x7f800000 | ((h & 0x3ff) << 13));
  const m = reinterpret<f32>((h & 0x7fff) << 13) * reinterpret<f32>(0x77800000);
  return reinterpret<f32>(reinterpret<u32>(m) | s);
}

/** f32 → f16 bits, round to nearest even (like F16C). */
export function f2h(x: f32): u32 {
  const u = reinterpret<u32>(x);
  const sign = (u >> 16) & 0x8000;
  const exp = <i32>((u >> 23) & 0xff);
  const mant = u & 0x7fffff;
  if (exp == 0xff) return mant == 0 ? sign | 0x7c00 : sign | 0x7e00 | (mant >> 13);
  const e = exp - 127 + 15;
  if (e >= 0x1f) return sign | 0x7c00;
  if (e <= 0) {
    if (e < -10) return sign;
    const m = mant | 0x800000;
    const shift = <u32>(14 - e);
    let r = m >> shift;
    const rem = m & ((1 << shift) - 1);
    const half = <u32>1 << (shift - 1);
    if (rem > half || (rem == half && (r & 1) != 0)) r++;
    return sign | r;
  }
  let r = (<u32>e << 10) | (mant >> 13);
  const rem = mant & 0x1fff;
  if (rem > 0x1000 || (rem == 0x1000 && (r & 1) != 0)) r++;
  return sign | r;
}

/** 1.5·2^23 and its bits: see exp4. */
const MAGIC: f32 = 12582912.0;
const MAGIC_BITS: i32 = 0x4b400000;

/**
 * e^x for four lanes (Cephes-style: 2^n · p(r), |rel err| < 2e-7). Inputs below -87.3 give a
 * tiny positive value, not 0: callers that need exact zeros mask them.
 */
@inline export function exp4(x: v128): v128 {
  // pmax/pmin (one maxps/minps each) instead of max/min (~9 instructions each on x64 for their NaN
  // and ±0 rules): with x first, a NaN x still comes out NaN, and the clamp bounds are not zero.
  x = f32x4.pmin(f32x4.pmax(x, f32x4.splat(-87.33)), f32x4.splat(88.3));
  // Adding 1.5·2^23 rounds x·log2(e) to the nearest integer, ties to even (as f32x4.nearest does:
  // |x·log2(e)| < 2^22), and leaves that integer in the low mantissa bits: the exponent for 2^n
  // without trunc_sat, which x64 lowers to a long NaN/overflow-safe sequence.
  const t = f32x4.add(f32x4.mul(x, f32x4.splat(1.44269504)), f32x4.splat(MAGIC));
  const n = f32x4.sub(t, f32x4.splat(MAGIC));
  let r = f32x4.sub(x, f32x4.mul(n, f32x4.splat(0.693359375)));
  r = f32x4.sub(r, f32x4.mul(n, f32x4.splat(-2.12194440e-4)));
  let p = f32x4.splat(1.9875691500e-4);
  p = fma(p, r, f32x4.splat(1.3981999507e-3));
  p = fma(p, r, f32x4.splat(8.3334519073e-3));
  p = fma(p, r, f32x4.splat(4.1665795894e-2));
  p = fma(p, r, f32x4.splat(1.6666665459e-1));
  p = fma(p, r, f32x4.splat(5.0000001201e-1));
  const r2 = f32x4.mul(r, r);
  p = f32x4.add(fma(p, r2, r), f32x4.splat(1.0));
  const e = i32x4.shl(i32x4.add(t, i32x4.splat(127 - MAGIC_BITS)), 23);
  return f32x4.mul(p, e);
}

/**
 * exp4's constants, each as a whole vector, for exp4t. V8 rebuilds a v128 constant at every use
 * (a 64-bit immediate, a move and a shuffle: three instructions).
 */
const EXP_C = memory.data<f32>([
  -87.33, -87.33, -87.33, -87.33, // 0: lower clamp
  88.3, 88.3, 88.3, 88.3, // 16: upper clamp
  1.44269504, 1.44269504, 1.44269504, 1.44269504, // 32: log2(e)
  MAGIC, MAGIC, MAGIC, MAGIC, // 48
  0.693359375, 0.693359375, 0.693359375, 0.693359375, // 64: ln 2, high part
  -2.12194440e-4, -2.12194440e-4, -2.12194440e-4, -2.12194440e-4, // 80: ln 2, low part
  1.9875691500e-4, 1.9875691500e-4, 1.9875691500e-4, 1.9875691500e-4, // 96: p0
  1.3981999507e-3, 1.3981999507e-3, 1.3981999507e-3, 1.3981999507e-3, // 112
  8.3334519073e-3, 8.3334519073e-3, 8.3334519073e-3, 8.3334519073e-3, // 128
  4.1665795894e-2, 4.1665795894e-2, 4.1665795894e-2, 4.1665795894e-2, // 144
  1.6666665459e-1, 1.6666665459e-1, 1.6666665459e-1, 1.6666665459e-1, // 160
  5.0000001201e-1, 5.0000001201e-1, 5.0000001201e-1, 5.0000001201e-1, // 176
  1.0, 1.0, 1.0, 1.0, // 192
], 16);
/** 127 − MAGIC_BITS as i32 lanes. */
const EXP_BIAS = memory.data<i32>([127 - MAGIC_BITS, 127 - MAGIC_BITS, 127 - MAGIC_BITS, 127 - MAGIC_BITS], 16);

/**
 * exp4 with its constants loaded from a table: the same operations on the same values, so the
 * same bits. Faster where the standard-SIMD build has no FMA and the loop leaves registers for
 * them (the sampler's row passes: 9 %), slower in the FMA build's tight loops (siluMul: 20 %).
 */
@inline export function exp4t(x: v128): v128 {
  const c = EXP_C;
  x = f32x4.pmin(f32x4.pmax(x, v128.load(c)), v128.load(c, 16));
  const magic = v128.load(c, 48);
  const t = f32x4.add(f32x4.mul(x, v128.load(c, 32)), magic);
  const n = f32x4.sub(t, magic);
  let r = f32x4.sub(x, f32x4.mul(n, v128.load(c, 64)));
  r = f32x4.sub(r, f32x4.mul(n, v128.load(c, 80)));
  let p = v128.load(c, 96);
  p = fma(p, r, v128.load(c, 112));
  p = fma(p, r, v128.load(c, 128));
  p = fma(p, r, v128.load(c, 144));
  p = fma(p, r, v128.load(c, 160));
  p = fma(p, r, v128.load(c, 176));
  const r2 = f32x4.mul(r, r);
  p = f32x4.add(fma(p, r2, r), v128.load(c, 192));
  const e = i32x4.shl(i32x4.add(t, v128.load(EXP_BIAS)), 23);
  return f32x4.mul(p, e);
}
