/**
 * Row-wise float32 views of source tensors, so a converter can walk a tensor in chunks of rows
 * and never hold a whole matrix: each chunk is read positionally from the file and widened (or
 * dequantized) to float32. q/k projections are re-ordered here, row by row, from HF's
 * rotate-half layout to GGUF's interleaved pairs.
 */
import { BadArgumentError } from '../errors/errors.js';
import type { FileTensorRecord } from '../formats/file-reader.js';
import { dequantizeRow } from '../quant/dequant.js';
import { rowBytes } from '../quant/dtype.js';

export interface RowSource {
  readonly rows: number;
  readonly cols: number;
  /** Writes rows [r0, r0 + n) as float32 into out[0 .. n·cols). */
  read(r0: number, n: number, out: Float32Array): void;
}

function rowsCols(shape: readonly number[]): [number, number] {
  const cols = shape[shape.length - 1] ?? 1;
  let rows = 1;
  for (let i = 0; i < shape.length - 1; i++) rows *= shape[i]!;
  return [rows, cols];
}

/**
 * Raw bytes of the chunk being widened, shared by every source: a model plans hundreds of
 * sources up front, and one buffer each would add up to the chunk size times the tensor count.
 * Reads are synchronous and consumed at once, so sharing is safe.
 */
let buf = new Uint8Array(0);

/** Rows of a tensor in a file (any type dequantizeRow knows). `rowMap` gives the source row of each output row. */
export function fileRows(rec: FileTensorRecord, rowMap?: (r: number) => number): RowSource {
  const [rows, cols] = rowsCols(rec.shape);
  const rb = rowBytes(rec.dtype, cols);
  return {
    rows,
    cols,
    read(r0, n, out) {
      if (buf.length < n * rb) buf = new Uint8Array(n * rb);
      if (!rowMap) {
        rec.readInto(buf, 0, r0 * rb, n * rb);
      } else {
        // Runs of consecutive source rows become one read each.
        let i = 0;
        while (i < n) {
          const s = rowMap(r0 + i);
          let k = 1;
          while (i + k < n && rowMap(r0 + i + k) === s + k) k++;
          rec.readInto(buf, i * rb, s * rb, k * rb);
          i += k;
        }
      }
      for (let i = 0; i < n; i++) dequantizeRow(rec.dtype, buf, i * rb, out, i * cols, cols, rec.name);
    },
  };
}

/** Source row of GGUF (interleaved) row r for a q/k matrix of `heads` heads in HF rotate-half order. */
export function interleavedFromHF(rows: number, heads: number): (r: number) => number {
  if (heads <= 0 || rows % heads !== 0 || (rows / heads) % 2 !== 0) {
    throw new BadArgumentError(`cannot permute ${rows} rows into ${heads} heads of an even size`);
  }
  const d = rows / heads;
  const half = d / 2;
  return (r) => {
    const h = Math.floor(r / d);
    const j = r - h * d;
    return h * d + (j >> 1) + (j & 1) * half;
  };
}

/** Rows of an in-memory float32 tensor (computed tensors such as rope_freqs). */
export function memoryRows(data: Float32Array, shape: readonly number[]): RowSource {
  const [rows, cols] = rowsCols(shape);
  if (rows * cols !== data.length) throw new BadArgumentError(`shape [${shape.join(', ')}] does not hold ${data.length} values`);
  return { rows, cols, read: (r0, n, out) => out.set(data.subarray(r0 * cols, (r0 + n) * cols)) };
}
