// Runs inside the temporary node-llama-cpp install (copied there by convert-vs-llamacpp.ts):
// greedy continuation of a token prompt by llama.cpp's CPU backend for each GGUF given as JSON
// [{ path, prompt, n }] on argv[2]; prints one JSON array of { path, ids }.
import { getLlama } from 'node-llama-cpp';

const jobs = JSON.parse(process.argv[2]);
const llama = await getLlama({ gpu: false, build: 'never', logLevel: 'error' });
const results = [];
for (const job of jobs) {
  const model = await llama.loadModel({ modelPath: job.path, gpuLayers: 0, useMmap: true });
  const ctx = await model.createContext({ contextSize: 256, batchSize: 64, threads: 2, flashAttention: false });
  const seq = ctx.getSequence();
  const ids = [];
  // Temperature 0 = llama.cpp's own greedy sampler; no end-of-generation stop at this level.
  for await (const t of seq.evaluate(job.prompt, { temperature: 0 })) {
    ids.push(t);
    if (ids.length >= job.n) break;
  }
  results.push({ path: job.path, ids });
  await ctx.dispose();
  await model.dispose();
}
console.log(JSON.stringify(results));
await llama.dispose();
