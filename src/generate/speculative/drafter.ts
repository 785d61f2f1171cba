import type { Generation } from '../generation.js';
import type { Scheduler } from '../../engine/scheduler.js';
import type { KVDType } from '../../backend/backend.js';
import { commonPrefix, type Sequence } from '../../engine/kv-manager.js';
import { Rng } from '../rng.js';
import { lookupDraft } from './lookup.js';

/** Up to k proposed tokens and, for a sampled draft, the distribution each was drawn from (none: a point mass). */
export interface Proposal {
  readonly ids: number[];
  readonly qs: (Float64Array | undefined)[];
}

export interface Drafter {
  /** Proposes up to `k` tokens to follow `context` (prompt plus output so far). */
  propose(context: readonly number[], k: number, gen: Generation): Promise<Proposal>;
  /** Most tokens it could draft after `context` (its own context limit). */
  room(context: readonly number[]): number;
  dispose(): void;
}

/** Prompt lookup: deterministic proposals, so q is a point mass. */
export class LookupDrafter implements Drafter {
  async propose(context: readonly number[], k: number, gen: Generation): Promise<Proposal> {
    const ids = lookupDraft(context, k);
    // Nothing is drafted past a stop id: the generation ends there.
    const stop = ids.findIndex((id) => gen.isStopId(id));
    if (stop >= 0) ids.length = stop + 1;
    return { ids, qs: ids.map(() => undefined) };
  }
  room(): number {
    return Infinity;
  }
  dispose(): void {}
}

/** What the model drafter needs of the draft model. */
export interface DraftModelHandle {
  readonly scheduler: Scheduler;
  readonly contextSize: number;
  readonly defaultKVDType: KVDType;
}

/**
 * A smaller model of the same vocabulary drafts k tokens one step at a time in its own sequence
 * (which rides in the draft model's scheduler with its other work). Each row goes through the
 * request's processors and sampling options (the generation's `distribution`), so q is the draft's
 * distribution under exactly the settings p is computed with.
 */
export class ModelDrafter implements Drafter {
  private seq: Sequence | undefined;
  private readonly rng: Rng;
  private row: Float32Array | undefined;

  constructor(
    private readonly draft: DraftModelHandle,
    private readonly capacity: number,
    seed: number,
  ) {
    this.rng = new Rng(seed);
  }

  room(context: readonly number[]): number {
    // Holds the context and all drafts but the last (that one is never evaluated by the draft).
    return Math.max(0, Math.min(this.capacity, this.draft.contextSize) - context.length + 1);
  }

  async propose(context: readonly number[], k: number, gen: Generation): Promise<Proposal> {
    const ids: number[] = [];
    const qs: (Float64Array | undefined)[] = [];
    k = Math.min(k, this.room(context));
    if (k <= 0) return { ids, qs };
    const sched = this.draft.scheduler;
    if (!this.seq) {
      const cap = Math.min(this.capacity, this.draft.contextSize);
      this.seq = (await sched.kv.acquire(context, cap, this.draft.defaultKVDType, [])).seq;
    }
    const seq = this.seq;
    const keep = Math.min(commonPrefix(seq.tokens, context), context.length - 1);
    sched.kv.truncate(seq, keep);
    const fresh = context.slice(keep);
    // One row buffer for every draft step (gen.distribution copies what it keeps): a fresh array per
    // token would fault in new pages every step.
    const evalLast = async (toks: readonly number[], pos: readonly number[]): Promise<Float32Array> => (this.row = await sched.evalTokens(seq, toks, pos, 'last', { into: this.row }));
    let row = await evalLast(fresh, fresh.map((_, i) => keep + i));
    try {
      for (let j = 0; j < k; j++) {
        const q = gen.distribution(row);
        const d = gen.greedy ? q.probs.indexOf(1) : this.draw(q.probs);
        ids.push(d);
        qs.push(gen.greedy ? undefined : q.probs);
        if (j === k - 1 || gen.isStopId(d)) break;
        gen.speculate(d);
        row = await evalLast([d], [seq.length]);
      }
    } finally {
      gen.unspeculate();
    }
    return { ids, qs };
  }

  private draw(p: Float64Array): number {
    let r = this.rng.next();
    let last = 0;
    for (let i = 0; i < p.length; i++) {
      const x = p[i]!;
      if (x > 0) last = i;
      r -= x;
      if (r < 0 && x > 0) return i;
    }
    return last;
  }

  dispose(): void {
    if (this.seq) this.draft.scheduler.kv.release(this.seq, true);
    this.seq = undefined;
  }
}
