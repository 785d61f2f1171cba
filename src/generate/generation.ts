import type { Tokenizer } from '../tokenizer/types.js';
import type { FinishReason, GenerateChunk, GenerateOptions, LogitsProcessor } from './options.js';
import { StreamDecoder } from '../tokenizer/stream.js';
import { Sampler, type SampleResult, type TokenDistribution } from './sampler.js';
import { StopMatcher } from './stop.js';
import { BadArgumentError, LlamaError } from '../errors/errors.js';
import { rowKernels } from './row-kernels.js';

/**
 * One request's decoding state, step by step (gpt-fast's split: the scheduler runs prefill and
 * decode steps; this samples a row and turns tokens into text): sampler and logits processors,
 * EOS / stop ids, stop strings, maxTokens, UTF-8-safe text.
 *
 * Text never splits a character and never shows a stop string: a token whose text might begin a
 * stop string is held back until that is decided, so the chunks' texts always add up to `text`.
 */
export class Generation {
  readonly maxTokens: number;
  readonly ids: number[] = [];
  private readonly sampler: Sampler;
  private readonly processors: readonly LogitsProcessor[];
  private readonly stopIds: ReadonlySet<number>;
  private readonly stops: StopMatcher;
  private decoder: StreamDecoder | undefined;
  private all = '';
  private released = 0;
  private pending: { id: number; logprob: number }[] = [];
  private finished: FinishReason | undefined;
  private stopped: number | string | undefined;
  private row = new Float32Array(0);
  /** Drafted tokens taken tentatively (speculate): they count for processors and penalties only. */
  private tentative: number[] = [];

  constructor(
    private readonly tokenizer: Tokenizer | undefined,
    eosIds: readonly number[],
    promptIds: readonly number[],
    options: GenerateOptions,
  ) {
    this.maxTokens = options.maxTokens ?? 256;
    if (!Number.isInteger(this.maxTokens) || this.maxTokens < 0) throw new BadArgumentError(`maxTokens must be a non-negative integer, got ${this.maxTokens}`);
    this.sampler = new Sampler(options);
    this.processors = options.logitsProcessors ?? [];
    this.stopIds = new Set<number>([...(options.ignoreEos ? [] : eosIds), ...(options.stopIds ?? [])]);
    this.stops = new StopMatcher(options.stop ?? []);
    this.decoder = tokenizer ? new StreamDecoder(tokenizer) : undefined;
    this.sampler.accept(promptIds);
    if (this.maxTokens === 0) this.finished = 'length';
  }

  get done(): boolean {
    return this.finished !== undefined;
  }
  get finishReason(): FinishReason | undefined {
    return this.finished;
  }
  get stoppedBy(): number | string | undefined {
    return this.stopped;
  }
  get text(): string {
    return this.all;
  }
  /** Tokens taken but not yet shown (held back for a stop string or a split character): what rollback may take back. */
  get unreleased(): number {
    return this.pending.length;
  }

  /** Picks the next token from one row of logits ([vocab]; not modified). */
  sample(logits: Float32Array): SampleResult {
    const row = this.processed(logits);
    checkFinite(logits);
    const r = this.sampler.sample(row);
    if (!Number.isFinite(r.logprob)) throw new LlamaError('BAD_LOGITS', `every token was masked out at step ${this.ids.length} (logits processors left nothing to sample)`);
    return r;
  }

  /** Whether sampling is greedy (argmax): speculative verification then needs no randomness. */
  get greedy(): boolean {
    return this.sampler.greedy;
  }

  /** Whether `id` ends the generation (EOS or a stop id). */
  isStopId(id: number): boolean {
    return this.stopIds.has(id);
  }

  /**
   * The full distribution `sample` would draw from for this row, processors, bias, penalties,
   * truncation and temperature applied, given the tokens taken so far (tentative ones included).
   */
  distribution(logits: Float32Array): TokenDistribution {
    checkFinite(logits);
    const d = this.sampler.distribution(this.processed(logits));
    if (!(d.probs.reduce((a, b) => a + b, 0) > 0)) throw new LlamaError('BAD_LOGITS', `every token was masked out at step ${this.ids.length} (logits processors left nothing to sample)`);
    return d;
  }

  /** A uniform draw from the request's own seeded RNG. */
  uniform(): number {
    return this.sampler.uniform();
  }

  /** Draws a token from unnormalised weights with the request's RNG (rejection sampling's residual). */
  drawWeights(w: Float64Array): number {
    return this.sampler.drawWeights(w);
  }

  /**
   * Takes a drafted token tentatively so the next draft row sees the state plain decoding would
   * (processors advanced, penalty history extended); `unspeculate` takes all of them back.
   */
  speculate(id: number): void {
    if (this.stopIds.has(id)) throw new BadArgumentError('a stop id cannot be drafted past');
    for (const p of this.processors) p.accept?.(id);
    this.sampler.accept(id);
    this.tentative.push(id);
  }

  unspeculate(): void {
    const n = this.tentative.length;
    if (n === 0) return;
    this.tentative = [];
    const cp = this.sampler.checkpoint();
    this.sampler.restore({ history: cp.history - n, rng: cp.rng });
    for (const p of this.processors) p.rollback?.(n);
  }

  private processed(logits: Float32Array): Float32Array {
    if (this.processors.length === 0) return logits;
    if (this.row.length !== logits.length) this.row = new Float32Array(logits.length);
    this.row.set(logits);
    const seen = this.tentative.length > 0 ? [...this.ids, ...this.tentative] : this.ids;
    for (const p of this.processors) p.process(this.row, seen);
    return this.row;
  }

  /** Takes a sampled token; returns the chunks that became safe to show. Ends on stop/EOS/maxTokens. */
  push(id: number, logprob: number): GenerateChunk[] {
    if (this.finished) throw new BadArgumentError('the generation has finished');
    if (this.tentative.length > 0) throw new BadArgumentError('unspeculate() before taking tokens');
    for (const p of this.processors) p.accept?.(id);
    if (this.stopIds.has(id)) {
      this.stopped = id;
      return this.finish('stop');
    }
    this.ids.push(id);
    this.sampler.accept(id);
    this.pending.push({ id, logprob });
    const before = this.all.length;
    if (this.decoder) this.all += this.decoder.push(id);
    const out: GenerateChunk[] = [];
    if (this.stops.active) {
      const hit = this.stops.find(this.all, before);
      if (hit) {
        this.all = this.all.slice(0, hit.index);
        this.release(this.all.length, out);
        this.finished = 'stop';
        this.stopped = hit.stop;
        return out;
      }
    }
    const releasable = this.all.length - (this.stops.active ? this.stops.heldBack(this.all) : 0);
    if (releasable > this.released || (!this.decoder && this.pending.length > 0)) this.release(releasable, out);
    if (this.ids.length >= this.maxTokens) out.push(...this.finish('length'));
    return out;
  }

  /** Ends the generation (context full, abort, or after a stop id) and returns what was held back. */
  finish(reason: FinishReason): GenerateChunk[] {
    const out: GenerateChunk[] = [];
    if (this.finished === 'stop' && typeof this.stopped === 'string') return out;
    this.finished ??= reason;
    if (this.decoder) this.all += this.decoder.flush();
    if (this.pending.length > 0) this.release(this.all.length, out);
    return out;
  }

  /**
   * Takes back the last `count` tokens that have not been shown yet (speculative decoding): the
   * sampler's penalty history, the processors, the decoder and the stop state go back with them.
   */
  rollback(count: number): void {
    if (count === 0) return;
    if (!Number.isInteger(count) || count < 0 || count > this.pending.length) throw new BadArgumentError(`cannot roll back ${count} tokens: only ${this.pending.length} are unreleased`);
    if (this.finished) throw new BadArgumentError('cannot roll back a finished generation');
    const keep = this.ids.length - count;
    this.ids.length = keep;
    this.pending.length -= count;
    const cp = this.sampler.checkpoint();
    this.sampler.restore({ history: cp.history - count, rng: cp.rng });
    for (const p of this.processors) p.rollback?.(count);
    if (this.tokenizer) {
      this.decoder = new StreamDecoder(this.tokenizer);
      let text = '';
      for (const id of this.ids) text += this.decoder.push(id);
      this.all = text;
    }
  }

  private release(upTo: number, out: GenerateChunk[]): void {
    for (let i = 0; i < this.pending.length; i++) {
      const p = this.pending[i]!;
      const text = i === this.pending.length - 1 ? this.all.slice(this.released, upTo) : '';
      out.push({ id: p.id, text, logprob: p.logprob });
    }
    this.released = upTo;
    this.pending = [];
  }
}

/** A NaN or +Inf logit means broken weights or activations: an error, never a sampled token. */
function checkFinite(row: Float32Array): void {
  const bad = rowKernels().firstNonFinite(row);
  if (bad >= 0) throw new LlamaError('BAD_LOGITS', `the model produced a non-finite logit (${row[bad]}) for token ${bad}: the weights or activations are broken (try --check-tensors)`);
}
