// Load-time repacking of Q8_0 / Q4_0 rows (ggml blocks) into the 4-row interleaved groups the
// matmul kernels read (layouts in matmul-q.ts). Runs once per weight, in the owning memory.

/** src: `rows` Q8_0 rows of `cols`; dst: ceil(rows/4) Q8x4 groups (missing rows are zero). */
export function repack_q8_0(src: usize, rows: i32, cols: i32, dst: usize): void {
  const nb = cols >> 5;
  const rb = <usize>nb * 34;
  const groups = (rows + 3) >> 2;
  memory.fill(dst, 0, <usize>groups * nb * 144);
  for (let r = 0; r < rows; r++) {
    const g = r >> 2;
    const lane = <usize>(r & 3);
    for (let b = 0; b < nb; b++) {
      const s = src + <usize>r * rb + <usize>b * 34;
      const o = dst + (<usize>g * nb + b) * 144;
      store<u16>(o + (lane << 1), load<u16>(s));
      let sum = i32x4.extadd_pairwise_i16x8_s(i16x8.extadd_pairwise_i8x16_s(v128.load(s + 2)));
      sum = i32x4.add(sum, i32x4.extadd_pairwise_i16x8_s(i16x8.extadd_pairwise_i8x16_s(v128.load(s + 18))));
      const t = i32x4.extract_lane(sum, 0) + i32x4.extract_lane(sum, 1) + i32x4.extract_lane(sum, 2) + i32x4.extract_lane(sum, 3);
      store<i16>(o + 8 + (lane << 1), <i16>t);
      for (let k: usize = 0; k < 8; k++) store<u32>(o + 16 + (k << 4) + (lane << 2), load<u32>(s + 2 + (k << 2)));
    }
  }
}

/** As repack_q8_0 for Q4_0 (18-byte blocks → 72-byte Q4x4 group blocks). */
export function repack_q4_0(src: usize, rows: i32, cols: i32, dst: usize): void {
  const nb = cols >> 5;
  const rb = <usize>nb * 18;
  const groups = (rows + 3) >> 2;
  memory.fill(dst, 0, <usize>groups * nb * 72);
  for (let r = 0; r < rows; r++) {
    const g = r >> 2;
    const lane = <usize>(r & 3);
    for (let b = 0; b < nb; b++) {
      const s = src + <usize>r * rb + <usize>b * 18;
      const o = dst + (<usize>g * nb + b) * 72;
      store<u16>(o + (lane << 1), load<u16>(s));
      for (let k: usize = 0; k < 4; k++) store<u32>(o + 8 + (k << 4) + (lane << 2), load<u32>(s + 2 + (k << 2)));
    }
  }
}
