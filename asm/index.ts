// Kernel module entry: every export is a kernel the JS side calls with raw byte offsets.
export { quant_rec_q8s, quant_rec_q7s, rec_bytes } from './quant';
export { mm_q8x4, mm_q4x4 } from './matmul-q';
export { mm_kx4 } from './matmul-kx4';
export { deq_kx4, repack_q4_k, repack_q5_k, repack_q6_k } from './repack-k';
export { mm_f, deq_f } from './matmul-f';
export { dot8_probe } from './simd';
export { attn, attn_rows, attn_scratch_bytes, store_kv } from './attention';
export { rmsnorm, silu_mul, add, rope, deq_x4, read_bytes } from './elementwise';
export { repack_q8_0, repack_q4_0 } from './repack';
