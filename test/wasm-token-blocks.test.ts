import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Backend } from '../src/backend/backend.js';
import { createWasmBackend } from '../src/backend/wasm/index.js';
import { tokenBlockBytes } from '../src/backend/wasm/module.js';
import { l2Bytes } from '../src/backend/wasm/cpu-info.js';
import { DType } from '../src/quant/dtype.js';
import { rng, checkMatmul, checkRowIndependence } from './wasm-util.js';

/**
 * Many-token matmuls walk their tokens in blocks sized by the L2 (module.ts tokenBlockBytes), which on
 * a large L2 holds a whole test-sized step. A 64 KiB block forces several: with wide rows (column
 * chunks, carried sums) and without, every token must still equal itself alone, bit for bit.
 */
process.env['LLAMA_TS_TOKEN_BLOCK_BYTES'] = '65536';

let be: Backend;
before(async () => {
  be = await createWasmBackend({ threads: 2 });
});
after(async () => {
  await be.dispose();
});

test('the forced token block is in use', () => {
  assert.equal(tokenBlockBytes(), 65536);
  const l2 = l2Bytes();
  assert.ok(l2 === undefined || (Number.isInteger(l2) && l2 >= 65536), `L2 size ${l2}`);
});

test('tokens split over several token blocks equal the same tokens alone', () => {
  const r = rng(4242);
  for (const [dtype, cols, n] of [[DType.Q8_0, 8192, 16], [DType.Q4_0, 8192, 13], [DType.Q4_0, 8192, 16], [DType.Q4_K, 8192, 16], [DType.Q8_0, 2048, 21], [DType.Q6_K, 2048, 12]] as const) {
    checkRowIndependence(be, r, dtype, 9, cols, n);
  }
  // And against the reference, through checkMatmul's error bound.
  checkMatmul(be, r, DType.Q8_0, 13, 8192, 16);
  checkMatmul(be, r, DType.Q4_0, 13, 8192, 13);
});
