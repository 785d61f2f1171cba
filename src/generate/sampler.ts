import type { SamplingOptions } from './options.js';
import { Rng } from './rng.js';
import { BadArgumentError } from '../errors/errors.js';

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
  /** Greedy: the argmax, no randomness. */
  get greedy(): boolean {
    return this.opts.temperature === 0;
  }
  private readonly opts: Required<Omit<SamplingOptions, 'logitBias' | 'seed'>> & { logitBias: ReadonlyMap<number, number> };
  /** Ids seen so far (prompt and generated), for penalties. */
  private readonly history: number[] = [];
  private scratch = new Float32Array(0);

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
    const { l, logZ, top, cand } = this.prepare(logits);
    if (this.opts.temperature === 0) {
      const id = argmax(l);
      return { id, logprob: l[id]! - logZ };
    }
    const chosen = cand.length > 0 ? this.draw(l, cand, top) : this.drawAll(l, top);
    return { id: chosen, logprob: l[chosen]! - logZ };
  }

  /**
   * The exact probability vector `sample` would draw from for this row (after bias, penalties,
   * truncation and temperature; a point mass at the argmax when greedy), and each token's logprob
   * as `sample` reports it. Speculative decoding's acceptance rule needs both p and q in this form.
   */
  distribution(logits: Float32Array): TokenDistribution {
    const { l, logZ, top, cand } = this.prepare(logits);
    const probs = new Float64Array(l.length);
    const t = this.opts.temperature;
    if (t === 0) {
      probs[argmax(l)] = 1;
    } else {
      let z = 0;
      if (cand.length > 0) {
        for (const i of cand) z += probs[i] = Math.exp((l[i]! - top) / t);
      } else {
        for (let i = 0; i < l.length; i++) z += probs[i] = Math.exp((l[i]! - top) / t);
      }
      for (let i = 0; i < probs.length; i++) probs[i] = probs[i]! / z;
    }
    const pen = Float32Array.from(l);
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

  /** Bias, penalties, log-normaliser, and the truncated candidate set (empty: the whole vocabulary). */
  private prepare(logits: Float32Array): { l: Float32Array; logZ: number; top: number; cand: number[] } {
    const o = this.opts;
    if (this.scratch.length !== logits.length) this.scratch = new Float32Array(logits.length);
    const l = this.scratch;
    l.set(logits);
    for (const [id, b] of o.logitBias) if (id >= 0 && id < l.length) l[id] = l[id]! + b;
    this.applyPenalties(l);

    const logZ = logSumExp(l);
    const top = l[argmax(l)]!;
    let cand: number[] = [];
    if (o.temperature === 0 || (o.topK === 0 && o.topP === 1 && o.minP === 0)) return { l, logZ, top, cand };
    // Tokens more than e^28 below the top cannot change a top-p / min-p cut measurably;
    // dropping them first keeps the sort small on 128K vocabularies.
    const floor = o.minP > 0 ? Math.max(top + Math.log(o.minP), top - 28) : top - 28;
    if (o.topK > 0) cand = topKOf(l, o.topK, floor);
    else {
      for (let i = 0; i < l.length; i++) if (l[i]! >= floor) cand.push(i);
      cand.sort((a, b) => l[b]! - l[a]! || a - b);
    }
    if (o.topP < 1) {
      const probs = cand.map((i) => Math.exp(l[i]! - top));
      const z = probs.reduce((a, b) => a + b, 0);
      let cum = 0;
      for (let j = 0; j < cand.length; j++) {
        cum += probs[j]! / z;
        if (cum >= o.topP) {
          cand = cand.slice(0, j + 1);
          break;
        }
      }
    }
    return { l, logZ, top, cand };
  }

  /** Draws from `cand` with weights exp((l − top) / T). */
  private draw(l: Float32Array, cand: readonly number[], top: number): number {
    const t = this.opts.temperature;
    const weights = cand.map((i) => Math.exp((l[i]! - top) / t));
    const z = weights.reduce((a, b) => a + b, 0);
    let r = this.rng.next() * z;
    for (let j = 0; j < cand.length; j++) {
      r -= weights[j]!;
      if (r < 0) return cand[j]!;
    }
    return cand[cand.length - 1]!;
  }

  private drawAll(l: Float32Array, top: number): number {
    const t = this.opts.temperature;
    let z = 0;
    for (let i = 0; i < l.length; i++) z += Math.exp((l[i]! - top) / t);
    let r = this.rng.next() * z;
    let last = 0;
    for (let i = 0; i < l.length; i++) {
      const w = Math.exp((l[i]! - top) / t);
      if (w > 0) last = i;
      r -= w;
      if (r < 0) return i;
    }
    return last;
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

export function argmax(l: Float32Array): number {
  let best = 0;
  let bv = -Infinity;
  for (let i = 0; i < l.length; i++) {
    if (l[i]! > bv) {
      bv = l[i]!;
      best = i;
    }
  }
  return best;
}

function logSumExp(l: Float32Array): number {
  let m = -Infinity;
  for (let i = 0; i < l.length; i++) if (l[i]! > m) m = l[i]!;
  let s = 0;
  for (let i = 0; i < l.length; i++) s += Math.exp(l[i]! - m);
  return m + Math.log(s);
}

/**
 * The k best ids at or above `floor`, best first, ties by lower id: what sorting them all and
 * keeping k gives, without sorting a whole flat row (random or high-temperature logits).
 */
function topKOf(l: Float32Array, k: number, floor: number): number[] {
  const out: number[] = [];
  for (let i = 0; i < l.length; i++) {
    const v = l[i]!;
    if (v < floor) continue;
    if (out.length === k && v <= l[out[k - 1]!]!) continue; // equal value: the earlier id stays ahead
    let j = out.length === k ? k - 1 : out.length;
    if (out.length < k) out.push(i);
    while (j > 0 && l[out[j - 1]!]! < v) {
      out[j] = out[j - 1]!;
      j--;
    }
    out[j] = i;
  }
  return out;
}
