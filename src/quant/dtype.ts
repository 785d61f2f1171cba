/**
 * Tensor element types, numbered exactly as ggml numbers them (GGUF stores these ids),
 * with the block geometry every loader and kernel shares.
 */
export enum DType {
  F32 = 0,
  F16 = 1,
  Q4_0 = 2,
  Q4_1 = 3,
  Q5_0 = 6,
  Q5_1 = 7,
  Q8_0 = 8,
  Q8_1 = 9,
  Q2_K = 10,
  Q3_K = 11,
  Q4_K = 12,
  Q5_K = 13,
  Q6_K = 14,
  Q8_K = 15,
  IQ4_NL = 20,
  BF16 = 30,
}

export interface BlockLayout {
  /** Elements per block (1 for plain float types). */
  readonly blockElems: number;
  /** Bytes per block. */
  readonly blockBytes: number;
}

export const BLOCK: Readonly<Partial<Record<DType, BlockLayout>>> = {
  [DType.F32]: { blockElems: 1, blockBytes: 4 },
  [DType.F16]: { blockElems: 1, blockBytes: 2 },
  [DType.BF16]: { blockElems: 1, blockBytes: 2 },
  [DType.Q4_0]: { blockElems: 32, blockBytes: 18 },
  [DType.Q4_1]: { blockElems: 32, blockBytes: 20 },
  [DType.Q5_0]: { blockElems: 32, blockBytes: 22 },
  [DType.Q5_1]: { blockElems: 32, blockBytes: 24 },
  [DType.Q8_0]: { blockElems: 32, blockBytes: 34 },
  [DType.Q8_1]: { blockElems: 32, blockBytes: 36 },
  [DType.Q2_K]: { blockElems: 256, blockBytes: 84 },
  [DType.Q3_K]: { blockElems: 256, blockBytes: 110 },
  [DType.Q4_K]: { blockElems: 256, blockBytes: 144 },
  [DType.Q5_K]: { blockElems: 256, blockBytes: 176 },
  [DType.Q6_K]: { blockElems: 256, blockBytes: 210 },
  [DType.Q8_K]: { blockElems: 256, blockBytes: 292 },
  [DType.IQ4_NL]: { blockElems: 32, blockBytes: 18 },
};

export function dtypeName(t: DType): string {
  return DType[t] ?? `ggml type ${t}`;
}

/** Bytes taken by one row of `cols` elements; throws if cols is not a whole number of blocks. */
export function rowBytes(t: DType, cols: number): number {
  const b = BLOCK[t];
  if (!b) throw new Error(`unknown tensor type ${dtypeName(t)}`);
  if (cols % b.blockElems !== 0) {
    throw new Error(`${dtypeName(t)} rows must be a multiple of ${b.blockElems} elements, got ${cols}`);
  }
  return (cols / b.blockElems) * b.blockBytes;
}
