/** Dequantization throughput per type: `node --import tsx bench/quant-dequant.ts [types...]`. */
import { dequantizeRow } from '../src/quant/dequant.js';
import { BLOCK, DType, dtypeName } from '../src/quant/dtype.js';
import { f32ToF16 } from '../src/quant/half.js';

const ROW = 4096;
const ROWS = 256;
const names = process.argv.slice(2);
const types = names.length ? names.map((n) => DType[n as keyof typeof DType]) : [DType.Q4_0, DType.Q8_0, DType.Q4_K, DType.Q5_K, DType.Q6_K, DType.F16, DType.BF16];

for (const t of types) {
  const b = BLOCK[t]!;
  const rowBytes = (ROW / b.blockElems) * b.blockBytes;
  const src = new Uint8Array(rowBytes * ROWS);
  let s = 1;
  for (let i = 0; i < src.length; i++) src[i] = (s = (s * 1103515245 + 12345) >>> 0) >>> 24;
  // Keep f16 scales finite so timing isn't skewed by NaN/inf handling (there is none, but be fair).
  const h = f32ToF16(0.01);
  if (b.blockElems > 1) for (let o = 0; o < src.length; o += b.blockBytes) { src[o] = h & 255; src[o + 1] = h >> 8; }
  const out = new Float32Array(ROW);
  const run = (): void => { for (let r = 0; r < ROWS; r++) dequantizeRow(t, src, r * rowBytes, out, 0, ROW); };
  for (let i = 0; i < 5; i++) run();
  let reps = 0;
  const t0 = performance.now();
  while (performance.now() - t0 < 1000) { run(); reps++; }
  const sec = (performance.now() - t0) / 1000;
  const elems = (reps * ROWS * ROW) / sec;
  console.log(`${dtypeName(t).padEnd(6)} ${(elems / 1e6).toFixed(0).padStart(6)} M elements/s  ${((elems * b.blockBytes) / b.blockElems / 1e9).toFixed(2)} GB/s of weights (row ${ROW})`);
}
