/**
 * Float32 rows → the bytes of a ggml tensor type, bit-exact with ggml's reference quantizers
 * (`quantize_row_*_ref`, which is what `ggml_quantize_chunk` runs without an importance matrix)
 * and with the F16/BF16 round-to-nearest-even conversions of ggml and gguf-py.
 */
import { BadArgumentError } from '../errors/errors.js';
import { BLOCK, DType, dtypeName, rowBytes } from './dtype.js';
import { f32ToBF16, f32ToF16 } from './half.js';
import { quantizeQ4_0, quantizeQ4_1, quantizeQ5_0, quantizeQ5_1, quantizeQ8_0 } from './quant-legacy.js';
import { quantizeQ4_K, quantizeQ5_K, quantizeQ6_K } from './quant-k.js';

type BlockQuantizer = (x: Float32Array, xo: number, nb: number, out: Uint8Array, oo: number) => void;

const BLOCK_QUANTIZERS: Readonly<Partial<Record<DType, BlockQuantizer>>> = {
  [DType.Q4_0]: quantizeQ4_0,
  [DType.Q4_1]: quantizeQ4_1,
  [DType.Q5_0]: quantizeQ5_0,
  [DType.Q5_1]: quantizeQ5_1,
  [DType.Q8_0]: quantizeQ8_0,
  [DType.Q4_K]: quantizeQ4_K,
  [DType.Q5_K]: quantizeQ5_K,
  [DType.Q6_K]: quantizeQ6_K,
};

/** Types quantizeRows can produce. */
export const QUANTIZE_TYPES: ReadonlySet<DType> = new Set([DType.F32, DType.F16, DType.BF16, ...Object.keys(BLOCK_QUANTIZERS).map(Number) as DType[]]);

/** Whether rows of `cols` elements can be stored as `t` (a whole number of blocks). */
export function fitsRows(t: DType, cols: number): boolean {
  const b = BLOCK[t];
  return b !== undefined && cols % b.blockElems === 0;
}

/**
 * Converts `rows` rows of `cols` float32 values (row-major, starting at src[srcOffset]) to type `t`,
 * writing into `out` at `outOffset` (allocated when not given). Returns the bytes written.
 */
export function quantizeRows(t: DType, src: Float32Array, rows: number, cols: number, out?: Uint8Array, srcOffset = 0, outOffset = 0): Uint8Array {
  if (!QUANTIZE_TYPES.has(t)) throw new BadArgumentError(`cannot quantize to ${dtypeName(t)}`);
  if (!fitsRows(t, cols)) throw new BadArgumentError(`${dtypeName(t)} needs rows that are a multiple of ${BLOCK[t]!.blockElems} elements, got ${cols}`);
  const n = rows * cols;
  if (srcOffset + n > src.length) throw new BadArgumentError(`quantizeRows: ${n} elements run past the source`);
  const bytes = rows * rowBytes(t, cols);
  const dst = out ?? new Uint8Array(bytes);
  if (outOffset + bytes > dst.length) throw new BadArgumentError('quantizeRows: output buffer too small');
  const view = new DataView(dst.buffer, dst.byteOffset + outOffset, bytes);
  switch (t) {
    case DType.F32:
      for (let i = 0; i < n; i++) view.setFloat32(i * 4, src[srcOffset + i]!, true);
      break;
    case DType.F16:
      for (let i = 0; i < n; i++) view.setUint16(i * 2, f32ToF16(src[srcOffset + i]!), true);
      break;
    case DType.BF16:
      for (let i = 0; i < n; i++) view.setUint16(i * 2, f32ToBF16(src[srcOffset + i]!), true);
      break;
    default: {
      const q = BLOCK_QUANTIZERS[t]!;
      // Blocks never straddle rows (cols is a whole number of blocks), so the tensor is one run of blocks.
      q(src, srcOffset, n / BLOCK[t]!.blockElems, dst, outOffset);
    }
  }
  return dst.subarray(outOffset, outOffset + bytes);
}
