import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import type { WorkSharing } from '../backend.js';
import { LlamaError } from '../../errors/errors.js';
import type { Arena } from './arena.js';
import { chunkTag, exhausted, runChunks, stealOrder } from './chunks.js';
import { claim } from './claim.js';
import { instantiate } from './module.js';
import type { KernelChoice } from './kernel-choice.js';
import { SpinBudget } from './spin.js';
import { ThreadOps } from './thread-ops.js';
import { CLAIM, DONE, ERROR, MAIN_WAITING, NEXT, Op, PARAMS, PARAM_SLOTS, QUIT, SEQ, SLEEPERS, STOLEN } from './protocol.js';

/** Most iterations a worker polls SEQ before sleeping (~0.1–0.5 ms: covers the gaps between ops); see SpinBudget. */
const WORKER_SPIN = 200_000;
/** Most iterations the main thread polls DONE before sleeping until notified. */
const MAIN_SPIN = 200_000;

/**
 * Compiled, the worker is worker.js beside this file. Run from source under tsx, the worker
 * thread does not inherit tsx's loader hooks, so a small bootstrap registers them first.
 */
function workerEntry(): { code: URL | string; eval: boolean } {
  const js = new URL('./worker.js', import.meta.url);
  if (existsSync(fileURLToPath(js))) return { code: js, eval: false };
  const ts = new URL('./worker.ts', import.meta.url).href;
  const api = import.meta.resolve('tsx/esm/api');
  const code = `import(${JSON.stringify(api)}).then((m) => m.tsImport(${JSON.stringify(ts)}, ${JSON.stringify(ts)}));`;
  return { code, eval: true };
}

/** Most other shares a worker takes matmul chunks from (each costs a kernel instance and a scratch block in that memory). */
const STEAL_SPAN = 15;

/** The shares thread u may run matmul chunks of, in the order it takes them: its own first. */
function sharesOf(u: number, threads: number): number[] {
  return u === 0 ? stealOrder(0, threads) : stealOrder(u, threads).slice(0, STEAL_SPAN + 1);
}

/**
 * The main-thread side of the worker pool. Thread 0 is the calling thread itself; threads
 * 1..T-1 are workers. `run` wakes the workers, runs the caller's own share, then runs any
 * worker's share that worker has not claimed yet, and waits for the workers that did.
 * `runChunked` (matmuls, row-wise ops) lets every thread run chunks of every share (chunks.ts).
 */
export class Pool {
  readonly ctrl: Int32Array;
  readonly ctrlU: Uint32Array;
  readonly ctrlF: Float32Array;
  private readonly workers: Worker[] = [];
  private lastError = '';
  private readonly spin = new SpinBudget(MAIN_SPIN);
  /** Each share as this thread runs it: [0] over the main memory, [t] over worker t's memory. */
  private readonly shares: ThreadOps[] = [];
  private readonly order: number[];
  private chunks = 0;

  private constructor(
    readonly threads: number,
    sab: SharedArrayBuffer,
  ) {
    this.ctrl = new Int32Array(sab);
    this.ctrlU = new Uint32Array(sab);
    this.ctrlF = new Float32Array(sab);
    this.order = sharesOf(0, threads);
  }

  /**
   * Starts threads − 1 workers. Every thread gets a kernel instance over each memory whose matmul
   * chunks it may run; an instance over another thread's memory gets its own scratch block there
   * (allocated from `arenas` now, before anything else lives in them).
   */
  static async start(threads: number, module: WebAssembly.Module, memories: WebAssembly.Memory[], arenas: Arena[], choice: KernelChoice): Promise<Pool> {
    const sab = new SharedArrayBuffer(4 * (PARAMS + PARAM_SLOTS * threads));
    const pool = new Pool(threads, sab);
    const main = memories[0]!;
    const k0 = instantiate(module, main, choice);
    pool.shares[0] = new ThreadOps(k0, main, main, sab, 0);
    const scratchBytes = k0.scratch_bytes();
    /** scratch[u][v]: thread u's scratch block in memory v (u ≠ v). */
    const scratch = Array.from({ length: threads }, (_, u) => {
      const row: number[] = [];
      for (const v of sharesOf(u, threads)) if (v !== u) row[v] = arenas[v]!.alloc(scratchBytes);
      return row;
    });
    for (let t = 1; t < threads; t++) {
      const k = instantiate(module, memories[t]!, choice);
      k.set_scratch(scratch[0]![t]!);
      pool.shares[t] = new ThreadOps(k, memories[t]!, main, sab, t);
    }
    const entry = workerEntry();
    const ready: Promise<void>[] = [];
    for (let t = 1; t < threads; t++) {
      const w = new Worker(entry.code, {
        eval: entry.eval,
        workerData: { module, memories, shares: sharesOf(t, threads), scratch: scratch[t], ctrl: sab, index: t, spin: WORKER_SPIN, choice },
      });
      w.unref();
      ready.push(
        new Promise((res, rej) => {
          // 'ready' is posted once the kernels are instantiated: from then on every failure is
          // caught inside the worker's loop and reported through the ERROR flag.
          w.on('message', (m: { error?: string; ready?: boolean }) => {
            if (m.ready) res();
            if (m.error) pool.lastError = m.error;
          });
          w.once('error', rej);
          w.once('exit', (code) => rej(new LlamaError('BACKEND_ERROR', `wasm worker ${t} exited (${code}) before starting`)));
        }),
      );
      pool.workers.push(w);
    }
    await Promise.all(ready);
    return pool;
  }

  /** Parameter slot `slot` of thread t. */
  index(t: number, slot: number): number {
    return PARAMS + t * PARAM_SLOTS + slot;
  }

  /**
   * Starts every worker on the op whose parameters were just written, runs `own` (thread 0's
   * share) meanwhile and returns when all are done.
   */
  run(own: () => void): void {
    if (this.threads === 1) {
      own();
      return;
    }
    const c = this.ctrl;
    Atomics.store(c, DONE, 0);
    const seq = (Atomics.add(c, SEQ, 1) + 1) | 0;
    if (Atomics.load(c, SLEEPERS) > 0) Atomics.notify(c, SEQ);
    let err: unknown;
    try {
      own();
    } catch (e) {
      err = e;
    }
    // A share no worker has claimed yet is run here: a worker that is asleep, or preempted by
    // another process, would otherwise hold up the whole op (2 threads decoded 3x slower than 1
    // beside a busy process). The bandwidth probe must run on its own thread.
    let want = this.threads - 1;
    if (this.ctrlU[this.index(1, 0)] !== Op.Read) {
      for (let t = 1; t < this.threads; t++) {
        if (!claim(c, this.index(t, CLAIM), seq)) continue;
        want--;
        try {
          this.shares[t]!.run();
        } catch (e) {
          err ??= e;
        }
      }
    }
    this.await(want);
    this.check(err);
  }

  /**
   * Runs a chunked op (a matmul, or a row-wise op whose chunks are all share 0's) whose parameters,
   * chunk counts included, were just written to every share's block (`total` chunks in all): this
   * thread runs chunks of its own share, then of any other share with chunks left, as every worker
   * does (chunks.ts), and returns when all have run.
   */
  runChunked(total: number): void {
    const c = this.ctrl;
    this.chunks += total;
    const seq = (Atomics.load(c, SEQ) + 1) | 0;
    const tag = chunkTag(seq);
    for (let t = 0; t < this.threads; t++) Atomics.store(c, this.index(t, NEXT), tag);
    Atomics.store(c, DONE, 0);
    Atomics.add(c, SEQ, 1);
    if (Atomics.load(c, SLEEPERS) > 0) Atomics.notify(c, SEQ);
    let err: unknown;
    const mine = runChunks(c, this.shares, this.order, seq, (e) => {
      err ??= e;
    });
    this.await(total - mine);
    // Closed before the next op's parameters are written: a worker that wakes late and reads them
    // finds no chunk of this op to claim and cannot claim its share of this op either.
    for (let t = 0; t < this.threads; t++) {
      Atomics.store(c, this.index(t, NEXT), exhausted(seq));
      if (t > 0) claim(c, this.index(t, CLAIM), seq);
    }
    this.check(err);
  }

  /** Chunks (matmul and row-wise ops) run since the pool started, and how many by a thread other than their share's owner. */
  workSharing(): WorkSharing {
    return { chunks: this.chunks, stolen: Atomics.load(this.ctrl, STOLEN) };
  }

  /** Waits until the workers have counted `want` in DONE: polling, then sleeping until notified. */
  private await(want: number): void {
    const c = this.ctrl;
    let spins = 0;
    let sleptAt = -1;
    for (;;) {
      const done = Atomics.load(c, DONE);
      if (done >= want) break;
      if (++spins > this.spin.current) {
        // Long op, or a worker preempted: sleep until a worker's notify (the timeout only guards a lost wake-up).
        if (sleptAt < 0) sleptAt = performance.now();
        Atomics.store(c, MAIN_WAITING, 1);
        Atomics.wait(c, DONE, done, 50);
        Atomics.store(c, MAIN_WAITING, 0);
      }
    }
    if (sleptAt >= 0) this.spin.slept(performance.now() - sleptAt);
    else this.spin.caught();
  }

  /** Throws the op's first failure on this thread, or a worker's, as a BACKEND_ERROR; clears the flag either way. */
  private check(err: unknown): void {
    const workerFailed = Atomics.exchange(this.ctrl, ERROR, 0) !== 0;
    if (err instanceof LlamaError) throw err;
    if (err !== undefined) throw new LlamaError('BACKEND_ERROR', `a wasm kernel failed: ${(err as Error)?.message ?? String(err)}`, { cause: err });
    if (workerFailed) throw new LlamaError('BACKEND_ERROR', `a wasm worker failed${this.lastError ? `: ${this.lastError}` : ''}`);
  }

  async close(): Promise<void> {
    if (this.threads === 1) return;
    Atomics.store(this.ctrl, QUIT, 1);
    Atomics.add(this.ctrl, SEQ, 1);
    Atomics.notify(this.ctrl, SEQ);
    await Promise.all(this.workers.map((w) => w.terminate()));
  }
}
