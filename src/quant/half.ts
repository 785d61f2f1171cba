/**
 * Exact half-precision conversions. F16 → F32 goes through a 65536-entry table built once
 * (every f16 value, subnormals, ±inf and NaN payloads included, is exactly representable in f32).
 * BF16 → F32 is the top half of an f32. F32 → F16 rounds to nearest, ties to even, like the
 * hardware conversion ggml uses (F16C / `_cvtss_sh`), so F16 KV caches match llama.cpp's.
 */

function buildF16Table(): Float32Array {
  const table = new Float32Array(65536);
  const bits = new Uint32Array(table.buffer);
  for (let h = 0; h < 65536; h++) {
    const sign = (h & 0x8000) << 16;
    const exp = (h >> 10) & 0x1f;
    const mant = h & 0x3ff;
    if (exp === 0x1f) {
      // inf / NaN: keep the payload in the top mantissa bits.
      bits[h] = (sign | 0x7f800000 | (mant << 13)) >>> 0;
    } else if (exp === 0) {
      // zero or subnormal: mant · 2^-24, exact in f32.
      table[h] = (sign ? -1 : 1) * mant * 2 ** -24;
    } else {
      bits[h] = (sign | ((exp + 112) << 23) | (mant << 13)) >>> 0;
    }
  }
  return table;
}

/** All 65536 f16 values widened to f32; index with the raw 16-bit pattern. */
export const F16_TABLE: Float32Array = buildF16Table();

export function f16ToF32(h: number): number {
  return F16_TABLE[h & 0xffff]!;
}

const cvtF32 = new Float32Array(1);
const cvtU32 = new Uint32Array(cvtF32.buffer);

export function bf16ToF32(b: number): number {
  cvtU32[0] = (b & 0xffff) << 16;
  return cvtF32[0]!;
}

/** f32 → bf16 bits, round to nearest even (NaN stays a quiet NaN), as PyTorch/ggml do. */
export function f32ToBF16(x: number): number {
  cvtF32[0] = x;
  const u = cvtU32[0]!;
  if ((u & 0x7fffffff) > 0x7f800000) return ((u >>> 16) | 0x40) & 0xffff;
  return ((u + 0x7fff + ((u >>> 16) & 1)) >>> 16) & 0xffff;
}

/** f32 (the argument is first rounded to f32) → f16 bits, round to nearest, ties to even. */
export function f32ToF16(x: number): number {
  cvtF32[0] = x;
  const u = cvtU32[0]!;
  const sign = (u >>> 16) & 0x8000;
  const exp = (u >>> 23) & 0xff;
  const mant = u & 0x7fffff;
  if (exp === 0xff) {
    // inf stays inf; NaN keeps its top payload bits and is forced quiet.
    return mant === 0 ? sign | 0x7c00 : sign | 0x7e00 | (mant >>> 13);
  }
  const e = exp - 127 + 15; // rebiased exponent
  if (e >= 0x1f) return sign | 0x7c00; // overflow → inf
  if (e <= 0) {
    // Result is subnormal (or zero): value = m · 2^-24 with m = full mantissa shifted right.
    if (e < -10) return sign; // below half the smallest subnormal → ±0
    const full = mant | 0x800000; // 24-bit significand
    const shift = 14 - e; // 14..24
    const q = full >>> shift;
    const rem = full & ((1 << shift) - 1);
    const half = 1 << (shift - 1);
    const r = rem > half || (rem === half && (q & 1) === 1) ? q + 1 : q;
    return sign | r; // r may carry into the exponent field: that is the correct smallest normal
  }
  const q = (e << 10) | (mant >>> 13);
  const rem = mant & 0x1fff;
  const r = rem > 0x1000 || (rem === 0x1000 && (q & 1) === 1) ? q + 1 : q; // carry may reach inf: correct
  return sign | r;
}

/** Converts a whole Float32Array to f16 bits (for F16 KV caches and writers). */
export function f32ArrayToF16(src: Float32Array, out: Uint16Array = new Uint16Array(src.length)): Uint16Array {
  for (let i = 0; i < src.length; i++) out[i] = f32ToF16(src[i]!);
  return out;
}
