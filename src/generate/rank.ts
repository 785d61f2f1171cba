/**
 * Ranking candidate tokens without comparator sorts: each candidate becomes one float64 key whose
 * ascending order is "logit descending, then id ascending" — the order the sampler has always
 * used — so the engine's typed-array sort and an O(n) selection can do the work. On a 128K
 * vocabulary a comparator sort of every candidate took ~100 ms a row; this takes a few.
 */

/** Ids below 2^ID_BITS fit beside a 32-bit logit key inside float64's 53-bit integer range. */
const ID_BITS = 21;
const ID_SPAN = 2 ** ID_BITS;
const u32 = new Uint32Array(1);
const f32 = new Float32Array(u32.buffer);

/** Largest vocabulary the keys can rank. */
export const MAX_RANKED_VOCAB = ID_SPAN;

/** Key of (logit, id): smaller key = ranks first. Logits are float32 values (finite or −∞). */
export function rankKey(logit: number, id: number): number {
  f32[0] = logit + 0; // −0 ranks with +0, as the comparator `b − a` treated them
  const bits = u32[0]!;
  // Order-preserving map of float32 bits to unsigned (larger logit → larger value), then flipped.
  const ord = bits & 0x80000000 ? ~bits >>> 0 : (bits | 0x80000000) >>> 0;
  return (0xffffffff - ord) * ID_SPAN + id;
}

/** The id a key was made from. */
export function keyId(key: number): number {
  return key % ID_SPAN;
}

/**
 * Rearranges `keys[0..n)` so that its `k` smallest keys come first, sorted ascending (the rest
 * follow in no order). Deterministic: keys are distinct because ids are.
 */
export function selectSmallest(keys: Float64Array, n: number, k: number): void {
  if (k <= 0) return;
  if (k < n) nthElement(keys, 0, n - 1, k - 1);
  keys.subarray(0, Math.min(k, n)).sort();
}

/** Hoare-style quickselect: afterwards keys[k] is in its sorted place, smaller keys before it. */
function nthElement(a: Float64Array, lo: number, hi: number, k: number): void {
  while (hi > lo) {
    const mid = (lo + hi) >>> 1;
    // Median of three as the pivot keeps sorted and reversed inputs linear.
    if (a[mid]! < a[lo]!) swap(a, mid, lo);
    if (a[hi]! < a[lo]!) swap(a, hi, lo);
    if (a[hi]! < a[mid]!) swap(a, hi, mid);
    const pivot = a[mid]!;
    let i = lo;
    let j = hi;
    while (i <= j) {
      while (a[i]! < pivot) i++;
      while (a[j]! > pivot) j--;
      if (i <= j) {
        swap(a, i, j);
        i++;
        j--;
      }
    }
    if (k <= j) hi = j;
    else if (k >= i) lo = i;
    else return;
  }
}

function swap(a: Float64Array, i: number, j: number): void {
  const t = a[i]!;
  a[i] = a[j]!;
  a[j] = t;
}
