// Which variant of each decode matvec kernel runs. The JS side (src/backend/wasm/kernel-choice.ts
// and kernel-probe.ts) times the variants on the machine at hand and sets the winner; all
// variants compute the same integers and round the same way, so the choice changes speed only.
//
// The choice lives in the instance's memory, one byte per op, not in globals: every instance
// over one thread's memory (the worker's own and the main thread's stand-in that runs a late
// worker's share) then runs the same variant, and the main thread can change it between ops by
// writing each memory (the decode probe on a loaded model's weights does).
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

const CHOICE = memory.data(16, 16);

/** op's variant (hoist it out of loops: it is a memory load). */
@inline export function variant(op: i32): i32 {
  return <i32>load<u8>(CHOICE + <usize>op);
}

/** Sets op's variant; false for an unknown op or variant (nothing changes). */
export function set_variant(op: i32, v: i32): bool {
  if (v < 0 || v >= VARIANTS || op < 0 || op >= OPS) return false;
  store<u8>(CHOICE + <usize>op, <u8>v);
  return true;
}

export function get_variant(op: i32): i32 {
  return op >= 0 && op < OPS ? variant(op) : -1;
}
