/**
 * Bit-exact ports of ggml's `dequantize_row_*` (ggml-quants.c). Each block decoder follows ggml's
 * float32 operation order. In every formula the intermediate products (f16 scale × small integer,
 * then × quant) fit in ≤ 25 significant bits, so they are exact in double and the single rounding
 * happens where ggml rounds last: the store into the Float32Array (double rounding of a double
 * result of f32 operands to f32 equals direct f32 rounding for + - ×). Where a product of two
 * already-rounded f32 values would not be exact, Math.fround makes the intermediate rounding explicit.
 *
 * Hot path: the reference backend calls dequantizeRow once per weight row inside matmul, so the
 * loops index bytes directly (no DataView, no allocation).
 */
import { BadArgumentError, UnsupportedTensorTypeError } from '../errors/errors.js';
import type { TensorRecord } from '../formats/types.js';
import { BLOCK, DType, dtypeName } from './dtype.js';
import { F16_TABLE } from './half.js';

/** IQ4_NL's fixed non-linear 4-bit codebook (ggml `kvalues_iq4nl`). */
export const IQ4_NL_VALUES: Int8Array = Int8Array.from([
  -127, -104, -83, -65, -49, -35, -22, -10, 1, 13, 25, 38, 53, 69, 89, 113,
]);

/** The dtypes dequantizeRow understands. */
export const DEQUANT_TYPES: ReadonlySet<DType> = new Set([
  DType.F32, DType.F16, DType.BF16, DType.Q4_0, DType.Q4_1, DType.Q5_0, DType.Q5_1, DType.Q8_0,
  DType.Q2_K, DType.Q3_K, DType.Q4_K, DType.Q5_K, DType.Q6_K, DType.Q8_K, DType.IQ4_NL,
]);

export function canDequantize(t: DType): boolean {
  return DEQUANT_TYPES.has(t);
}

const f32Scratch = new Float32Array(1);
const f32ScratchBytes = new Uint8Array(f32Scratch.buffer);

function f16(src: Uint8Array, p: number): number {
  return F16_TABLE[src[p]! | (src[p + 1]! << 8)]!;
}

function f32At(src: Uint8Array, p: number): number {
  f32ScratchBytes[0] = src[p]!;
  f32ScratchBytes[1] = src[p + 1]!;
  f32ScratchBytes[2] = src[p + 2]!;
  f32ScratchBytes[3] = src[p + 3]!;
  return f32Scratch[0]!;
}

/**
 * Dequantizes `n` elements (a whole number of blocks) of type `dtype`, starting at byte
 * `srcOffset` of `src`, into `out[outOffset .. outOffset + n)`.
 * Assumes a little-endian host (every platform Node ships on).
 */
export function dequantizeRow(
  dtype: DType,
  src: Uint8Array,
  srcOffset: number,
  out: Float32Array,
  outOffset: number,
  n: number,
  tensorName = '(row)',
): void {
  const layout = BLOCK[dtype];
  if (!layout || !DEQUANT_TYPES.has(dtype)) throw new UnsupportedTensorTypeError(tensorName, dtypeName(dtype));
  if (n % layout.blockElems !== 0) {
    throw new BadArgumentError(`${dtypeName(dtype)}: ${n} elements is not a whole number of ${layout.blockElems}-element blocks`);
  }
  const nb = n / layout.blockElems;
  if (srcOffset + nb * layout.blockBytes > src.length || outOffset + n > out.length) {
    throw new BadArgumentError(`${dtypeName(dtype)}: dequantizing ${n} elements runs past the source or output buffer`);
  }
  switch (dtype) {
    case DType.F32:
      // Byte copy: works for any source alignment.
      new Uint8Array(out.buffer, out.byteOffset + outOffset * 4, n * 4).set(src.subarray(srcOffset, srcOffset + n * 4));
      return;
    case DType.F16:
      for (let i = 0, p = srcOffset, o = outOffset; i < n; i++, p += 2, o++) out[o] = F16_TABLE[src[p]! | (src[p + 1]! << 8)]!;
      return;
    case DType.BF16:
      return deqBF16(src, srcOffset, out, outOffset, n);
    case DType.Q4_0:
      return deqQ4_0(src, srcOffset, out, outOffset, nb);
    case DType.Q4_1:
      return deqQ4_1(src, srcOffset, out, outOffset, nb);
    case DType.Q5_0:
      return deqQ5_0(src, srcOffset, out, outOffset, nb);
    case DType.Q5_1:
      return deqQ5_1(src, srcOffset, out, outOffset, nb);
    case DType.Q8_0:
      return deqQ8_0(src, srcOffset, out, outOffset, nb);
    case DType.IQ4_NL:
      return deqIQ4_NL(src, srcOffset, out, outOffset, nb);
    case DType.Q2_K:
      return deqQ2_K(src, srcOffset, out, outOffset, nb);
    case DType.Q3_K:
      return deqQ3_K(src, srcOffset, out, outOffset, nb);
    case DType.Q4_K:
      return deqQ4_K(src, srcOffset, out, outOffset, nb);
    case DType.Q5_K:
      return deqQ5_K(src, srcOffset, out, outOffset, nb);
    case DType.Q6_K:
      return deqQ6_K(src, srcOffset, out, outOffset, nb);
    case DType.Q8_K:
      return deqQ8_K(src, srcOffset, out, outOffset, nb);
    default:
      throw new UnsupportedTensorTypeError(tensorName, dtypeName(dtype));
  }
}

/** Reads a whole tensor and dequantizes it to f32 (shape unchanged, row-major). */
export function dequantizeTensor(rec: TensorRecord): Float32Array {
  if (!DEQUANT_TYPES.has(rec.dtype)) throw new UnsupportedTensorTypeError(rec.name, dtypeName(rec.dtype));
  let n = 1;
  for (const d of rec.shape) n *= d;
  const bytes = rec.read();
  const out = new Float32Array(n);
  dequantizeRow(rec.dtype, bytes, 0, out, 0, n, rec.name);
  return out;
}

function deqBF16(src: Uint8Array, p: number, out: Float32Array, o: number, n: number): void {
  const bits = new Uint32Array(out.buffer, out.byteOffset + o * 4, n);
  for (let i = 0; i < n; i++, p += 2) bits[i] = (src[p]! << 16) | (src[p + 1]! << 24);
}

// Q4_0: d f16 | qs[16]; byte j = element j (low nibble), element j+16 (high). y = (q-8)·d
function deqQ4_0(src: Uint8Array, p: number, out: Float32Array, o: number, nb: number): void {
  for (let b = 0; b < nb; b++, p += 18, o += 32) {
    const d = f16(src, p);
    for (let j = 0; j < 16; j++) {
      const q = src[p + 2 + j]!;
      out[o + j] = ((q & 15) - 8) * d;
      out[o + j + 16] = ((q >> 4) - 8) * d;
    }
  }
}

// Q4_1: d | m | qs[16]. y = q·d + m (product exact; the sum rounds at the store)
function deqQ4_1(src: Uint8Array, p: number, out: Float32Array, o: number, nb: number): void {
  for (let b = 0; b < nb; b++, p += 20, o += 32) {
    const d = f16(src, p);
    const m = f16(src, p + 2);
    for (let j = 0; j < 16; j++) {
      const q = src[p + 4 + j]!;
      out[o + j] = (q & 15) * d + m;
      out[o + j + 16] = (q >> 4) * d + m;
    }
  }
}

// Q5_0: d | qh u32 | qs[16]. q = nibble | bit e of qh << 4; y = (q-16)·d
function deqQ5_0(src: Uint8Array, p: number, out: Float32Array, o: number, nb: number): void {
  for (let b = 0; b < nb; b++, p += 22, o += 32) {
    const d = f16(src, p);
    const qh = (src[p + 2]! | (src[p + 3]! << 8) | (src[p + 4]! << 16) | (src[p + 5]! << 24)) >>> 0;
    for (let j = 0; j < 16; j++) {
      const q = src[p + 6 + j]!;
      const h0 = ((qh >>> j) & 1) << 4;
      const h1 = ((qh >>> (j + 16)) & 1) << 4;
      out[o + j] = (((q & 15) | h0) - 16) * d;
      out[o + j + 16] = (((q >> 4) | h1) - 16) * d;
    }
  }
}

// Q5_1: d | m | qh u32 | qs[16]. y = q·d + m
function deqQ5_1(src: Uint8Array, p: number, out: Float32Array, o: number, nb: number): void {
  for (let b = 0; b < nb; b++, p += 24, o += 32) {
    const d = f16(src, p);
    const m = f16(src, p + 2);
    const qh = (src[p + 4]! | (src[p + 5]! << 8) | (src[p + 6]! << 16) | (src[p + 7]! << 24)) >>> 0;
    for (let j = 0; j < 16; j++) {
      const q = src[p + 8 + j]!;
      const h0 = ((qh >>> j) & 1) << 4;
      const h1 = ((qh >>> (j + 16)) & 1) << 4;
      out[o + j] = ((q & 15) | h0) * d + m;
      out[o + j + 16] = ((q >> 4) | h1) * d + m;
    }
  }
}

// Q8_0: d | qs int8[32]. y = q·d
function deqQ8_0(src: Uint8Array, p: number, out: Float32Array, o: number, nb: number): void {
  const qs = new Int8Array(src.buffer, src.byteOffset, src.length);
  for (let b = 0; b < nb; b++, p += 34, o += 32) {
    const d = f16(src, p);
    const q = p + 2;
    for (let j = 0; j < 32; j++) out[o + j] = qs[q + j]! * d;
  }
}

// IQ4_NL: d | qs[16] of codebook indices. y = d·kvalues[idx]
function deqIQ4_NL(src: Uint8Array, p: number, out: Float32Array, o: number, nb: number): void {
  const kv = IQ4_NL_VALUES;
  for (let b = 0; b < nb; b++, p += 18, o += 32) {
    const d = f16(src, p);
    for (let j = 0; j < 16; j++) {
      const q = src[p + 2 + j]!;
      out[o + j] = d * kv[q & 15]!;
      out[o + j + 16] = d * kv[q >> 4]!;
    }
  }
}

// Q2_K (84 B): scales[16] (lo nibble scale, hi nibble min) | qs[64] | d | dmin.
// y = dl·q − ml with dl = d·(sc&15), ml = dmin·(sc>>4)
function deqQ2_K(src: Uint8Array, p: number, out: Float32Array, o: number, nb: number): void {
  for (let b = 0; b < nb; b++, p += 84) {
    const d = f16(src, p + 80);
    const dmin = f16(src, p + 82);
    let is = 0;
    for (let half = 0; half < 2; half++) {
      const q = p + 16 + 32 * half;
      for (let shift = 0; shift < 8; shift += 2) {
        for (let part = 0; part < 32; part += 16) {
          const sc = src[p + is++]!;
          const dl = d * (sc & 15);
          const ml = dmin * (sc >> 4);
          for (let l = 0; l < 16; l++) out[o++] = dl * ((src[q + part + l]! >> shift) & 3) - ml;
        }
      }
    }
  }
}

const q3Scales = new Int8Array(16);

// Q3_K (110 B): hmask[32] | qs[64] | scales[12] (16 packed 6-bit, −32) | d.
// y = (d·scale)·(q2 − (hbit ? 0 : 4))
function deqQ3_K(src: Uint8Array, p: number, out: Float32Array, o: number, nb: number): void {
  const scales = q3Scales;
  for (let b = 0; b < nb; b++, p += 110) {
    const d = f16(src, p + 108);
    const sp = p + 96;
    for (let s = 0; s < 16; s++) {
      const low = (src[sp + (s & 7)]! >> (4 * (s >> 3))) & 15;
      const high = (src[sp + 8 + (s & 3)]! >> (2 * (s >> 2))) & 3;
      scales[s] = (low | (high << 4)) - 32;
    }
    let is = 0;
    let m = 1;
    for (let half = 0; half < 2; half++) {
      const q = p + 32 + 32 * half;
      for (let shift = 0; shift < 8; shift += 2, m <<= 1) {
        for (let part = 0; part < 32; part += 16) {
          const dl = d * scales[is++]!;
          for (let l = 0; l < 16; l++) {
            const q2 = (src[q + part + l]! >> shift) & 3;
            out[o++] = dl * (q2 - (src[p + part + l]! & m ? 0 : 4));
          }
        }
      }
    }
  }
}

const kScale = new Uint8Array(8);
const kMin = new Uint8Array(8);

/** Unpacks Q4_K/Q5_K's 12 bytes into 8 (6-bit scale, 6-bit min) pairs (ggml get_scale_min_k4). */
function unpackScaleMinK4(src: Uint8Array, q: number): void {
  for (let j = 0; j < 4; j++) {
    kScale[j] = src[q + j]! & 63;
    kMin[j] = src[q + j + 4]! & 63;
  }
  for (let j = 4; j < 8; j++) {
    kScale[j] = (src[q + j + 4]! & 15) | ((src[q + j - 4]! >> 6) << 4);
    kMin[j] = (src[q + j + 4]! >> 4) | ((src[q + j]! >> 6) << 4);
  }
}

// Q4_K (144 B): d | dmin | scales[12] | qs[128]. y = (d·sc)·q − (dmin·m)
function deqQ4_K(src: Uint8Array, p: number, out: Float32Array, o: number, nb: number): void {
  for (let b = 0; b < nb; b++, p += 144) {
    const d = f16(src, p);
    const dmin = f16(src, p + 2);
    unpackScaleMinK4(src, p + 4);
    let q = p + 16;
    for (let is = 0; is < 8; is += 2, q += 32) {
      const d1 = d * kScale[is]!;
      const m1 = dmin * kMin[is]!;
      const d2 = d * kScale[is + 1]!;
      const m2 = dmin * kMin[is + 1]!;
      for (let l = 0; l < 32; l++) out[o + l] = d1 * (src[q + l]! & 15) - m1;
      for (let l = 0; l < 32; l++) out[o + 32 + l] = d2 * (src[q + l]! >> 4) - m2;
      o += 64;
    }
  }
}

// Q5_K (176 B): d | dmin | scales[12] | qh[32] | qs[128]. q = nibble + 16·hbit
function deqQ5_K(src: Uint8Array, p: number, out: Float32Array, o: number, nb: number): void {
  for (let b = 0; b < nb; b++, p += 176) {
    const d = f16(src, p);
    const dmin = f16(src, p + 2);
    unpackScaleMinK4(src, p + 4);
    const qh = p + 16;
    let ql = p + 48;
    for (let is = 0; is < 8; is += 2, ql += 32) {
      const d1 = d * kScale[is]!;
      const m1 = dmin * kMin[is]!;
      const d2 = d * kScale[is + 1]!;
      const m2 = dmin * kMin[is + 1]!;
      const s1 = is; // qh bit for the low-nibble half
      const s2 = is + 1; // and for the high-nibble half
      for (let l = 0; l < 32; l++) {
        const h = src[qh + l]!;
        const lo = src[ql + l]!;
        out[o + l] = d1 * ((lo & 15) | (((h >> s1) & 1) << 4)) - m1;
        out[o + 32 + l] = d2 * ((lo >> 4) | (((h >> s2) & 1) << 4)) - m2;
      }
      o += 64;
    }
  }
}

// Q6_K (210 B): ql[128] | qh[64] | scales int8[16] | d. y = (d·scale)·(q − 32)
function deqQ6_K(src: Uint8Array, p: number, out: Float32Array, o: number, nb: number): void {
  for (let b = 0; b < nb; b++, p += 210) {
    const d = f16(src, p + 208);
    for (let h = 0; h < 2; h++) {
      const ql = p + 64 * h;
      const qh = p + 128 + 32 * h;
      const sc = p + 192 + 8 * h;
      for (let l = 0; l < 32; l++) {
        const is = l >> 4;
        const a = src[ql + l]!;
        const c = src[ql + l + 32]!;
        const hb = src[qh + l]!;
        const q1 = ((a & 15) | ((hb & 3) << 4)) - 32;
        const q2 = ((c & 15) | (((hb >> 2) & 3) << 4)) - 32;
        const q3 = ((a >> 4) | (((hb >> 4) & 3) << 4)) - 32;
        const q4 = ((c >> 4) | (((hb >> 6) & 3) << 4)) - 32;
        out[o + l] = d * ((src[sc + is]! << 24) >> 24) * q1;
        out[o + l + 32] = d * ((src[sc + is + 2]! << 24) >> 24) * q2;
        out[o + l + 64] = d * ((src[sc + is + 4]! << 24) >> 24) * q3;
        out[o + l + 96] = d * ((src[sc + is + 6]! << 24) >> 24) * q4;
      }
      o += 128;
    }
  }
}

// Q8_K (292 B): d f32 | qs int8[256] | bsums int16[16]. y = d·q
function deqQ8_K(src: Uint8Array, p: number, out: Float32Array, o: number, nb: number): void {
  for (let b = 0; b < nb; b++, p += 292, o += 256) {
    const d = f32At(src, p);
    for (let j = 0; j < 256; j++) out[o + j] = d * ((src[p + 4 + j]! << 24) >> 24);
  }
}
