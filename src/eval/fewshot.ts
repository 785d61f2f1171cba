/**
 * Few-shot example selection, deterministic by seed: the same seed, pool and item always give the
 * same examples in the same order. The 'random' sampler draws without replacement with its own
 * PRNG (splitmix32), so its picks are stable across runs and machines but are not Python's
 * random.sample picks; 'first_n' takes the pool's first n (the harness's MMLU/Meta convention).
 */
export type FewshotSampler = 'random' | 'first_n';

/** splitmix32: tiny, well-mixed, and fully specified here. */
export function seededRandom(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x9e3779b9) >>> 0;
    let z = s;
    z = Math.imul(z ^ (z >>> 16), 0x21f0aaad) >>> 0;
    z = Math.imul(z ^ (z >>> 15), 0x735a2d97) >>> 0;
    z = (z ^ (z >>> 15)) >>> 0;
    return z / 2 ** 32;
  };
}

/**
 * Picks `n` indices of `poolSize` for item `itemIndex`, never `exclude` (the item itself when the
 * pool is the evaluated split). Each item gets its own stream (seed mixed with the item index),
 * so results do not depend on which other items run or in what order.
 */
export function selectFewshot(poolSize: number, n: number, sampler: FewshotSampler, seed: number, itemIndex: number, exclude?: number): number[] {
  const candidates: number[] = [];
  for (let i = 0; i < poolSize; i++) if (i !== exclude) candidates.push(i);
  if (n <= 0) return [];
  if (sampler === 'first_n') return candidates.slice(0, n);
  const rnd = seededRandom((seed ^ Math.imul(itemIndex + 1, 0x85ebca6b)) >>> 0);
  const k = Math.min(n, candidates.length);
  // Partial Fisher–Yates: the first k slots are a uniform sample in random order.
  for (let i = 0; i < k; i++) {
    const j = i + Math.floor(rnd() * (candidates.length - i));
    [candidates[i], candidates[j]] = [candidates[j]!, candidates[i]!];
  }
  return candidates.slice(0, k);
}
