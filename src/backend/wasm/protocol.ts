/**
 * The shared control block between the main thread and the workers (an Int32Array over a
 * SharedArrayBuffer). The main thread writes each worker's parameters, bumps SEQ and, only if a
 * worker is asleep, notifies; workers spin briefly on SEQ before sleeping in Atomics.wait, run
 * their share, and increment DONE. No postMessage per op.
 */
export const SEQ = 0;
export const DONE = 1;
export const ERROR = 2;
export const SLEEPERS = 3;
export const QUIT = 4;
/** Set while the main thread sleeps on DONE: the last worker to finish notifies it. */
export const MAIN_WAITING = 5;
/** Matmul chunks run by a thread other than their share's owner, since the pool started (chunks.ts). */
export const STOLEN = 6;

/** Per-thread parameter block: 40 slots starting at PARAMS + thread · PARAM_SLOTS. */
export const PARAMS = 16;
export const PARAM_SLOTS = 40;
/**
 * The last slot of each worker's block: the sequence number of the newest op whose share has been
 * claimed, by the worker or by the main thread running it in the worker's place.
 */
export const CLAIM = PARAM_SLOTS - 1;

// A matmul's share is cut into chunks of whole row groups that any thread may run (chunks.ts):
/** The share's next unclaimed chunk, tagged with the op's sequence number (chunkTag). */
export const NEXT = PARAM_SLOTS - 2;
/** The sequence number of the newest op whose activations some thread has begun copying into this memory. */
export const PULL = PARAM_SLOTS - 3;
/** The sequence number of the newest op whose activations are in this memory. */
export const READY = PARAM_SLOTS - 4;

export const enum Op {
  Nop = 0,
  Matmul = 1,
  StoreKV = 2,
  Attention = 3,
  /** Memory-bandwidth probe: read a region of the thread's own memory. */
  Read = 4,
  /**
   * A row-wise kernel over memory 0 (rmsnorm, rope, siluMul, add, activation quantization) cut into
   * ranges of tokens or elements that any thread runs (chunks.ts), for steps of many tokens.
   */
  Rows = 5,
}

/** Which row-wise kernel an Op.Rows runs. */
export const enum RowFn {
  RmsNorm = 1,
  Rope = 2,
  SiluMul = 3,
  Add = 4,
  Quant = 5,
}

/**
 * Op.Rows parameter slots (share 0's block; the chunk count sits at MM.chunks as for a matmul):
 * the kernel, the items (tokens or elements), items per chunk, then its arguments.
 */
export const RW = { fn: 1, n: 2, per: 3, args: 4 } as const;

/** Weight layouts (what the matmul kernel dispatches on). */
export const enum Layout {
  /** Q8_0 repacked into 4-row groups (quants offset to unsigned); activations 7-bit signed records (quant_rec_q7s). */
  Q8x4 = 1,
  /** Q4_0 repacked into 4-row groups; activations signed 8-bit records (quant_rec_q8s). */
  Q4x4 = 2,
  /** F32 / F16 / BF16 rows; f32 activations. */
  Float = 4,
  /** Q4_K / Q5_K / Q6_K repacked into 4-row groups (asm/matmul-kx4.ts); activations signed 8-bit records. */
  KX4 = 5,
}

// Matmul parameter slots: shared activations, then up to MM_MAX weights of MM_W.stride slots each,
// then the chunking (chunks.ts): row groups and tokens per chunk, chunks in the share, bytes per 4-row group.
export const MM = {
  layout: 1, kind: 2, cols: 3, n: 4, xSrc: 5, xBytes: 6, xLocal: 7, count: 8, weights: 9,
  chunkGroups: 27, chunkTokens: 28, chunks: 29, groupBytes: 30,
} as const;
/** Per-weight slots (relative to MM.weights + j · stride); rowsValid 0: no rows of it on this thread. */
export const MM_W = { w: 0, groups: 1, rowsValid: 2, outLocal: 3, outMain: 4, ldoMain: 5, stride: 6 } as const;
export const MM_MAX = 3;

// StoreKV parameter slots.
export const SK = {
  kSrc: 1, vSrc: 2, n: 3, kvDim: 4, h0: 5, nkv: 6, hd: 7, kDst: 8, vDst: 9, headStride: 10, slot: 11, f16: 12, local: 13,
} as const;

// Attention parameter slots (scale is stored as f32 bits).
export const AT = {
  n: 1, hd: 2, grp: 3, nkv: 4, len: 5, scale: 6, f16: 7, qMain: 8, qStride: 9, qposMain: 10, kposMain: 11,
  kbase: 12, vbase: 13, headStride: 14, outMain: 15, colOff: 16, local: 17,
} as const;

// Read-probe parameter slots.
export const RD = { ptr: 1, bytes: 2, reps: 3 } as const;
