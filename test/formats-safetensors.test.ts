import assert from 'node:assert/strict';
import { copyFileSync, mkdtempSync, readFileSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { FileNotFoundError, NotAModelError, TruncatedFileError, UnsupportedTensorTypeError } from '../src/errors/errors.js';
import { detectFormat } from '../src/formats/detect.js';
import { readSafetensors } from '../src/formats/safetensors.js';
import { dequantizeTensor } from '../src/quant/dequant.js';
import { DType } from '../src/quant/dtype.js';
import { fixture, skipNoFixtures } from './fixtures.js';

const tmp = mkdtempSync(join(tmpdir(), 'llama-ts-st-'));
after(() => rmSync(tmp, { recursive: true, force: true }));

/** Builds a safetensors file from a header object and a data blob. */
function build(path: string, header: unknown, data: Uint8Array): void {
  const json = Buffer.from(JSON.stringify(header));
  const len = Buffer.alloc(8);
  len.writeBigUInt64LE(BigInt(json.length));
  writeFileSync(path, Buffer.concat([len, json, data]));
}

test('tiny-llama2 model.safetensors: names, dtypes, shapes; BF16 copy holds the same values', { skip: skipNoFixtures }, () => {
  const f32 = readSafetensors(fixture('models', 'tiny-llama2', 'model.safetensors'));
  const bf16 = readSafetensors(fixture('models', 'tiny-llama2', 'model.bf16.safetensors'));
  try {
    assert.equal(f32.tensors.length, 1 + 2 * 9 + 1 + 1);
    const get = (n: string) => f32.tensors.find((t) => t.name === n)!;
    assert.deepEqual(get('model.embed_tokens.weight').shape, [1024, 64]);
    assert.deepEqual(get('model.layers.1.mlp.down_proj.weight').shape, [64, 176]);
    assert.deepEqual(get('model.norm.weight').shape, [64]);
    for (const t of f32.tensors) assert.equal(t.dtype, DType.F32);
    for (const t of bf16.tensors) assert.equal(t.dtype, DType.BF16);
    for (const t of f32.tensors) {
      const b = bf16.tensors.find((x) => x.name === t.name)!;
      assert.deepEqual(b.shape, t.shape);
      assert.deepEqual(dequantizeTensor(b), dequantizeTensor(t), t.name);
    }
    // Records are sorted by offset and lie inside the file.
    for (let i = 1; i < f32.tensors.length; i++) assert.ok(f32.tensors[i]!.offset >= f32.tensors[i - 1]!.offset + f32.tensors[i - 1]!.byteLength);
  } finally {
    f32.close();
    bf16.close();
  }
});

test('safetensors: F16 and __metadata__, positional partial reads', () => {
  const path = join(tmp, 'f16.safetensors');
  const data = new Uint8Array([0x00, 0x3c, 0x00, 0xc0, 1, 2, 3, 4, 0, 0, 0x80, 0x3f]); // f16 1, -2 | f32 raw | f32 1
  build(path, {
    __metadata__: { format: 'pt' },
    a: { dtype: 'F16', shape: [2], data_offsets: [0, 4] },
    c: { dtype: 'F32', shape: [1], data_offsets: [8, 12] },
    b: { dtype: 'F32', shape: [1], data_offsets: [4, 8] },
  }, data);
  const st = readSafetensors(path);
  try {
    assert.deepEqual(st.metadata, { format: 'pt' });
    assert.deepEqual(st.tensors.map((t) => t.name), ['a', 'b', 'c']);
    assert.deepEqual(Array.from(dequantizeTensor(st.tensors[0]!)), [1, -2]);
    assert.deepEqual(Array.from(dequantizeTensor(st.tensors[2]!)), [1]);
    const part = new Uint8Array(2);
    st.tensors[1]!.readInto(part, 0, 1, 2);
    assert.deepEqual(Array.from(part), [2, 3]);
  } finally {
    st.close();
  }
});

test('safetensors errors', { skip: skipNoFixtures }, () => {
  assert.throws(() => readSafetensors(join(tmp, 'missing.safetensors')), FileNotFoundError);

  const p = join(tmp, 'bad.safetensors');
  build(p, { x: { dtype: 'I64', shape: [1], data_offsets: [0, 8] } }, new Uint8Array(8));
  assert.throws(() => readSafetensors(p), (e: unknown) => e instanceof UnsupportedTensorTypeError && /\bx\b/.test(e.message) && /I64/.test(e.message));

  build(p, { x: { dtype: 'F32', shape: [3], data_offsets: [0, 8] } }, new Uint8Array(8));
  assert.throws(() => readSafetensors(p), NotAModelError);

  writeFileSync(p, Buffer.from('this is not a safetensors file at all'));
  assert.throws(() => readSafetensors(p), NotAModelError);
  writeFileSync(p, Buffer.from([1, 2, 3]));
  assert.throws(() => readSafetensors(p), NotAModelError);
  const badJson = Buffer.concat([Buffer.from([5, 0, 0, 0, 0, 0, 0, 0]), Buffer.from('{"a":')]);
  writeFileSync(p, badJson);
  assert.throws(() => readSafetensors(p), NotAModelError);

  const src = fixture('models', 'tiny-llama2', 'model.safetensors');
  const st = readSafetensors(src);
  const last = st.tensors[st.tensors.length - 1]!;
  const headerEnd = st.tensors[0]!.offset;
  st.close();
  copyFileSync(src, p);
  truncateSync(p, last.offset + 100);
  assert.throws(() => readSafetensors(p), (e: unknown) => e instanceof TruncatedFileError && e.message.includes(last.name));
  copyFileSync(src, p);
  truncateSync(p, headerEnd - 50);
  assert.throws(() => readSafetensors(p), TruncatedFileError);
  assert.ok(readFileSync(src).length > 0);
});

test('detectFormat reads contents, not names', { skip: skipNoFixtures }, () => {
  assert.equal(detectFormat(fixture('models', 'tiny-llama3.1')), 'hf-folder');
  assert.equal(detectFormat(fixture('models', 'tiny-llama2', 'model.safetensors')), 'safetensors');
  assert.equal(detectFormat(fixture('models', 'tiny-llama2', 'tiny-llama2.f32.gguf')), 'gguf');
  assert.equal(detectFormat(fixture('models', 'tiny-llama2', 'tiny-llama2.llama2c.bin')), 'llama2c');
  const renamed = join(tmp, 'model.bin');
  copyFileSync(fixture('models', 'tiny-llama2', 'tiny-llama2.f32.gguf'), renamed);
  assert.equal(detectFormat(renamed), 'gguf');
  assert.throws(() => detectFormat(join(tmp, 'absent')), FileNotFoundError);
});
