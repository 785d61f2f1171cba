import type { SamplingOptions } from './options.js';
import { Rng } from './rng.js';
import { keyId, rankKey, selectSmallest, MAX_RANKED_VOCAB } from './rank.js';
import { BadArgumentError } from '../errors/errors.js';
import { rowKernels } from './row-kernels.js';

/** Bins of the top-p pass (Sampler.nucleus). */
const NUCLEUS_BINS = 4096;

export interface SampleResult {
  readonly id: number;
  /** log-probability of `id` after penalties and bias, before temperature and truncation. */
  readonly logprob: number;
}

/** The distribution a sampler draws one token from. */
export interface TokenDistribution {
  /** [vocab] probabilities, summing to 1 (zero outside the truncated set). */
  readonly probs: Float64Array;
  /** The logprob `sample` would report for `id` (penalised, before temperature and truncation). */
  logprob(id: number): number;
}

export interface SamplerCheckpoint {
  readonly history: number;
  readonly rng: readonly [number, number, number, number];
}

/**
 * Turns one row of logits into a token. Order (llama.cpp's): logit bias → repetition /
 * frequency / presence penalties → greedy, or top-k → top-p → min-p → temperature → draw.
 * Each sampler owns its RNG, so sequences sampled side by side do not disturb each other.
 */
export class Sampler {
  private readonly rng: Rng;
  /** No top-k, top-p or min-p cut: every token can be drawn. */
  private get untruncated(): boolean {
    return this.opts.topK === 0 && this.opts.topP === 1 && this.opts.minP === 0;
  }
  /** Greedy: the argmax, no randomness. */
  get greedy(): boolean {
    return this.opts.temperature === 0;
  }
  private readonly opts: Required<Omit<SamplingOptions, 'logitBias' | 'seed'>> & { logitBias: ReadonlyMap<number, number> };
  /** Ids seen so far (prompt and generated), for penalties. */
  private readonly history: number[] = [];
  private keys = new Float64Array(0);
  private weights = new Float64Array(0);

  constructor(options: SamplingOptions = {}) {
    this.opts = {
      temperature: options.temperature ?? 0,
      topK: options.topK ?? 0,
      topP: options.topP ?? 1,
      minP: options.minP ?? 0,
      repetitionPenalty: options.repetitionPenalty ?? 1,
      frequencyPenalty: options.frequencyPenalty ?? 0,
      presencePenalty: options.presencePenalty ?? 0,
      penaltyLastN: options.penaltyLastN ?? 64,
      logitBias: new Map(Object.entries(options.logitBias ?? {}).map(([k, v]) => [Number(k), v])),
    };
    const o = this.opts;
    if (!(o.temperature >= 0)) throw new BadArgumentError(`temperature must be ≥ 0, got ${o.temperature}`);
    if (!(o.topP > 0 && o.topP <= 1)) throw new BadArgumentError(`topP must be in (0, 1], got ${o.topP}`);
    if (!(o.minP >= 0 && o.minP <= 1)) throw new BadArgumentError(`minP must be in [0, 1], got ${o.minP}`);
    if (!(o.topK >= 0) || !Number.isInteger(o.topK)) throw new BadArgumentError(`topK must be a non-negative integer, got ${o.topK}`);
    if (!(o.repetitionPenalty > 0)) throw new BadArgumentError(`repetitionPenalty must be > 0, got ${o.repetitionPenalty}`);
    this.rng = new Rng(options.seed ?? Math.floor(Math.random() * 2 ** 32));
  }

  /** Records tokens that count for penalties (the prompt, then every accepted token). */
  accept(ids: number | readonly number[]): void {
    if (typeof ids === 'number') this.history.push(ids);
    else for (const id of ids) this.history.push(id);
  }

  /** A point to come back to: penalty history length and RNG state (speculative decoding's rollback). */
  checkpoint(): SamplerCheckpoint {
    return { history: this.history.length, rng: this.rng.state() };
  }

  restore(cp: SamplerCheckpoint): void {
    if (cp.history > this.history.length) throw new BadArgumentError('a sampler checkpoint cannot move forward');
    this.history.length = cp.history;
    this.rng.restore(cp.rng);
  }

  sample(logits: Float32Array): SampleResult {
    const o = this.opts;
    const k = rowKernels();
    const l = this.penalised(logits);
    const n = l.length;
    const best = k.argmax(n);
    // Every token masked out (−∞ or NaN): nothing to draw from (Generation names the cause).
    if (best < 0) return { id: 0, logprob: NaN };
    const top = l[best]!;
    const whole = o.temperature > 0 && this.untruncated;
    // At temperature 1 the draw's weights are exactly log Z's terms: keep them for the draw.
    const z = k.sumExp(n, top, 1, whole && o.temperature === 1);
    const logZ = top + Math.log(z);
    if (o.temperature === 0) return { id: best, logprob: l[best]! - logZ };
    let chosen: number;
    const scale = 1 / o.temperature;
    // Past float32's range (T < ~3e-39) the weights are a point mass on the argmax anyway.
    if (scale > 3e38) return { id: best, logprob: l[best]! - logZ };
    if (whole) {
      const zt = o.temperature === 1 ? z : k.sumExp(n, top, scale, true);
      chosen = k.pick(n, top, scale, this.rng.next() * zt);
    } else {
      chosen = this.draw(l, this.candidates(l, top), top);
    }
    return { id: chosen, logprob: l[chosen]! - logZ };
  }

  /**
   * The exact probability vector `sample` would draw from for this row (after bias, penalties,
   * truncation and temperature; a point mass at the argmax when greedy), and each token's logprob
   * as `sample` reports it. Speculative decoding's acceptance rule needs both p and q in this form.
   * (Without truncation the probabilities are `sample`'s own float32 weights over their sum, so the
   * two agree exactly; with truncation `sample` and this compute exp in float64 alike.)
   */
  distribution(logits: Float32Array): TokenDistribution {
    const o = this.opts;
    const k = rowKernels();
    const l = this.penalised(logits);
    const n = l.length;
    const probs = new Float64Array(n);
    const best = k.argmax(n);
    if (best < 0) return { probs, logprob: () => NaN };
    const top = l[best]!;
    const logZ = top + Math.log(k.sumExp(n, top, 1, false));
    const t = o.temperature;
    if (t === 0) {
      probs[best] = 1;
    } else if (this.untruncated) {
      // The very weights and total sample's draw uses (a row kernel pass, not Math.exp per token).
      const { total, weights } = k.weights(n, top, 1 / t);
      for (let i = 0; i < n; i++) probs[i] = weights[i]! / total;
    } else {
      let z = 0;
      const cand = this.candidates(l, top);
      for (let j = 0; j < cand.length; j++) {
        const i = keyId(cand[j]!);
        z += probs[i] = Math.exp((l[i]! - top) / t);
      }
      for (let i = 0; i < n; i++) probs[i] = probs[i]! / z;
    }
    const pen = l.slice();
    return { probs, logprob: (id) => pen[id]! - logZ };
  }

  /** A uniform draw from this sampler's RNG (acceptance tests share the seeded stream). */
  uniform(): number {
    return this.rng.next();
  }

  /** Draws an index from unnormalised non-negative weights with this sampler's RNG. */
  drawWeights(w: Float64Array): number {
    let z = 0;
    for (let i = 0; i < w.length; i++) z += w[i]!;
    let r = this.rng.next() * z;
    let last = -1;
    for (let i = 0; i < w.length; i++) {
      const x = w[i]!;
      if (x > 0) last = i;
      r -= x;
      if (r < 0 && x > 0) return i;
    }
    if (last < 0) throw new BadArgumentError('cannot draw from an all-zero distribution');
    return last;
  }

  /**
   * The row with logit bias and penalties applied, in the thread's scratch row (valid until the
   * next sampler call on this thread); the input is not modified.
   */
  private penalised(logits: Float32Array): Float32Array {
    const l = rowKernels().row(logits.length);
    l.set(logits);
    for (const [id, b] of this.opts.logitBias) if (id >= 0 && id < l.length) l[id] = l[id]! + b;
    this.applyPenalties(l);
    return l;
  }

  /**
   * The truncated candidate set (top-k → top-p → min-p), as rank keys in rank order (logit
   * descending, id ascending). Only as much is ranked as the cut needs: a top-k or a small nucleus
   * never sorts the whole vocabulary.
   */
  private candidates(l: Float32Array, top: number): Float64Array {
    const o = this.opts;
    // Tokens more than e^28 below the top cannot change a top-p / min-p cut measurably;
    // dropping them first keeps the ranking small on 128K vocabularies.
    let floor = o.minP > 0 ? Math.max(top + Math.log(o.minP), top - 28) : top - 28;
    if (l.length > MAX_RANKED_VOCAB) throw new BadArgumentError(`top-k / top-p / min-p support vocabularies up to ${MAX_RANKED_VOCAB} tokens, this one has ${l.length}`);
    if (o.topK === 0 && o.topP < 1) return this.nucleus(l, top, floor);
    const narrowed = o.topK > 0 && this.narrowForTopK(l, top, floor);
    if (narrowed !== false) floor = narrowed;
    if (this.keys.length < l.length) this.keys = new Float64Array(l.length);
    const keys = this.keys;
    let n = 0;
    for (let i = 0; i < l.length; i++) if (l[i]! >= floor) keys[n++] = rankKey(l[i]!, i);
    // Draws go in rank order: rank the top k (a narrowed floor keeps at least k, so the cut runs
    // as it would over every candidate), or every candidate (min-p alone, or k ≥ their number).
    const kept = o.topK > 0 ? Math.min(o.topK, n) : n;
    selectSmallest(keys, n, kept);
    n = kept;
    if (o.topP === 1) return keys.subarray(0, n);
    // After a top-k cut: the nucleus of the k ranked keys.
    let z = 0;
    for (let j = 0; j < n; j++) z += Math.exp(l[keyId(keys[j]!)]! - top);
    let cum = 0;
    for (let j = 0; j < n; j++) {
      cum += Math.exp(l[keyId(keys[j]!)]! - top) / z;
      if (cum >= o.topP) return keys.subarray(0, j + 1);
    }
    return keys.subarray(0, n);
  }

  /**
   * Top-p without top-k: the smallest rank-order prefix of the tokens at or above `floor` whose
   * weights exp(l − top) reach topP of their total. One pass bins every token by logit (4096 bins
   * between floor and top, with each bin's weight); the bin where the running weight crosses the
   * cut bounds the nucleus, and only the tokens in it and the bins above are ranked. Growing a
   * ranked prefix over every candidate took 7 ms a row on a 128K vocabulary even for a 200-token
   * nucleus (29 ms on a flat row); a whole top-p sample now takes ~1.2 ms there (14 ms flat).
   */
  private nucleus(l: Float32Array, top: number, floor: number): Float64Array {
    const k = rowKernels();
    const n = l.length;
    const lo = Math.fround(floor) < floor ? Math.fround(floor + Math.abs(floor) * 2 ** -23 + 2 ** -149) : Math.fround(floor);
    const range = top - lo;
    const scale = range > 0 ? Math.fround(NUCLEUS_BINS / range) : 0;
    const { total, hist, weights } = k.massBins(n, top, lo, scale, NUCLEUS_BINS);
    const target = this.opts.topP * total;
    let last = NUCLEUS_BINS - 1;
    let cum = 0;
    for (let b = 0; b < NUCLEUS_BINS; b++) {
      cum += hist[b]!;
      if (cum >= target) {
        last = b;
        break;
      }
    }
    // One bin of slack: the walk below sums in another order, so its crossing may move by rounding.
    const ids = k.gatherBins(n, top, lo, scale, NUCLEUS_BINS, Math.min(last + 1, NUCLEUS_BINS - 1));
    if (this.keys.length < ids.length) this.keys = new Float64Array(n);
    const keys = this.keys;
    for (let j = 0; j < ids.length; j++) keys[j] = rankKey(l[ids[j]!]!, ids[j]!);
    const ranked = keys.subarray(0, ids.length).sort();
    // The same weights summed in rank order: the cut falls in bin `last`, or by rounding just past it.
    cum = 0;
    for (let j = 0; j < ranked.length; j++) {
      cum += weights[keyId(ranked[j]!)]!;
      if (cum >= target) return ranked.subarray(0, j + 1);
    }
    return ranked;
  }

  /**
   * A floor above `floor` that at least topK tokens still reach (so the top k all do), found by
   * bisection with float32 counts over the row; false when the candidates above `floor` are topK
   * or fewer anyway. Ranking then touches a few hundred keys instead of the whole vocabulary.
   * The floor is a float32 value, so the count and the filter compare exactly alike.
   */
  private narrowForTopK(l: Float32Array, top: number, floor: number): number | false {
    const k = rowKernels();
    const want = this.opts.topK;
    const n = l.length;
    let lo = Math.fround(floor);
    if (lo < floor) lo = Math.fround(lo + Math.abs(lo) * 2 ** -23 + 2 ** -149); // round up: at or above floor
    if (!(k.countAtLeast(n, lo) > want)) return false;
    let hi = top;
    for (let it = 0; it < 24; it++) {
      const mid = Math.fround((lo + hi) / 2);
      if (mid <= lo || mid >= hi) break;
      if (k.countAtLeast(n, mid) >= want) lo = mid;
      else hi = mid;
    }
    return lo;
  }

  /** Draws from the ranked candidates with weights exp((l − top) / T). */
  private draw(l: Float32Array, cand: Float64Array, top: number): number {
    const t = this.opts.temperature;
    const w = this.weightsFor(cand.length);
    let z = 0;
    for (let j = 0; j < cand.length; j++) z += w[j] = Math.exp((l[keyId(cand[j]!)]! - top) / t);
    let r = this.rng.next() * z;
    for (let j = 0; j < cand.length; j++) {
      r -= w[j]!;
      if (r < 0) return keyId(cand[j]!);
    }
    return keyId(cand[cand.length - 1]!);
  }

  private weightsFor(n: number): Float64Array {
    if (this.weights.length < n) this.weights = new Float64Array(n);
    return this.weights;
  }

  private applyPenalties(l: Float32Array): void {
    const o = this.opts;
    if (o.repetitionPenalty === 1 && o.frequencyPenalty === 0 && o.presencePenalty === 0) return;
    const from = o.penaltyLastN < 0 ? 0 : Math.max(0, this.history.length - o.penaltyLastN);
    const counts = new Map<number, number>();
    for (let i = from; i < this.history.length; i++) {
      const id = this.history[i]!;
      counts.set(id, (counts.get(id) ?? 0) + 1);
    }
    for (const [id, count] of counts) {
      if (id < 0 || id >= l.length) continue;
      let v = l[id]!;
      if (o.repetitionPenalty !== 1) v = v > 0 ? v / o.repetitionPenalty : v * o.repetitionPenalty;
      v -= count * o.frequencyPenalty + o.presencePenalty;
      l[id] = v;
    }
  }
}
