// The sampler's passes over a vocabulary-wide row of logits (src/generate/row-kernels.ts), four
// lanes at a time. A separate module from the matmul kernels: built without relaxed SIMD and
// without threads, so every machine computes the same bits and a seeded draw picks the same token
// whatever CPU it runs on. Rows are padded with −∞ to a multiple of ROW_BLOCK values.
import { exp4t, hsum, hsumi } from './simd';

/** Values per block: the draw keeps one f64 weight sum per block and rescans only the block it lands in. */
export const ROW_BLOCK: i32 = 64;

/** Weights whose exponent is below this are exactly zero (masked −∞ logits included): never drawn. */
const FLOOR: f32 = -87;

/** First byte free for rows (after the module's static data, 64-byte aligned). */
export function heap_base(): usize {
  return (__heap_base + 63) & ~(<usize>63);
}

/** Index of the first largest of x[0..n) (NaN never wins); −1 when none is above −∞. */
export function row_argmax(x: usize, n: i32, padded: i32): i32 {
  const lo = f32x4.splat(-Infinity);
  let m0 = lo, m1 = lo, m2 = lo, m3 = lo;
  for (let i = 0; i < padded; i += 16) {
    const p = x + (<usize>i << 2);
    // pmax(a, b) = a < b ? b : a: a NaN in the row never replaces the running maximum.
    m0 = f32x4.pmax(m0, v128.load(p));
    m1 = f32x4.pmax(m1, v128.load(p, 16));
    m2 = f32x4.pmax(m2, v128.load(p, 32));
    m3 = f32x4.pmax(m3, v128.load(p, 48));
  }
  const m = f32x4.pmax(f32x4.pmax(m0, m1), f32x4.pmax(m2, m3));
  let top = f32x4.extract_lane(m, 0);
  top = max(top, f32x4.extract_lane(m, 1));
  top = max(top, f32x4.extract_lane(m, 2));
  top = max(top, f32x4.extract_lane(m, 3));
  if (!(top > -Infinity)) return -1;
  for (let i = 0; i < n; i++) if (load<f32>(x + (<usize>i << 2)) == top) return i;
  return -1;
}

/** Index of the first NaN or +∞ in x[0..n) (−∞ is a masked token, not an error); −1 when none. */
export function row_first_bad(x: usize, n: i32, padded: i32): i32 {
  const inf = f32x4.splat(Infinity);
  for (let i = 0; i < padded; i += 16) {
    const p = x + (<usize>i << 2);
    const a = v128.load(p), b = v128.load(p, 16), c = v128.load(p, 32), d = v128.load(p, 48);
    // v ≠ v is NaN; v == +∞ the other failure. One test per 16 values, the index found only on a hit.
    const bad = v128.or(
      v128.or(v128.or(f32x4.ne(a, a), f32x4.eq(a, inf)), v128.or(f32x4.ne(b, b), f32x4.eq(b, inf))),
      v128.or(v128.or(f32x4.ne(c, c), f32x4.eq(c, inf)), v128.or(f32x4.ne(d, d), f32x4.eq(d, inf))),
    );
    if (v128.any_true(bad)) {
      for (let j = i; j < i + 16 && j < n; j++) {
        const v = load<f32>(x + (<usize>j << 2));
        if (v != v || v == Infinity) return j;
      }
    }
  }
  return -1;
}

/** exp((v − top)·scale) per lane, exactly 0 below e^FLOOR. */
@inline function weights4(v: v128, top: v128, scale: v128): v128 {
  const e = f32x4.mul(f32x4.sub(v, top), scale);
  return v128.bitselect(f32x4.splat(0), exp4t(e), f32x4.lt(e, f32x4.splat(FLOOR)));
}

/**
 * Σ of one ROW_BLOCK's weights at p (f32 lanes, then f64); with keep each weight also goes to w.
 * keep is a constant at every call, so each caller's loop has no branch left in it.
 */
@inline function blockWeights(p: usize, t: v128, s: v128, w: usize, keep: bool): f64 {
  let a0 = f32x4.splat(0), a1 = a0, a2 = a0, a3 = a0;
  for (let j: usize = 0; j < <usize>ROW_BLOCK << 2; j += 64) {
    const e0 = weights4(v128.load(p + j), t, s), e1 = weights4(v128.load(p + j, 16), t, s);
    const e2 = weights4(v128.load(p + j, 32), t, s), e3 = weights4(v128.load(p + j, 48), t, s);
    if (keep) {
      v128.store(w + j, e0);
      v128.store(w + j, e1, 16);
      v128.store(w + j, e2, 32);
      v128.store(w + j, e3, 48);
    }
    a0 = f32x4.add(a0, e0);
    a1 = f32x4.add(a1, e1);
    a2 = f32x4.add(a2, e2);
    a3 = f32x4.add(a3, e3);
  }
  return <f64>hsum(f32x4.add(f32x4.add(a0, a1), f32x4.add(a2, a3)));
}

/**
 * Σ exp((x[i] − top)·scale) over the padded row; with blocks ≠ 0 each block's sum is stored there
 * (f64, one per ROW_BLOCK values) for row_pick. Blocks are summed in f32 lanes, blocks in f64.
 */
export function row_sum_exp(x: usize, padded: i32, top: f32, scale: f32, blocks: usize): f64 {
  const t = f32x4.splat(top);
  const s = f32x4.splat(scale);
  let total: f64 = 0;
  for (let b = 0; b < padded; b += ROW_BLOCK) {
    const sum = blockWeights(x + (<usize>b << 2), t, s, 0, false);
    if (blocks != 0) store<f64>(blocks + (<usize>(b / ROW_BLOCK) << 3), sum);
    total += sum;
  }
  return total;
}

/**
 * row_sum_exp that also writes each weight (f32, exactly the ones row_pick draws with) to w; the
 * total is summed as row_sum_exp sums it, so the two agree to the bit.
 */
export function row_weights(x: usize, padded: i32, top: f32, scale: f32, w: usize): f64 {
  const t = f32x4.splat(top);
  const s = f32x4.splat(scale);
  let total: f64 = 0;
  for (let b = 0; b < padded; b += ROW_BLOCK) total += blockWeights(x + (<usize>b << 2), t, s, w + (<usize>b << 2), true);
  return total;
}

/**
 * The token where the running weight sum first exceeds target (0 ≤ target < the row_sum_exp total
 * that filled blocks, same top and scale): the block from the stored sums, then the token within
 * it from the same weights recomputed. Only tokens of positive weight are returned; where rounding
 * runs past a block or the row, the last positive one before that point.
 */
export function row_pick(x: usize, padded: i32, top: f32, scale: f32, blocks: usize, target: f64): i32 {
  const nb = padded / ROW_BLOCK;
  let cum: f64 = 0;
  let b = 0;
  for (; b < nb; b++) {
    const s = load<f64>(blocks + (<usize>b << 3));
    if (s > 0 && target < cum + s) break;
    cum += s;
  }
  if (b == nb) {
    // target ≥ the total by rounding: the last block with weight, its last positive token.
    b = nb - 1;
    while (b > 0 && !(load<f64>(blocks + (<usize>b << 3)) > 0)) b--;
    cum = -Infinity; // rem = +∞: the scan below ends on the block's last positive weight
  }
  const t = f32x4.splat(top);
  const s = f32x4.splat(scale);
  let rem = target - cum;
  let last = -1;
  for (let j = 0; j < ROW_BLOCK; j += 4) {
    const i = b * ROW_BLOCK + j;
    const w = weights4(v128.load(x + (<usize>i << 2)), t, s);
    const w0 = <f64>f32x4.extract_lane(w, 0);
    const w1 = <f64>f32x4.extract_lane(w, 1);
    const w2 = <f64>f32x4.extract_lane(w, 2);
    const w3 = <f64>f32x4.extract_lane(w, 3);
    if (w0 > 0) { last = i; rem -= w0; if (rem < 0) return i; }
    if (w1 > 0) { last = i + 1; rem -= w1; if (rem < 0) return i + 1; }
    if (w2 > 0) { last = i + 2; rem -= w2; if (rem < 0) return i + 2; }
    if (w3 > 0) { last = i + 3; rem -= w3; if (rem < 0) return i + 3; }
  }
  return last;
}

/**
 * Top-p's bins: value v ≥ floor goes to bin min(⌊(top − v)·k⌋, bins − 1) (bin 0 holds the largest
 * logits); values below floor (NaN and the −∞ padding too) to bin `bins`, the discard bin. One
 * formula for both passes below, so a value lands in the same bin in each.
 */
@inline function bins4(v: v128, top: v128, floor: v128, k: v128, bins: v128): v128 {
  const b = i32x4.min_s(i32x4.trunc_sat_f32x4_s(f32x4.mul(f32x4.sub(top, v), k)), i32x4.sub(bins, i32x4.splat(1)));
  return v128.bitselect(b, bins, f32x4.ge(v, floor));
}

/** Adds w to bin b (f64 sums). */
@inline function addToBin(hist: usize, b: i32, w: f32): void {
  const h = hist + (<usize>b << 3);
  store<f64>(h, load<f64>(h) + <f64>w);
}

/**
 * Top-p's first pass: w[i] = exp(x[i] − top) as f32 (0 below floor), each weight added to its bin
 * (f64 sums in hist[0..bins); hist[bins] is the discard bin, left 0).
 */
export function row_mass_bins(x: usize, padded: i32, top: f32, floor: f32, k: f32, bins: i32, w: usize, hist: usize): void {
  memory.fill(hist, 0, <usize>(bins + 1) << 3);
  const t = f32x4.splat(top), f = f32x4.splat(floor), kv = f32x4.splat(k), bv = i32x4.splat(bins);
  for (let i = 0; i < padded; i += 4) {
    const v = v128.load(x + (<usize>i << 2));
    const b = bins4(v, t, f, kv, bv);
    const e = v128.andnot(exp4t(f32x4.sub(v, t)), i32x4.eq(b, bv));
    v128.store(w + (<usize>i << 2), e);
    // No branch on the lane: discarded values add their 0 to the discard bin.
    addToBin(hist, i32x4.extract_lane(b, 0), f32x4.extract_lane(e, 0));
    addToBin(hist, i32x4.extract_lane(b, 1), f32x4.extract_lane(e, 1));
    addToBin(hist, i32x4.extract_lane(b, 2), f32x4.extract_lane(e, 2));
    addToBin(hist, i32x4.extract_lane(b, 3), f32x4.extract_lane(e, 3));
  }
}

/** The ids of the values in bins 0..last (same bins as row_mass_bins), ascending, into ids; their count. */
export function row_gather_bins(x: usize, padded: i32, top: f32, floor: f32, k: f32, bins: i32, last: i32, ids: usize): i32 {
  const t = f32x4.splat(top), f = f32x4.splat(floor), kv = f32x4.splat(k), bv = i32x4.splat(bins);
  let n = 0;
  for (let i = 0; i < padded; i += 4) {
    const b = bins4(v128.load(x + (<usize>i << 2)), t, f, kv, bv);
    // In: bin ≤ last (the discard bin is past every last). Each id is written, kept when its lane is
    // in (true lanes are −1): ids needs 3 slots of slack.
    const inn = i32x4.le_s(b, i32x4.splat(last));
    if (!v128.any_true(inn)) continue;
    store<i32>(ids + (<usize>n << 2), i);
    n -= i32x4.extract_lane(inn, 0);
    store<i32>(ids + (<usize>n << 2), i + 1);
    n -= i32x4.extract_lane(inn, 1);
    store<i32>(ids + (<usize>n << 2), i + 2);
    n -= i32x4.extract_lane(inn, 2);
    store<i32>(ids + (<usize>n << 2), i + 3);
    n -= i32x4.extract_lane(inn, 3);
  }
  return n;
}

/** How many of the padded row are ≥ theta (the −∞ padding never counts unless theta is −∞). */
export function row_count_at_least(x: usize, padded: i32, theta: f32): i32 {
  const t = f32x4.splat(theta);
  let c0 = i32x4.splat(0), c1 = c0;
  for (let i = 0; i < padded; i += 8) {
    const p = x + (<usize>i << 2);
    // A true lane is −1: subtracting counts it.
    c0 = i32x4.sub(c0, f32x4.ge(v128.load(p), t));
    c1 = i32x4.sub(c1, f32x4.ge(v128.load(p, 16), t));
  }
  return hsumi(i32x4.add(c0, c1));
}
