import { test } from 'node:test';
import { skipNoFixtures } from './fixtures.js';
import { checkLong } from './helpers/model-checks.js';

/**
 * The 20,048-token `long` case runs entirely in the fast path (tiled attention over the wasm KV
 * cache) and reproduces the float64 reference's logits for the last 48 positions: long-range RoPE
 * with llama3 scaling (3.1, 3.2) and without (Llama 2). README tolerance 2e-3 in float32. The ref
 * backend takes minutes here (plain O(n²) loops), so this check runs on wasm only.
 */
const CASES: ReadonlyArray<[string, string]> = [
  ['tiny-llama3.1', 'tiny-llama3.1.f32.gguf'],
  ['tiny-llama3.2-tied', ''],
  ['tiny-llama2', 'tiny-llama2.llama2c.bin'],
];

for (const [model, file] of CASES) {
  test(`wasm: 20048-token prompt, last-48 logits match the reference (${model} ${file || 'HF folder'})`, { skip: skipNoFixtures, timeout: 300_000 }, async () => {
    const d = await checkLong(model, file, { backend: 'wasm', threads: 2 }, 2e-3);
    if (process.env.LLAMA_TS_REPORT) console.log(JSON.stringify({ model, file, long: d }));
  });
}
