// Which variant of each decode matvec kernel this instance runs. The JS side (src/backend/wasm/
// kernel-choice.ts) times the variants on the machine at hand and sets the winner in every
// instance before use; all variants compute the same integers and round the same way, so the
// choice changes speed only.
export const OP_Q8_0: i32 = 0;
export const OP_Q4_0: i32 = 1;
export const OP_Q4_K: i32 = 2;
export const OP_Q6_K: i32 = 3;
export const OPS: i32 = 4;

/** Pairwise i8 dots widened to i32 with pmaddwd against ones (the pmaddubsw form). */
export const V_I16: i32 = 0;
/** i32x4.relaxed_dot_i8x16_i7x16_add_s: one vpdpbusd where V8 has AVX-VNNI, else its own sequence. */
export const V_DOTADD: i32 = 1;
/** Two 4-row groups per pass, sharing each activation load (the pmaddubsw form). */
export const V_G2: i32 = 2;
export const VARIANTS: i32 = 3;

export let vQ8: i32 = V_I16;
export let vQ4: i32 = V_I16;
export let vQ4K: i32 = V_I16;
export let vQ6K: i32 = V_I16;

/** Sets op's variant; false for an unknown op or variant (nothing changes). */
export function set_variant(op: i32, v: i32): bool {
  if (v < 0 || v >= VARIANTS) return false;
  if (op == OP_Q8_0) vQ8 = v;
  else if (op == OP_Q4_0) vQ4 = v;
  else if (op == OP_Q4_K) vQ4K = v;
  else if (op == OP_Q6_K) vQ6K = v;
  else return false;
  return true;
}

export function get_variant(op: i32): i32 {
  return op == OP_Q8_0 ? vQ8 : op == OP_Q4_0 ? vQ4 : op == OP_Q4_K ? vQ4K : op == OP_Q6_K ? vQ6K : -1;
}
