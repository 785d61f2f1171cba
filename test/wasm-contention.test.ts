/**
 * Worker threads must not spin while the CPU is contended (issue #16: beside one busy process on
 * a 2-core machine, 2 threads decoded 3× slower than 1, because a polling thread held the core its
 * preempted partner needed). With a CPU hog running for the whole test, 2 threads must decode at
 * least 0.8× as fast as 1 (median of per-round ratios, 1 and 2 threads alternating; the tolerance
 * and up to 3 attempts absorb a host shared with other work).
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadModel } from '../src/model/load.js';
import type { LlamaModel } from '../src/model/model.js';
import { writeSynthLlama } from './helpers/synth-model.js';

const tmp = mkdtempSync(join(tmpdir(), 'llama-ts-contention-'));
after(() => rmSync(tmp, { recursive: true, force: true }));

async function decodeTps(model: LlamaModel, n: number): Promise<number> {
  const s = model.session({ contextSize: n + 4 });
  try {
    await s.eval([1], { logits: 'last' });
    const t0 = performance.now();
    for (let i = 0; i < n; i++) await s.eval([2 + i], { logits: 'last' });
    return n / ((performance.now() - t0) / 1000);
  } finally {
    s.dispose();
  }
}

const median = (x: number[]): number => [...x].sort((a, b) => a - b)[x.length >> 1]!;

test('2 threads decode no slower than 1 beside a CPU hog', { timeout: 180_000 }, async () => {
  // ~34 MB of Q4_0 per token: each op is long enough that the barrier is not the whole cost.
  const path = join(tmp, 'synth.gguf');
  writeSynthLlama(path, { hidden: 2048, ffn: 5632, layers: 2, heads: 16, kvHeads: 4, vocab: 256 });
  const one = await loadModel(path, { backend: 'wasm', threads: 1 });
  const two = await loadModel(path, { backend: 'wasm', threads: 2 });
  const hog = spawn(process.execPath, ['-e', 'for (;;) {}'], { stdio: 'ignore' });
  try {
    await decodeTps(one, 4);
    await decodeTps(two, 4);
    // A shared machine adds its own load on top of the hog: an attempt whose rounds were starved by
    // others is retried (at most 3). The old always-spinning pool measured 0.24 here, every time.
    const attempts: string[] = [];
    let best = 0;
    for (let attempt = 0; attempt < 3 && best < 0.8; attempt++) {
      const ratios: number[] = [];
      const r1: number[] = [];
      const r2: number[] = [];
      for (let r = 0; r < 5; r++) {
        r1.push(await decodeTps(one, 24));
        r2.push(await decodeTps(two, 24));
        ratios.push(r2[r]! / r1[r]!);
      }
      const ratio = median(ratios);
      best = Math.max(best, ratio);
      attempts.push(`1 thread ${r1.map((x) => x.toFixed(1)).join(' ')} tok/s, 2 threads ${r2.map((x) => x.toFixed(1)).join(' ')} tok/s, median ratio ${ratio.toFixed(2)}`);
    }
    console.log(`beside a hog: ${attempts.join(' | ')}`);
    assert.ok(best >= 0.8, `2 threads slower than 0.8× 1 thread beside a busy process in every attempt: ${attempts.join(' | ')}`);
  } finally {
    hog.kill('SIGKILL');
    await one.dispose();
    await two.dispose();
  }
});
