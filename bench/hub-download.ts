/**
 * Download throughput of the hub client against the local mock hub (test/helpers/mock-hub.ts):
 * one LFS file over 127.0.0.1, hashed (sha256) and written into a temporary cache, then the cached
 * re-resolve. Measures the client's own overhead (the network is loopback).
 *
 *   node dist/bench/hub-download.js [--mib 512]
 */
import { parseArgs } from 'node:util';
import { randomBytes, createHash } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MockHub } from '../test/helpers/mock-hub.js';
import { pullModel } from '../src/hub/index.js';

const { values } = parseArgs({ options: { mib: { type: 'string', default: '512' } } });
const mib = Number(values.mib);
const data = randomBytes(mib * 2 ** 20);
const hub = new MockHub();
hub.addRepo('bench/m', { commit: 'b'.repeat(40), files: new Map([['M-Q4_K_M.gguf', { data, lfs: true }]]) });
await hub.start();
const cache = mkdtempSync(join(tmpdir(), 'llama-ts-bench-hub-'));
try {
  // The mock hashes a file on first request (then memoizes): warm it outside the timing.
  await fetch(`${hub.endpoint}/bench/m/resolve/main/M-Q4_K_M.gguf`, { method: 'HEAD', redirect: 'manual' });
  let t = performance.now();
  await pullModel('hf:bench/m:Q4_K_M', { endpoint: hub.endpoint, cacheDir: cache });
  const dl = (performance.now() - t) / 1000;
  t = performance.now();
  createHash('sha256').update(data).digest('hex');
  const h = (performance.now() - t) / 1000;
  t = performance.now();
  await pullModel('hf:bench/m:Q4_K_M', { endpoint: hub.endpoint, cacheDir: cache });
  const again = performance.now() - t;
  process.stdout.write(`${JSON.stringify({ mib, seconds: +dl.toFixed(2), mib_per_s: Math.round(mib / dl), sha256_alone_mib_per_s: Math.round(mib / h), cached_resolve_ms: +again.toFixed(1) })}\n`);
} finally {
  await hub.stop();
  rmSync(cache, { recursive: true, force: true });
}
