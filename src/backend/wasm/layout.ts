import { DType } from '../../quant/dtype.js';
import type { Kernels } from './module.js';
import { Layout } from './protocol.js';

/** Which kernel layout a weight dtype is stored in (undefined: converted to F32 at load). */
export function layoutOf(dtype: DType): Layout | undefined {
  switch (dtype) {
    case DType.Q8_0:
      return Layout.Q8x4;
    case DType.Q4_0:
      return Layout.Q4x4;
    case DType.Q4_K:
    case DType.Q5_K:
    case DType.Q6_K:
      return Layout.KX4;
    case DType.F32:
    case DType.F16:
    case DType.BF16:
      return Layout.Float;
    default:
      return undefined;
  }
}

/** One thread's contiguous slice of a matrix's rows. */
export interface RowShard {
  readonly thread: number;
  readonly rowStart: number;
  readonly rows: number;
  /** ceil(rows / 4): 4-row groups (the interleaved layouts pad the last one with zero rows). */
  readonly groups: number;
  readonly bytes: number;
  ptr: number;
}

/** Splits `rows` into per-thread slices of whole 4-row groups (threads may get none). */
export function shardRows(rows: number, threads: number): { rowStart: number; rows: number }[] {
  const groups = Math.ceil(rows / 4);
  const out: { rowStart: number; rows: number }[] = [];
  for (let t = 0; t < threads; t++) {
    const g0 = Math.floor((groups * t) / threads);
    const g1 = Math.floor((groups * (t + 1)) / threads);
    const r0 = Math.min(rows, g0 * 4);
    out.push({ rowStart: r0, rows: Math.min(rows, g1 * 4) - r0 });
  }
  return out;
}

/** Bytes a shard of `rows` rows takes in `layout` (the kernels say how big a group is). */
export function shardBytes(k: Kernels, layout: Layout, dtype: DType, rows: number, cols: number): number {
  if (layout === Layout.Float) return rows * k.group_bytes(layout, dtype, cols);
  return Math.ceil(rows / 4) * k.group_bytes(layout, dtype, cols);
}
