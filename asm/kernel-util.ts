// Pieces every 4-row matmul kernel shares.
import { dot8 } from './simd';
import { REC } from './quant';

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

/**
 * One 32-column block of 4 interleaved rows of nibble quants (vectors at q .. q + 48: low nibbles
 * are record chunks 0..3, high nibbles 4..7) against a 4-token tile of records at x: the four
 * tokens' i16 sums (8·2·127·15 < 2^15) end in SINK[0..64), the pin of the last step.
 */
@inline export function nibbleDots4(q: usize, x: usize, m: v128): void {
  let s0 = i16x8.splat(0), s1 = i16x8.splat(0), s2 = i16x8.splat(0), s3 = i16x8.splat(0);
  for (let k: usize = 0; k < 64; k += 16) {
    const v = v128.load(q + k);
    const xk = x + k;
    let h = v128.and(v, m);
    s0 = i16x8.add(s0, dot8(v128.load(xk), h));
    s1 = i16x8.add(s1, dot8(v128.load(xk, REC), h));
    s2 = i16x8.add(s2, dot8(v128.load(xk, 2 * REC), h));
    s3 = i16x8.add(s3, dot8(v128.load(xk, 3 * REC), h));
    h = v128.and(i16x8.shr_u(v, 4), m);
    s0 = i16x8.add(s0, dot8(v128.load(xk, 64), h));
    s1 = i16x8.add(s1, dot8(v128.load(xk, REC + 64), h));
    s2 = i16x8.add(s2, dot8(v128.load(xk, 2 * REC + 64), h));
    s3 = i16x8.add(s3, dot8(v128.load(xk, 3 * REC + 64), h));
    pin(s0, s1, s2, s3);
  }
}

/**
 * The same block against one token's record: i16 sums of 4 rows. Record chunk j holds columns
 * 4j..4j+3, so low nibbles of vector k meet chunk k and high nibbles chunk 4+k.
 */
@inline export function nibbleDot(q: usize, x: usize, m: v128): v128 {
  const v0 = v128.load(q), v1 = v128.load(q, 16), v2 = v128.load(q, 32), v3 = v128.load(q, 48);
  let s = dot8(v128.load(x), v128.and(v0, m));
  s = i16x8.add(s, dot8(v128.load(x, 64), v128.and(i16x8.shr_u(v0, 4), m)));
  s = i16x8.add(s, dot8(v128.load(x, 16), v128.and(v1, m)));
  s = i16x8.add(s, dot8(v128.load(x, 80), v128.and(i16x8.shr_u(v1, 4), m)));
  v128.store(SINK, s);
  s = i16x8.add(s, dot8(v128.load(x, 32), v128.and(v2, m)));
  s = i16x8.add(s, dot8(v128.load(x, 96), v128.and(i16x8.shr_u(v2, 4), m)));
  s = i16x8.add(s, dot8(v128.load(x, 48), v128.and(v3, m)));
  s = i16x8.add(s, dot8(v128.load(x, 112), v128.and(i16x8.shr_u(v3, 4), m)));
  return s;
}
