/**
 * q_proj / k_proj row order between HF's rotate-half RoPE layout and the interleaved-pair layout
 * of Meta, llama2.c and GGUF. Within each head of d rows, interleaved row 2i is HF row i and
 * interleaved row 2i+1 is HF row i + d/2 (llama.cpp's `LlamaModel.permute`). Whole rows move, so
 * this works for every dtype, quantized ones included (blocks run along rows).
 */
import { BadArgumentError } from '../errors/errors.js';
import { type DType, rowBytes } from '../quant/dtype.js';

type Rows = Uint8Array | Uint16Array | Float32Array;

function permute<T extends Rows>(data: T, dtype: DType, rows: number, cols: number, nHeads: number, toInterleaved: boolean): T {
  if (nHeads <= 0 || rows % nHeads !== 0 || (rows / nHeads) % 2 !== 0) {
    throw new BadArgumentError(`cannot permute ${rows} rows into ${nHeads} heads of an even size`);
  }
  const rb = rowBytes(dtype, cols);
  const src = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  if (src.length !== rb * rows) throw new BadArgumentError(`expected ${rb * rows} bytes for ${rows} rows, got ${src.length}`);
  const out = new Uint8Array(src.length);
  const d = rows / nHeads;
  const half = d / 2;
  for (let h = 0; h < nHeads; h++) {
    for (let i = 0; i < half; i++) {
      const hfA = h * d + i; // pairs with hfB under rotate-half
      const hfB = hfA + half;
      const il = h * d + 2 * i; // interleaved rows il, il + 1
      if (toInterleaved) {
        out.set(src.subarray(hfA * rb, hfA * rb + rb), il * rb);
        out.set(src.subarray(hfB * rb, hfB * rb + rb), (il + 1) * rb);
      } else {
        out.set(src.subarray(il * rb, il * rb + rb), hfA * rb);
        out.set(src.subarray((il + 1) * rb, (il + 1) * rb + rb), hfB * rb);
      }
    }
  }
  const Ctor = data.constructor as new (b: ArrayBuffer, o: number, n: number) => T;
  return new Ctor(out.buffer, 0, data.length);
}

/** HF (rotate-half) row order → interleaved (GGUF/Meta) row order. `rows` = nHeads · headDim. */
export function permuteRowsHFToInterleaved<T extends Rows>(data: T, dtype: DType, rows: number, cols: number, nHeads: number): T {
  return permute(data, dtype, rows, cols, nHeads, true);
}

/** Interleaved (GGUF/Meta) row order → HF (rotate-half) row order; inverse of the above. */
export function permuteRowsInterleavedToHF<T extends Rows>(data: T, dtype: DType, rows: number, cols: number, nHeads: number): T {
  return permute(data, dtype, rows, cols, nHeads, false);
}
