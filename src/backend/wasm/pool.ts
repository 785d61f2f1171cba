import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { LlamaError } from '../../errors/errors.js';
import { instantiate } from './module.js';
import type { KernelChoice } from './kernel-choice.js';
import { SpinBudget } from './spin.js';
import { ThreadOps, claim } from './thread-ops.js';
import { CLAIM, DONE, ERROR, MAIN_WAITING, Op, PARAMS, PARAM_SLOTS, QUIT, SEQ, SLEEPERS } from './protocol.js';

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

/**
 * The main-thread side of the worker pool. Thread 0 is the calling thread itself; threads
 * 1..T-1 are workers. `run` wakes the workers, runs the caller's own share, then runs any
 * worker's share that worker has not claimed yet, and waits for the workers that did.
 */
export class Pool {
  readonly ctrl: Int32Array;
  readonly ctrlU: Uint32Array;
  readonly ctrlF: Float32Array;
  private readonly workers: Worker[] = [];
  private lastError = '';
  private readonly spin = new SpinBudget(MAIN_SPIN);
  /** Each worker's share, runnable on this thread (index 0 unused). */
  private readonly ops: ThreadOps[] = [];

  private constructor(
    readonly threads: number,
    sab: SharedArrayBuffer,
  ) {
    this.ctrl = new Int32Array(sab);
    this.ctrlU = new Uint32Array(sab);
    this.ctrlF = new Float32Array(sab);
  }

  static async start(threads: number, module: WebAssembly.Module, main: WebAssembly.Memory, memories: WebAssembly.Memory[], choice: KernelChoice): Promise<Pool> {
    const sab = new SharedArrayBuffer(4 * (PARAMS + PARAM_SLOTS * threads));
    const pool = new Pool(threads, sab);
    for (let t = 1; t < threads; t++) pool.ops[t] = new ThreadOps(instantiate(module, memories[t]!, choice), memories[t]!, main, sab, t);
    const entry = workerEntry();
    const ready: Promise<void>[] = [];
    for (let t = 1; t < threads; t++) {
      const w = new Worker(entry.code, {
        eval: entry.eval,
        workerData: { module, memory: memories[t], main, ctrl: sab, index: t, spin: WORKER_SPIN, choice },
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
          this.ops[t]!.run();
        } catch (e) {
          err ??= e;
        }
      }
    }
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
    if (err !== undefined) throw err;
    if (Atomics.load(c, ERROR)) {
      Atomics.store(c, ERROR, 0);
      throw new LlamaError('BACKEND_ERROR', `a wasm worker failed${this.lastError ? `: ${this.lastError}` : ''}`);
    }
  }

  async close(): Promise<void> {
    if (this.threads === 1) return;
    Atomics.store(this.ctrl, QUIT, 1);
    Atomics.add(this.ctrl, SEQ, 1);
    Atomics.notify(this.ctrl, SEQ);
    await Promise.all(this.workers.map((w) => w.terminate()));
  }
}
