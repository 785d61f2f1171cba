// Runs inside the temporary node-llama-cpp install (copied there by convert-vs-llamacpp.ts):
// for each GGUF given as JSON [{ path, prompt, n, texts }] on argv[2], the greedy continuation of
// the token prompt by llama.cpp's CPU backend, and llama.cpp's tokenization of each text (special
// tokens parsed); prints one JSON array of { path, ids, tokens }.
import { getLlama } from 'node-llama-cpp';

const jobs = JSON.parse(process.argv[2]);
const llama = await getLlama({ gpu: false, build: 'never', logLevel: 'error' });
const results = [];
for (const job of jobs) {
  const model = await llama.loadModel({ modelPath: job.path, gpuLayers: 0, useMmap: true });
  const ctx = await model.createContext({ contextSize: 256, batchSize: 64, threads: 2, flashAttention: false });
  const seq = ctx.getSequence();
  const tokens = (job.texts ?? []).map((t) => Array.from(model.tokenize(t, true)));
  const ids = [];
  // Temperature 0 = llama.cpp's own greedy sampler; no end-of-generation stop at this level.
  if (job.n > 0) for await (const t of seq.evaluate(job.prompt, { temperature: 0 })) {
    ids.push(t);
    if (ids.length >= job.n) break;
  }
  results.push({ path: job.path, ids, tokens });
  await ctx.dispose();
  await model.dispose();
}
console.log(JSON.stringify(results));
await llama.dispose();
