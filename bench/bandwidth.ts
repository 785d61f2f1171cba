/**
 * Memory read bandwidth of this machine as the wasm backend sees it: every thread reads its own
 * 256 MiB region of its wasm memory concurrently (best of 5). Decode speed is bounded by
 * bandwidth ÷ weight bytes per token, so this is the yardstick for `bench`'s GB/s.
 *
 *   node --import tsx bench/bandwidth.ts [maxThreads]
 */
import { availableParallelism } from 'node:os';
import { createWasmBackend } from '../src/backend/wasm/index.js';

const max = Number(process.argv[2] ?? availableParallelism());
const rows: { threads: number; read_gbps: number }[] = [];
for (let t = 1; t <= max; t++) {
  const be = await createWasmBackend({ threads: t });
  try {
    rows.push({ threads: t, read_gbps: Number((be.measureReadBandwidth() / 1e9).toFixed(2)) });
  } finally {
    await be.dispose();
  }
}
for (const r of rows) console.log(`${r.threads} thread(s): ${r.read_gbps} GB/s`);
console.log(JSON.stringify({ bandwidth: rows }));
