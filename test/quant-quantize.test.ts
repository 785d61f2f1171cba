import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { BadArgumentError } from '../src/errors/errors.js';
import { DType } from '../src/quant/dtype.js';
import { bf16ToF32, f16ToF32 } from '../src/quant/half.js';
import { nearestInt, roundf } from '../src/quant/quant-util.js';
import { quantizeRows } from '../src/quant/quantize.js';
import { fixture, skipNoFixtures } from './fixtures.js';

interface BlockType {
  file: string;
  ggml_type: number;
  block_bytes: number;
  row_bytes: number;
  offsets: { inputs_f32: number; quantized: number };
}

const TYPES = ['Q4_0', 'Q4_1', 'Q5_0', 'Q5_1', 'Q8_0', 'Q4_K', 'Q5_K', 'Q6_K'] as const;

for (const name of TYPES) {
  test(`quantizeRows ${name} reproduces ggml's bytes for every block`, { skip: skipNoFixtures }, () => {
    const info = (JSON.parse(readFileSync(fixture('quant', 'blocks.json'), 'utf8')) as { types: Record<string, BlockType> }).types[name]!;
    const buf = readFileSync(fixture('quant', info.file));
    const input = new Float32Array(buf.buffer.slice(buf.byteOffset + info.offsets.inputs_f32, buf.byteOffset + info.offsets.inputs_f32 + 8 * 512 * 4));
    const want = new Uint8Array(buf.buffer, buf.byteOffset + info.offsets.quantized, 8 * info.row_bytes);
    // Row by row (as convert does) and the whole tensor at once must agree.
    const whole = quantizeRows(DType[name], input, 8, 512);
    const bad: string[] = [];
    for (let r = 0; r < 8; r++) {
      const row = quantizeRows(DType[name], input, 1, 512, undefined, r * 512);
      assert.deepEqual(row, whole.subarray(r * info.row_bytes, (r + 1) * info.row_bytes));
      for (let b = 0; b < info.row_bytes / info.block_bytes; b++) {
        const at = r * info.row_bytes + b * info.block_bytes;
        for (let k = 0; k < info.block_bytes; k++) {
          if (whole[at + k] !== want[at + k]) {
            bad.push(`row ${r} block ${b} byte ${k}: ${whole[at + k]} vs ${want[at + k]}`);
            break;
          }
        }
      }
    }
    assert.deepEqual(bad, [], `${name}: ${bad.length} blocks differ`);
  });
}

test('F16 and BF16 rows round to nearest even', () => {
  const x = new Float32Array([1, -2.5, 65504, 1e-8, 1 + 2 ** -11, 1 + 3 * 2 ** -11, 70000, 1 + 2 ** -8 + 2 ** -9]);
  const h = new Uint16Array(quantizeRows(DType.F16, x, 1, x.length).slice().buffer);
  assert.deepEqual(Array.from(h, f16ToF32).slice(0, 7), [1, -2.5, 65504, f16ToF32(h[3]!), 1, 1 + 4 * 2 ** -11, Infinity]);
  const b = new Uint16Array(quantizeRows(DType.BF16, x, 1, x.length).slice().buffer);
  assert.equal(bf16ToF32(b[7]!), 1 + 2 ** -7); // 1 + 2^-8 + 2^-9 rounds up to the next bf16
  assert.equal(bf16ToF32(b[4]!), 1);
});

test('nearestInt rounds half to even like ggml, roundf half away from zero', () => {
  assert.deepEqual([0.5, 1.5, 2.5, -0.5, -1.5, 2.4999998].map(nearestInt), [0, 2, 2, -0, -2, 2].map((v) => v | 0));
  assert.deepEqual([0.5, 1.5, 2.5, -0.5, -2.5].map(roundf), [1, 2, 3, -1, -3]);
});

test('quantizeRows refuses rows that are not whole blocks', () => {
  assert.throws(() => quantizeRows(DType.Q4_K, new Float32Array(128), 1, 128), BadArgumentError);
  assert.throws(() => quantizeRows(DType.Q8_0, new Float32Array(48), 1, 48), BadArgumentError);
});
