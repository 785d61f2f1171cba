import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import { spawnSync } from 'node:child_process';
import { passAtK, runPython } from '../src/eval/sandbox.js';

const havePython = spawnSync('python3', ['-c', 'print(1)']).status === 0;
const skip = havePython ? false : 'python3 not found';

/** C(a, b) exactly enough for small numbers. */
function choose(a: number, b: number): number {
  if (b < 0 || b > a) return 0;
  let r = 1;
  for (let i = 1; i <= b; i++) r = (r * (a - b + i)) / i;
  return r;
}

test('pass@k equals its closed form 1 − C(n−c,k)/C(n,k)', () => {
  for (const n of [1, 2, 5, 10, 20]) {
    for (let c = 0; c <= n; c++) {
      for (let k = 1; k <= n; k++) {
        const want = 1 - choose(n - c, k) / choose(n, k);
        assert.ok(Math.abs(passAtK(n, c, k) - want) < 1e-12, `n ${n} c ${c} k ${k}`);
      }
    }
  }
  assert.ok(Math.abs(passAtK(10, 3, 1) - 0.3) < 1e-12);
  assert.equal(passAtK(200, 0, 100), 0);
  assert.ok(passAtK(200, 1, 100) > 0.49 && passAtK(200, 1, 100) < 0.51);
  assert.throws(() => passAtK(5, 6, 1), { code: 'BAD_ARGUMENT' });
  assert.throws(() => passAtK(5, 1, 6), { code: 'BAD_ARGUMENT' });
});

test('the sandbox passes a correct program and fails a wrong one', { skip }, async () => {
  const ok = await runPython('def add(a, b):\n    return a + b\nassert add(2, 3) == 5\n');
  assert.equal(ok.status, 'passed', ok.stderr);
  const bad = await runPython('def add(a, b):\n    return a - b\nassert add(2, 3) == 5\n');
  assert.equal(bad.status, 'failed');
  assert.match(bad.stderr, /AssertionError/);
});

test('the sandbox kills an infinite loop and a fork of it at the time limit', { skip }, async () => {
  const t0 = Date.now();
  const r = await runPython('import os\nos.fork()\nwhile True:\n    pass\n', { timeoutMs: 1500 });
  assert.equal(r.status, 'timeout');
  assert.ok(Date.now() - t0 < 8000);
});

test('the sandbox stops a memory bomb at the memory limit', { skip }, async () => {
  const r = await runPython('x = []\nwhile True:\n    x.append(bytearray(50 * 2**20))\n', { memoryBytes: 256 * 2 ** 20, timeoutMs: 20_000 });
  assert.equal(r.status, 'memory', r.stderr);
});

test('the sandbox blocks network access (socket module and the raw _socket both)', { skip }, async () => {
  let connections = 0;
  const server = createServer((s) => {
    connections++;
    s.destroy();
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as AddressInfo).port;
  try {
    const a = await runPython(`import socket\ns = socket.create_connection(("127.0.0.1", ${port}), timeout=2)\nprint("connected")\n`);
    assert.equal(a.status, 'failed');
    assert.match(a.stderr, /network access is disabled|OSError/);
    const b = await runPython(`import _socket\ns = _socket.socket()\ns.settimeout(2)\ns.connect(("127.0.0.1", ${port}))\n`);
    assert.equal(b.status, 'failed');
    const c = await runPython(`import urllib.request\nurllib.request.urlopen("http://127.0.0.1:${port}/", timeout=2)\n`);
    assert.equal(c.status, 'failed');
    assert.equal(connections, 0);
  } finally {
    server.close();
  }
});

import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runTask } from '../src/eval/run-task.js';
import { BUILTIN_TASKS } from '../src/eval/builtin.js';
import { checkTaskDefinition } from '../src/eval/taskdef.js';
import type { EvalRecord } from '../src/eval/types.js';
import { Scripted } from './helpers/scripted-backend.js';

const HE = [
  { task_id: 'T/0', prompt: 'def add(a, b):\n    """Add two numbers."""\n', canonical_solution: '    return a + b\n', test: 'def check(f):\n    assert f(2, 3) == 5\n    assert f(-1, 1) == 0\n', entry_point: 'add' },
  { task_id: 'T/1', prompt: 'def neg(a):\n', canonical_solution: '    return -a\n', test: 'def check(f):\n    assert f(2) == -2\n', entry_point: 'neg' },
];

test('humaneval: completion + tests run in the sandbox; pass@1 over items; records carry the outcome', { skip }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'eval-code-'));
  try {
    const f = join(dir, 'he.jsonl');
    writeFileSync(f, HE.map((x) => JSON.stringify(x)).join('\n') + '\n');
    const b = new Scripted(['    return a + b\n', '    while True:\n        pass\n']);
    const records: EvalRecord[] = [];
    const def = { ...BUILTIN_TASKS.humaneval!, sandbox: { timeout_ms: 1500 } };
    const r = await runTask(b, def, { data: f, onRecord: (x) => records.push(x) });
    assert.deepEqual(r, { task: 'humaneval', n: 2, 'pass@1': 0.5 });
    assert.deepEqual(
      records.map((x) => x.extracted),
      ['passed', 'timeout'],
    );
    assert.equal(b.seen[0]!.prompt, HE[0]!.prompt);
    assert.deepEqual(b.seen[0]!.stop, ['\nclass', '\ndef', '\n#', '\nif', '\nprint']);
    assert.equal(b.seen[0]!.temperature, undefined, 'one sample: greedy');

    // Four samples per item, pass@1 and pass@2 by the unbiased estimator: 2 of 4 correct.
    const multi = checkTaskDefinition({ ...BUILTIN_TASKS.humaneval!, name: 'he4', num_samples: 4, k: [1, 2], generation: { max_tokens: 64, until: [], temperature: 0.8 } });
    const b4 = new Scripted(['    return a + b\n', '    return a - b\n', '    return b + a\n', '    return 0\n']);
    const r4 = await runTask(b4, multi, { data: f, limit: 1 });
    assert.equal(r4['pass@1'], 0.5);
    assert.ok(Math.abs(r4['pass@2']! - (1 - 1 / 6)) < 1e-12);
    assert.deepEqual(
      b4.seen.map((s) => s.seed),
      [1234, 1235, 1236, 1237],
    );
    assert.ok(b4.seen.every((s) => s.temperature === 0.8));
    assert.throws(() => checkTaskDefinition({ ...multi, generation: { until: [] } }), { code: 'BAD_ARGUMENT' });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
