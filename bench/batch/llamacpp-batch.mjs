// Runs inside the temporary node-llama-cpp install (copied there by bench/batch/run.ts): aggregate
// decode tokens/s of K sequences of one llama.cpp context decoded together (node-llama-cpp batches
// concurrent sequences into one llama_decode), counted once every sequence has its first token.
import { getLlama } from 'node-llama-cpp';

const [modelPath, seqList, promptLen, genLen, threads] = process.argv.slice(2);
const P = Number(promptLen), N = Number(genLen), T = Number(threads);
const llama = await getLlama({ gpu: false, build: 'never', logLevel: 'error' });
const model = await llama.loadModel({ modelPath, gpuLayers: 0, useMmap: true });
const prompt = (i) => { let x = (i + 1) * 2654435761 >>> 0; return [128000, ...Array.from({ length: P - 1 }, () => { x = (Math.imul(x, 1103515245) + 12345) >>> 0; return 1000 + (x % 126000); })]; };

for (const k of seqList.split(',').map(Number)) {
  const ctx = await model.createContext({ sequences: k, contextSize: k * (P + N + 16), batchSize: 512, threads: T, flashAttention: false });
  // As bench/batch/run.ts: every prompt but its last token prefilled first, then all decode together.
  const seqs = Array.from({ length: k }, () => ctx.getSequence());
  const prompts = seqs.map((_, i) => prompt(i + k * 100));
  await Promise.all(seqs.map((seq, i) => seq.evaluateWithoutGeneratingNewTokens(prompts[i].slice(0, -1))));
  const times = [];
  await Promise.all(seqs.map(async (seq, i) => {
    const t = [];
    times.push(t);
    for await (const _t of seq.evaluate(prompts[i].slice(-1), { temperature: 0.8, seed: i })) {
      t.push(performance.now());
      if (t.length >= N) break;
    }
  }));
  // Steady state, as bench/batch/run.ts: from every sequence's first token to the first one's last.
  const start = Math.max(...times.map((t) => t[0])), end = Math.min(...times.map((t) => t[t.length - 1]));
  let tokens = 0;
  for (const t of times) for (const x of t) if (x > start && x <= end) tokens++;
  const s = (end - start) / 1000;
  console.log(JSON.stringify({ engine: 'llama.cpp (node-llama-cpp 3.22.1, CPU)', seqs: k, decode_tps: s > 0 ? tokens / s : 0, tokens, decode_s: s }));
  await ctx.dispose();
}
await model.dispose();
await llama.dispose();
