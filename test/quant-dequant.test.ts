import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { UnsupportedTensorTypeError } from '../src/errors/errors.js';
import { dequantizeRow, dequantizeTensor } from '../src/quant/dequant.js';
import { DType } from '../src/quant/dtype.js';
import { f32ToF16 } from '../src/quant/half.js';
import { fixture, skipNoFixtures } from './fixtures.js';

interface BlockType {
  file: string;
  ggml_type: number;
  block_elems: number;
  block_bytes: number;
  row_bytes: number;
  offsets: { inputs_f32: number; quantized: number; dequantized_f32: number };
}

function loadTypes(): Record<string, BlockType> {
  return (JSON.parse(readFileSync(fixture('quant', 'blocks.json'), 'utf8')) as { types: Record<string, BlockType> }).types;
}

const TYPES = ['Q4_0', 'Q4_1', 'Q5_0', 'Q5_1', 'Q8_0', 'Q2_K', 'Q3_K', 'Q4_K', 'Q5_K', 'Q6_K', 'IQ4_NL'] as const;

for (const name of TYPES) {
  test(`dequantizeRow ${name} is bit-exact with ggml`, { skip: skipNoFixtures }, () => {
    const info = loadTypes()[name]!;
    const dtype = DType[name];
    assert.equal(dtype, info.ggml_type);
    const buf = readFileSync(fixture('quant', info.file));
    const bytes = new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength);
    const expected = new Uint32Array(buf.buffer.slice(buf.byteOffset + info.offsets.dequantized_f32, buf.byteOffset + info.offsets.dequantized_f32 + 8 * 512 * 4));
    const out = new Float32Array(8 * 512);
    // Row by row, at the row's real byte offset (not necessarily aligned).
    for (let r = 0; r < 8; r++) dequantizeRow(dtype, bytes, info.offsets.quantized + r * info.row_bytes, out, r * 512, 512);
    const got = new Uint32Array(out.buffer);
    let mismatches = 0;
    let first = -1;
    for (let i = 0; i < got.length; i++) {
      if (got[i] !== expected[i]) {
        if (first < 0) first = i;
        mismatches++;
      }
    }
    assert.equal(mismatches, 0, `${name}: ${mismatches} elements differ, first at ${first}`);
    // Whole-tensor path gives the same bits.
    const whole = new Float32Array(8 * 512);
    dequantizeRow(dtype, bytes, info.offsets.quantized, whole, 0, 8 * 512);
    assert.deepEqual(new Uint32Array(whole.buffer), got);
  });
}

test('dequantizeRow F32/F16/BF16 at unaligned offsets', () => {
  const vals = [0, -0, 1.5, -2.25, 65280, 6.103515625e-5, 5.960464477539063e-8, Infinity, -Infinity];
  const f16 = new Uint8Array(1 + vals.length * 2);
  const f32 = new Uint8Array(3 + vals.length * 4);
  const bf16 = new Uint8Array(1 + vals.length * 2);
  const dv32 = new DataView(f32.buffer);
  vals.forEach((v, i) => {
    const h = f32ToF16(v);
    f16[1 + 2 * i] = h & 255;
    f16[2 + 2 * i] = h >> 8;
    dv32.setFloat32(3 + 4 * i, v, true);
    const fb = new Float32Array([v]);
    const u = new Uint32Array(fb.buffer)[0]!;
    bf16[1 + 2 * i] = (u >>> 16) & 255;
    bf16[2 + 2 * i] = u >>> 24;
  });
  for (const [t, src, off] of [[DType.F16, f16, 1], [DType.F32, f32, 3], [DType.BF16, bf16, 1]] as const) {
    const out = new Float32Array(vals.length + 2);
    dequantizeRow(t, src, off, out, 1, vals.length);
    assert.deepEqual(Array.from(out.subarray(1, 1 + vals.length)), vals.map((v) => (Object.is(v, -0) ? -0 : v)));
  }
});

test('unsupported types throw UnsupportedTensorTypeError', () => {
  assert.throws(() => dequantizeRow(DType.Q8_1, new Uint8Array(36), 0, new Float32Array(32), 0, 32), UnsupportedTensorTypeError);
  assert.throws(
    () => dequantizeTensor({ name: 'blk.0.x', dtype: 99 as DType, shape: [32], byteLength: 0, read: () => new Uint8Array(0) }),
    (e: unknown) => e instanceof UnsupportedTensorTypeError && /blk\.0\.x/.test(e.message),
  );
});

test('dequantizeTensor decodes a whole Q8_0 tensor', { skip: skipNoFixtures }, () => {
  const info = loadTypes()['Q8_0']!;
  const buf = readFileSync(fixture('quant', info.file));
  const q = new Uint8Array(buf.subarray(info.offsets.quantized, info.offsets.quantized + 8 * info.row_bytes));
  const out = dequantizeTensor({ name: 't', dtype: DType.Q8_0, shape: [8, 512], byteLength: q.length, read: () => q });
  const exp = new Float32Array(buf.buffer.slice(buf.byteOffset + info.offsets.dequantized_f32, buf.byteOffset + info.offsets.dequantized_f32 + 8 * 512 * 4));
  assert.deepEqual(out, exp);
});
