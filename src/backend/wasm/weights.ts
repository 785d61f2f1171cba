import type { Weight, WeightSpec } from '../backend.js';
import { DType, dtypeName, rowBytes } from '../../quant/dtype.js';
import { canDequantize, dequantizeRow } from '../../quant/dequant.js';
import { BadArgumentError, UnsupportedTensorTypeError } from '../../errors/errors.js';
import { layoutOf, shardBytes, shardRows, type RowShard } from './layout.js';
import type { ThreadMemories } from './memory.js';
import { Layout } from './protocol.js';

export class WWeight implements Weight {
  constructor(
    readonly name: string,
    readonly dtype: DType,
    readonly shape: readonly number[],
    readonly rows: number,
    readonly cols: number,
    /** Storage layout; vectors are f32 in the main memory (`vec`). */
    readonly layout: Layout,
    /** ggml type id the kernels dispatch on (after any load-time conversion). */
    readonly kind: DType,
    readonly shards: RowShard[],
    readonly vec: number,
  ) {
    for (const sh of shards) this.byThread[sh.thread] = sh;
  }
  /** shards indexed by thread (undefined: no rows of this weight on that thread). */
  readonly byThread: (RowShard | undefined)[] = [];
}

/** Copies bytes [from, from + length) of a weight's source into dst at `at`. */
type RowSource = (dst: Uint8Array, at: number, from: number, length: number) => void;

/**
 * Places a weight in the threads' memories: vectors as f32 in memory 0, matrices split by rows
 * (whole 4-row groups) across `threads`, each shard copied or repacked into its owner's memory.
 */
export function loadWeight(mem: ThreadMemories, threads: number, spec: WeightSpec): WWeight {
  const { dtype, shape, name } = spec;
  const cols = shape[shape.length - 1]!;
  const rows = shape.length === 1 ? 1 : shape.slice(0, -1).reduce((a, b) => a * b, 1);
  if (layoutOf(dtype) === undefined && !canDequantize(dtype)) throw new UnsupportedTensorTypeError(name, dtypeName(dtype));
  const rb = rowBytes(dtype, cols);
  const byteLength = spec.byteLength ?? spec.data.byteLength;
  if (rows * rb !== byteLength) {
    throw new BadArgumentError(`weight ${name}: ${byteLength} bytes do not hold shape [${shape.join(', ')}] of ${dtypeName(dtype)}`);
  }
  if (shape.length === 1) {
    // Vectors (norm weights) live as f32 in the main memory.
    const vec = mem.arenas[0]!.alloc(cols * 4);
    mem.refresh();
    dequantizeRow(dtype, spec.data, 0, mem.f32, vec / 4, cols, name);
    return new WWeight(name, dtype, shape, 1, cols, Layout.Float, DType.F32, [], vec);
  }
  const layout = layoutOf(dtype);
  if (layout !== undefined) {
    // Rows go from the source straight into each thread's memory when the spec can read them so.
    const read = spec.readInto ?? ((dst: Uint8Array, at: number, from: number, length: number) => dst.set(spec.data.subarray(from, from + length), at));
    const shards = placeShards(mem, threads, layout, dtype, read, rows, cols);
    if (shards) return new WWeight(name, dtype, shape, rows, cols, layout, dtype, shards, 0);
    // A Q8_0 block the kernel layout cannot hold exactly (see asm/repack.ts): widen instead.
  }
  // Types without a kernel are widened to F32 once, here: exact, larger, never per token.
  const f = new Float32Array(rows * cols);
  const data = spec.data;
  for (let r = 0; r < rows; r++) dequantizeRow(dtype, data, r * rb, f, r * cols, cols, name);
  const wide = new Uint8Array(f.buffer);
  const shards = placeShards(mem, threads, Layout.Float, DType.F32, (dst, at, from, length) => dst.set(wide.subarray(from, from + length), at), rows, cols)!;
  return new WWeight(name, dtype, shape, rows, cols, Layout.Float, DType.F32, shards, 0);
}

/** Copies (or repacks) each thread's rows into its memory; undefined if a repack refuses. */
function placeShards(mem: ThreadMemories, threads: number, layout: Layout, kind: DType, read: RowSource, rows: number, cols: number): RowShard[] | undefined {
  const srcRb = rowBytes(kind, cols);
  const shards: RowShard[] = [];
  let refused = false;
  for (const [t, { rowStart, rows: n }] of shardRows(rows, threads).entries()) {
    if (n === 0) continue;
    const bytes = shardBytes(layout, kind, n, cols);
    const ptr = mem.arenas[t]!.alloc(bytes);
    shards.push({ thread: t, rowStart, rows: n, groups: Math.ceil(n / 4), bytes, ptr });
    const srcBytes = n * srcRb;
    if (layout === Layout.Q8x4 || layout === Layout.Q4x4 || layout === Layout.KX4) {
      // Stage the raw rows in the same memory (plus 384 bytes of scratch), then repack there in wasm.
      const raw = mem.arenas[t]!.alloc(srcBytes + 384);
      read(mem.bytesOf(t), raw, rowStart * srcRb, srcBytes);
      const kt = mem.kAll[t]!;
      if (layout === Layout.Q8x4) refused = kt.repack_q8_0(raw, n, cols, ptr) !== 0;
      else if (layout === Layout.Q4x4) kt.repack_q4_0(raw, n, cols, ptr);
      else if (kind === DType.Q4_K) kt.repack_q4_k(raw, n, cols, ptr, raw + srcBytes);
      else if (kind === DType.Q5_K) kt.repack_q5_k(raw, n, cols, ptr, raw + srcBytes);
      else kt.repack_q6_k(raw, n, cols, ptr, raw + srcBytes);
      mem.arenas[t]!.release(raw);
      if (refused) break;
    } else {
      read(mem.bytesOf(t), ptr, rowStart * srcRb, srcBytes);
    }
  }
  if (!refused) return shards;
  for (const sh of shards) mem.arenas[sh.thread]!.release(sh.ptr);
  return undefined;
}
