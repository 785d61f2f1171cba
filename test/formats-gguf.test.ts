import assert from 'node:assert/strict';
import { closeSync, copyFileSync, mkdtempSync, openSync, readFileSync, rmSync, truncateSync, writeFileSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { FileNotFoundError, NotAModelError, TruncatedFileError, UnsupportedTensorTypeError } from '../src/errors/errors.js';
import { readGGUF } from '../src/formats/gguf.js';
import { GGUFValueType } from '../src/formats/gguf-types.js';
import { writeGGUF } from '../src/formats/gguf-writer.js';
import type { GGUFValue } from '../src/formats/types.js';
import { dequantizeTensor } from '../src/quant/dequant.js';
import { DType, dtypeName } from '../src/quant/dtype.js';
import { fixture, skipNoFixtures } from './fixtures.js';

const tmp = mkdtempSync(join(tmpdir(), 'llama-ts-gguf-'));
after(() => rmSync(tmp, { recursive: true, force: true }));

interface Dims { vocab: number; hidden: number; inter: number; layers: number; kv: number; headDim: number; tied: boolean; rope: boolean }
const MODELS: Record<string, Dims> = {
  'tiny-llama3.1': { vocab: 1024, hidden: 128, inter: 352, layers: 3, kv: 2, headDim: 16, tied: false, rope: true },
  'tiny-llama3.2-tied': { vocab: 1024, hidden: 96, inter: 256, layers: 2, kv: 2, headDim: 16, tied: true, rope: true },
  'tiny-llama2': { vocab: 1024, hidden: 64, inter: 176, layers: 2, kv: 4, headDim: 16, tied: false, rope: false },
  'small-llama3.1-kq': { vocab: 1024, hidden: 256, inter: 768, layers: 2, kv: 1, headDim: 64, tied: false, rope: true },
};

function expectedShapes(d: Dims): Map<string, number[]> {
  const m = new Map<string, number[]>();
  m.set('token_embd.weight', [d.vocab, d.hidden]);
  m.set('output_norm.weight', [d.hidden]);
  if (!d.tied) m.set('output.weight', [d.vocab, d.hidden]);
  if (d.rope) m.set('rope_freqs.weight', [d.headDim / 2]);
  for (let i = 0; i < d.layers; i++) {
    const p = `blk.${i}.`;
    m.set(p + 'attn_norm.weight', [d.hidden]);
    m.set(p + 'ffn_norm.weight', [d.hidden]);
    m.set(p + 'attn_q.weight', [d.hidden, d.hidden]);
    m.set(p + 'attn_k.weight', [d.kv * d.headDim, d.hidden]);
    m.set(p + 'attn_v.weight', [d.kv * d.headDim, d.hidden]);
    m.set(p + 'attn_output.weight', [d.hidden, d.hidden]);
    m.set(p + 'ffn_gate.weight', [d.inter, d.hidden]);
    m.set(p + 'ffn_up.weight', [d.inter, d.hidden]);
    m.set(p + 'ffn_down.weight', [d.hidden, d.inter]);
  }
  return m;
}

const FILES: Array<[string, string, (name: string, shape: readonly number[]) => DType]> = [
  ['tiny-llama3.1', 'tiny-llama3.1.f32.gguf', () => DType.F32],
  ['tiny-llama3.1', 'tiny-llama3.1.f16.gguf', (_n, s) => (s.length === 2 ? DType.F16 : DType.F32)],
  ['tiny-llama3.1', 'tiny-llama3.1.q8_0.gguf', (_n, s) => (s.length === 2 ? DType.Q8_0 : DType.F32)],
  ['tiny-llama3.2-tied', 'tiny-llama3.2-tied.f32.gguf', () => DType.F32],
  ['tiny-llama2', 'tiny-llama2.f32.gguf', () => DType.F32],
];

for (const [model, file, typeOf] of FILES) {
  test(`GGUF ${file}: tensor names, shapes and types`, { skip: skipNoFixtures }, () => {
    const g = readGGUF(fixture('models', model, file));
    try {
      assert.equal(g.version, 3);
      assert.equal(g.alignment, 32);
      assert.equal(g.tensorDataOffset % 32, 0);
      const want = expectedShapes(MODELS[model]!);
      assert.equal(g.tensors.length, want.size);
      for (const t of g.tensors) {
        assert.deepEqual(t.shape, want.get(t.name), t.name);
        assert.equal(t.dtype, typeOf(t.name, t.shape), `${t.name} is ${dtypeName(t.dtype)}`);
      }
      assert.equal(g.metadata.get('general.architecture'), 'llama');
      assert.equal(g.metadata.get('llama.block_count'), MODELS[model]!.layers);
      assert.equal((g.metadata.get('tokenizer.ggml.tokens') as string[]).length, 1024);
    } finally {
      g.close();
    }
  });
}

for (const quant of ['q4_k_m', 'q5_k_m', 'q6_k', 'q4_0', 'q8_0']) {
  test(`GGUF small-llama3.1-kq.${quant}: tensor types as llama.cpp chose them`, { skip: skipNoFixtures }, () => {
    const ref = JSON.parse(readFileSync(fixture('models', 'small-llama3.1-kq', 'reference.json'), 'utf8')) as {
      quant: Record<string, { tensor_types: Record<string, string> }>;
    };
    const types = ref.quant[quant]!.tensor_types;
    const g = readGGUF(fixture('models', 'small-llama3.1-kq', `small-llama3.1-kq.${quant}.gguf`));
    try {
      // The quantizer reorders tensors; reference.json lists them in file order.
      assert.deepEqual(g.tensors.map((t) => t.name), Object.keys(types));
      const want = expectedShapes(MODELS['small-llama3.1-kq']!);
      for (const t of g.tensors) {
        assert.equal(dtypeName(t.dtype), types[t.name], t.name);
        assert.deepEqual(t.shape, want.get(t.name), t.name);
        const out = dequantizeTensor(t);
        assert.ok(out.every(Number.isFinite), `${t.name} dequantizes to finite values`);
      }
      const freqs = dequantizeTensor(g.tensors.find((t) => t.name === 'rope_freqs.weight')!);
      assert.equal(freqs[0], 1);
      assert.equal(freqs[31], 8);
    } finally {
      g.close();
    }
  });
}

test('GGUF tiny-llama3-chat: large vocabulary metadata and chat template', { skip: skipNoFixtures }, () => {
  const g = readGGUF(fixture('models', 'tiny-llama3-chat', 'tiny-llama3-chat.q8_0.gguf'));
  try {
    const tokens = g.metadata.get('tokenizer.ggml.tokens') as string[];
    assert.equal(tokens.length, 128256);
    assert.equal(tokens[128009], '<|eot_id|>');
    assert.equal((g.metadata.get('tokenizer.ggml.merges') as string[]).length > 1000, true);
    assert.match(g.metadata.get('tokenizer.chat_template') as string, /start_header_id/);
    assert.deepEqual(g.metadataTypes.get('tokenizer.ggml.token_type'), { type: GGUFValueType.ARRAY, items: { type: GGUFValueType.INT32 } });
    assert.deepEqual(g.tensors.find((t) => t.name === 'token_embd.weight')!.shape, [128256, 64]);
  } finally {
    g.close();
  }
});

test('GGUF rope_freqs values match the README', { skip: skipNoFixtures }, () => {
  const g = readGGUF(fixture('models', 'tiny-llama3.1', 'tiny-llama3.1.f32.gguf'));
  try {
    const f = dequantizeTensor(g.tensors.find((t) => t.name === 'rope_freqs.weight')!);
    assert.deepEqual(Array.from(f), [1, 1, 1, 1, 2.69453, 8, 8, 8].map(Math.fround));
  } finally {
    g.close();
  }
});

test('writeGGUF → readGGUF round-trips all 13 value types, nested arrays and tensors', () => {
  const meta = new Map<string, GGUFValue>([
    ['u8', 200], ['i8', -100], ['u16', 60000], ['i16', -30000], ['u32', 4000000000], ['i32', -2000000000],
    ['f32', Math.fround(0.1)], ['bool', true], ['str', 'héllo ✓'], ['u64', 2n ** 63n + 5n], ['i64', -(2n ** 62n)], ['f64', 0.1],
    ['arr.f32', [1.5, -2.25]], ['arr.str', ['a', '', 'ü']], ['arr.nested', [[1, 2], [3], []]], ['arr.empty', []], ['arr.bool', [true, false]],
  ]);
  const T = GGUFValueType;
  const types = new Map([
    ['u8', { type: T.UINT8 }], ['i8', { type: T.INT8 }], ['u16', { type: T.UINT16 }], ['i16', { type: T.INT16 }],
    ['u32', { type: T.UINT32 }], ['i32', { type: T.INT32 }], ['f32', { type: T.FLOAT32 }], ['f64', { type: T.FLOAT64 }],
    ['i64', { type: T.INT64 }],
  ]);
  const q = new Uint8Array(34 * 4).map((_, i) => (i * 7) & 255);
  const f = new Uint8Array(new Float32Array([1, 2, 3, 4, 5, 6]).buffer);
  const path = join(tmp, 'roundtrip.gguf');
  writeGGUF(path, {
    metadata: meta,
    types,
    alignment: 64,
    tensors: [
      { name: 'a', type: DType.F32, shape: [2, 3], data: f },
      { name: 'b', type: DType.Q8_0, shape: [2, 64], data: q },
    ],
  });
  const g = readGGUF(path);
  try {
    assert.equal(g.alignment, 64);
    for (const [k, v] of meta) assert.deepEqual(g.metadata.get(k), v, k);
    assert.equal(g.metadata.get('general.alignment'), 64);
    for (const [k, t] of types) assert.equal(g.metadataTypes.get(k)!.type, t.type, k);
    assert.equal(g.metadataTypes.get('bool')!.type, T.BOOL);
    assert.equal(g.metadataTypes.get('u64')!.type, T.UINT64);
    assert.deepEqual(g.tensors.map((t) => [t.name, t.dtype, t.shape]), [['a', DType.F32, [2, 3]], ['b', DType.Q8_0, [2, 64]]]);
    assert.equal(g.tensors[0]!.offset % 64, 0);
    assert.equal(g.tensors[1]!.offset % 64, 0);
    assert.deepEqual(g.tensors[0]!.read(), f);
    assert.deepEqual(g.tensors[1]!.read(), q);
    const part = new Uint8Array(10);
    g.tensors[1]!.readInto(part, 0, 34, 10);
    assert.deepEqual(part, q.subarray(34, 44));
  } finally {
    g.close();
  }
});

test('writeGGUF: a header past the first 64 KiB (a 128K-token vocabulary) round-trips', () => {
  const path = join(tmp, 'big-header.gguf');
  const tokens = Array.from({ length: 20000 }, (_, i) => `token-${i}-${'x'.repeat(i % 7)}`);
  writeGGUF(path, { metadata: { 'tokenizer.ggml.tokens': tokens, after: 'end' }, tensors: [{ name: 't', type: DType.F32, shape: [4], data: new Uint8Array(16) }] });
  const g = readGGUF(path);
  assert.deepEqual(g.metadata.get('tokenizer.ggml.tokens'), tokens);
  assert.equal(g.metadata.get('after'), 'end');
  g.close();
});

test('GGUF v2 files are accepted', () => {
  const path = join(tmp, 'v2.gguf');
  writeGGUF(path, { version: 2, metadata: { x: 'y' }, tensors: [{ name: 't', type: DType.F32, shape: [4], data: new Uint8Array(16) }] });
  const g = readGGUF(path);
  assert.equal(g.version, 2);
  assert.equal(g.metadata.get('x'), 'y');
  g.close();
});

test('GGUF errors: missing file, bad magic, unknown type, truncation', { skip: skipNoFixtures }, () => {
  assert.throws(() => readGGUF(join(tmp, 'nope.gguf')), FileNotFoundError);

  const bad = join(tmp, 'bad.gguf');
  writeFileSync(bad, Buffer.from('GGML and then some bytes'));
  assert.throws(() => readGGUF(bad), NotAModelError);
  writeFileSync(bad, Buffer.from('GG'));
  assert.throws(() => readGGUF(bad), NotAModelError);

  const unk = join(tmp, 'unknown-type.gguf');
  writeGGUF(unk, { metadata: {}, tensors: [{ name: 'blk.0.weird', type: 16, shape: [2, 256], data: new Uint8Array(132) }] });
  assert.throws(() => readGGUF(unk), (e: unknown) => e instanceof UnsupportedTensorTypeError && /blk\.0\.weird/.test(e.message) && /IQ2_XXS/.test(e.message));
  writeGGUF(unk, { metadata: {}, tensors: [{ name: 'zz', type: 250, shape: [4], data: new Uint8Array(4) }] });
  assert.throws(() => readGGUF(unk), (e: unknown) => e instanceof UnsupportedTensorTypeError && /zz/.test(e.message));

  const src = fixture('models', 'tiny-llama2', 'tiny-llama2.f32.gguf');
  const g = readGGUF(src);
  const last = g.tensors.reduce((a, b) => (b.offset > a.offset ? b : a));
  const headerEnd = g.tensorDataOffset;
  g.close();
  const cut = join(tmp, 'cut.gguf');
  // Cut inside the last tensor's data: that tensor is named.
  copyFileSync(src, cut);
  truncateSync(cut, last.offset + 10);
  assert.throws(() => readGGUF(cut), (e: unknown) => e instanceof TruncatedFileError && e.message.includes(last.name));
  // Cut inside the header (in the middle of the metadata / tensor infos).
  for (const len of [10, 30, 200, Math.floor(headerEnd / 2), headerEnd - 40]) {
    copyFileSync(src, cut);
    truncateSync(cut, len);
    assert.throws(() => readGGUF(cut), TruncatedFileError, `cut at ${len}`);
  }
});

test('GGUF tensor offsets beyond 4 GiB are read positionally (sparse file)', () => {
  const path = join(tmp, 'sparse.gguf');
  const four = new Uint8Array(new Float32Array([1, 2, 3, 4]).buffer);
  writeGGUF(path, { metadata: {}, tensors: [{ name: 'a', type: DType.F32, shape: [4], data: four }, { name: 'b', type: DType.F32, shape: [4], data: four }] });
  const first = readGGUF(path);
  const dataStart = first.tensorDataOffset;
  first.close();
  const bytes = readFileSync(path);
  // Tensor info of 'b': u64 name length 1, 'b', u32 n_dims 1, u64 ne0 4, u32 type 0, u64 offset 32.
  const info = Buffer.concat([Buffer.from([1, 0, 0, 0, 0, 0, 0, 0]), Buffer.from('b'), Buffer.from([1, 0, 0, 0, 4, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0])]);
  const at = bytes.indexOf(info);
  assert.ok(at > 0);
  const far = 5 * 2 ** 30; // 5 GiB, a multiple of 32
  bytes.writeBigUInt64LE(BigInt(far), at + info.length);
  writeFileSync(path, bytes);
  // Before the tail exists, the far tensor is reported as truncated, by name.
  assert.throws(() => readGGUF(path), (e: unknown) => e instanceof TruncatedFileError && /tensor b\b/.test(e.message));
  try {
    truncateSync(path, dataStart + far + 16); // sparse: no disk blocks allocated
  } catch {
    return; // filesystem without large sparse files: nothing to test
  }
  const fd = openSync(path, 'r+');
  writeSync(fd, new Uint8Array(new Float32Array([5, 6, 7, 8]).buffer), 0, 16, dataStart + far);
  closeSync(fd);
  const g = readGGUF(path);
  try {
    const b = g.tensors[1]!;
    assert.equal(b.offset, dataStart + far);
    assert.deepEqual(Array.from(dequantizeTensor(b)), [5, 6, 7, 8]);
    assert.deepEqual(Array.from(dequantizeTensor(g.tensors[0]!)), [1, 2, 3, 4]);
  } finally {
    g.close();
    rmSync(path);
  }
});
