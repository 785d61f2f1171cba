import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync, rmSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseModelRef, formatModelRef } from '../src/hub/ref.js';
import { selectFiles, shardSet, matchesQuant, quantTagOf } from '../src/hub/select.js';
import { hubSettings } from '../src/hub/settings.js';
import { LlamaError } from '../src/errors/errors.js';

const code = (c: string) => (e: unknown) => e instanceof LlamaError && e.code === c;

test('parseModelRef: repo, file or quant, revision in either place', () => {
  assert.deepEqual(parseModelRef('hf:meta-llama/Llama-3.1-8B-Instruct'), { repo: 'meta-llama/Llama-3.1-8B-Instruct', revision: 'main', selector: undefined });
  assert.deepEqual(parseModelRef('hf:bartowski/Llama-3.2-1B-Instruct-GGUF:Q4_K_M'), { repo: 'bartowski/Llama-3.2-1B-Instruct-GGUF', revision: 'main', selector: 'Q4_K_M' });
  assert.deepEqual(parseModelRef('hf:a/b:sub/x.gguf@v1.0'), { repo: 'a/b', revision: 'v1.0', selector: 'sub/x.gguf' });
  assert.deepEqual(parseModelRef('hf:a/b@0123456789abcdef0123456789abcdef01234567:Q8_0'), { repo: 'a/b', revision: '0123456789abcdef0123456789abcdef01234567', selector: 'Q8_0' });
  assert.deepEqual(parseModelRef('hf:a/b@refs/pr/1'), { repo: 'a/b', revision: 'refs/pr/1', selector: undefined });
  assert.deepEqual(parseModelRef('a/b:Q4_0', { requirePrefix: false }), { repo: 'a/b', revision: 'main', selector: 'Q4_0' });
  assert.throws(() => parseModelRef('a/b:Q4_0'), code('BAD_ARGUMENT'));
  assert.throws(() => parseModelRef('hf:justone'), code('BAD_ARGUMENT'));
  assert.throws(() => parseModelRef('hf:a/b@x:f@y'), code('BAD_ARGUMENT'));
  assert.throws(() => parseModelRef('hf:a/b:../../etc/passwd'), code('BAD_ARGUMENT'));
  assert.throws(() => parseModelRef('hf:a/b:'), code('BAD_ARGUMENT'));
  assert.equal(formatModelRef(parseModelRef('hf:a/b:Q8_0@dev')), 'hf:a/b:Q8_0@dev');
  assert.equal(formatModelRef(parseModelRef('hf:a/b')), 'hf:a/b');
});

test('quant tags match whole tags, case-insensitively; shards group', () => {
  assert.ok(matchesQuant('Llama-3.2-1B-Instruct-Q4_K_M.gguf', 'q4_k_m'));
  assert.ok(!matchesQuant('Llama-3.2-1B-Instruct-Q4_K_L.gguf', 'Q4_K_M'));
  assert.ok(!matchesQuant('Llama-3.2-1B-Instruct-Q4_0_4_8.gguf', 'Q4_0'));
  assert.ok(matchesQuant('tiny-llama3.1.q8_0.gguf', 'Q8_0'));
  assert.ok(matchesQuant('big/M-Q4_K_M-00002-of-00003.gguf', 'Q4_K_M'));
  assert.equal(quantTagOf('x/Llama-3.3-70B-Instruct-Q8_0-00001-of-00002.gguf'), 'Q8_0');
  assert.deepEqual(shardSet('d/M-Q8_0-00002-of-00003.gguf'), ['d/M-Q8_0-00001-of-00003.gguf', 'd/M-Q8_0-00002-of-00003.gguf', 'd/M-Q8_0-00003-of-00003.gguf']);
  assert.deepEqual(shardSet('M-Q8_0.gguf'), ['M-Q8_0.gguf']);
});

test('selectFiles: folder models, GGUF by tag / name, shards together, clear errors', () => {
  const folder = ['config.json', 'generation_config.json', 'tokenizer.json', 'tokenizer_config.json', 'model-00001-of-00002.safetensors', 'model-00002-of-00002.safetensors', 'model.safetensors.index.json', 'original/consolidated.00.pth', 'README.md', 'LICENSE'];
  const f = selectFiles('m/l', folder, undefined);
  assert.equal(f.main, '');
  assert.deepEqual([...f.files].sort(), ['config.json', 'generation_config.json', 'model-00001-of-00002.safetensors', 'model-00002-of-00002.safetensors', 'model.safetensors.index.json', 'tokenizer.json', 'tokenizer_config.json']);
  const gg = ['README.md', 'M-Q4_K_M.gguf', 'M-Q4_K_L.gguf', 'M-Q8_0/M-Q8_0-00001-of-00002.gguf', 'M-Q8_0/M-Q8_0-00002-of-00002.gguf'];
  assert.deepEqual(selectFiles('o/r', gg, 'q4_k_m'), { files: ['M-Q4_K_M.gguf'], main: 'M-Q4_K_M.gguf' });
  assert.deepEqual(selectFiles('o/r', gg, 'Q8_0').files, ['M-Q8_0/M-Q8_0-00001-of-00002.gguf', 'M-Q8_0/M-Q8_0-00002-of-00002.gguf']);
  assert.deepEqual(selectFiles('o/r', gg, 'M-Q8_0/M-Q8_0-00002-of-00002.gguf').main, 'M-Q8_0/M-Q8_0-00001-of-00002.gguf');
  assert.throws(() => selectFiles('o/r', gg, 'Q2_K'), (e: unknown) => code('HUB_NOT_FOUND')(e) && /available: .*Q4_K_M.*Q8_0/.test((e as Error).message));
  assert.throws(() => selectFiles('o/r', gg, undefined), (e: unknown) => code('BAD_ARGUMENT')(e) && /several GGUF models/.test((e as Error).message));
  assert.deepEqual(selectFiles('o/r', ['README.md', 'only-Q4_0.gguf'], undefined).files, ['only-Q4_0.gguf']);
  assert.throws(() => selectFiles('o/r', ['M-Q8_0-00001-of-00002.gguf'], 'M-Q8_0-00001-of-00002.gguf'), code('HUB_NOT_FOUND'));
});

test('hubSettings: HF_ENDPOINT, HF_TOKEN, token file under HF_HOME, LLAMA_TS_CACHE, HF_HUB_OFFLINE', () => {
  const dir = mkdtempSync(join(tmpdir(), 'llama-ts-settings-'));
  try {
    mkdirSync(join(dir, 'hf'));
    writeFileSync(join(dir, 'hf', 'token'), 'hf_file_token\n');
    const s = hubSettings({}, { HF_HOME: join(dir, 'hf'), HF_ENDPOINT: 'http://127.0.0.1:9/', LLAMA_TS_CACHE: join(dir, 'c'), HF_HUB_OFFLINE: '1' });
    assert.equal(s.endpoint, 'http://127.0.0.1:9');
    assert.equal(s.token, 'hf_file_token');
    assert.equal(s.cacheDir, join(dir, 'c'));
    assert.equal(s.offline, true);
    const t = hubSettings({}, { HF_HOME: join(dir, 'hf'), HF_TOKEN: 'hf_env' });
    assert.equal(t.token, 'hf_env');
    assert.equal(t.endpoint, 'https://huggingface.co');
    assert.equal(t.offline, false);
    assert.equal(hubSettings({}, { HF_HOME: join(dir, 'nothing') }).token, undefined);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('plain progress lines: size, resume point, bytes, speed, ETA, done', async () => {
  const { DownloadProgress } = await import('../src/hub/progress.js');
  const { PassThrough } = await import('node:stream');
  const out = new PassThrough();
  let text = '';
  out.on('data', (d: Buffer) => (text += d.toString()));
  const p = new DownloadProgress('lines', out, 0);
  p.start('o/r/a.gguf', 8 * 2 ** 20, 2 ** 20);
  await new Promise((r) => setTimeout(r, 20));
  p.bytes('o/r/a.gguf', 3 * 2 ** 20);
  p.done('o/r/a.gguf');
  assert.match(text, /downloading o\/r\/a\.gguf \(8\.0 MiB\), resuming at 1\.0 MiB\n/);
  assert.match(text, /o\/r\/a\.gguf: 4\.0 MiB of 8\.0 MiB \(50%\); all files \d+(\.\d)? (MiB|GiB)\/s, ETA \d+s\n/);
  assert.match(text, /o\/r\/a\.gguf: done \(4\.0 MiB, \d+s\)\n/);
});
