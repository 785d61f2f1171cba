/**
 * ggml's reference quantizers for the 32-element block types (`quantize_row_q{4_0,4_1,5_0,5_1,8_0}_ref`),
 * float32 step for step. Each function quantizes `nb` blocks from x[xo..] into out[oo..].
 */
import { fr, putF16, roundf } from './quant-util.js';

/** Q8_0: d = amax/127, q = roundf(x/d). Block: f16 d, 32 × int8. */
export function quantizeQ8_0(x: Float32Array, xo: number, nb: number, out: Uint8Array, oo: number): void {
  for (let i = 0; i < nb; i++, xo += 32, oo += 34) {
    let amax = 0;
    for (let j = 0; j < 32; j++) amax = Math.max(amax, Math.abs(x[xo + j]!));
    const d = fr(amax / 127);
    const id = d ? fr(1 / d) : 0;
    putF16(out, oo, d);
    for (let j = 0; j < 32; j++) out[oo + 2 + j] = roundf(fr(x[xo + j]! * id)) & 0xff;
  }
}

/** Signed value of largest magnitude (first one wins ties), as the symmetric legacy types pick it. */
function signedMax(x: Float32Array, xo: number): number {
  let amax = 0;
  let max = 0;
  for (let j = 0; j < 32; j++) {
    const v = x[xo + j]!;
    if (amax < Math.abs(v)) {
      amax = Math.abs(v);
      max = v;
    }
  }
  return max;
}

/** Q4_0: d = max/-8, q = min(15, trunc(x/d + 8.5)); byte j holds elements j (low) and j+16 (high). */
export function quantizeQ4_0(x: Float32Array, xo: number, nb: number, out: Uint8Array, oo: number): void {
  for (let i = 0; i < nb; i++, xo += 32, oo += 18) {
    const d = fr(signedMax(x, xo) / -8);
    const id = d ? fr(1 / d) : 0;
    putF16(out, oo, d);
    for (let j = 0; j < 16; j++) {
      const a = Math.min(15, Math.trunc(fr(fr(x[xo + j]! * id) + 8.5)));
      const b = Math.min(15, Math.trunc(fr(fr(x[xo + 16 + j]! * id) + 8.5)));
      out[oo + 2 + j] = a | (b << 4);
    }
  }
}

function minMax(x: Float32Array, xo: number): [number, number] {
  let min = Infinity;
  let max = -Infinity;
  for (let j = 0; j < 32; j++) {
    const v = x[xo + j]!;
    if (v < min) min = v;
    if (v > max) max = v;
  }
  return [min, max];
}

/** Q4_1: d = (max-min)/15, m = min, q = trunc((x-min)/d + 0.5). */
export function quantizeQ4_1(x: Float32Array, xo: number, nb: number, out: Uint8Array, oo: number): void {
  for (let i = 0; i < nb; i++, xo += 32, oo += 20) {
    const [min, max] = minMax(x, xo);
    const d = fr(fr(max - min) / 15);
    const id = d ? fr(1 / d) : 0;
    putF16(out, oo, d);
    putF16(out, oo + 2, min);
    for (let j = 0; j < 16; j++) {
      const a = Math.min(15, Math.trunc(fr(fr(fr(x[xo + j]! - min) * id) + 0.5)));
      const b = Math.min(15, Math.trunc(fr(fr(fr(x[xo + 16 + j]! - min) * id) + 0.5)));
      out[oo + 4 + j] = a | (b << 4);
    }
  }
}

/** Writes 32 five-bit values: low nibbles in qs (j | j+16 << 4), fifth bits in the 32-bit qh. */
function pack5(q: Uint8Array, out: Uint8Array, qhAt: number, qsAt: number): void {
  let qh = 0;
  for (let j = 0; j < 16; j++) {
    const a = q[j]!;
    const b = q[j + 16]!;
    out[qsAt + j] = (a & 0x0f) | ((b & 0x0f) << 4);
    qh |= ((a & 0x10) >>> 4) << j;
    qh |= ((b & 0x10) >>> 4) << (j + 16);
  }
  out[qhAt] = qh & 0xff;
  out[qhAt + 1] = (qh >>> 8) & 0xff;
  out[qhAt + 2] = (qh >>> 16) & 0xff;
  out[qhAt + 3] = qh >>> 24;
}

const q32 = new Uint8Array(32);

/** Q5_0: d = max/-16, q = min(31, trunc(x/d + 16.5)). Block: f16 d, u32 qh, 16 bytes qs. */
export function quantizeQ5_0(x: Float32Array, xo: number, nb: number, out: Uint8Array, oo: number): void {
  for (let i = 0; i < nb; i++, xo += 32, oo += 22) {
    const d = fr(signedMax(x, xo) / -16);
    const id = d ? fr(1 / d) : 0;
    putF16(out, oo, d);
    for (let j = 0; j < 32; j++) q32[j] = Math.min(31, Math.trunc(fr(fr(x[xo + j]! * id) + 16.5)));
    pack5(q32, out, oo + 2, oo + 6);
  }
}

/** Q5_1: d = (max-min)/31, m = min, q = trunc((x-min)/d + 0.5). Block: f16 d, f16 m, u32 qh, 16 bytes qs. */
export function quantizeQ5_1(x: Float32Array, xo: number, nb: number, out: Uint8Array, oo: number): void {
  for (let i = 0; i < nb; i++, xo += 32, oo += 24) {
    const [min, max] = minMax(x, xo);
    const d = fr(fr(max - min) / 31);
    const id = d ? fr(1 / d) : 0;
    putF16(out, oo, d);
    putF16(out, oo + 2, min);
    for (let j = 0; j < 32; j++) q32[j] = Math.trunc(fr(fr(fr(x[xo + j]! - min) * id) + 0.5)) & 0xff;
    pack5(q32, out, oo + 4, oo + 8);
  }
}
