/**
 * The `--check-tensors` scan (llama.cpp's `check_tensors`): dequantize every weight and fail on
 * the first NaN or ±Inf, naming the tensor. A tensor whose type id was changed, or whose bytes are
 * garbage, otherwise loads fine and only shows up as all-NaN logits. Opt-in: it reads and
 * dequantizes every byte of the model once (about as long as a load).
 */
import { NonFiniteTensorError, UnsupportedTensorTypeError } from '../errors/errors.js';
import type { TensorRecord } from '../formats/types.js';
import { DEQUANT_TYPES, dequantizeRow } from './dequant.js';
import { BLOCK, dtypeName } from './dtype.js';

/** Source bytes dequantized per step: bounds memory for multi-GiB tensors. */
const CHUNK_BYTES = 4 << 20;

interface RangeReader {
  readInto(dst: Uint8Array, dstOffset?: number, byteOffset?: number, length?: number): void;
}

/**
 * Scans `records` (a list, or a name → record map) and throws NonFiniteTensorError at the first
 * non-finite element. `onProgress(doneBytes, totalBytes, tensor)` is called after each tensor.
 */
export function checkTensorsFinite(
  records: Iterable<TensorRecord> | ReadonlyMap<string, TensorRecord>,
  onProgress?: (doneBytes: number, totalBytes: number, tensor: string) => void,
): void {
  const list: TensorRecord[] = records instanceof Map ? [...(records as ReadonlyMap<string, TensorRecord>).values()] : [...(records as Iterable<TensorRecord>)];
  let total = 0;
  for (const t of list) total += t.byteLength;
  let done = 0;
  for (const t of list) {
    scanTensor(t);
    done += t.byteLength;
    onProgress?.(done, total, t.name);
  }
}

function scanTensor(rec: TensorRecord): void {
  const layout = BLOCK[rec.dtype];
  if (!layout || !DEQUANT_TYPES.has(rec.dtype)) throw new UnsupportedTensorTypeError(rec.name, dtypeName(rec.dtype));
  if (rec.byteLength === 0) return;
  const blocksPerChunk = Math.max(1, Math.floor(CHUNK_BYTES / layout.blockBytes));
  const totalBlocks = Math.floor(rec.byteLength / layout.blockBytes);
  const ranged = 'readInto' in rec ? (rec as unknown as RangeReader) : undefined;
  const whole = ranged ? undefined : rec.read();
  const buf = ranged ? new Uint8Array(Math.min(blocksPerChunk, totalBlocks) * layout.blockBytes) : undefined;
  const out = new Float32Array(Math.min(blocksPerChunk, totalBlocks) * layout.blockElems);
  for (let b = 0; b < totalBlocks; b += blocksPerChunk) {
    const nb = Math.min(blocksPerChunk, totalBlocks - b);
    const bytes = nb * layout.blockBytes;
    let src: Uint8Array;
    let at: number;
    if (ranged) {
      ranged.readInto(buf!, 0, b * layout.blockBytes, bytes);
      src = buf!;
      at = 0;
    } else {
      src = whole!;
      at = b * layout.blockBytes;
    }
    const n = nb * layout.blockElems;
    dequantizeRow(rec.dtype, src, at, out, 0, n, rec.name);
    const bad = firstNonFinite(out, n);
    if (bad >= 0) throw new NonFiniteTensorError(rec.name, b * layout.blockElems + bad, out[bad]!);
  }
}

/** Index of the first NaN/±Inf in out[0..n), or -1. x·0 is NaN exactly for those, so one sum tests a run. */
function firstNonFinite(out: Float32Array, n: number): number {
  let acc = 0;
  for (let i = 0; i < n; i++) acc += out[i]! * 0;
  if (acc === acc) return -1;
  for (let i = 0; i < n; i++) if (!Number.isFinite(out[i]!)) return i;
  return -1;
}

