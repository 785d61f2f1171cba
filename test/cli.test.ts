import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { join } from 'node:path';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { readGGUF } from '../src/formats/gguf.js';
import { writeGGUF } from '../src/formats/gguf-writer.js';
import { DType } from '../src/quant/dtype.js';
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

/** The CLI with `input` piped to its stdin. */
function cliIn(args: string[], input: string): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const p = spawn(process.execPath, [BIN, ...args], { stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    p.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    p.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    p.on('close', (code) => resolve({ code: code ?? 1, stdout, stderr }));
    p.stdin.end(input);
  });
}

const CHAT = (): string => fixture('models', 'tiny-llama3-chat', 'tiny-llama3-chat.q8_0.gguf');
type RunJson = { prompt_ids: number[]; ids: number[]; text: string; finish_reason: string; stopped_by: unknown; context_size: number; timings: Record<string, number> };

test('run applies the chat template (prompt as a user message), --system adds a system turn, --raw completes plain text', { skip }, async () => {
  const base = ['run', '-m', CHAT(), '-p', 'Hello', '-n', '2', '--json', '--backend', 'ref'];
  const chat = JSON.parse((await cli(base)).stdout) as RunJson;
  const raw = JSON.parse((await cli([...base, '--raw'])).stdout) as RunJson;
  const sys = JSON.parse((await cli([...base, '--system', 'Be terse.'])).stdout) as RunJson;
  assert.deepEqual(raw.prompt_ids, [128000, 9906], 'plain: BOS + "Hello"');
  const startHeader = 128006;
  const eot = 128009;
  assert.equal(chat.prompt_ids[0], 128000);
  assert.ok(chat.prompt_ids.includes(startHeader) && chat.prompt_ids.includes(eot) && chat.prompt_ids.includes(9906), String(chat.prompt_ids));
  assert.ok(sys.prompt_ids.length > chat.prompt_ids.length);
  for (const k of ['prompt_ids', 'ids', 'text', 'finish_reason', 'stopped_by', 'context_size', 'timings']) assert.ok(k in chat, `--json has ${k}`);
  for (const k of ['load_ms', 'prefill_ms', 'decode_ms', 'prefill_tps', 'decode_tps']) assert.ok(k in chat.timings, `timings has ${k}`);
  const bad = await cli([...base, '--raw', '--system', 'x']);
  assert.equal(bad.code, 1);
  assert.match(bad.stderr, /BAD_ARGUMENT.*--raw/);
});

test('run reads the prompt from -f or stdin; --verbose prints a timing summary on stderr; --version', { skip }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'llama-ts-cli-'));
  try {
    const file = join(dir, 'prompt.txt');
    writeFileSync(file, 'Hello');
    const args = ['run', '-m', CHAT(), '-n', '2', '--json', '--raw', '--backend', 'ref'];
    const f = JSON.parse((await cli([...args, '-f', file])).stdout) as RunJson;
    assert.deepEqual(f.prompt_ids, [128000, 9906]);
    const piped = await cliIn(args, 'Hello\n');
    assert.equal(piped.code, 0, piped.stderr);
    assert.deepEqual((JSON.parse(piped.stdout) as RunJson).prompt_ids, [128000, 9906], 'echo hi | llama-ts run: the trailing newline is dropped');
    const v = await cli(['run', '-m', CHAT(), '-p', 'Hello', '-n', '4', '--ignore-eos', '--backend', 'ref', '--verbose']);
    assert.equal(v.code, 0, v.stderr);
    assert.match(v.stderr, /load: +\d+ ms\nprompt: +\d+ tokens in [\d.]+ ms \([\d.]+ tok\/s\)\ngeneration: +4 tokens in [\d.]+ ms \([\d.]+ tok\/s\)/);
    const two = await cli([...args, '-f', file, '-p', 'x']);
    assert.equal(two.code, 1);
    assert.match(two.stderr, /BAD_ARGUMENT/);
    const missing = await cli([...args, '-f', join(dir, 'nope.txt')]);
    assert.match(missing.stderr, /FILE_NOT_FOUND/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  const ver = await cli(['--version']);
  assert.equal(ver.code, 0);
  assert.equal(ver.stdout.trim(), (JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8')) as { version: string }).version);
});

test('run: a context smaller than prompt + output ends with a visible notice', { skip }, async () => {
  const model = fixture('models', 'tiny-llama3.1', 'tiny-llama3.1.f32.gguf');
  const r = await cli(['run', '-m', model, '--ids', '1,2,3', '-n', '20', '-c', '8', '--ignore-eos', '--backend', 'ref']);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stderr, /stopped after 6 of 20 tokens: the 8-token context is full \(prompt 3 tokens\); raise --ctx-size/);
  const enough = await cli(['run', '-m', model, '--ids', '1,2,3', '-n', '4', '-c', '64', '--ignore-eos', '--backend', 'ref']);
  assert.equal(enough.stderr, '', 'no notice when the requested tokens were all generated');
});

test('--check-tensors: a clean model runs, a tensor holding NaN is named', { skip }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'llama-ts-cli-'));
  try {
    const src = fixture('models', 'tiny-llama3.1', 'tiny-llama3.1.f32.gguf');
    const ok = await cli(['run', '-m', src, '--ids', '1,2', '-n', '2', '--backend', 'ref', '--check-tensors']);
    assert.equal(ok.code, 0, ok.stderr);
    const g = readGGUF(src);
    const bad = join(dir, 'nan.gguf');
    try {
      writeGGUF(bad, {
        metadata: g.metadata,
        types: g.metadataTypes,
        tensors: g.tensors.map((t) => ({ name: t.name, type: t.dtype === DType.F32 && t.name === 'blk.2.ffn_down.weight' ? DType.F16 : t.dtype, shape: t.shape, data: t.name === 'blk.2.ffn_down.weight' ? new Uint8Array(t.byteLength / 2).fill(0xff) : t.read() })),
      });
    } finally {
      g.close();
    }
    for (const cmd of [['run', '--ids', '1', '-n', '1'], ['info'], ['bench', '-p', '4', '-n', '2', '-r', '1'], ['chat']]) {
      const r = await cli([cmd[0]!, '-m', bad, ...cmd.slice(1), '--check-tensors']);
      assert.equal(r.code, 1, `${cmd[0]}: ${r.stderr}`);
      assert.match(r.stderr, /NON_FINITE_TENSOR.*blk\.2\.ffn_down\.weight/, cmd[0]);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('chat prints a banner with model, context, backend and threads', { skip }, async () => {
  const r = await cliIn(['chat', '-m', CHAT(), '--backend', 'ref', '-c', '256'], '/exit\n');
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /llama-ts chat · .*tiny-llama3-chat\.q8_0\.gguf\ncontext 256 tokens · backend ref · 1 thread\n/);
});
