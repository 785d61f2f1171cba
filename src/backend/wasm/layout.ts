import { DType, rowBytes } from '../../quant/dtype.js';
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

/** Bytes per 256 columns of one 4-row group, by layout (K-quants by type). */
const GROUP_BYTES_256: ReadonlyMap<string, number> = new Map([
  [`${Layout.Q8x4}`, 8 * 136],
  [`${Layout.Q4x4}`, 8 * 80],
  [`${Layout.KX4}:${DType.Q4_K}`, 608],
  [`${Layout.KX4}:${DType.Q5_K}`, 736],
  [`${Layout.KX4}:${DType.Q6_K}`, 1104],
]);

/**
 * Bytes of one 4-row group of `cols` columns (interleaved layouts) or one row (Float). The kernels
 * own this (asm/layout.ts group_bytes); module.ts checks this mirror against them at load, so the
 * planner can size memory without instantiating them.
 */
export function groupBytes(layout: Layout, dtype: DType, cols: number): number {
  if (layout === Layout.Float) return rowBytes(dtype, cols);
  const per256 = GROUP_BYTES_256.get(layout === Layout.KX4 ? `${layout}:${dtype}` : `${layout}`);
  if (per256 === undefined) throw new Error(`no group size for layout ${layout} / type ${dtype}`);
  return (cols / 256) * per256;
}

/** Bytes a shard of `rows` rows takes in `layout`. */
export function shardBytes(layout: Layout, dtype: DType, rows: number, cols: number): number {
  if (layout === Layout.Float) return rows * groupBytes(layout, dtype, cols);
  return Math.ceil(rows / 4) * groupBytes(layout, dtype, cols);
}
