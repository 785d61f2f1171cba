// Pieces every 4-row matmul kernel shares.
import { dot8, dotAdd } from './simd';

/**
 * The kernels' mutable scratch: one block per instance, at SCRATCH. An instance starts with the
 * block in the module's static data; one that may run beside another instance on the same memory
 * (a thread running chunks of another thread's share, pool.ts) gets a block of its own through
 * set_scratch. The exported drivers read SCRATCH once and pass it down as `scr`, so the hot loops
 * address scratch from a register (reading the global at each use cost 5–25 %).
 */
export const TILE_SCALES_BYTES: i32 = 32768;
/** Offsets in the block. SINK: a store the next loads must stay behind (pin). */
export const SINK: usize = 0;
/** The second group's sums from nibbleDot2 / q6kBlock2. */
export const PAIR: usize = 64;
/** A 4-token tile's f32 sums, kept in memory across a superblock's integer work. */
export const ACC4: usize = 80;
/** One Q5Kx4 block's 8 chunk vectors, unpacked once for a 4-token tile. */
export const Q5CHUNKS: usize = 144;
/**
 * Per-row block factors of one cache tile of weight groups, computed once for all its token tiles
 * (prefill): Q8x4's f32 scales.
 */
export const TILE_SCALES: usize = 272;
export const SCRATCH_BYTES: i32 = 272 + TILE_SCALES_BYTES;
/**
 * The first instance's block: right after the module's static data (which ends below 64 KiB),
 * in pages the JS side creates with every kernel memory and keeps out of its arena (module.ts
 * DEFAULT_SCRATCH, arena.ts ARENA_BASE). Not static data: an imported memory's zeros would be
 * carried in the binary.
 */
export const DEFAULT_SCRATCH: usize = 65536;
export let SCRATCH: usize = DEFAULT_SCRATCH;

/** Where static data ends (the JS side checks it is below DEFAULT_SCRATCH). */
export function static_end(): usize {
  return __heap_base;
}

/** Moves this instance's scratch to [p, p + SCRATCH_BYTES). */
export function set_scratch(p: usize): void {
  SCRATCH = p;
}

export function scratch_bytes(): i32 {
  return SCRATCH_BYTES;
}

/**
 * V8 schedules a loop body's loads first and the arithmetic late, so a 4-token tile's activation
 * loads would be hoisted and spilled. Storing the running sums at SINK every few steps pins the
 * loads in between.
 */

@inline export function pin(scr: usize, a: v128, b: v128, c: v128, d: v128): void {
  v128.store(scr, a, SINK);
  v128.store(scr, b, SINK + 16);
  v128.store(scr, c, SINK + 32);
  v128.store(scr, d, SINK + 48);
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

/** As storeRows, reading: lanes past rem are 0. */
@inline export function loadRows(p: usize, rem: i32): v128 {
  if (rem >= 4) return v128.load(p);
  let v = f32x4.splat(0);
  v = f32x4.replace_lane(v, 0, load<f32>(p));
  if (rem > 1) v = f32x4.replace_lane(v, 1, load<f32>(p, 4));
  if (rem > 2) v = f32x4.replace_lane(v, 2, load<f32>(p, 8));
  return v;
}

/**
 * 32-column blocks per column chunk of a matmul's rows. With at least `minTokens` tokens, rows
 * wider than 2048 columns go in chunks, each kernel carrying its sums from the last chunk through
 * `out` (the same additions in the same order, so every result is bit-identical to one pass): a
 * chunk's activation records then stay in L1 beside the weights (an 8192-column 4-token tile's are
 * 180 KB), and a token block is sized by the chunk. Fewer tokens keep whole rows, where the
 * weights' streaming matters more (Q8_0 at 4–8 tokens lost 4–6 % chunked).
 */
@inline export function chunkBlocks(nb: i32, n: i32, minTokens: i32): i32 {
  return n >= minTokens && nb > 64 ? 64 : nb;
}

/**
 * Bytes of activation records a token block keeps in L2 (0: the default, 384 KiB). Like the
 * variant choice it lives in the memory, so every instance over it agrees; the JS side sets it
 * from the CPU's L2 size after each instantiation (module.ts tokenBlockBytes).
 */
const TOKEN_BLOCK = memory.data(16, 16);

export function set_token_block_bytes(bytes: u32): void {
  store<u32>(TOKEN_BLOCK, bytes);
}

/**
 * Tokens per block of a prefill (a multiple of 4): the block's activation records stay in L2 while
 * every cache tile of weights passes over them. Without it a 512-token prefill re-read all 512
 * tokens' records (5.5 bytes per value) from L3 for every 96 KiB of weights: ~57 MB per token and
 * thread on a 1B model, against ~10 MB of weights re-read per token with 384 KiB blocks.
 */
@inline export function tokenBlock(tileRecBytes: usize): i32 {
  const b = load<u32>(TOKEN_BLOCK);
  const t = <i32>(<usize>(b == 0 ? 393216 : b) / tileRecBytes) << 2;
  return t < 4 ? 4 : t;
}

/** Group blocks per cache tile: keep ~96 KiB of weights hot while the token tiles stream past. */
@inline export function groupTile(bytesPerGroup: usize): i32 {
  const t = <i32>(98304 / bytesPerGroup);
  return t < 1 ? 1 : t;
}

/**
 * One 32-column block of 4 interleaved rows of nibble quants (vectors at q .. q + 48) against
 * one token's record: i16 sums of the 4 rows (8·2·127·15 < 2^15). Record chunk j holds columns
 * 4j..4j+3, so low nibbles of vector k meet chunk k and high nibbles chunk 4+k. (The 4-token
 * kernels keep their own copies of this body: AssemblyScript returns one value, and passing four
 * sums through memory cost ~10 % of Q4_0 prefill.)
 */
@inline export function nibbleDot(scr: usize, q: usize, x: usize, m: v128): v128 {
  const v0 = v128.load(q), v1 = v128.load(q, 16), v2 = v128.load(q, 32), v3 = v128.load(q, 48);
  let s = dot8(v128.load(x), v128.and(v0, m));
  s = i16x8.add(s, dot8(v128.load(x, 64), v128.and(i16x8.shr_u(v0, 4), m)));
  s = i16x8.add(s, dot8(v128.load(x, 16), v128.and(v1, m)));
  s = i16x8.add(s, dot8(v128.load(x, 80), v128.and(i16x8.shr_u(v1, 4), m)));
  v128.store(scr, s, SINK);
  s = i16x8.add(s, dot8(v128.load(x, 32), v128.and(v2, m)));
  s = i16x8.add(s, dot8(v128.load(x, 96), v128.and(i16x8.shr_u(v2, 4), m)));
  s = i16x8.add(s, dot8(v128.load(x, 48), v128.and(v3, m)));
  s = i16x8.add(s, dot8(v128.load(x, 112), v128.and(i16x8.shr_u(v3, 4), m)));
  return s;
}

/** nibbleDot with relaxed dot-adds (V_DOTADD): i32 sums, in two chains so the dot's latency overlaps. */
@inline export function nibbleDotA(scr: usize, q: usize, x: usize, m: v128, ones: v128): v128 {
  const v0 = v128.load(q), v1 = v128.load(q, 16), v2 = v128.load(q, 32), v3 = v128.load(q, 48);
  let a = dotAdd(v128.load(x), v128.and(v0, m), i32x4.splat(0), ones);
  let b = dotAdd(v128.load(x, 64), v128.and(i16x8.shr_u(v0, 4), m), i32x4.splat(0), ones);
  a = dotAdd(v128.load(x, 16), v128.and(v1, m), a, ones);
  b = dotAdd(v128.load(x, 80), v128.and(i16x8.shr_u(v1, 4), m), b, ones);
  v128.store(scr, a, SINK);
  a = dotAdd(v128.load(x, 32), v128.and(v2, m), a, ones);
  b = dotAdd(v128.load(x, 96), v128.and(i16x8.shr_u(v2, 4), m), b, ones);
  a = dotAdd(v128.load(x, 48), v128.and(v3, m), a, ones);
  b = dotAdd(v128.load(x, 112), v128.and(i16x8.shr_u(v3, 4), m), b, ones);
  return i32x4.add(a, b);
}


/**
 * nibbleDot for two groups' blocks at q and r against the same record (V_G2): each activation
 * vector is loaded once for both. Returns q's i16 sums; r's are left at PAIR.
 */
@inline export function nibbleDot2(scr: usize, q: usize, r: usize, x: usize, m: v128): v128 {
  let s = i16x8.splat(0), t = i16x8.splat(0);
  for (let k: usize = 0; k < 64; k += 16) {
    const vq = v128.load(q + k), vr = v128.load(r + k);
    let xv = v128.load(x + k);
    s = i16x8.add(s, dot8(xv, v128.and(vq, m)));
    t = i16x8.add(t, dot8(xv, v128.and(vr, m)));
    xv = v128.load(x + k, 64);
    s = i16x8.add(s, dot8(xv, v128.and(i16x8.shr_u(vq, 4), m)));
    t = i16x8.add(t, dot8(xv, v128.and(i16x8.shr_u(vr, 4), m)));
    v128.store(scr, s, SINK);
    v128.store(scr, t, SINK + 16);
  }
  v128.store(scr, t, PAIR);
  return s;
}

/**
 * Reads one byte of every 64-byte line of [p, p + bytes) (a cache tile of weights, before the
 * token tiles run over it): the loads are independent, so the lines arrive at the memory
 * system's full rate instead of one by one behind the arithmetic of a many-token kernel.
 */
export function touch(scr: usize, p: usize, bytes: usize): void {
  let a: i32 = 0;
  const end = p + bytes;
  for (; p < end; p += 256) a += load<u8>(p) + load<u8>(p, 64) + load<u8>(p, 128) + load<u8>(p, 192);
  store<i32>(scr, a, SINK);
}
