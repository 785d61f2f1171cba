// Pieces every 4-row matmul kernel shares.

/**
 * A store the next loads must stay behind: V8 schedules a loop body's loads first and the
 * arithmetic late, so a 4-token tile's activation loads would be hoisted and spilled. Storing
 * the running sums here every few steps pins the loads in between (each thread's memory has
 * its own copy).
 */
export const SINK = memory.data(64, 16);

@inline export function pin(a: v128, b: v128, c: v128, d: v128): void {
  v128.store(SINK, a);
  v128.store(SINK, b, 16);
  v128.store(SINK, c, 32);
  v128.store(SINK, d, 48);
}

/** Writes rows g·4 .. g·4+3 of one token's output (fewer when the shard ends mid-group). */
@inline export function storeRows(p: usize, v: v128, rem: i32): void {
  if (rem >= 4) {
    v128.store(p, v);
  } else {
    store<f32>(p, f32x4.extract_lane(v, 0));
    if (rem > 1) store<f32>(p, f32x4.extract_lane(v, 1), 4);
    if (rem > 2) store<f32>(p, f32x4.extract_lane(v, 2), 8);
  }
}

/** Group blocks per cache tile: keep ~96 KiB of weights hot while the token tiles stream past. */
@inline export function groupTile(bytesPerGroup: usize): i32 {
  const t = <i32>(98304 / bytesPerGroup);
  return t < 1 ? 1 : t;
}
