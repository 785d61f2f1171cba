/**
 * The streaming half shared by `convert` and `quantize`: every output tensor is planned first
 * (name, type, shape; the GGUF header needs all of them), then produced chunk by chunk — a few
 * MiB of rows read, widened to float32, quantized and appended to the file — so memory stays
 * bounded by the chunk size whatever the model size. Tensors already in the wanted type can be
 * copied byte for byte instead.
 */
import { renameSync, rmSync } from 'node:fs';
import type { FileTensorRecord } from '../formats/file-reader.js';
import { GGUFStreamWriter } from '../formats/gguf-writer.js';
import type { GGUFType } from '../formats/gguf-types.js';
import type { GGUFValue } from '../formats/types.js';
import { type DType, rowBytes } from '../quant/dtype.js';
import { QuantPool } from './quant-pool.js';
import type { RowSource } from './rows.js';

export interface PlannedTensor {
  readonly name: string;
  readonly type: DType;
  /** Outermost first. */
  readonly shape: readonly number[];
  /** Float32 rows to quantize, or a tensor already stored in `type` to copy as is. */
  readonly source: RowSource | { readonly copy: FileTensorRecord };
}

export interface WriteProgress {
  /**
   * Called after each chunk: tensors completed, tensor count, the tensor being written, bytes
   * written so far, and elements done out of all elements (a big tensor takes minutes to K-quantize).
   */
  (done: number, total: number, tensor: PlannedTensor, bytes: number, doneElems: number, totalElems: number): void;
}

function elemsOf(t: PlannedTensor): number {
  return t.shape.reduce((a, x) => a * x, 1);
}

/** Elements converted per chunk: 4M float32 = 16 MiB of scratch. */
const CHUNK_ELEMS = 1 << 22;

function sizeOf(t: PlannedTensor): number {
  const cols = t.shape[t.shape.length - 1]!;
  let rows = 1;
  for (let i = 0; i < t.shape.length - 1; i++) rows *= t.shape[i]!;
  return rows * rowBytes(t.type, cols);
}

/** Scratch that grows as needed; shared memory when worker threads quantize from it. */
function scratch(bytes: number, shared: boolean): ArrayBuffer | SharedArrayBuffer {
  return shared ? new SharedArrayBuffer(bytes) : new ArrayBuffer(bytes);
}

/**
 * Writes the GGUF to `path` (through `path`.partial, renamed at the end, so a failed run never
 * leaves a file that looks complete). `threads` > 1 quantizes each chunk's rows on that many threads.
 */
export async function writeModel(
  path: string,
  metadata: ReadonlyMap<string, GGUFValue>,
  types: ReadonlyMap<string, GGUFType>,
  tensors: readonly PlannedTensor[],
  onProgress?: WriteProgress,
  threads = 1,
): Promise<number> {
  const tmp = `${path}.partial`;
  const w = new GGUFStreamWriter(tmp, {
    metadata,
    types,
    tensors: tensors.map((t) => ({ name: t.name, type: t.type, shape: t.shape, byteLength: sizeOf(t) })),
  });
  const shared = threads > 1;
  let pool: QuantPool | undefined;
  let copyBuf = new Uint8Array(0);
  let f32: Float32Array<ArrayBufferLike> = new Float32Array(0);
  let q: Uint8Array<ArrayBufferLike> = new Uint8Array(0);
  let bytes = 0;
  let elems = 0;
  const totalElems = tensors.reduce((a, t) => a + elemsOf(t), 0);
  try {
    pool = new QuantPool(threads);
    for (let i = 0; i < tensors.length; i++) {
      const t = tensors[i]!;
      if ('copy' in t.source) {
        const rec = t.source.copy;
        const piece = 1 << 24;
        for (let at = 0; at < rec.byteLength; at += piece) {
          const n = Math.min(piece, rec.byteLength - at);
          if (copyBuf.length < n) copyBuf = new Uint8Array(piece);
          rec.readInto(copyBuf, 0, at, n);
          w.write(copyBuf.subarray(0, n));
        }
        bytes += rec.byteLength;
      } else {
        const src = t.source;
        const step = Math.max(1, Math.floor(CHUNK_ELEMS / src.cols));
        for (let r = 0; r < src.rows; r += step) {
          const n = Math.min(step, src.rows - r);
          if (f32.length < n * src.cols) f32 = new Float32Array(scratch(4 * step * src.cols, shared));
          const qBytes = n * rowBytes(t.type, src.cols);
          if (q.length < qBytes) q = new Uint8Array(scratch(step * rowBytes(t.type, src.cols), shared));
          src.read(r, n, f32);
          await pool.quantize(t.type, f32, n, src.cols, q);
          w.write(q.subarray(0, qBytes));
          bytes += qBytes;
          if (r + n < src.rows) onProgress?.(i, tensors.length, t, bytes, elems + (r + n) * src.cols, totalElems);
        }
      }
      elems += elemsOf(t);
      onProgress?.(i + 1, tensors.length, t, bytes, elems, totalElems);
    }
    w.finish();
    renameSync(tmp, path);
  } catch (e) {
    w.abort();
    rmSync(tmp, { force: true });
    throw e;
  } finally {
    await pool?.close();
  }
  return bytes;
}
