import type { KVDType } from '../backend/backend.js';
import type { Tokenizer } from '../tokenizer/types.js';
import type { FinishReason, GenerateChunk, GenerateOptions, GenerateResult } from '../generate/options.js';
import type { Executor } from './executor.js';
import { BatchBuilder } from './batch.js';
import { Channel } from './channel.js';
import { KVManager, commonPrefix, type Sequence } from './kv-manager.js';
import { Generation } from '../generate/generation.js';
import { BadArgumentError, ContextOverflowError, DisposedError, QueueFullError } from '../errors/errors.js';

export interface SchedulerOptions {
  readonly vocabSize: number;
  readonly eosIds: readonly number[];
  readonly tokenizer: Tokenizer | undefined;
  /** Context of a request's sequence when it has no session. */
  readonly contextSize: number;
  readonly kvDType: KVDType;
  readonly maxSequences: number;
  readonly maxQueue: number;
  /** Target step duration (ms): how long one step may delay every running sequence. */
  readonly stepMs: number;
  /** Most rows in one step. */
  readonly maxBatch: number;
}

/** What a client submits: prompt ids and everything that decides how to continue them. */
export interface GenerateRequest extends GenerateOptions {
  readonly prompt: readonly number[];
  /** Continue in this sequence (a session's), reusing its cached prefix; it stays the caller's. */
  readonly sequence?: Sequence;
}

export interface RequestHandle {
  readonly chunks: AsyncIterable<GenerateChunk>;
  readonly result: Promise<GenerateResult>;
  /** Stops the request now (finishReason 'abort'); its sequence is freed for others. */
  cancel(): void;
}

export interface SchedulerStats {
  /** Forward steps run. */
  steps: number;
  /** Token rows evaluated (prefill and decode), over all sequences. */
  evaluatedTokens: number;
  /** Tokens sampled. */
  generatedTokens: number;
  /** Requests by how they ended. */
  finished: Record<FinishReason | 'error', number>;
  running: number;
  queued: number;
}

interface GenJob {
  readonly kind: 'gen';
  readonly req: GenerateRequest;
  readonly gen: Generation;
  readonly channel: Channel<GenerateChunk, GenerateResult>;
  seq?: Sequence;
  ownsSeq: boolean;
  /** Prompt tokens already in the sequence (reused or evaluated). */
  fed: number;
  reused: number;
  /** A sampled token not yet evaluated (decode phase). */
  next?: number;
  done: boolean;
  starved: number;
  readonly t0: number;
  tFirst?: number;
  detach?: () => void;
}

interface EvalJob {
  readonly kind: 'eval';
  readonly seq: Sequence;
  readonly tokens: readonly number[];
  readonly positions: readonly number[];
  readonly want: 'all' | 'last' | 'none';
  /** Never split across steps (speculative verification: one forward for all its rows). */
  readonly whole: boolean;
  readonly out: Float32Array;
  fed: number;
  done: boolean;
  starved: number;
  resolve(logits: Float32Array): void;
  reject(e: unknown): void;
}

type Job = GenJob | EvalJob;

export interface EvalOptions {
  /** Never split across steps (speculative verification: one forward for all its rows). */
  readonly whole?: boolean;
  /** Where the logits go when it is long enough; the result is then a view of its start. */
  readonly into?: Float32Array;
}

interface SlotWaiter {
  resolve(release: (() => void) | undefined): void;
  reject(e: unknown): void;
  detach?: () => void;
}

/** Prompt tokens shared with a request still prefilling them that make a new request wait to copy them. */
const WAIT_FOR_SHARED = 16;

/** A job's rows in the step being run, and where its logits rows start. */
interface Entry {
  readonly job: Job;
  readonly rows: number;
  /** Index of the job's first token in this step (EvalJob: into its tokens). */
  readonly from: number;
  readonly logitStart: number;
  readonly logitCount: number;
}

/**
 * Continuous batching: the one thing that runs the model. Each step takes one decode row from
 * every running generation plus a budget of pending prefill (chunked, shortest first, so a long
 * prompt never stalls the others), runs one batched forward on the executor, samples each row with
 * its request's own sampler and logits processors, then admits, finishes or aborts requests before
 * the next step. Session evals (`evalTokens`) ride in the same steps.
 */
export class Scheduler {
  private readonly queue: GenJob[] = [];
  private readonly gens = new Set<GenJob>();
  private readonly evals: EvalJob[] = [];
  /** Self-driven requests holding a slot (reserveSlot), and those waiting for one. */
  private external = 0;
  private readonly slotWaiters: SlotWaiter[] = [];
  private runningLoop = false;
  private disposed = false;
  /** Measured cost of one row, EMA (ms); sizes the step to stepMs. */
  private msPerRow = 0;
  readonly stats: SchedulerStats = { steps: 0, evaluatedTokens: 0, generatedTokens: 0, finished: { stop: 0, length: 0, abort: 0, error: 0 }, running: 0, queued: 0 };

  constructor(
    private readonly exec: Executor,
    readonly kv: KVManager,
    private readonly o: SchedulerOptions,
  ) {}

  /** Submits a generation; its chunks stream as steps produce them. */
  submit(req: GenerateRequest): RequestHandle {
    if (this.disposed) throw new DisposedError('the model');
    const prompt = req.prompt;
    if (prompt.length === 0) throw new BadArgumentError('the prompt is empty: give at least one token (e.g. BOS)');
    this.checkIds(prompt);
    const limit = req.sequence ? req.sequence.capacity : this.o.contextSize;
    if (prompt.length > limit) throw new ContextOverflowError(prompt.length, limit);
    const gen = new Generation(this.o.tokenizer, this.o.eosIds, prompt, req);
    if (req.signal?.aborted) gen.finish('abort');
    if (!req.sequence && this.waiting >= this.o.maxQueue && this.busySlots >= this.o.maxSequences) throw new QueueFullError(this.o.maxQueue);
    let job!: GenJob;
    const channel = new Channel<GenerateChunk, GenerateResult>(() => this.abort(job));
    job = { kind: 'gen', req, gen, channel, ownsSeq: !req.sequence, fed: 0, reused: 0, done: false, starved: 0, t0: performance.now() };
    if (req.signal) {
      const onAbort = (): void => this.abort(job);
      req.signal.addEventListener('abort', onAbort, { once: true });
      job.detach = () => req.signal!.removeEventListener('abort', onAbort);
    }
    if (gen.done) this.complete(job, gen.finishReason ?? 'length');
    else {
      this.queue.push(job);
      this.kick();
    }
    return { chunks: channel, result: channel.result, cancel: () => this.abort(job) };
  }

  /**
   * One of the `maxSequences` slots for a request that a client drives itself through `evalTokens`
   * (speculative decoding), so such requests are bounded like submitted ones: granted at once when
   * a slot is free, else queued in the same bounded queue (QUEUE_FULL, thrown here, when it is
   * full). Resolves with the function that gives the slot back, or undefined when `signal` aborts
   * the wait.
   */
  reserveSlot(signal?: AbortSignal): Promise<(() => void) | undefined> {
    if (this.disposed) throw new DisposedError('the model');
    if (signal?.aborted) return Promise.resolve(undefined);
    if (this.busySlots < this.o.maxSequences && this.waiting === 0) {
      this.external++;
      this.syncStats();
      return Promise.resolve(this.slotReleaser());
    }
    if (this.waiting >= this.o.maxQueue) throw new QueueFullError(this.o.maxQueue);
    return new Promise((resolve, reject) => {
      const w: SlotWaiter = { resolve, reject };
      if (signal) {
        const onAbort = (): void => {
          const i = this.slotWaiters.indexOf(w);
          if (i >= 0) this.slotWaiters.splice(i, 1);
          this.syncStats();
          resolve(undefined);
        };
        signal.addEventListener('abort', onAbort, { once: true });
        w.detach = () => signal.removeEventListener('abort', onAbort);
      }
      this.slotWaiters.push(w);
      this.syncStats();
    });
  }

  private slotReleaser(): () => void {
    let given = false;
    return () => {
      if (given) return;
      given = true;
      this.external--;
      this.grantSlots();
      this.kick();
    };
  }

  /** Slots freed: waiting self-driven requests first (they queued before any later submission ran). */
  private grantSlots(): void {
    while (this.slotWaiters.length > 0 && this.busySlots < this.o.maxSequences) {
      const w = this.slotWaiters.shift()!;
      w.detach?.();
      this.external++;
      w.resolve(this.slotReleaser());
    }
    this.syncStats();
  }

  /** Sequences counted against maxSequences: running submissions and self-driven requests. */
  private get busySlots(): number {
    return this.gens.size + this.external;
  }

  /** Requests waiting for a slot. */
  private get waiting(): number {
    return this.queue.length + this.slotWaiters.length;
  }

  /**
   * Appends `tokens` at `positions` to a sequence and resolves with their logits (all rows, the last
   * one, or none). Runs in the same steps as everything else; chunked like any prefill. `into`, when
   * it holds the rows, receives them (the result is a view of its start): a caller that evaluates in
   * a loop (speculative decoding's draft and verify steps) reuses one buffer instead of a fresh
   * array per call, whose first writes fault in new pages (~6 ms for 4 rows of a 128K vocabulary on
   * a 2-vCPU VM, beside an ~85 ms step).
   */
  evalTokens(seq: Sequence, tokens: readonly number[], positions: readonly number[], want: 'all' | 'last' | 'none', options: EvalOptions = {}): Promise<Float32Array> {
    if (this.disposed) return Promise.reject(new DisposedError('the model'));
    if (tokens.length === 0) return Promise.reject(new BadArgumentError('eval needs at least one token'));
    try {
      this.checkIds(tokens);
    } catch (e) {
      return Promise.reject(e);
    }
    if (seq.length + tokens.length > seq.capacity) {
      return Promise.reject(new ContextOverflowError(seq.length + tokens.length, seq.capacity, seq.length > 0 ? `the ${seq.length} cached tokens plus ${tokens.length} new ones` : 'prompt'));
    }
    const size = (want === 'all' ? tokens.length : want === 'last' ? 1 : 0) * this.o.vocabSize;
    const out = options.into && options.into.length >= size ? options.into.subarray(0, size) : new Float32Array(size);
    return new Promise((resolve, reject) => {
      this.evals.push({ kind: 'eval', seq, tokens, positions, want, whole: options.whole ?? false, out, fed: 0, done: false, starved: 0, resolve, reject });
      this.kick();
    });
  }

  private checkIds(ids: readonly number[]): void {
    const v = this.o.vocabSize;
    for (const id of ids) if (!Number.isInteger(id) || id < 0 || id >= v) throw new BadArgumentError(`token id ${id} is outside the vocabulary (0..${v - 1})`);
  }

  private kick(): void {
    this.syncStats();
    if (this.runningLoop || this.disposed) return;
    this.runningLoop = true;
    void this.loop().finally(() => {
      this.runningLoop = false;
      // Work may have arrived after the last plan: start again.
      // (A queued request with no slot free waits for a release, which kicks again: no spinning.)
      const admissible = this.queue.some((j) => j.req.sequence !== undefined || this.busySlots < this.o.maxSequences);
      if (!this.disposed && (admissible || this.evals.some((e) => !e.done) || [...this.gens].some((g) => !g.done))) this.kick();
    });
  }

  private async loop(): Promise<void> {
    for (;;) {
      await this.admit();
      const plan = this.plan();
      if (!plan) return;
      const t0 = performance.now();
      let logits: Float32Array;
      try {
        logits = await this.exec.step(plan.batch);
      } catch (e) {
        for (const en of plan.entries) {
          // The step's rows were never stored: forget them (earlier chunks stay).
          const seq = en.job.seq;
          if (seq && !seq.freed) this.kv.truncate(seq, Math.max(0, seq.length - en.rows));
          this.fail(en.job, e);
        }
        continue;
      }
      this.learn(plan.batch.tokens.length, performance.now() - t0);
      this.stats.steps++;
      this.stats.evaluatedTokens += plan.batch.tokens.length;
      this.distribute(plan.entries, logits);
      // Every row was copied or sampled above; nothing holds the array past this point.
      this.exec.recycle(logits);
      this.syncStats();
    }
  }

  /**
   * Moves queued requests into running ones while sequences are free; requests that continue a
   * caller's sequence (a session's) do not take a slot from the pool.
   */
  private async admit(): Promise<void> {
    for (let i = 0; i < this.queue.length; i++) {
      const job = this.queue[i]!;
      if (!job.req.sequence && this.busySlots >= this.o.maxSequences) continue;
      if (!job.req.sequence && this.prefixInFlight(job.req.prompt)) continue;
      this.queue.splice(i--, 1);
      if (job.done) continue;
      this.gens.add(job);
      try {
        await this.attach(job);
      } catch (e) {
        this.fail(job, e);
      }
    }
  }

  /**
   * Whether a running request is still prefilling a long prefix of this prompt (clients that share
   * a system prompt and chat header arrive together): waiting for it and copying its keys and values
   * costs one step of latency instead of evaluating the same tokens once per request.
   */
  private prefixInFlight(prompt: readonly number[]): boolean {
    let have: number | undefined;
    for (const g of this.gens) {
      const seq = g.seq;
      if (g.done || !seq || seq.freed || !seq.contiguous) continue;
      const shared = Math.min(commonPrefix(g.req.prompt, prompt), prompt.length - 1);
      if (shared < WAIT_FOR_SHARED || seq.length >= shared || commonPrefix(seq.tokens, prompt) !== seq.length) continue;
      // Only for a real gain over what is cached already: waiting on a neighbour for a token or
      // two more would chain requests one step apart.
      have ??= this.kv.reusable(prompt, this.o.kvDType, this.liveSequences());
      if (shared - have >= WAIT_FOR_SHARED) return true;
    }
    return false;
  }

  private liveSequences(): Sequence[] {
    return [...this.gens].flatMap((g) => (g.seq ? [g.seq] : []));
  }

  private async attach(job: GenJob): Promise<void> {
    const prompt = job.req.prompt;
    const own = job.req.sequence;
    if (own) {
      await own.ready;
      if (!own.contiguous && own.length > 0) this.kv.truncate(own, 0);
      const keep = Math.min(commonPrefix(own.tokens, prompt), prompt.length - 1);
      this.kv.truncate(own, keep);
      job.seq = own;
      job.fed = keep;
      job.reused = keep;
      return;
    }
    const capacity = Math.min(this.o.contextSize, prompt.length + job.gen.maxTokens);
    const live = this.liveSequences().filter((s) => s !== job.seq);
    const { seq, reused } = await this.kv.acquire(prompt, capacity, this.o.kvDType, live);
    if (job.done) {
      this.kv.release(seq, true);
      return;
    }
    job.seq = seq;
    job.fed = reused;
    job.reused = reused;
  }

  /** Rows budget for the next step: as many as fit in stepMs at the measured cost per row. */
  private budget(): number {
    if (this.msPerRow <= 0) return 32;
    return Math.max(8, Math.min(this.o.maxBatch, Math.floor(this.o.stepMs / this.msPerRow)));
  }

  private learn(rows: number, ms: number): void {
    if (rows < 4) return;
    const per = ms / rows;
    this.msPerRow = this.msPerRow === 0 ? per : 0.7 * this.msPerRow + 0.3 * per;
  }

  private plan(): { batch: ReturnType<BatchBuilder['build']>; entries: Entry[] } | undefined {
    const b = new BatchBuilder();
    const entries: Entry[] = [];
    let logitRows = 0;
    // Decode rows first: every running generation advances one token per step.
    for (const job of this.gens) {
      if (job.done || job.next === undefined || !job.seq) continue;
      const seq = job.seq;
      if (seq.length >= seq.capacity) {
        this.complete(job, 'length');
        continue;
      }
      const pos = seq.nextPosition;
      b.add(seq.cache, seq.length, [job.next], [pos], () => true);
      this.kv.append(seq, [job.next], [pos]);
      entries.push({ job, rows: 1, from: 0, logitStart: logitRows++, logitCount: 1 });
      job.next = undefined;
    }
    // Then prefill, shortest remaining first; a job passed over 4 times goes first.
    const pending: Job[] = [];
    for (const job of this.gens) if (!job.done && job.seq && job.next === undefined && job.fed < job.req.prompt.length) pending.push(job);
    for (const job of this.evals) if (!job.done && job.fed < job.tokens.length) pending.push(job);
    const remaining = (j: Job): number => (j.kind === 'gen' ? j.req.prompt.length : j.tokens.length) - j.fed;
    pending.sort((x, y) => Number(y.starved >= 4) - Number(x.starved >= 4) || remaining(x) - remaining(y));
    // Prefill gets at least as many rows as the decodes: a step at most doubles while prompts are
    // pending, and a burst of requests starts within a few steps instead of trickling in at a
    // few rows a step behind ever more decodes (the last to start would then finish alone, in
    // small, slow steps).
    let room = Math.max(this.budget() - b.rows, 8, b.rows);
    const busy = new Set(entries.map((e) => e.job.kind === 'gen' ? e.job.seq : undefined));
    for (const job of pending) {
      const seq = job.seq!;
      if (room <= 0 || busy.has(seq)) {
        job.starved++;
        continue;
      }
      busy.add(seq);
      job.starved = 0;
      const k = job.kind === 'eval' && job.whole ? remaining(job) : Math.min(room, remaining(job));
      room -= k;
      let toks: readonly number[];
      let pos: number[];
      let want: (i: number) => boolean;
      const from = job.fed;
      if (job.kind === 'gen') {
        toks = job.req.prompt.slice(from, from + k);
        pos = toks.map((_, i) => from + i);
        const last = from + k === job.req.prompt.length;
        want = (i) => last && i === k - 1;
      } else {
        toks = job.tokens.slice(from, from + k);
        pos = job.positions.slice(from, from + k);
        const last = from + k === job.tokens.length;
        want = job.want === 'all' ? () => true : job.want === 'last' ? (i) => last && i === k - 1 : () => false;
      }
      const first = b.add(seq.cache, seq.length, toks, pos, want);
      this.kv.append(seq, toks, pos);
      let count = 0;
      for (let i = 0; i < k; i++) if (want(i)) count++;
      entries.push({ job, rows: k, from, logitStart: first, logitCount: count });
      logitRows += count;
      job.fed += k;
    }
    if (entries.length === 0) return undefined;
    return { batch: b.build(), entries };
  }

  private distribute(entries: readonly Entry[], logits: Float32Array): void {
    const V = this.o.vocabSize;
    for (const en of entries) {
      const job = en.job;
      if (job.done) continue;
      try {
        if (job.kind === 'eval') {
          if (en.logitCount > 0) {
            const at = job.want === 'all' ? en.from * V : 0;
            job.out.set(logits.subarray(en.logitStart * V, (en.logitStart + en.logitCount) * V), at);
          }
          if (job.fed === job.tokens.length) {
            job.done = true;
            this.evals.splice(this.evals.indexOf(job), 1);
            job.resolve(job.out);
          }
          continue;
        }
        if (en.logitCount === 0) continue; // an intermediate prefill chunk
        const row = logits.subarray(en.logitStart * V, (en.logitStart + 1) * V);
        job.tFirst ??= performance.now();
        const { id, logprob } = job.gen.sample(row);
        this.stats.generatedTokens++;
        for (const c of job.gen.push(id, logprob)) job.channel.push(c);
        if (job.gen.done) this.complete(job, job.gen.finishReason!);
        else job.next = id;
      } catch (e) {
        this.fail(job, e);
      }
    }
  }

  private abort(job: GenJob): void {
    if (job.done) return;
    job.gen.finish('abort');
    this.complete(job, 'abort');
  }

  /** Ends a generation: remaining text out, result in, sequence released (kept for reuse). */
  private complete(job: GenJob, reason: FinishReason): void {
    if (job.done) return;
    job.done = true;
    for (const c of job.gen.finish(reason)) job.channel.push(c);
    this.detachJob(job);
    this.stats.finished[job.gen.finishReason ?? reason]++;
    const now = performance.now();
    const tFirst = job.tFirst ?? now;
    const prefillMs = tFirst - job.t0;
    const decodeMs = now - tFirst;
    const evaluated = Math.max(0, Math.min(job.fed, job.req.prompt.length) - job.reused);
    const ids = job.gen.ids;
    job.channel.close({
      ids,
      text: job.gen.text,
      finishReason: job.gen.finishReason ?? reason,
      stoppedBy: job.gen.stoppedBy,
      promptTokens: job.req.prompt.length,
      cache: { reused: job.reused, evaluated },
      timings: {
        prefillMs,
        decodeMs,
        prefillTps: prefillMs > 0 ? (evaluated * 1000) / prefillMs : 0,
        decodeTps: decodeMs > 0 && ids.length > 1 ? ((ids.length - 1) * 1000) / decodeMs : 0,
      },
    });
    this.kick();
  }

  private fail(job: Job, e: unknown): void {
    if (job.done) return;
    job.done = true;
    if (job.kind === 'eval') {
      this.evals.splice(this.evals.indexOf(job), 1);
      job.reject(e);
      return;
    }
    this.stats.finished.error++;
    this.detachJob(job);
    job.channel.fail(e);
  }

  private detachJob(job: GenJob): void {
    job.detach?.();
    const i = this.queue.indexOf(job);
    if (i >= 0) this.queue.splice(i, 1);
    this.gens.delete(job);
    if (job.seq && job.ownsSeq) this.kv.release(job.seq, true);
    this.grantSlots();
  }

  private syncStats(): void {
    this.stats.running = this.busySlots;
    this.stats.queued = this.waiting;
  }

  /** Counts a request that a client drove through evalTokens (speculative decoding) like one of its own. */
  noteExternal(generated: number, how: FinishReason | 'error'): void {
    this.stats.generatedTokens += generated;
    this.stats.finished[how]++;
  }

  /** Fails everything still waiting or running; later calls throw DISPOSED. */
  dispose(): void {
    this.disposed = true;
    const err = new DisposedError('the model');
    for (const job of [...this.queue, ...this.gens]) this.fail(job, err);
    for (const job of [...this.evals]) this.fail(job, err);
    for (const w of this.slotWaiters.splice(0)) {
      w.detach?.();
      w.reject(err);
    }
    this.kv.clearPrefixCache();
  }
}
