/**
 * Raises a claim slot to op `seq` for the caller (a compare-and-swap of the op's sequence number):
 * true for exactly one of the threads that try, false once that op or a later one holds the slot.
 * Used for a worker's share of an op (its CLAIM slot) and for copying activations (PULL).
 */
export function claim(ctrl: Int32Array, slot: number, seq: number): boolean {
  for (;;) {
    const old = Atomics.load(ctrl, slot);
    if (((old - seq) | 0) >= 0) return false; // int32 difference: SEQ wraps
    if (Atomics.compareExchange(ctrl, slot, old, seq) === old) return true;
  }
}
