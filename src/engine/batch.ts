import { BadArgumentError } from '../errors/errors.js';

/** One sequence's rows in a batch: rows [row, row + rows) go to its cache's slots [slot, slot + rows). */
export interface BatchSeq {
  /** The executor's id of the sequence's KV cache. */
  readonly cache: number;
  readonly row: number;
  readonly rows: number;
  readonly slot: number;
}

/**
 * The input of one forward step (llama.cpp's `llama_batch`): rows of (token, position), grouped by
 * sequence, and the rows whose logits are wanted (any subset, or none for an intermediate prefill
 * chunk, which then skips the output head entirely).
 */
export interface ForwardBatch {
  readonly tokens: Int32Array; // [n]
  readonly positions: Int32Array; // [n]
  readonly seqs: readonly BatchSeq[];
  /** Row indices, ascending; the logits come back in this order. */
  readonly logitRows: Int32Array;
}

/** Collects rows sequence by sequence (each sequence's rows contiguous, in order). */
export class BatchBuilder {
  private readonly tokens: number[] = [];
  private readonly positions: number[] = [];
  private readonly seqs: BatchSeq[] = [];
  private readonly logitRows: number[] = [];
  private readonly caches = new Set<number>();

  get rows(): number {
    return this.tokens.length;
  }

  /**
   * Adds `tokens` of one sequence at `positions`, stored from cache slot `slot`; `want(i)` says
   * whether row i of them needs logits. Returns the index of the first logits row it added.
   */
  add(cache: number, slot: number, tokens: readonly number[], positions: readonly number[], want: (i: number) => boolean): number {
    if (tokens.length === 0) throw new BadArgumentError('a batch entry needs at least one token');
    if (this.caches.has(cache)) throw new BadArgumentError(`cache ${cache} appears twice in one batch`);
    this.caches.add(cache);
    const first = this.logitRows.length;
    const row = this.tokens.length;
    for (let i = 0; i < tokens.length; i++) {
      this.tokens.push(tokens[i]!);
      this.positions.push(positions[i]!);
      if (want(i)) this.logitRows.push(row + i);
    }
    this.seqs.push({ cache, row, rows: tokens.length, slot });
    return first;
  }

  build(): ForwardBatch {
    return {
      tokens: Int32Array.from(this.tokens),
      positions: Int32Array.from(this.positions),
      seqs: this.seqs,
      logitRows: Int32Array.from(this.logitRows),
    };
  }
}
