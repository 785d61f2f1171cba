import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { existsSync } from 'node:fs';
import { fixture, skipNoFixtures, REPO_ROOT } from './fixtures.js';
import { readReference, i32 } from './helpers/reference.js';

const BIN = join(REPO_ROOT, 'bin', 'llama-ts.js');
const built = existsSync(join(REPO_ROOT, 'dist', 'src', 'cli', 'main.js'));
const skip = skipNoFixtures || (built ? false : 'CLI not built (npm run build)');

function cli(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [BIN, ...args], { maxBuffer: 64 << 20 }, (err, stdout, stderr) => {
      const code = err ? (typeof err.code === 'number' ? err.code : 1) : 0;
      resolve({ code, stdout, stderr });
    });
  });
}

test('run --ids --json reproduces the reference greedy continuation', { skip }, async () => {
  const dir = fixture('models', 'tiny-llama3.1');
  const ref = readReference(join(dir, 'reference.safetensors'));
  const prompt = i32(ref, 'greedy_prompt');
  const r = await cli(['run', '-m', join(dir, 'tiny-llama3.1.f32.gguf'), '--ids', prompt.join(','), '-n', '32', '--ignore-eos', '--json', '--backend', 'ref']);
  assert.equal(r.code, 0, r.stderr);
  const out = JSON.parse(r.stdout) as { ids: number[]; text: string; timings: Record<string, number> };
  assert.deepEqual(out.ids, i32(ref, 'greedy_ids'));
  assert.equal(typeof out.text, 'string');
  assert.ok(out.timings.decode_tps > 0);
});

test('run streams text from a text prompt on the default (wasm) backend; a seed reproduces it', { skip }, async () => {
  const model = fixture('models', 'tiny-llama3-chat', 'tiny-llama3-chat.q8_0.gguf');
  const r = await cli(['run', '-m', model, '-p', 'Hello', '-n', '8', '--ignore-eos']);
  assert.equal(r.code, 0, r.stderr);
  assert.ok(r.stdout.length > 1);
  const a = await cli(['run', '-m', model, '-p', 'Hello', '-n', '8', '--ignore-eos', '--json', '--temp', '0.9', '--seed', '5', '--top-k', '40']);
  const b = await cli(['run', '-m', model, '-p', 'Hello', '-n', '8', '--ignore-eos', '--json', '--temp', '0.9', '--seed', '5', '--top-k', '40']);
  assert.equal(a.code, 0, a.stderr);
  assert.deepEqual(JSON.parse(a.stdout).ids, JSON.parse(b.stdout).ids, 'a seed reproduces the run');
});

test('info prints config, tensor table and memory', { skip }, async () => {
  const r = await cli(['info', '-m', fixture('models', 'tiny-llama3.1', 'tiny-llama3.1.q8_0.gguf')]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /3 layers, hidden 128, ffn 352, heads 8 \(kv 2\), head_dim 16/);
  assert.match(r.stdout, /blk\.0\.attn_q\.weight\s+Q8_0\s+\[128, 128\]\s+\d+/);
  assert.match(r.stdout, /rope_freqs/);
  assert.match(r.stdout, /memory\s+weights/);
  const j = await cli(['info', '-m', fixture('models', 'tiny-llama3.1'), '--json']);
  assert.equal(j.code, 0, j.stderr);
  const info = JSON.parse(j.stdout) as { format: string; config: { numKVHeads: number; ropeScaling: { type: string } }; tensors: unknown[] };
  assert.equal(info.format, 'hf');
  assert.equal(info.config.numKVHeads, 2);
  assert.equal(info.config.ropeScaling.type, 'llama3');
  assert.ok(info.tensors.length > 20);
});

test('errors are reported with their code and a non-zero exit', { skip: built ? false : 'CLI not built' }, async () => {
  const r = await cli(['run', '-m', '/nonexistent/model.gguf', '-p', 'x']);
  assert.equal(r.code, 1);
  assert.match(r.stderr, /FILE_NOT_FOUND/);
  const u = await cli(['run', '--bogus']);
  assert.equal(u.code, 2);
});
