import type { KVDType } from '../backend/backend.js';
import type { Executor } from './executor.js';
import { BadArgumentError } from '../errors/errors.js';

/** One sequence's KV cache as the scheduler sees it: which tokens at which positions it holds. */
export class Sequence {
  readonly tokens: number[] = [];
  readonly positions: number[] = [];
  freed = false;
  constructor(
    /** The executor's cache id. */
    readonly cache: number,
    readonly capacity: number,
    readonly dtype: KVDType,
    /** Resolves once the executor has allocated the cache. */
    readonly ready: Promise<void>,
  ) {}

  get length(): number {
    return this.tokens.length;
  }
  /** Position the next token gets by default. */
  get nextPosition(): number {
    return this.positions.length === 0 ? 0 : this.positions[this.positions.length - 1]! + 1;
  }
  /** Whether positions run 0, 1, 2, … (only such sequences can serve as a prompt prefix). */
  get contiguous(): boolean {
    const p = this.positions;
    return p.length === 0 || p[p.length - 1] === p.length - 1;
  }
}

export interface KVShape {
  readonly layers: number;
  readonly kvHeads: number;
  readonly headDim: number;
}

export interface PrefixCacheStats {
  /** Requests that reused a cached prefix. */
  hits: number;
  /** Prompt tokens served from cache instead of evaluated. */
  reusedTokens: number;
  /** Finished sequences kept for reuse, and their bytes. */
  entries: number;
  bytes: number;
  evictions: number;
}

/**
 * The only owner of KV slots, positions and lengths. Sequences are created, appended to, truncated,
 * forked and released here. Finished generations are kept (up to `prefixCacheBytes`, least recently
 * used evicted first) so a later prompt that starts with the same tokens (a chat's next turn, a
 * shared system prompt) reuses their keys and values: taken over when the new prompt extends the
 * whole entry, else the common prefix is copied so the entry stays for others.
 */
export class KVManager {
  private nextId = 1;
  /** Retained finished sequences, least recently used first. */
  private readonly idle: Sequence[] = [];
  private idleBytes = 0;
  readonly stats: PrefixCacheStats = { hits: 0, reusedTokens: 0, entries: 0, bytes: 0, evictions: 0 };

  constructor(
    private readonly exec: Executor,
    private readonly shape: KVShape,
    private readonly prefixCacheBytes: number,
  ) {}

  bytesOf(capacity: number, dtype: KVDType): number {
    const s = this.shape;
    return capacity * s.layers * s.kvHeads * s.headDim * 2 * (dtype === 'f16' ? 2 : 4);
  }

  /** A new empty sequence; its cache is allocated by the executor (await `ready`). */
  create(capacity: number, dtype: KVDType): Sequence {
    if (!Number.isInteger(capacity) || capacity <= 0) throw new BadArgumentError(`a sequence needs a positive capacity, got ${capacity}`);
    const id = this.nextId++;
    const ready = this.exec.createCache(id, capacity, dtype).catch(async (e: unknown) => {
      // Out of memory with finished sequences kept around: drop them and try once more.
      if (this.idle.length === 0) throw e;
      while (this.idle.length > 0) this.evictOldest();
      await this.exec.createCache(id, capacity, dtype);
    });
    ready.catch(() => {}); // observed by whoever awaits it
    return new Sequence(id, capacity, dtype, ready);
  }

  /** Records tokens as appended at slots [length, length + n) (the step that computes them is queued). */
  append(seq: Sequence, tokens: readonly number[], positions: readonly number[]): void {
    if (seq.freed) throw new BadArgumentError('the sequence was released');
    if (seq.length + tokens.length > seq.capacity) throw new BadArgumentError(`sequence of ${seq.capacity} slots cannot take ${tokens.length} more after ${seq.length}`);
    for (let i = 0; i < tokens.length; i++) {
      seq.tokens.push(tokens[i]!);
      seq.positions.push(positions[i]!);
    }
  }

  truncate(seq: Sequence, length: number): void {
    if (!Number.isInteger(length) || length < 0 || length > seq.length) throw new BadArgumentError(`cannot truncate a ${seq.length}-token sequence to ${length}`);
    seq.tokens.length = length;
    seq.positions.length = length;
  }

  /** A copy of `seq` (its slots copied) with its own capacity (default: the same). */
  async fork(seq: Sequence, capacity = seq.capacity): Promise<Sequence> {
    if (capacity < seq.length) throw new BadArgumentError(`a fork of ${capacity} slots cannot hold the ${seq.length} cached tokens`);
    const copy = this.create(capacity, seq.dtype);
    await copy.ready;
    if (seq.length > 0) await this.exec.copyCache(copy.cache, seq.cache, seq.length);
    this.append(copy, seq.tokens, seq.positions);
    return copy;
  }

  /**
   * A sequence for a prompt at positions 0.. that reuses the longest cached prefix among retained
   * sequences and `live` ones (other running requests); at least one prompt token is always left to
   * evaluate (its logits give the first sampled token).
   */
  async acquire(prompt: readonly number[], capacity: number, dtype: KVDType, live: Iterable<Sequence>): Promise<{ seq: Sequence; reused: number }> {
    let best: Sequence | undefined;
    let bestLen = 0;
    const consider = (s: Sequence): void => {
      if (s.freed || s.dtype !== dtype || !s.contiguous) return;
      const n = Math.min(commonPrefix(s.tokens, prompt), prompt.length - 1);
      if (n > bestLen) {
        best = s;
        bestLen = n;
      }
    };
    for (const s of this.idle) consider(s);
    for (const s of live) consider(s);
    // Sharing only BOS is not worth a copy (nor an LRU refresh).
    if (!best || bestLen < MIN_REUSE) {
      const seq = this.create(capacity, dtype);
      await seq.ready;
      return { seq, reused: 0 };
    }
    const i = this.idle.indexOf(best);
    if (i >= 0 && bestLen === best.length && best.capacity >= capacity) {
      // The prompt extends the whole entry (a conversation's next turn): take it over.
      this.idle.splice(i, 1);
      this.idleBytes -= this.bytesOf(best.capacity, best.dtype);
      this.syncStats();
    } else {
      const src = best;
      if (i >= 0) this.idle.push(...this.idle.splice(i, 1)); // most recently used
      best = this.create(capacity, dtype);
      await best.ready;
      await this.exec.copyCache(best.cache, src.cache, bestLen);
      this.append(best, src.tokens.slice(0, bestLen), src.positions.slice(0, bestLen));
    }
    this.truncate(best, bestLen);
    this.stats.hits++;
    this.stats.reusedTokens += bestLen;
    return { seq: best, reused: bestLen };
  }

  /** How many leading prompt tokens `acquire` would reuse now (retained and `live` sequences). */
  reusable(prompt: readonly number[], dtype: KVDType, live: Iterable<Sequence>): number {
    let best = 0;
    const consider = (s: Sequence): void => {
      if (s.freed || s.dtype !== dtype || !s.contiguous) return;
      best = Math.max(best, Math.min(commonPrefix(s.tokens, prompt), prompt.length - 1));
    };
    for (const s of this.idle) consider(s);
    for (const s of live) consider(s);
    return best < MIN_REUSE ? 0 : best;
  }

  /** Done with a sequence: kept for prefix reuse when it can serve one and fits, else freed. */
  release(seq: Sequence, retain: boolean): void {
    if (seq.freed) return;
    const bytes = this.bytesOf(seq.capacity, seq.dtype);
    if (retain && seq.length > 1 && seq.contiguous && bytes <= this.prefixCacheBytes) {
      this.idle.push(seq);
      this.idleBytes += bytes;
      while (this.idleBytes > this.prefixCacheBytes) this.evictOldest();
      this.syncStats();
      return;
    }
    this.free(seq);
  }

  /** Frees every retained sequence (dispose, or memory wanted back). */
  clearPrefixCache(): void {
    while (this.idle.length > 0) this.evictOldest();
  }

  private evictOldest(): void {
    const s = this.idle.shift()!;
    this.idleBytes -= this.bytesOf(s.capacity, s.dtype);
    this.stats.evictions++;
    this.free(s);
    this.syncStats();
  }

  private free(seq: Sequence): void {
    seq.freed = true;
    this.exec.freeCache(seq.cache);
  }

  private syncStats(): void {
    this.stats.entries = this.idle.length;
    this.stats.bytes = this.idleBytes;
  }
}

/** Fewest cached tokens worth reusing. */
const MIN_REUSE = 2;

export function commonPrefix(a: readonly number[], b: readonly number[]): number {
  const n = Math.min(a.length, b.length);
  let i = 0;
  while (i < n && a[i] === b[i]) i++;
  return i;
}
