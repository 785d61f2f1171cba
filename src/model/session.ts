import type { KVDType } from '../backend/backend.js';
import type { Scheduler } from '../engine/scheduler.js';
import type { Sequence } from '../engine/kv-manager.js';
import { BadArgumentError, DisposedError } from '../errors/errors.js';

export interface SessionOptions {
  /** KV slots (tokens) the session can hold (default: the model's contextSize, min(model context, 4096)). */
  readonly contextSize?: number;
  /** KV cache element type (default: the model's, 'f32' unless loadModel said otherwise). */
  readonly kvDType?: KVDType;
}

export interface EvalOptions {
  /** Position of the first new token (default: one past the last cached position, or 0). */
  readonly startPos?: number;
  /** Logits for every new token (default), only the last, or none (just fill the cache). */
  readonly logits?: 'all' | 'last' | 'none';
}

/**
 * One sequence held by the caller: its KV cache (owned by the model's KV manager), the tokens it
 * holds and their positions. Evals run through the model's scheduler, batched with whatever else
 * runs, one at a time per session in call order.
 */
export class Session {
  private tail: Promise<unknown> = Promise.resolve();
  private busy = 0;
  private disposed = false;

  constructor(
    private readonly scheduler: Scheduler,
    private readonly seq: Sequence,
  ) {}

  /** KV slots the session can hold. */
  get contextSize(): number {
    return this.seq.capacity;
  }
  /** Tokens cached so far. */
  get length(): number {
    return this.seq.length;
  }
  /** The cached token ids, in order. */
  get tokens(): readonly number[] {
    return this.seq.tokens;
  }
  /** Position the next token gets by default. */
  get nextPosition(): number {
    return this.seq.nextPosition;
  }
  get kvDType(): KVDType {
    return this.seq.dtype;
  }

  /**
   * Appends `ids` at consecutive positions from `startPos` and returns their logits
   * ([ids.length × vocab], [vocab] with `logits: 'last'`, empty with 'none').
   */
  eval(ids: readonly number[], options: EvalOptions = {}): Promise<Float32Array> {
    return this.exclusive(async () => {
      if (!Array.isArray(ids)) throw new BadArgumentError('eval takes an array of token ids');
      const start = options.startPos ?? this.nextPosition;
      if (!Number.isInteger(start) || start < 0) throw new BadArgumentError(`startPos must be a non-negative integer, got ${start}`);
      if (this.length > 0 && start < this.nextPosition) {
        throw new BadArgumentError(`startPos ${start} is not after the last cached position ${this.nextPosition - 1}; truncate() first`);
      }
      const want = options.logits ?? 'all';
      if (want !== 'all' && want !== 'last' && want !== 'none') throw new BadArgumentError(`logits is 'all', 'last' or 'none', got ${String(want)}`);
      await this.seq.ready;
      return this.scheduler.evalTokens(this.seq, ids, ids.map((_, i) => start + i), want);
    });
  }

  /** Drops cached tokens beyond the first `length` (e.g. to reuse a shared prompt prefix). */
  truncate(length: number): void {
    this.check();
    if (this.busy > 0) throw new BadArgumentError('cannot truncate a session while an eval or generation on it is running');
    this.scheduler.kv.truncate(this.seq, length);
  }

  reset(): void {
    this.truncate(0);
  }

  /** A new session holding a copy of this one's cache (continue two ways from a shared prefix). */
  fork(options: { contextSize?: number } = {}): Promise<Session> {
    return this.exclusive(async () => {
      await this.seq.ready;
      const copy = await this.scheduler.kv.fork(this.seq, options.contextSize ?? this.seq.capacity);
      return new Session(this.scheduler, copy);
    });
  }

  /** Runs `fn` once every earlier call on this session has finished (the session's sequence is one stream). */
  exclusive<T>(fn: () => Promise<T>): Promise<T> {
    if (this.disposed) return Promise.reject(new DisposedError('the session'));
    this.busy++;
    const run = this.tail.then(fn, fn).finally(() => this.busy--);
    this.tail = run.catch(() => {});
    return run;
  }

  /** The sequence, for the model's generate (internal). */
  get sequence(): Sequence {
    this.check();
    return this.seq;
  }

  private check(): void {
    if (this.disposed) throw new DisposedError('the session');
  }

  /** Frees the KV cache; the session cannot be used afterwards. */
  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    // After anything still running on it.
    void this.tail.then(() => this.scheduler.kv.release(this.seq, false));
  }

  toJSON(): object {
    return { kind: 'Session', contextSize: this.contextSize, length: this.length, kvDType: this.kvDType, disposed: this.disposed };
  }
  [Symbol.for('nodejs.util.inspect.custom')](): string {
    return `Session ${JSON.stringify(this.toJSON())}`;
  }
}
