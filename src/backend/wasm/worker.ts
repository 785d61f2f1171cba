import { parentPort, workerData } from 'node:worker_threads';
import { runChunks } from './chunks.js';
import { claim } from './claim.js';
import { instantiate } from './module.js';
import type { KernelChoice } from './kernel-choice.js';
import { SpinBudget } from './spin.js';
import { ThreadOps } from './thread-ops.js';
import { CLAIM, DONE, ERROR, MAIN_WAITING, Op, PARAMS, PARAM_SLOTS, QUIT, SEQ, SLEEPERS } from './protocol.js';

/**
 * A compute thread: owns one WebAssembly.Memory (its row shard of every weight, its KV heads,
 * scratch), reads inputs from the main thread's memory and writes its share of outputs back.
 * It runs a StoreKV or Attention share only if it claims it before the main thread does, and a
 * matmul's chunks of its own share and then of others' (chunks.ts, pool.ts), as it runs chunks of
 * a row-wise op over the main memory.
 */
interface Init {
  module: WebAssembly.Module;
  /** Every thread's memory; [0] is the main thread's. */
  memories: WebAssembly.Memory[];
  /** The shares this thread may run matmul chunks of, its own first. */
  shares: number[];
  /** This thread's scratch block in memory v, for each other share v it may run. */
  scratch: number[];
  ctrl: SharedArrayBuffer;
  index: number;
  spin: number;
  choice: KernelChoice;
}

const init = workerData as Init;
const ctrl = new Int32Array(init.ctrl);
const main = init.memories[0]!;
const shares: ThreadOps[] = [];
for (const v of init.shares) {
  const k = instantiate(init.module, init.memories[v]!, init.choice);
  if (v !== init.index) k.set_scratch(init.scratch[v]!);
  shares[v] = new ThreadOps(k, init.memories[v]!, main, init.ctrl, v);
}
const ops = shares[init.index]!;
const opSlot = PARAMS + init.index * PARAM_SLOTS;
const claimSlot = opSlot + CLAIM;

function report(e: unknown): void {
  Atomics.store(ctrl, ERROR, 1);
  parentPort?.postMessage({ error: String((e as Error)?.stack ?? e) });
}

function finished(count: number): void {
  Atomics.add(ctrl, DONE, count);
  if (Atomics.load(ctrl, MAIN_WAITING)) Atomics.notify(ctrl, DONE);
}

let last = Atomics.load(ctrl, SEQ);
const spin = new SpinBudget(init.spin);
parentPort?.postMessage({ ready: true });
for (;;) {
  let spins = 0;
  let sleptAt = -1;
  while (Atomics.load(ctrl, SEQ) === last) {
    if (++spins > spin.current) {
      if (sleptAt < 0) sleptAt = performance.now();
      Atomics.add(ctrl, SLEEPERS, 1);
      Atomics.wait(ctrl, SEQ, last);
      Atomics.sub(ctrl, SLEEPERS, 1);
      spins = 0;
    }
  }
  if (sleptAt >= 0) spin.slept(performance.now() - sleptAt);
  else spin.caught();
  last = Atomics.load(ctrl, SEQ);
  if (Atomics.load(ctrl, QUIT)) break;
  const op = ctrl[opSlot];
  if (op === Op.Matmul || op === Op.Rows) {
    // Counted per chunk run: the main thread waits for all of the op's chunks, whoever ran them.
    const ran = runChunks(ctrl, shares, init.shares, last, report);
    if (ran > 0) finished(ran);
    continue;
  }
  // The main thread ran this share itself (this thread was late): nothing to do or report.
  if (!claim(ctrl, claimSlot, last)) continue;
  try {
    ops.run();
  } catch (e) {
    report(e);
  }
  finished(1);
}
parentPort?.postMessage({ exited: true });
