import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';

/**
 * The standard-SIMD fallback module (used where relaxed SIMD is unavailable) must give the same
 * integers as the relaxed build: the relaxed dot's unsigned operand is kept in [0, 127], where
 * both lowerings agree. Forced via LLAMA_TS_WASM_SIMD=standard before the module is compiled.
 */
process.env['LLAMA_TS_WASM_SIMD'] = 'standard';
const { createWasmBackend } = await import('../src/backend/wasm/index.js');
const { DType } = await import('../src/quant/dtype.js');
const { rng, randn, randomWeight } = await import('./wasm-util.js');

let be: Awaited<ReturnType<typeof createWasmBackend>>;
before(async () => {
  be = await createWasmBackend({ threads: 2 });
});
after(async () => {
  await be.dispose();
});

test('standard-SIMD build is in use and its matmuls match a float64 dot within the activation-rounding bound', () => {
  assert.equal(be.relaxedSimd, false);
  const r = rng(7);
  for (const dtype of [DType.Q8_0, DType.Q4_0, DType.Q4_K, DType.Q5_K, DType.Q6_K, DType.F16]) {
    const rows = 11;
    const cols = 256;
    const n = 5;
    const data = randomWeight(r, dtype, rows, cols);
    const w = be.loadWeight({ name: 'w', dtype, shape: [rows, cols], data });
    const x = randn(r, n * cols);
    const xt = be.alloc(n * cols);
    const ot = be.alloc(n * rows);
    be.write(xt, x);
    be.matmul(ot, xt, w, n);
    const got = be.read(ot);
    // Dequantized row r via embed (bit-exact with ggml), then the float64 reference dot.
    const wf = be.alloc(rows * cols);
    be.embed(wf, w, Int32Array.from({ length: rows }, (_, i) => i));
    const wv = be.read(wf);
    const step = dtype === DType.Q8_0 ? 63 : dtype === DType.F16 ? 0 : 127;
    for (let i = 0; i < n; i++) {
      for (let row = 0; row < rows; row++) {
        let exact = 0;
        let bound = 1e-6;
        for (let b = 0; b < cols; b += 32) {
          let amax = 0;
          let ws = 0;
          for (let c = b; c < b + 32; c++) {
            exact += x[i * cols + c]! * wv[row * cols + c]!;
            bound += 1e-5 * Math.abs(x[i * cols + c]! * wv[row * cols + c]!);
            amax = Math.max(amax, Math.abs(x[i * cols + c]!));
            ws += Math.abs(wv[row * cols + c]!);
          }
          if (step) bound += (amax / step / 2) * ws;
        }
        const err = Math.abs(got[i * rows + row]! - exact);
        assert.ok(err <= bound, `${DType[dtype]} out[${i},${row}]: err ${err} > ${bound}`);
      }
    }
  }
});

test('4-token tiles of the dotadd variant give the same bits as the default (standard-SIMD build, where Liftoff cannot miscompile it)', async () => {
  const r = rng(11);
  const rows = 23;
  const cols = 320;
  const n = 9; // two 4-token tiles and one single token
  const cases = [DType.Q8_0, DType.Q4_0].map((dtype) => ({ dtype, data: randomWeight(r, dtype, rows, cols) }));
  const x = randn(r, n * cols);
  const run = async (spec: string): Promise<Float32Array[]> => {
    const old = process.env['LLAMA_TS_KERNELS'];
    process.env['LLAMA_TS_KERNELS'] = spec;
    const b = await createWasmBackend({ threads: 2 });
    try {
      assert.equal(b.kernels.choice.q8_0, spec.includes('dotadd') ? 'dotadd' : 'i16', 'the forced variant runs');
      return cases.map(({ dtype, data }) => {
        const w = b.loadWeight({ name: 'w', dtype, shape: [rows, cols], data });
        const xt = b.alloc(n * cols);
        const ot = b.alloc(n * rows);
        b.write(xt, x);
        b.matmul(ot, xt, w, n);
        return b.read(ot);
      });
    } finally {
      await b.dispose();
      if (old === undefined) delete process.env['LLAMA_TS_KERNELS'];
      else process.env['LLAMA_TS_KERNELS'] = old;
    }
  };
  const base = await run('q8_0=i16,q4_0=i16');
  const dot = await run('q8_0=dotadd,q4_0=dotadd');
  for (let i = 0; i < cases.length; i++) assert.deepEqual(dot[i], base[i], `${DType[cases[i]!.dtype]}: dotadd differs`);
});
