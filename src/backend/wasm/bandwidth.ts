import type { ThreadMemories } from './memory.js';
import type { Pool } from './pool.js';
import { Op, RD } from './protocol.js';

/**
 * Measures memory read bandwidth (bytes/s): every thread repeatedly reads its own
 * `bytesPerThread` region (far larger than the caches) at the same time; best of `trials`.
 */
export function measureReadBandwidth(pool: Pool, mem: ThreadMemories, bytesPerThread: number, trials: number): number {
  const threads = pool.threads;
  const bytes = Math.floor(bytesPerThread / 64) * 64;
  const ptrs = mem.arenas.map((a) => a.alloc(bytes));
  try {
    // Touch every page first so the timing sees reads, not page faults.
    ptrs.forEach((p, t) => mem.bytesOf(t).fill(1, p, p + bytes));
    mem.refresh();
    const reps = 2;
    const cu = pool.ctrlU;
    for (let t = 1; t < threads; t++) {
      cu[pool.index(t, 0)] = Op.Read;
      cu[pool.index(t, RD.ptr)] = ptrs[t]!;
      cu[pool.index(t, RD.bytes)] = bytes;
      cu[pool.index(t, RD.reps)] = reps;
    }
    let best = 0;
    for (let i = 0; i < trials; i++) {
      const t0 = performance.now();
      pool.run(() => {
        for (let r = 0; r < reps; r++) mem.k0.read_bytes(ptrs[0]!, bytes);
      });
      const s = (performance.now() - t0) / 1000;
      best = Math.max(best, (bytes * reps * threads) / s);
    }
    return best;
  } finally {
    ptrs.forEach((p, t) => mem.arenas[t]!.release(p));
  }
}
