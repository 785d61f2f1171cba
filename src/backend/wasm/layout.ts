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
      return Layout.KQuant;
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

/** Bytes a shard of `rows` rows takes in `layout`. */
export function shardBytes(layout: Layout, dtype: DType, rows: number, cols: number): number {
  const groups = Math.ceil(rows / 4);
  if (layout === Layout.Q8x4) return groups * (cols / 32) * 144;
  if (layout === Layout.Q4x4) return groups * (cols / 32) * 72;
  return rows * rowBytes(dtype, cols);
}

/**
 * Q8_0 rows [r0, r0+rows) of `src` (ggml blocks: f16 d + 32 i8) → Q8x4 groups at dst[off]:
 * per group and 32-column block, 4 f16 scales, 4 i16 Σw (for the kernel's offset correction),
 * then 8 vectors of [row0 4 bytes, row1, row2, row3].
 */
export function repackQ8_0(src: Uint8Array, r0: number, rows: number, cols: number, dst: Uint8Array, off: number): void {
  const nb = cols / 32;
  const rb = nb * 34;
  const groups = Math.ceil(rows / 4);
  for (let g = 0; g < groups; g++) {
    for (let b = 0; b < nb; b++) {
      const o = off + (g * nb + b) * 144;
      for (let lane = 0; lane < 4; lane++) {
        const r = g * 4 + lane;
        if (r >= rows) {
          dst.fill(0, o + 2 * lane, o + 2 * lane + 2);
          dst.fill(0, o + 8 + 2 * lane, o + 8 + 2 * lane + 2);
          for (let k = 0; k < 8; k++) dst.fill(0, o + 16 + 16 * k + 4 * lane, o + 20 + 16 * k + 4 * lane);
          continue;
        }
        const s = (r0 + r) * rb + b * 34;
        dst[o + 2 * lane] = src[s]!;
        dst[o + 2 * lane + 1] = src[s + 1]!;
        let sum = 0;
        for (let k = 0; k < 8; k++) {
          const d = o + 16 + 16 * k + 4 * lane;
          const q = s + 2 + 4 * k;
          for (let j = 0; j < 4; j++) {
            const v = src[q + j]!;
            dst[d + j] = v;
            sum += v > 127 ? v - 256 : v;
          }
        }
        dst[o + 8 + 2 * lane] = sum & 0xff;
        dst[o + 9 + 2 * lane] = (sum >> 8) & 0xff;
      }
    }
  }
}

/**
 * Q4_0 rows (ggml blocks: f16 d + 16 bytes of nibbles, low = columns 0..15, high = 16..31) →
 * Q4x4 groups: per block 4 f16 scales then 4 vectors of each row's qs[4k..4k+3].
 */
export function repackQ4_0(src: Uint8Array, r0: number, rows: number, cols: number, dst: Uint8Array, off: number): void {
  const nb = cols / 32;
  const rb = nb * 18;
  const groups = Math.ceil(rows / 4);
  for (let g = 0; g < groups; g++) {
    for (let b = 0; b < nb; b++) {
      const o = off + (g * nb + b) * 72;
      for (let lane = 0; lane < 4; lane++) {
        const r = g * 4 + lane;
        if (r >= rows) {
          dst.fill(0, o + 2 * lane, o + 2 * lane + 2);
          for (let k = 0; k < 4; k++) dst.fill(0, o + 8 + 16 * k + 4 * lane, o + 12 + 16 * k + 4 * lane);
          continue;
        }
        const s = (r0 + r) * rb + b * 18;
        dst[o + 2 * lane] = src[s]!;
        dst[o + 2 * lane + 1] = src[s + 1]!;
        for (let k = 0; k < 4; k++) {
          const d = o + 8 + 16 * k + 4 * lane;
          const q = s + 2 + 4 * k;
          dst[d] = src[q]!;
          dst[d + 1] = src[q + 1]!;
          dst[d + 2] = src[q + 2]!;
          dst[d + 3] = src[q + 3]!;
        }
      }
    }
  }
}
