import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { convertCommand } from '../src/cli/convert.js';
import { main } from '../src/cli/main.js';
import { quantizeCommand } from '../src/cli/quantize.js';
import { FILE_TYPES } from '../src/convert/ftype.js';
import { convertHFToGGUF } from '../src/convert/hf-to-gguf.js';
import { ggufVocab } from '../src/convert/vocab.js';
import { BadArgumentError } from '../src/errors/errors.js';
import { readGGUF } from '../src/formats/gguf.js';
import { tokenizerFromGGUFMetadata } from '../src/tokenizer/gguf-vocab.js';
import { fixture, skipNoFixtures } from './fixtures.js';

const dir = mkdtempSync(join(tmpdir(), 'llama-ts-vocab-'));
after(() => rmSync(dir, { recursive: true, force: true }));

interface Golden { cases: Array<{ text: string; ids: number[] }> }

test('Llama 3 tokenizer.json → gpt2 vocab: same tokens, types and merges as a llama.cpp GGUF, golden ids', { skip: skipNoFixtures }, () => {
  const v = ggufVocab(fixture('models', 'tiny-llama3.1'), 128256, fixture('tokenizers', 'llama3.1'));
  const chat = readGGUF(fixture('models', 'tiny-llama3-chat', 'tiny-llama3-chat.q8_0.gguf'));
  try {
    assert.equal(v.metadata.get('tokenizer.ggml.model'), 'gpt2');
    assert.equal(v.metadata.get('tokenizer.ggml.pre'), 'llama-bpe');
    assert.deepEqual(v.metadata.get('tokenizer.ggml.merges'), chat.metadata.get('tokenizer.ggml.merges'));
    assert.deepEqual(v.metadata.get('tokenizer.ggml.token_type'), chat.metadata.get('tokenizer.ggml.token_type'));
    const mine = v.metadata.get('tokenizer.ggml.tokens') as string[];
    const theirs = chat.metadata.get('tokenizer.ggml.tokens') as string[];
    // The npm tokenizer names 128004/128008/128010 with Llama 3.0 names (fixtures README §3); all else is equal.
    const differ = mine.flatMap((t, i) => (t === theirs[i] ? [] : [i]));
    assert.deepEqual(differ, [128004, 128008, 128010]);
    assert.equal(v.metadata.get('tokenizer.ggml.bos_token_id'), 128000);
    assert.equal(v.metadata.get('tokenizer.ggml.eos_token_id'), 128009); // tokenizer_config's eos_token <|eot_id|>
    assert.equal(v.metadata.get('tokenizer.ggml.add_bos_token'), true);
    assert.equal(typeof v.metadata.get('tokenizer.chat_template'), 'string');
  } finally {
    chat.close();
  }
  const tok = tokenizerFromGGUFMetadata(v.metadata);
  const golden = JSON.parse(readFileSync(fixture('tokenizers', 'llama3.1.golden.json'), 'utf8')) as Golden;
  for (const c of golden.cases) assert.deepEqual(tok.encode(c.text, { addBos: false, specials: 'parse' }), c.ids, c.text);
});

test('Llama 2 tokenizer.model → SentencePiece vocab with scores and piece types, golden ids', { skip: skipNoFixtures }, () => {
  const v = ggufVocab(fixture('models', 'tiny-llama2'), 32000, fixture('tokenizers', 'llama2'));
  assert.equal(v.metadata.get('tokenizer.ggml.model'), 'llama');
  const types = v.metadata.get('tokenizer.ggml.token_type') as number[];
  assert.deepEqual(types.slice(0, 4), [2, 3, 3, 6]);
  assert.equal((v.metadata.get('tokenizer.ggml.scores') as number[]).length, 32000);
  assert.equal(v.metadata.get('tokenizer.ggml.bos_token_id'), 1);
  assert.equal(v.metadata.get('tokenizer.ggml.eos_token_id'), 2);
  assert.equal(v.metadata.get('tokenizer.ggml.unknown_token_id'), 0);
  const tok = tokenizerFromGGUFMetadata(v.metadata);
  const golden = JSON.parse(readFileSync(fixture('tokenizers', 'llama2.golden.json'), 'utf8')) as Golden;
  for (const c of golden.cases) assert.deepEqual(tok.encode(c.text, { addBos: false, specials: 'parse' }), c.ids, c.text);
});

test('convert refuses a folder without a tokenizer, and a tokenizer of another vocabulary size', { skip: skipNoFixtures }, async () => {
  const out = join(dir, 'x.gguf');
  await assert.rejects(convertHFToGGUF(fixture('models', 'tiny-llama2'), out, { type: FILE_TYPES.f16 }), (e: unknown) => e instanceof BadArgumentError && /--tokenizer/.test(e.message));
  await assert.rejects(
    convertHFToGGUF(fixture('models', 'tiny-llama2'), out, { type: FILE_TYPES.f16, tokenizer: fixture('tokenizers', 'llama2') }),
    (e: unknown) => e instanceof BadArgumentError && /32000/.test(e.message),
  );
  assert.equal(existsSync(out), false);
  assert.equal(existsSync(`${out}.partial`), false);
});

test('CLI: convert and quantize write files, refuse to overwrite without --force, reject unknown types', { skip: skipNoFixtures }, async () => {
  const m = fixture('models', 'tiny-llama3.1');
  const vocab = join(m, 'tiny-llama3.1.f32.gguf');
  const f16 = join(dir, 'cli.f16.gguf');
  const q4 = join(dir, 'cli.q4.gguf');
  let outText = '';
  const collect = (s: string): void => {
    outText += s;
  };
  await convertCommand({ input: m, output: f16, type: 'f16', tokenizer: vocab, quiet: true }, collect);
  assert.match(outText, /wrote .*cli\.f16\.gguf: 31 tensors \(8 F32, 23 F16\)/);
  await quantizeCommand({ input: f16, output: q4, type: 'q4_0', quiet: true }, collect);
  // Usage errors through the CLI entry point: exit code 1 and a coded message on stderr.
  const origErr = process.stderr.write.bind(process.stderr);
  let err = '';
  process.stderr.write = ((s: string) => ((err += s), true)) as typeof process.stderr.write;
  try {
    assert.equal(await main(['convert', m, '-o', f16, '--type', 'f16', '--tokenizer', vocab, '-q']), 1);
    assert.match(err, /BAD_ARGUMENT.*--force/);
    assert.equal(await main(['convert', m, '-o', f16, '--type', 'q3_k', '--tokenizer', vocab, '-f']), 1);
    assert.match(err, /unknown --type/);
    assert.equal(await main(['quantize', f16, q4, '--type', 'q8_0', '-q']), 1);
  } finally {
    process.stderr.write = origErr;
  }
  const f = readGGUF(q4);
  try {
    assert.equal(f.metadata.get('general.file_type'), 2);
    assert.equal(f.tensors.find((t) => t.name === 'output.weight')!.dtype, 8); // Q6_K → Q8_0 fallback for rows of 128
  } finally {
    f.close();
  }
});
