// Runs inside the temporary node-llama-cpp install (copied there by run.ts): pp and tg speed of
// llama.cpp's CPU backend on one GGUF, printed as one JSON line.
import { getLlama } from 'node-llama-cpp';

const [modelPath, p, n, threads, reps] = process.argv.slice(2);
const P = Number(p), N = Number(n), T = Number(threads), R = Number(reps);
const median = (xs) => { const s = [...xs].sort((a, b) => a - b); const m = s.length >> 1; return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2; };

const llama = await getLlama({ gpu: false, build: 'never', logLevel: 'error' });
const model = await llama.loadModel({ modelPath, gpuLayers: 0, useMmap: true });
const ctx = await model.createContext({ contextSize: Math.max(P, N) + 64, batchSize: Math.max(P, 32), threads: T, flashAttention: false });
const seq = ctx.getSequence();
const ids = (count, seed) => { let x = seed || 1; return Array.from({ length: count }, () => { x ^= x << 13; x >>>= 0; x ^= x >>> 17; x ^= x << 5; x >>>= 0; return 1000 + (x % 20000); }); };

async function pp(count, seed) {
  await seq.clearHistory();
  const t0 = performance.now();
  await seq.evaluateWithoutGeneratingNewTokens(ids(count, seed));
  return count / ((performance.now() - t0) / 1000);
}
async function tg(count, seed) {
  await seq.clearHistory();
  let made = 0;
  const t0 = performance.now();
  // Greedy generation from one token: `count` forward passes of one token each.
  for await (const _ of seq.evaluate(ids(1, seed), { temperature: 0 })) {
    if (++made >= count) break;
  }
  return count / ((performance.now() - t0) / 1000);
}

if (P > 0) await pp(Math.min(P, 32), 7);
if (N > 0) await tg(Math.min(N, 8), 7);
const ppRuns = [], tgRuns = [];
for (let r = 0; r < R; r++) {
  if (P > 0) ppRuns.push(await pp(P, 100 + r));
  if (N > 0) tgRuns.push(await tg(N, 200 + r));
}
console.log(JSON.stringify({
  engine: 'llama.cpp (node-llama-cpp 3.22.1, CPU)', threads: T,
  pp_tps: ppRuns.length ? median(ppRuns) : null, pp_tps_min: ppRuns.length ? Math.min(...ppRuns) : null, pp_runs: ppRuns,
  tg_tps: tgRuns.length ? median(tgRuns) : null, tg_tps_min: tgRuns.length ? Math.min(...tgRuns) : null, tg_runs: tgRuns,
}));
await ctx.dispose();
await model.dispose();
await llama.dispose();
