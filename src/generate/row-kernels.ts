import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { kernelDir } from '../backend/wasm/kernel-files.js';
import { BadArgumentError } from '../errors/errors.js';

/**
 * The passes over a whole row of logits that sampling makes: argmax, Σ exp, and a draw by
 * cumulative weight. On a 128K vocabulary these were most of the sampler's time (~4 ms a row in
 * plain JS, where Math.exp runs one value at a time); the wasm build (asm/sampling.ts) runs them
 * four lanes at a time. One scratch row per thread: a sampler fills it and uses it before returning.
 */
export interface RowKernels {
  /** The scratch row for `n` logits (values past n are −∞); valid until the next `row` call. */
  row(n: number): Float32Array;
  /** First index of the largest of row[0..n) (NaN never wins); −1 when none is above −∞. */
  argmax(n: number): number;
  /** Index of the first NaN or +∞ in `logits` (copied into the scratch row); −1 when there is none. */
  firstNonFinite(logits: Float32Array): number;
  /**
   * Σ exp((row[i] − top)·scale), weights below e^-87 counted as exactly 0; `keep` keeps what
   * `pick` needs for a draw with the same top and scale.
   */
  sumExp(n: number, top: number, scale: number, keep: boolean): number;
  /**
   * Every weight exp((row[i] − top)·scale) (0 below e^-87), exactly as `pick` draws with them, and
   * their sum exactly as `sumExp` returns it (the view is valid until the next `row` call). The JS
   * fallback draws with float64 weights and returns them rounded to float32 here.
   */
  weights(n: number, top: number, scale: number): { readonly total: number; readonly weights: Float32Array };
  /** The first token where the running weight sum exceeds `target` (in [0, the kept sum)); positive weights only. */
  pick(n: number, top: number, scale: number, target: number): number;
  /** How many of row[0..n) are ≥ theta, compared in float32 (theta should be a float32 value). */
  countAtLeast(n: number, theta: number): number;
  /**
   * Top-p's pass: each value v ≥ floor weighs exp(v − top) (others 0) and goes to bin
   * min(⌊(top − v)·k⌋, bins − 1), bin 0 holding the largest; the total weight, each bin's sum and
   * every weight (views valid until the next `row` call). The total is the bins' sum in bin order.
   * bins ≤ MAX_BINS; floor and k float32 values.
   */
  massBins(n: number, top: number, floor: number, k: number, bins: number): MassBins;
  /** The ids of the values in bins 0..last (the bins of `massBins` with the same arguments), ascending. */
  gatherBins(n: number, top: number, floor: number, k: number, bins: number, last: number): Int32Array;
}

export interface MassBins {
  readonly total: number;
  readonly hist: Float64Array;
  readonly weights: Float32Array;
}

/** Most bins `massBins` takes. */
export const MAX_BINS = 4096;

/** Values per block of the draw's stored sums (asm/sampling.ts ROW_BLOCK). */
const BLOCK = 64;
const FLOOR = -87;

const padded = (n: number): number => Math.ceil(n / BLOCK) * BLOCK;

interface RowExports {
  memory: WebAssembly.Memory;
  heap_base(): number;
  row_argmax(x: number, n: number, padded: number): number;
  row_first_bad(x: number, n: number, padded: number): number;
  row_sum_exp(x: number, padded: number, top: number, scale: number, blocks: number): number;
  row_pick(x: number, padded: number, top: number, scale: number, blocks: number, target: number): number;
  row_weights(x: number, padded: number, top: number, scale: number, w: number): number;
  row_count_at_least(x: number, padded: number, theta: number): number;
  row_mass_bins(x: number, padded: number, top: number, floor: number, k: number, bins: number, w: number, hist: number): void;
  row_gather_bins(x: number, padded: number, top: number, floor: number, k: number, bins: number, last: number, ids: number): number;
}

class WasmRowKernels implements RowKernels {
  private view = new Float32Array(0);
  private readonly base: number;
  // Byte offsets after the row: the draw's block sums, top-p's weights, bins and gathered ids.
  private blocks = 0;
  private weightsAt = 0;
  private hist = 0;
  private ids = 0;
  private n = -1;

  constructor(private readonly k: RowExports) {
    this.base = k.heap_base();
  }

  row(n: number): Float32Array {
    const p = padded(n);
    const blocks = this.base + p * 4;
    const weights = blocks + (p / BLOCK) * 8;
    const hist = weights + p * 4;
    const ids = hist + (MAX_BINS + 1) * 8;
    const bytes = ids + (p + 4) * 4;
    const have = this.k.memory.buffer.byteLength;
    if (bytes > have) this.k.memory.grow(Math.ceil((bytes - have) / 65536));
    if (this.n !== n || this.view.buffer !== this.k.memory.buffer) {
      this.view = new Float32Array(this.k.memory.buffer, this.base, n);
      this.blocks = blocks;
      this.weightsAt = weights;
      this.hist = hist;
      this.ids = ids;
      this.n = n;
      // Only this method writes past n (callers fill [0, n), the kernels only read): pad once per shape.
      new Float32Array(this.k.memory.buffer, this.base + n * 4, p - n).fill(-Infinity);
    }
    return this.view;
  }

  massBins(n: number, top: number, floor: number, k: number, bins: number): MassBins {
    if (!(bins >= 1 && bins <= MAX_BINS)) throw new BadArgumentError(`bins must be in [1, ${MAX_BINS}]`);
    this.k.row_mass_bins(this.base, padded(n), top, floor, k, bins, this.weightsAt, this.hist);
    const buf = this.k.memory.buffer;
    const hist = new Float64Array(buf, this.hist, bins);
    let total = 0;
    for (let b = 0; b < bins; b++) total += hist[b]!;
    return { total, hist, weights: new Float32Array(buf, this.weightsAt, n) };
  }

  gatherBins(n: number, top: number, floor: number, k: number, bins: number, last: number): Int32Array {
    const count = this.k.row_gather_bins(this.base, padded(n), top, floor, k, bins, last, this.ids);
    return new Int32Array(this.k.memory.buffer, this.ids, count);
  }

  argmax(n: number): number {
    return this.k.row_argmax(this.base, n, padded(n));
  }

  firstNonFinite(logits: Float32Array): number {
    const n = logits.length;
    this.row(n).set(logits);
    return this.k.row_first_bad(this.base, n, padded(n));
  }

  sumExp(n: number, top: number, scale: number, keep: boolean): number {
    return this.k.row_sum_exp(this.base, padded(n), top, scale, keep ? this.blocks : 0);
  }

  pick(n: number, top: number, scale: number, target: number): number {
    return this.k.row_pick(this.base, padded(n), top, scale, this.blocks, target);
  }

  weights(n: number, top: number, scale: number): { total: number; weights: Float32Array } {
    // Top-p's weight area (room for the padded row): free while no top-p pass is under way.
    const total = this.k.row_weights(this.base, padded(n), top, scale, this.weightsAt);
    return { total, weights: new Float32Array(this.k.memory.buffer, this.weightsAt, n) };
  }

  countAtLeast(n: number, theta: number): number {
    return this.k.row_count_at_least(this.base, padded(n), theta);
  }
}

/**
 * The same passes in plain JS (float64 exp): where WebAssembly SIMD is missing, and the
 * reference the wasm build is tested against. Draws agree with the wasm ones except where a
 * target falls within rounding of a token boundary.
 */
export class JsRowKernels implements RowKernels {
  private buf = new Float32Array(0);
  private sums = new Float64Array(0);

  row(n: number): Float32Array {
    if (this.buf.length !== n) this.buf = new Float32Array(n);
    return this.buf;
  }

  argmax(n: number): number {
    const l = this.buf;
    let best = -1;
    let bv = -Infinity;
    for (let i = 0; i < n; i++) {
      if (l[i]! > bv) {
        bv = l[i]!;
        best = i;
      }
    }
    return best;
  }

  firstNonFinite(logits: Float32Array): number {
    for (let i = 0; i < logits.length; i++) {
      const x = logits[i]!;
      if (x !== x || x === Infinity) return i;
    }
    return -1;
  }

  private weight(i: number, top: number, scale: number): number {
    const e = (this.buf[i]! - top) * scale;
    return e < FLOOR ? 0 : Math.exp(e);
  }

  sumExp(n: number, top: number, scale: number, keep: boolean): number {
    if (keep && this.sums.length < padded(n) / BLOCK) this.sums = new Float64Array(padded(n) / BLOCK);
    return this.blockSums(n, top, scale, keep ? this.sums : undefined, undefined);
  }

  /** Σ of the weights, summed block by block as the wasm passes sum them; each block's sum and each weight kept where asked. */
  private blockSums(n: number, top: number, scale: number, sums: Float64Array | undefined, w: Float32Array | undefined): number {
    let total = 0;
    for (let b = 0; b < padded(n) / BLOCK; b++) {
      let s = 0;
      for (let i = b * BLOCK; i < Math.min(n, (b + 1) * BLOCK); i++) {
        const x = this.weight(i, top, scale);
        if (w) w[i] = x;
        s += x;
      }
      if (sums) sums[b] = s;
      total += s;
    }
    return total;
  }

  pick(n: number, top: number, scale: number, target: number): number {
    const nb = padded(n) / BLOCK;
    let cum = 0;
    let b = 0;
    for (; b < nb; b++) {
      const s = this.sums[b]!;
      if (s > 0 && target < cum + s) break;
      cum += s;
    }
    if (b === nb) {
      // Past the total by rounding: the last block with weight, scanned to its last positive token.
      b = nb - 1;
      while (b > 0 && !(this.sums[b]! > 0)) b--;
      cum = -Infinity;
    }
    let rem = target - cum;
    let last = -1;
    for (let i = b * BLOCK; i < Math.min(n, (b + 1) * BLOCK); i++) {
      const w = this.weight(i, top, scale);
      if (w > 0) {
        last = i;
        rem -= w;
        if (rem < 0) return i;
      }
    }
    return last;
  }

  weights(n: number, top: number, scale: number): { total: number; weights: Float32Array } {
    const weights = new Float32Array(n);
    return { total: this.blockSums(n, top, scale, undefined, weights), weights };
  }

  countAtLeast(n: number, theta: number): number {
    let c = 0;
    for (let i = 0; i < n; i++) if (this.buf[i]! >= theta) c++;
    return c;
  }

  private bin(v: number, top: number, floor: number, k: number, bins: number): number {
    return v >= floor ? Math.min(Math.trunc(Math.fround((top - v) * k)), bins - 1) : -1;
  }

  massBins(n: number, top: number, floor: number, k: number, bins: number): MassBins {
    const hist = new Float64Array(bins);
    const weights = new Float32Array(n);
    for (let i = 0; i < n; i++) {
      const b = this.bin(this.buf[i]!, top, floor, k, bins);
      if (b < 0) continue;
      const w = Math.fround(Math.exp(this.buf[i]! - top));
      weights[i] = w;
      hist[b] += w;
    }
    let total = 0;
    for (let b = 0; b < bins; b++) total += hist[b]!;
    return { total, hist, weights };
  }

  gatherBins(n: number, top: number, floor: number, k: number, bins: number, last: number): Int32Array {
    const ids: number[] = [];
    for (let i = 0; i < n; i++) {
      const b = this.bin(this.buf[i]!, top, floor, k, bins);
      if (b >= 0 && b <= last) ids.push(i);
    }
    return Int32Array.from(ids);
  }
}

function loadWasm(): RowKernels | undefined {
  try {
    const bytes = readFileSync(join(kernelDir(), 'row-kernels.wasm'));
    if (!WebAssembly.validate(bytes)) return undefined;
    const inst = new WebAssembly.Instance(new WebAssembly.Module(bytes), {});
    return new WasmRowKernels(inst.exports as unknown as RowExports);
  } catch {
    return undefined;
  }
}

let shared: RowKernels | undefined;

/** This thread's row kernels: the wasm build, or plain JS where it cannot load (LLAMA_TS_ROW_KERNELS=js forces JS). */
export function rowKernels(): RowKernels {
  shared ??= (process.env['LLAMA_TS_ROW_KERNELS'] !== 'js' && loadWasm()) || new JsRowKernels();
  return shared;
}
