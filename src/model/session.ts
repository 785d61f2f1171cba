import type { KVCache, KVDType } from '../backend/backend.js';
import type { LlamaForward } from './llama.js';
import { BadArgumentError, ContextOverflowError } from '../errors/errors.js';

export interface SessionOptions {
  /** KV slots (tokens) the session can hold (default: min(model context, 4096)). */
  readonly contextSize?: number;
  /** KV cache element type (default 'f32'). */
  readonly kvDType?: KVDType;
}

export interface EvalOptions {
  /** Position of the first new token (default: one past the last cached position, or 0). */
  readonly startPos?: number;
  /** Logits for every new token (default) or only the last. */
  readonly logits?: 'all' | 'last';
}

/** Tokens per forward chunk: bounds activation memory on long prompts. */
const CHUNK = 512;

/**
 * One sequence: its KV cache, the token ids it holds and their positions. Cheap to create;
 * the model's weights are shared.
 */
export class Session {
  private readonly cache: KVCache;
  private readonly ids: number[] = [];
  private disposed = false;

  constructor(
    private readonly fwd: LlamaForward,
    options: SessionOptions = {},
  ) {
    const cfg = fwd.config;
    const capacity = options.contextSize ?? Math.min(cfg.contextLength, 4096);
    if (!Number.isInteger(capacity) || capacity <= 0) throw new BadArgumentError(`contextSize must be a positive integer, got ${capacity}`);
    this.cache = fwd.backend.createKVCache({
      layers: cfg.numLayers,
      kvHeads: cfg.numKVHeads,
      headDim: cfg.headDim,
      capacity,
      dtype: options.kvDType ?? 'f32',
    });
  }

  /** KV slots the session can hold. */
  get contextSize(): number {
    return this.cache.spec.capacity;
  }
  /** Tokens cached so far. */
  get length(): number {
    return this.cache.length;
  }
  /** The cached token ids, in order. */
  get tokens(): readonly number[] {
    return this.ids;
  }
  /** Position the next token gets by default. */
  get nextPosition(): number {
    return this.cache.length === 0 ? 0 : this.cache.positions[this.cache.length - 1]! + 1;
  }

  /**
   * Appends `ids` at consecutive positions from `startPos` and returns their logits
   * ([ids.length × vocab], or [vocab] with `logits: 'last'`).
   */
  async eval(ids: readonly number[], options: EvalOptions = {}): Promise<Float32Array> {
    return this.evalSync(ids, options);
  }

  evalSync(ids: readonly number[], options: EvalOptions = {}): Float32Array {
    if (this.disposed) throw new BadArgumentError('session was disposed');
    const n = ids.length;
    if (n === 0) throw new BadArgumentError('eval needs at least one token');
    const start = options.startPos ?? this.nextPosition;
    if (!Number.isInteger(start) || start < 0) throw new BadArgumentError(`startPos must be a non-negative integer, got ${start}`);
    if (this.cache.length > 0 && start < this.nextPosition) {
      throw new BadArgumentError(`startPos ${start} is not after the last cached position ${this.nextPosition - 1}; truncate() first`);
    }
    if (this.cache.length + n > this.contextSize) {
      throw new ContextOverflowError(this.cache.length + n, this.contextSize, this.cache.length > 0 ? `the ${this.cache.length} cached tokens plus ${n} new ones` : 'prompt');
    }
    const vocab = this.fwd.config.vocabSize;
    for (const id of ids) {
      if (!Number.isInteger(id) || id < 0 || id >= vocab) throw new BadArgumentError(`token id ${id} is outside the vocabulary (0..${vocab - 1})`);
    }
    const which = options.logits ?? 'all';
    const out = new Float32Array((which === 'all' ? n : 1) * vocab);
    for (let off = 0; off < n; off += CHUNK) {
      const m = Math.min(CHUNK, n - off);
      const chunkIds = Int32Array.from(ids.slice(off, off + m));
      const pos = new Int32Array(m);
      for (let i = 0; i < m; i++) pos[i] = start + off + i;
      const last = off + m === n;
      if (which === 'last' && !last) {
        // Only the final chunk's last row is wanted; skip the output head for earlier chunks.
        this.fwd.forward(chunkIds, pos, this.cache, 'last');
      } else {
        const logits = this.fwd.forward(chunkIds, pos, this.cache, which);
        out.set(logits, which === 'all' ? off * vocab : 0);
      }
      for (let i = 0; i < m; i++) this.ids.push(chunkIds[i]!);
    }
    return out;
  }

  /** Drops cached tokens beyond the first `length` (e.g. to reuse a shared prompt prefix). */
  truncate(length: number): void {
    if (length < 0 || length > this.cache.length) throw new BadArgumentError(`cannot truncate a ${this.cache.length}-token session to ${length}`);
    this.cache.length = length;
    this.ids.length = length;
  }

  reset(): void {
    this.truncate(0);
  }

  /** Frees the KV cache; the session cannot be used afterwards. */
  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    this.fwd.backend.freeKVCache(this.cache);
  }
}
