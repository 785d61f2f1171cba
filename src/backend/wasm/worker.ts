import { parentPort, workerData } from 'node:worker_threads';
import { instantiate } from './module.js';
import type { KernelChoice } from './kernel-choice.js';
import { SpinBudget } from './spin.js';
import { ThreadOps, claim } from './thread-ops.js';
import { CLAIM, DONE, ERROR, MAIN_WAITING, PARAMS, PARAM_SLOTS, QUIT, SEQ, SLEEPERS } from './protocol.js';

/**
 * A compute thread: owns one WebAssembly.Memory (its row shard of every weight, its KV heads,
 * scratch), reads inputs from the main thread's memory and writes its share of outputs back.
 * It runs an op only if it claims it before the main thread does (pool.ts).
 */
interface Init {
  module: WebAssembly.Module;
  memory: WebAssembly.Memory;
  main: WebAssembly.Memory;
  ctrl: SharedArrayBuffer;
  index: number;
  spin: number;
  choice: KernelChoice;
}

const init = workerData as Init;
const ctrl = new Int32Array(init.ctrl);
const ops = new ThreadOps(instantiate(init.module, init.memory, init.choice), init.memory, init.main, init.ctrl, init.index);
const claimSlot = PARAMS + init.index * PARAM_SLOTS + CLAIM;

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
  // The main thread ran this share itself (this thread was late): nothing to do or report.
  if (!claim(ctrl, claimSlot, last)) continue;
  try {
    ops.run();
  } catch (e) {
    Atomics.store(ctrl, ERROR, 1);
    parentPort?.postMessage({ error: String((e as Error)?.stack ?? e) });
  }
  Atomics.add(ctrl, DONE, 1);
  if (Atomics.load(ctrl, MAIN_WAITING)) Atomics.notify(ctrl, DONE);
}
parentPort?.postMessage({ exited: true });
