// Load-time repacking of Q8_0 / Q4_0 rows (ggml blocks) into the 4-row interleaved groups the
// matmul kernels read (layouts in matmul-q.ts). Runs once per weight, in the owning memory.
import { h2fs } from './simd';

/**
 * src: `rows` Q8_0 rows of `cols`; dst: ceil(rows/4) Q8x4 groups (missing rows are zero). Quants
 * are stored offset by 128 (w + 128 = w xor 0x80 ∈ [0, 255]) so they can be the unsigned operand,
 * and a block with a negative scale is stored negated (−d, −w) so every scale is non-negative
 * (the kernel's f16 shortcut needs it). Returns 0, or 1 when that is impossible (a −128 quant
 * under a negative scale, or an inf/NaN scale): the caller then widens the weight to F32.
 */
export function repack_q8_0(src: usize, rows: i32, cols: i32, dst: usize): i32 {
  const nb = cols >> 5;
  const rb = <usize>nb * 34;
  const groups = (rows + 3) >> 2;
  memory.fill(dst, 0, <usize>groups * nb * 136);
  for (let r = 0; r < rows; r++) {
    const g = r >> 2;
    const lane = <usize>(r & 3);
    for (let b = 0; b < nb; b++) {
      const s = src + <usize>r * rb + <usize>b * 34;
      const o = dst + (<usize>g * nb + b) * 136;
      const d = <u32>load<u16>(s);
      if ((d & 0x7c00) == 0x7c00) return 1;
      const neg = (d & 0x8000) != 0;
      store<u16>(o + (lane << 1), <u16>(d & 0x7fff));
      for (let k: usize = 0; k < 8; k++) {
        let q = v128.load32_zero(s + 2 + (k << 2));
        if (neg) {
          if (i8x16.bitmask(i8x16.eq(q, i8x16.splat(-128))) & 0xf) return 1;
          q = i8x16.neg(q);
        }
        store<u32>(o + 8 + (k << 4) + (lane << 2), i32x4.extract_lane(q, 0) ^ 0x80808080);
      }
    }
  }
  // Padding rows (scale 0) hold w = 0 too, i.e. 0x80.
  for (let r = rows; r < groups << 2; r++) {
    const lane = <usize>(r & 3);
    for (let b = 0; b < nb; b++) {
      const o = dst + (<usize>(r >> 2) * nb + b) * 136;
      for (let k: usize = 0; k < 8; k++) store<u32>(o + 8 + (k << 4) + (lane << 2), 0x80808080);
    }
  }
  return 0;
}

/** As repack_q8_0 for Q4_0 (18-byte blocks → 80-byte Q4x4 group blocks, scales widened to f32). */
export function repack_q4_0(src: usize, rows: i32, cols: i32, dst: usize): void {
  const nb = cols >> 5;
  const rb = <usize>nb * 18;
  const groups = (rows + 3) >> 2;
  memory.fill(dst, 0, <usize>groups * nb * 80);
  for (let r = 0; r < rows; r++) {
    const g = r >> 2;
    const lane = <usize>(r & 3);
    for (let b = 0; b < nb; b++) {
      const s = src + <usize>r * rb + <usize>b * 18;
      const o = dst + (<usize>g * nb + b) * 80;
      store<f32>(o + (lane << 2), h2fs(load<u16>(s)));
      for (let k: usize = 0; k < 4; k++) store<u32>(o + 16 + (k << 4) + (lane << 2), load<u32>(s + 2 + (k << 2)));
    }
  }
}
