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
