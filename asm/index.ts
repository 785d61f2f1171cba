// Kernel module entry: every export is a kernel the JS side calls with raw byte offsets.
export { rec_bytes } from './quant';
export { LAYOUT_Q8X4, LAYOUT_Q4X4, LAYOUT_FLOAT, LAYOUT_KX4, group_bytes, mm, deq_row, quant_act } from './layout';
export { repack_q4_k, repack_q5_k, repack_q6_k } from './repack-k';
export { dot8_probe } from './simd';
export { attn, attn_rows, attn_scratch_bytes, store_kv } from './attention';
export { rmsnorm, silu_mul, add, rope, read_bytes } from './elementwise';
export { repack_q8_0, repack_q4_0 } from './repack';
export { set_variant, get_variant, OPS, VARIANTS } from './variants';
export { set_scratch, scratch_bytes, set_token_block_bytes, static_end } from './kernel-util';
