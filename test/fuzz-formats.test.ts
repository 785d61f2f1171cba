/**
 * Seeded mutation fuzzing of the container and tokenizer parsers (GGUF, safetensors + index +
 * config.json, tokenizer.json in both BPE families, llama2.c). The cases run in a child process
 * (test/helpers/fuzz-formats-run.ts) with a heap cap and a wall-clock limit, so an out-of-memory
 * abort or a hang fails this test rather than the suite. Every case must end in a successful open
 * or a LlamaError with a code.
 *
 * LLAMA_TS_FUZZ_SEED / LLAMA_TS_FUZZ_CASES change the seed and the cases per format (default 1 / 300).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { existsSync } from 'node:fs';
import { REPO_ROOT, skipNoFixtures } from './fixtures.js';
import type { Summary } from './helpers/fuzz-formats-run.js';

const RUNNER = join(REPO_ROOT, 'dist', 'test', 'helpers', 'fuzz-formats-run.js');
const SEED = Number(process.env['LLAMA_TS_FUZZ_SEED'] ?? 1);
const CASES = Number(process.env['LLAMA_TS_FUZZ_CASES'] ?? 300);
/** ~5 s on an idle 2-core machine; the limit only has to catch a hang, on a machine shared with other work. */
const LIMIT_MS = 120_000;


test(`mutated model and tokenizer files open or fail with a typed error (seed ${SEED}, ${CASES} per format)`, { skip: skipNoFixtures || (existsSync(RUNNER) ? false : 'not built'), timeout: LIMIT_MS + 10_000 }, async () => {
  const { code, signal, stdout, stderr } = await new Promise<{ code: number | null; signal: string | null; stdout: string; stderr: string }>((resolve) => {
    execFile(process.execPath, ['--max-old-space-size=768', RUNNER, String(SEED), String(CASES)], { timeout: LIMIT_MS, killSignal: 'SIGKILL', maxBuffer: 256 << 20 }, (err, out, errOut) => {
      resolve({ code: err ? (typeof err.code === 'number' ? err.code : null) : 0, signal: err?.signal ?? null, stdout: out, stderr: errOut });
    });
  });
  const lines = stdout.trim().split('\n').filter(Boolean).map((l) => JSON.parse(l) as { case?: string; what?: string; summary?: Summary });
  const last = [...lines].reverse().find((l) => l.case !== undefined);
  assert.equal(signal, null, `the fuzz run was killed (${signal}: hang or runaway memory) during ${last?.case}: ${last?.what}`);
  assert.equal(code, 0, `the fuzz run crashed during ${last?.case}: ${last?.what}\n${stderr.slice(-2000)}`);
  const summaries = lines.flatMap((l) => (l.summary ? [l.summary] : []));
  assert.deepEqual(summaries.map((s) => s.format), ['gguf', 'safetensors', 'hf-index+config', 'tokenizer.json (llama2)', 'tokenizer.json (llama3.1)', 'llama2.c']);
  for (const s of summaries) {
    assert.deepEqual(s.bad, [], `${s.format}: untyped failures`);
    const typed = Object.values(s.codes).reduce((a, b) => a + b, 0);
    assert.equal(s.opened + typed, s.cases, `${s.format}: every case is an open or a typed error`);
    // Mutations must exercise both outcomes, or the fuzzer tests nothing.
    assert.ok(typed > 0 && s.opened > 0, `${s.format}: ${s.opened} opened, ${typed} typed errors`);
  }
  const gguf = summaries[0]!;
  assert.ok(gguf.loads > 0, 'a sample of mutated GGUFs was loaded and evaluated on the ref backend');
});
