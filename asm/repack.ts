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
  const off = i8x16.splat(-128);
  for (let g = 0; g < groups; g++) {
    for (let b = 0; b < nb; b++) {
      const o = dst + (<usize>g * nb + b) * 136;
      // Each row's 32 quants (offset, negated under a negative scale) into ROWS, then transposed.
      for (let lane: usize = 0; lane < 4; lane++) {
        const r = (g << 2) + <i32>lane;
        let q0 = i8x16.splat(0), q1 = i8x16.splat(0);
        let d: u32 = 0;
        if (r < rows) {
          const s = src + <usize>r * rb + <usize>b * 34;
          d = <u32>load<u16>(s);
          if ((d & 0x7c00) == 0x7c00) return 1;
          q0 = v128.load(s, 2);
          q1 = v128.load(s, 18);
          if (d & 0x8000) {
            if (v128.any_true(v128.or(i8x16.eq(q0, off), i8x16.eq(q1, off)))) return 1;
            q0 = i8x16.neg(q0);
            q1 = i8x16.neg(q1);
            d &= 0x7fff;
          }
        }
        store<u16>(o + (lane << 1), <u16>d);
        v128.store(ROWS + (lane << 4), v128.xor(q0, off));
        v128.store(ROWS + (lane << 4), v128.xor(q1, off), 64);
      }
      transpose4(ROWS, o + 8);
      transpose4(ROWS + 64, o + 72);
    }
  }
  return 0;
}

/** Four rows' 32 quants, staged for repack_q8_0's transpose (per-thread memory). */
const ROWS = memory.data(128, 16);

/** out vector k = [row0 chunk k, row1 chunk k, row2 chunk k, row3 chunk k] for the 4 row vectors at p. */
@inline function transpose4(p: usize, out: usize): void {
  const r0 = v128.load(p), r1 = v128.load(p, 16), r2 = v128.load(p, 32), r3 = v128.load(p, 48);
  const t0 = v128.shuffle<i32>(r0, r1, 0, 4, 1, 5);
  const t1 = v128.shuffle<i32>(r2, r3, 0, 4, 1, 5);
  const t2 = v128.shuffle<i32>(r0, r1, 2, 6, 3, 7);
  const t3 = v128.shuffle<i32>(r2, r3, 2, 6, 3, 7);
  v128.store(out, v128.shuffle<i32>(t0, t1, 0, 1, 4, 5));
  v128.store(out, v128.shuffle<i32>(t0, t1, 2, 3, 6, 7), 16);
  v128.store(out, v128.shuffle<i32>(t2, t3, 0, 1, 4, 5), 32);
  v128.store(out, v128.shuffle<i32>(t2, t3, 2, 3, 6, 7), 48);
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
