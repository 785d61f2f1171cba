/**
 * The CLI end to end against a local mock hub: the default model (no -m) fetched through
 * HF_ENDPOINT and run; pull (hf: optional), list, rm; info on an hf: reference.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MockHub, fakeCommit } from './helpers/mock-hub.js';
import { fixture, skipNoFixtures, REPO_ROOT } from './fixtures.js';
import { DEFAULT_MODEL } from '../src/hub/default-model.js';

const BIN = join(REPO_ROOT, 'bin', 'llama-ts.js');
const built = existsSync(join(REPO_ROOT, 'dist', 'src', 'cli', 'main.js'));
const skip = skipNoFixtures || (built ? false : 'CLI not built (npm run build)');
const hub = new MockHub();
const tmp = mkdtempSync(join(tmpdir(), 'llama-ts-hubcli-'));
const cache = join(tmp, 'cache');

function cli(args: string[], env: Record<string, string> = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const e: NodeJS.ProcessEnv = { ...process.env, HF_ENDPOINT: hub.endpoint, LLAMA_TS_CACHE: cache, HF_HOME: join(tmp, 'hf-home'), ...env };
    delete e['HF_TOKEN'];
    delete e['HF_HUB_OFFLINE'];
    delete e['LLAMA_TS_DEFAULT_MODEL'];
    execFile(process.execPath, [BIN, ...args], { env: e, maxBuffer: 64 << 20, timeout: 120_000 }, (err, stdout, stderr) => {
      resolve({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, stdout, stderr });
    });
  });
}

before(async () => {
  if (skip) return;
  // The default model's repo, served with the tiny chat fixture under the real file name.
  const m = /^hf:([^:]+):(.+)$/.exec(DEFAULT_MODEL)!;
  const gguf = readFileSync(fixture('models', 'tiny-llama3-chat', 'tiny-llama3-chat.q8_0.gguf'));
  hub.addRepo(m[1]!, {
    commit: fakeCommit('default'),
    files: new Map([
      ['README.md', { data: Buffer.from('readme'), lfs: false }],
      [`Llama-3.2-1B-Instruct-${m[2]}.gguf`, { data: gguf, lfs: true }],
      ['Llama-3.2-1B-Instruct-Q8_0.gguf', { data: gguf, lfs: true }],
    ]),
  });
  await hub.start();
});
after(async () => {
  await hub.stop();
  rmSync(tmp, { recursive: true, force: true });
});

test('the default model is bartowski/Llama-3.2-1B-Instruct-GGUF at Q4_K_M', () => {
  assert.equal(DEFAULT_MODEL, 'hf:bartowski/Llama-3.2-1B-Instruct-GGUF:Q4_K_M');
});

test('run with no -m: fetches the default model via HF_ENDPOINT, says which and where, and generates', { skip }, async () => {
  const r = await cli(['run', '-p', 'Hello', '-n', '6', '--ignore-eos']);
  assert.equal(r.code, 0, r.stderr);
  assert.ok(r.stdout.trim().length > 0);
  assert.match(r.stderr, /using the default model hf:bartowski\/Llama-3\.2-1B-Instruct-GGUF:Q4_K_M/);
  assert.match(r.stderr, new RegExp(`cached at ${cache.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}.*Llama-3\\.2-1B-Instruct-Q4_K_M\\.gguf`));
  // Not a TTY: plain progress lines, not a bar.
  assert.match(r.stderr, /downloading bartowski\/Llama-3\.2-1B-Instruct-GGUF\/Llama-3\.2-1B-Instruct-Q4_K_M\.gguf/);
  // Second run: from the cache, no download; greedy output is the same.
  const mark = hub.log.length;
  const again = await cli(['run', '-p', 'Hello', '-n', '6', '--ignore-eos']);
  assert.equal(again.code, 0, again.stderr);
  assert.equal(again.stdout, r.stdout);
  assert.doesNotMatch(again.stderr, /downloading/);
  assert.ok(!hub.log.slice(mark).some((l) => l.url.startsWith('/blobs/')));
  // Offline: no hub at all.
  const off = await cli(['run', '-p', 'Hello', '-n', '6', '--ignore-eos', '--json'], { HF_HUB_OFFLINE: '1', HF_ENDPOINT: 'http://127.0.0.1:9' });
  assert.equal(off.code, 0, off.stderr);
  assert.equal((JSON.parse(off.stdout) as { text: string }).text, r.stdout.replace(/\n$/, ''));
});

test('pull (no hf: prefix), list, info on an hf: ref, rm', { skip }, async () => {
  const p = await cli(['pull', 'bartowski/Llama-3.2-1B-Instruct-GGUF:q8_0']);
  assert.equal(p.code, 0, p.stderr);
  const path = p.stdout.trim();
  assert.ok(path.endsWith('Llama-3.2-1B-Instruct-Q8_0.gguf'));
  assert.ok(existsSync(path));
  // Same bytes as the Q4_K_M name: the blob is stored once.
  const l = await cli(['list']);
  assert.equal(l.code, 0, l.stderr);
  assert.match(l.stdout, /model\s+files\s+size\s+last used/);
  assert.match(l.stdout, /hf:bartowski\/Llama-3\.2-1B-Instruct-GGUF:q8_0\s+1\s+15\.9 MiB\s+\d{4}-\d\d-\d\d \d\d:\d\d/);
  const j = await cli(['list', '--json']);
  const entries = JSON.parse(j.stdout) as { ref: string }[];
  assert.ok(entries.length >= 1);
  const info = await cli(['info', '-m', 'hf:bartowski/Llama-3.2-1B-Instruct-GGUF:Q8_0', '--ctx', '4096', '--threads', '2']);
  assert.equal(info.code, 0, info.stderr);
  assert.match(info.stdout, /memory plan \(wasm, 2 threads, context 4096, f32 KV\)/);
  const bad = await cli(['pull', 'hf:bartowski/Llama-3.2-1B-Instruct-GGUF:IQ1_S']);
  assert.equal(bad.code, 1);
  assert.match(bad.stderr, /HUB_NOT_FOUND.*available: .*Q4_K_M.*Q8_0/);
  const rm = await cli(['rm', 'bartowski/Llama-3.2-1B-Instruct-GGUF:Q8_0']);
  assert.equal(rm.code, 0, rm.stderr);
  assert.match(rm.stdout, /removed Llama-3\.2-1B-Instruct-Q8_0\.gguf/);
  assert.ok(!existsSync(path));
  const rmAll = await cli(['rm', 'hf:bartowski/Llama-3.2-1B-Instruct-GGUF']);
  assert.equal(rmAll.code, 0, rmAll.stderr);
  const empty = await cli(['list']);
  assert.match(empty.stdout, /no cached models/);
});
