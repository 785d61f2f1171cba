// Weight layouts: the one place that says how many bytes a 4-row group takes and which kernel
// multiplies or dequantizes each layout. The JS side (backend, worker) calls these; its Layout enum
// (src/backend/wasm/protocol.ts) is checked against the LAYOUT_* globals when the module loads.
import { mm_q8x4, mm_q4x4 } from './matmul-q';
import { mm_kx4, Q4KX4_SB, Q5KX4_SB, Q6KX4_SB } from './matmul-kx4';
import { mm_f, deq_f, KIND_F32 } from './matmul-f';
import { deq_kx4 } from './repack-k';
import { deq_x4 } from './elementwise';
import { quant_rec_q7s, quant_rec_q8k, quant_rec_q8s } from './quant';

export const LAYOUT_Q8X4: i32 = 1;
export const LAYOUT_Q4X4: i32 = 2;
export const LAYOUT_FLOAT: i32 = 4;
export const LAYOUT_KX4: i32 = 5;

const KIND_Q4_K = 12;
const KIND_Q5_K = 13;

/** Bytes of one 4-row group of `cols` columns (the interleaved layouts), or of one row (Float). */
export function group_bytes(layout: i32, kind: i32, cols: i32): usize {
  const c = <usize>cols;
  if (layout == LAYOUT_Q8X4) return (c >> 5) * 136;
  if (layout == LAYOUT_Q4X4) return (c >> 5) * 80;
  if (layout == LAYOUT_KX4) return (c >> 8) * (kind == KIND_Q4_K ? Q4KX4_SB : kind == KIND_Q5_K ? Q5KX4_SB : Q6KX4_SB);
  return kind == KIND_F32 ? c << 2 : c << 1;
}

/** n tokens of x [n, cols] f32 → the activation records `layout` and `kind`'s kernels read (rec_bytes(n, cols) at dst). */
export function quant_act(layout: i32, kind: i32, x: usize, n: i32, cols: i32, dst: usize): void {
  if (layout == LAYOUT_Q8X4) quant_rec_q7s(x, n, cols, dst);
  else if (layout == LAYOUT_KX4) quant_rec_q8k(x, n, cols, dst);
  else quant_rec_q8s(x, n, cols, dst);
}

/** out[t, r] = Σ_c x[t, c] · w[r, c] for `layout`'s weights and activation format (quant_act's records). */
export function mm(layout: i32, kind: i32, w: usize, groups: i32, rows: i32, cols: i32, n: i32, x: usize, out: usize, ldo: i32): void {
  if (layout == LAYOUT_Q8X4) mm_q8x4(w, groups, rows, cols, n, x, out, ldo);
  else if (layout == LAYOUT_Q4X4) mm_q4x4(w, groups, rows, cols, n, x, out, ldo);
  else if (layout == LAYOUT_KX4) mm_kx4(kind, w, groups, rows, cols, n, x, out, ldo);
  else mm_f(kind, w, rows, cols, n, x, out, ldo);
}

/** Row `row` of a shard starting at `w` → f32 (embedding lookups). */
export function deq_row(layout: i32, kind: i32, w: usize, row: i32, cols: i32, out: usize): void {
  if (layout == LAYOUT_FLOAT) {
    deq_f(kind, w + <usize>row * group_bytes(layout, kind, cols), cols, out);
    return;
  }
  const g = w + <usize>(row >> 2) * group_bytes(layout, kind, cols);
  if (layout == LAYOUT_KX4) deq_kx4(kind, g, row & 3, cols, out);
  else deq_x4(layout == LAYOUT_Q4X4 ? 1 : 0, g, row & 3, cols, out);
}
