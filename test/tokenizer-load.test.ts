import { test } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fixture, skipNoFixtures } from './fixtures.js';
import { loadTokenizer } from '../src/tokenizer/load.js';
import { tokenizeCommand } from '../src/cli/tokenize.js';

async function run(opts: Parameters<typeof tokenizeCommand>[0]): Promise<string> {
  let s = '';
  await tokenizeCommand(opts, (x) => (s += x));
  return s;
}

test('loadTokenizer: typed errors for missing and foreign files', async () => {
  await assert.rejects(loadTokenizer('/nonexistent/tokenizer.json'), { code: 'FILE_NOT_FOUND' });
  const dir = mkdtempSync(join(tmpdir(), 'llama-ts-tokload-'));
  try {
    await assert.rejects(loadTokenizer(dir), { code: 'NOT_A_MODEL' });
    writeFileSync(join(dir, 'junk.bin'), Buffer.from([1, 2, 3]));
    await assert.rejects(loadTokenizer(join(dir, 'junk.bin')), { code: 'NOT_A_MODEL' });
    writeFileSync(join(dir, 'tokenizer.json'), '{"model": {"type": "Unigram", "vocab": []}}');
    await assert.rejects(loadTokenizer(dir), { code: 'TOKENIZER_ERROR' });
    writeFileSync(join(dir, 'tokenizer.json'), '{"model": ');
    await assert.rejects(loadTokenizer(dir), { code: 'TOKENIZER_ERROR' });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('loadTokenizer: a llama2.c tokenizer.bin whose first byte looks like protobuf, and an unsupported SentencePiece model', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'llama-ts-tokload-'));
  try {
    // max_token_length 10 = 0x0a, the byte a SentencePiece ModelProto starts with.
    const pieces: [string, number][] = [['<unk>', 0], ['\n<s>\n', 0], ['\n</s>\n', 0]];
    for (let b = 0; b < 256; b++) pieces.push([`<0x${b.toString(16).toUpperCase().padStart(2, '0')}>`, 0]);
    pieces.push([' ', -1], ['a', -2], ['b', -3], [' a', -4], [' ab', -5]);
    const parts: Buffer[] = [Buffer.from(Int32Array.of(10).buffer)];
    for (const [p, score] of pieces) {
      const head = Buffer.alloc(8);
      head.writeFloatLE(score, 0);
      head.writeInt32LE(Buffer.byteLength(p), 4);
      parts.push(head, Buffer.from(p));
    }
    writeFileSync(join(dir, 'tokenizer.bin'), Buffer.concat(parts));
    const tok = await loadTokenizer(join(dir, 'tokenizer.bin'));
    assert.equal(tok.kind, 'spm');
    assert.deepEqual(tok.encode('ab ba'), [1, 263, 259, 261, 260]);
    assert.equal(tok.decode([1, 263, 259, 261, 260], { skipSpecial: true }), 'ab ba');
    // A SentencePiece unigram model (trainer_spec.model_type = 1) is refused as such.
    const piece = Buffer.from([0x0a, 0x01, 0x61, 0x15, 0, 0, 0, 0, 0x18, 0x01]);
    writeFileSync(join(dir, 'unigram.model'), Buffer.concat([Buffer.from([0x0a, piece.length]), piece, Buffer.from([0x12, 0x02, 0x18, 0x01])]));
    await assert.rejects(loadTokenizer(join(dir, 'unigram.model')), { code: 'TOKENIZER_ERROR', message: /model type 1/ });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('loadTokenizer: dispatches on content — folder, tokenizer.json, config file, protobuf under another name', { skip: skipNoFixtures }, async () => {
  const folder = await loadTokenizer(fixture('tokenizers', 'llama2'));
  assert.equal(folder.kind, 'spm');
  const viaConfig = await loadTokenizer(fixture('tokenizers', 'llama3.1', 'tokenizer_config.json'));
  assert.equal(viaConfig.kind, 'bpe');
  assert.deepEqual(viaConfig.encode('Hello world'), [128000, 9906, 1917]);
  const dir = mkdtempSync(join(tmpdir(), 'llama-ts-tokload-'));
  try {
    copyFileSync(fixture('tokenizers', 'llama2', 'tokenizer.model'), join(dir, 'spm.bin'));
    const spm = await loadTokenizer(join(dir, 'spm.bin'));
    assert.deepEqual(spm.encode('Hello world'), [1, 15043, 3186]);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('tokenize command: ids, verbose pieces, specials and BOS flags', { skip: skipNoFixtures }, async () => {
  const l3 = fixture('tokenizers', 'llama3.1');
  assert.equal(await run({ model: l3, text: 'Hello world', bos: false }), '[9906, 1917]\n');
  assert.equal(await run({ model: l3, text: 'Hello world' }), '[128000, 9906, 1917]\n');
  assert.equal(await run({ model: l3, text: 'Hi<|eot_id|>', bos: false, specials: true }), '[13347, 128009]\n');
  assert.equal(await run({ model: l3, text: 'Hello world', bos: false, verbose: true }), '9906\tHello\t"Hello"\n1917\tĠworld\t" world"\n');
  // Readable text beside the raw piece: newline shown escaped, a split character as its bytes.
  assert.equal(await run({ model: l3, text: 'a\n', bos: false, verbose: true }), '64\ta\t"a"\n198\tĊ\t"\\n"\n');
  const gguf = fixture('models', 'tiny-llama3-chat', 'tiny-llama3-chat.q8_0.gguf');
  assert.equal(await run({ model: gguf, text: 'Hello world', bos: false }), '[9906, 1917]\n');
  const l2 = fixture('tokenizers', 'llama2', 'tokenizer.model');
  assert.equal(await run({ model: l2, text: 'Hello world', verbose: true }), '1\t<s>\t"<s>"\n15043\t▁Hello\t" Hello"\n3186\t▁world\t" world"\n');
  assert.match(await run({ model: l2, text: '😀', bos: false, verbose: true }), /<0xF0>\t<0xF0>\n/);
});

test('tokenize command: a llama2.c checkpoint uses the tokenizer beside it', { skip: skipNoFixtures }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'llama-ts-tokload-'));
  try {
    copyFileSync(fixture('models', 'tiny-llama2', 'tiny-llama2.llama2c.bin'), join(dir, 'model.bin'));
    copyFileSync(fixture('tokenizers', 'llama2', 'tokenizer.model'), join(dir, 'tokenizer.model'));
    assert.equal(await run({ model: join(dir, 'model.bin'), text: 'Hello world', bos: false }), '[15043, 3186]\n');
    rmSync(join(dir, 'tokenizer.model'));
    await assert.rejects(run({ model: join(dir, 'model.bin'), text: 'x' }), { code: 'NOT_A_MODEL' });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
