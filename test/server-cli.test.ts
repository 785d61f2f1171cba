/** `llama-ts serve` as a process: it prints its address, and SIGTERM finishes running requests, then exits 0. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { fixture, REPO_ROOT, skipNoFixtures } from './fixtures.js';

test('serve: SIGTERM lets the running request finish, refuses new ones and exits cleanly', { skip: skipNoFixtures, timeout: 120_000 }, async () => {
  const proc = spawn(process.execPath, [join(REPO_ROOT, 'bin', 'llama-ts.js'), 'serve', '-m', fixture('models', 'tiny-llama3-chat', 'tiny-llama3-chat.q8_0.gguf'), '--port', '0', '-t', '1', '--grace', '30'], { stdio: ['ignore', 'ignore', 'pipe'] });
  let err = '';
  proc.stderr.on('data', (d: Buffer) => (err += d.toString()));
  const exited = new Promise<number | null>((r) => proc.on('exit', (code) => r(code)));
  try {
    for (let i = 0; i < 600 && !/serving .* at (http:\/\/\S+)/.test(err); i++) await new Promise((r) => setTimeout(r, 50));
    const base = /at (http:\/\/[^\s]+)/.exec(err)?.[1];
    assert.ok(base, `no address in: ${err}`);
    const body = JSON.stringify({ model: 'tiny-llama3-chat.q8_0', messages: [{ role: 'user', content: 'hi' }], max_tokens: 200, temperature: 1, seed: 3 });
    const running = fetch(`${base}/v1/chat/completions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
    await new Promise((r) => setTimeout(r, 150));
    proc.kill('SIGTERM');
    const res = await running;
    assert.equal(res.status, 200);
    const j = (await res.json()) as { choices: { finish_reason: string }[]; usage: { completion_tokens: number } };
    assert.ok(j.usage.completion_tokens > 0);
    assert.equal(await exited, 0, err);
    await assert.rejects(fetch(`${base}/health`), 'the port is closed after exit');
    assert.match(err, /SIGTERM: no new requests/);
  } finally {
    proc.kill('SIGKILL');
  }
});
