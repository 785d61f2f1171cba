/**
 * Decode attention cost at long context on the wasm backend: one query token against `len` cached
 * positions, per layer call (Llama 3.2 1B heads by default: 32 query heads, 8 KV heads, head dim 64),
 * f32 and f16 KV caches. Long chats pay this once per layer per generated token, on top of the
 * matmuls, so it is the yardstick for attention work.
 *
 *   node --import tsx bench/attention.ts [--len 4096] [--hd 64] [--heads 32] [--kv-heads 8] [-t 2] [-r 15]
 */
import { parseArgs } from 'node:util';
import { createWasmBackend } from '../src/backend/wasm/index.js';
import type { KVDType } from '../src/backend/backend.js';

const { values } = parseArgs({
  options: {
    len: { type: 'string', default: '4096' },
    hd: { type: 'string', default: '64' },
    heads: { type: 'string', default: '32' },
    'kv-heads': { type: 'string', default: '8' },
    t: { type: 'string', short: 't', default: '2' },
    r: { type: 'string', short: 'r', default: '15' },
  },
});
const len = Number(values.len);
const hd = Number(values.hd);
const heads = Number(values.heads);
const kvHeads = Number(values['kv-heads']);
const reps = Number(values.r);

const be = await createWasmBackend({ threads: Number(values.t) });
const results: { kv: KVDType; ms_min: number; ms_median: number; gmacs: number }[] = [];
try {
  for (const kv of ['f32', 'f16'] as const) {
    const cache = be.createKVCache({ layers: 1, kvHeads, headDim: hd, capacity: len, dtype: kv });
    const chunk = 256;
    const kvDim = kvHeads * hd;
    const k = be.alloc(chunk * kvDim);
    const v = be.alloc(chunk * kvDim);
    const q = be.alloc(heads * hd);
    const o = be.alloc(heads * hd);
    const rand = (n: number): Float32Array => Float32Array.from({ length: n }, () => Math.random() * 2 - 1);
    be.write(k, rand(chunk * kvDim));
    be.write(v, rand(chunk * kvDim));
    be.write(q, rand(heads * hd));
    for (let s = 0; s < len; s += chunk) be.storeKV(cache, 0, k, v, Math.min(chunk, len - s), s);
    for (let s = 0; s < len; s++) cache.positions[s] = s;
    cache.length = len;
    const pos = Int32Array.from([len]);
    const call = (): void => be.attention(o, q, cache, 0, 1, pos, heads, 1 / Math.sqrt(hd));
    for (let i = 0; i < 3; i++) call();
    const times: number[] = [];
    for (let r = 0; r < reps; r++) {
      const t0 = performance.now();
      for (let i = 0; i < 5; i++) call();
      times.push((performance.now() - t0) / 5);
    }
    times.sort((a, b) => a - b);
    const macs = heads * len * hd * 2;
    results.push({ kv, ms_min: times[0]!, ms_median: times[times.length >> 1]!, gmacs: macs / (times[0]! * 1e6) });
    be.freeKVCache(cache);
    for (const t of [k, v, q, o]) be.free(t);
  }
} finally {
  await be.dispose();
}
for (const r of results) {
  console.log(`${r.kv} KV, len ${len}: ${r.ms_median.toFixed(3)} ms per layer call (min ${r.ms_min.toFixed(3)}), ${r.gmacs.toFixed(2)} GMAC/s`);
}
console.log(JSON.stringify({ len, hd, heads, kv_heads: kvHeads, threads: Number(values.t), results }));
