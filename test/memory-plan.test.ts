import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { planMemory, requireMemory, parseMemorySize, OutOfMemoryError, WASM_MEMORY_LIMIT, RUNTIME_ALLOWANCE, type MemoryPlanInput } from '../src/model/memory-plan.js';
import { LLAMA_3_1_8B, LLAMA_3_1_70B, syntheticTensors } from '../bench/synthetic-llama.js';
import { DType, rowBytes } from '../src/quant/dtype.js';
import { fixture, skipNoFixtures, REPO_ROOT } from './fixtures.js';

const G = 2 ** 30;
const input8b = (o: Partial<MemoryPlanInput> = {}): MemoryPlanInput => ({
  config: LLAMA_3_1_8B,
  tensors: syntheticTensors(LLAMA_3_1_8B, 'Q4_K_M'),
  backend: 'wasm',
  threads: 16,
  kvDType: 'f32',
  available: 64 * G,
  availableSource: '--max-memory',
  ...o,
});
const oom = (re: RegExp[]) => (e: unknown) => {
  assert.ok(e instanceof OutOfMemoryError, String(e));
  assert.equal(e.code, 'OUT_OF_MEMORY');
  for (const r of re) assert.match(e.message, r);
  return true;
};

test('KV bytes follow layers × KV heads × head_dim × 2 × element size × context', () => {
  const p = planMemory(input8b({ contextSize: 8192 }));
  assert.equal(p.kv, 32 * 8 * 128 * 2 * 4 * 8192 + 8192 * 4);
  const h = planMemory(input8b({ contextSize: 8192, kvDType: 'f16' }));
  assert.equal(h.kv, 32 * 8 * 128 * 2 * 2 * 8192 + 8192 * 4);
  assert.ok(p.fits);
  assert.equal(p.total, p.weights + p.kv + p.scratch + RUNTIME_ALLOWANCE);
  // Per-thread pieces add up to the totals (thread 0 also holds the JS-side transient in scratch).
  assert.equal(p.perThread.reduce((a, t) => a + t.kv, 0), p.kv);
  assert.equal(p.perThread.reduce((a, t) => a + t.weights, 0), p.weights);
});

test('weights as the wasm backend holds them: repacked layouts and F32 widening', () => {
  const c = LLAMA_3_1_8B;
  const one = (dtype: DType) => [{ name: 'blk.0.ffn_up.weight', dtype, shape: [4096, 4096], byteLength: 4096 * rowBytes(dtype, 4096) }];
  const plan = (dtype: DType) => planMemory({ ...input8b({ contextSize: 16 }), config: c, tensors: one(dtype), threads: 4 });
  // Q4_0: 80 bytes per 4 rows × 32 columns (ggml: 72); Q4_K: 608 per 4 rows × 256 (ggml 576); Q6_K 1104 (ggml 840).
  assert.equal(plan(DType.Q4_0).weights, (4096 / 4) * (4096 / 32) * 80);
  assert.equal(plan(DType.Q4_K).weights, (4096 / 4) * (4096 / 256) * 608);
  assert.equal(plan(DType.Q6_K).weights, (4096 / 4) * (4096 / 256) * 1104);
  assert.equal(plan(DType.Q8_0).weights, 4096 * rowBytes(DType.Q8_0, 4096));
  assert.equal(plan(DType.F16).weights, 4096 * 4096 * 2);
  const q2 = plan(DType.Q2_K);
  assert.equal(q2.weights, 4096 * 4096 * 4);
  assert.deepEqual(q2.widened, ['blk.0.ffn_up.weight (Q2_K)']);
  assert.equal(q2.fileWeights, 4096 * rowBytes(DType.Q2_K, 4096));
});

test('refusal: total over available memory (explicit context) names numbers and options', () => {
  assert.throws(
    () => requireMemory(input8b({ contextSize: 65536, available: 16 * G })),
    oom([/does not fit with a 65536-token context/, /needs 2\d\.\d\d GiB but 16\.00 GiB is available \(--max-memory\)/, /KV cache 16\.00 GiB \(f32\)/, /-c \d+ fits/, /--cache-type f16/, /a larger --max-memory/]),
  );
});

test('refusal: a wasm memory over 4 GiB suggests more threads (and how many)', () => {
  let err: OutOfMemoryError | undefined;
  try {
    requireMemory(input8b({ contextSize: 8192, threads: 1 }));
  } catch (e) {
    err = e as OutOfMemoryError;
  }
  assert.ok(err instanceof OutOfMemoryError);
  assert.match(err.message, /the one wasm memory would hold \d+\.\d\d GiB .* over the 4\.00 GiB/);
  const t = Number(/-t (\d+) splits/.exec(err.message)?.[1]);
  assert.ok(t >= 2, err.message);
  // The suggested thread count does fit; one fewer does not.
  assert.ok(planMemory(input8b({ contextSize: 8192, threads: t })).fits);
  assert.ok(!planMemory(input8b({ contextSize: 8192, threads: t - 1 })).fits);
  assert.doesNotMatch(err.message, /max-memory/);
});

test('refusal: a KV head over 4 GiB cannot be helped by threads; f16 KV can', () => {
  assert.throws(
    () => requireMemory(input8b({ contextSize: 131072, threads: 16 })),
    oom([/8 of 16 wasm thread memories/, /more threads cannot help: .* one head's cache for 131072 tokens is 4\.00 GiB/, /--cache-type f16\): KV 16\.00 GiB instead of 32\.00 GiB, which fits/]),
  );
  assert.ok(planMemory(input8b({ contextSize: 131072, threads: 16, kvDType: 'f16' })).fits);
});

test('refusal: no context given and the weights alone do not fit: suggests a smaller quant', () => {
  assert.throws(
    () => requireMemory({ ...input8b({ available: 48 * G }), config: LLAMA_3_1_70B, tensors: syntheticTensors(LLAMA_3_1_70B, 'Q8_0') }),
    oom([/does not fit even with a 256-token context/, /a Q4_K_M file holds this model in ≈ 3\d\.\d\d GiB/, /more threads: -t \d+/]),
  );
});

test('no context given: the largest that fits (10% headroom), up to the model maximum', () => {
  const p = planMemory(input8b({ available: 16 * G }));
  assert.ok(p.fits && p.contextChosen);
  assert.ok(p.contextSize > 8192 && p.contextSize < 131072 && p.contextSize % 256 === 0, String(p.contextSize));
  assert.ok(p.total <= 0.9 * 16 * G);
  assert.ok(planMemory(input8b({ available: 16 * G * 0.9, contextSize: p.contextSize + 256 })).total > 0.9 * 16 * G);
  // Plenty of memory and f16 KV: the model's own maximum.
  assert.equal(planMemory(input8b({ available: 1024 * G, kvDType: 'f16' })).contextSize, 131072);
  // Per-thread limit binds too.
  const two = planMemory(input8b({ available: 1024 * G, threads: 2 }));
  assert.ok(two.perThread.every((t) => t.total <= WASM_MEMORY_LIMIT));
  assert.ok(two.contextSize < 16384, String(two.contextSize));
});

test('ref backend: raw weights, f32 KV, no per-thread limit', () => {
  const p = planMemory(input8b({ backend: 'ref', contextSize: 8192, kvDType: 'f16' }));
  assert.equal(p.kvDType, 'f32');
  assert.deepEqual(p.perThread, []);
  assert.ok(p.weights >= p.fileWeights && p.weights < p.fileWeights * 1.01);
});

test('parseMemorySize', () => {
  assert.equal(parseMemorySize('12G'), 12 * G);
  assert.equal(parseMemorySize('6.5GiB'), 6.5 * G);
  assert.equal(parseMemorySize('8000m'), 8000 * 2 ** 20);
  assert.equal(parseMemorySize('1024'), 1024);
  assert.equal(parseMemorySize('lots'), undefined);
});

const BIN = join(REPO_ROOT, 'bin', 'llama-ts.js');
const skip = skipNoFixtures || (existsSync(join(REPO_ROOT, 'dist', 'src', 'cli', 'main.js')) ? false : 'CLI not built');
const cli = (args: string[]): Promise<{ code: number; stdout: string; stderr: string }> =>
  new Promise((resolve) =>
    execFile(process.execPath, [BIN, ...args], (err, stdout, stderr) => resolve({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, stdout, stderr })),
  );

test('CLI: run refuses before loading with OUT_OF_MEMORY; info --ctx prints the plan', { skip }, async () => {
  const m = fixture('models', 'tiny-llama3-chat', 'tiny-llama3-chat.q8_0.gguf');
  const r = await cli(['run', '-m', m, '-p', 'Hi', '-n', '2', '--max-memory', '100M']);
  assert.equal(r.code, 1);
  assert.match(r.stderr, /error \[OUT_OF_MEMORY\]: the model does not fit even with a \d+-token context: the run needs .* but 100\.0 MiB is available \(--max-memory\)/);
  assert.match(r.stderr, /options: .*a larger --max-memory/);
  const i = await cli(['info', '-m', m, '--ctx', '2048', '-t', '2', '--cache-type', 'f16']);
  assert.equal(i.code, 0, i.stderr);
  assert.match(i.stdout, /memory plan \(wasm, 2 threads, context 2048, f16 KV\):\n\s+weights .*\n\s+KV cache .*\n\s+scratch .*\n\s+runtime .*\n\s+total .* available .*: fits\n\s+per wasm memory: largest is thread \d/);
  const j = await cli(['info', '-m', m, '--json', '--max-memory', '100M']);
  const plan = (JSON.parse(j.stdout) as { plan: { fits: boolean; problems: string[] } }).plan;
  assert.equal(plan.fits, false);
  assert.ok(plan.problems.length > 0);
});
