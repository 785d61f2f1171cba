import type { DType } from '../quant/dtype.js';

/**
 * One tensor in a container, described but not yet read. Every container format yields these,
 * so the model loader never cares where the bytes came from.
 */
export interface TensorRecord {
  /** Name as the container spells it (e.g. `blk.0.attn_q.weight`, `model.layers.0.self_attn.q_proj.weight`). */
  readonly name: string;
  readonly dtype: DType;
  /** Row-major, outermost dimension first: a matrix is [rows, cols] (GGUF's ne reversed). */
  readonly shape: readonly number[];
  readonly byteLength: number;
  /** Reads the raw bytes (one positional read, or a view of an already-mapped region). */
  read(): Uint8Array;
}

/** GGUF metadata values. Numeric arrays come back as plain number arrays (u64/i64 as bigint). */
export type GGUFValue = number | bigint | boolean | string | GGUFValue[];
export type GGUFMetadata = ReadonlyMap<string, GGUFValue>;
