/**
 * Float32 helpers shared by the quantizers. ggml quantizes in C float arithmetic; JS computes in
 * double, so every operation whose result ggml stores in a float is rounded here with `fr`.
 * For + - * / and sqrt of float32 operands, rounding the double result once to float32 gives the
 * correctly rounded float32 result, so `fr(a op b)` equals the C expression bit for bit.
 */
import { F16_TABLE, f32ToF16 } from './half.js';

export const fr = Math.fround;

const f32 = new Float32Array(1);
const i32 = new Int32Array(f32.buffer);

/**
 * ggml's `nearest_int`: adds 1.5·2^23 in float32 and reads the integer out of the mantissa, i.e.
 * round half to even. Reproduced through the bits so that out-of-range inputs give the same
 * values ggml gets.
 */
export function nearestInt(v: number): number {
  // In range (always, for finite inputs of the searches) the trick is round half to even of the
  // float32 v, done here without the memory round trip: Math.round rounds ties up, so step back
  // from an odd tie. Outside it, reproduce the bits.
  if (Math.abs(v) <= 4194303) {
    const r = Math.round(v);
    return (r - v === 0.5 && (r & 1) !== 0 ? r - 1 : r) | 0;
  }
  f32[0] = v + 12582912;
  return (i32[0]! & 0x007fffff) - 0x00400000;
}

/** C `roundf`: half away from zero. */
export function roundf(v: number): number {
  return v < 0 ? -Math.floor(-v + 0.5) : Math.floor(v + 0.5);
}

export function putF16(out: Uint8Array, at: number, v: number): void {
  const h = f32ToF16(v);
  out[at] = h & 0xff;
  out[at + 1] = h >>> 8;
}

export function getF16(buf: Uint8Array, at: number): number {
  return F16_TABLE[buf[at]! | (buf[at + 1]! << 8)]!;
}

/** ggml's GROUP_MAX_EPS (1e-15f). */
export const GROUP_MAX_EPS = fr(1e-15);
