import type { DType } from '../quant/dtype.js';
import { BadArgumentError } from '../errors/errors.js';

/**
 * The narrow op interface between the model and a compute backend (llama.cpp's
 * model/backend boundary). The model calls only these; every backend is tested op by op
 * against `backend/ref`.
 *
 * Conventions:
 * - Activations are f32 `Tensor`s owned by the backend, row-major, `n` rows (tokens) at a time.
 * - A matrix weight is [rows, cols] (rows = output features); `matmul` computes out = x · Wᵀ.
 * - RoPE uses adjacent pairs (2i, 2i+1) within each head: the GGUF / Meta layout. Loaders convert
 *   Hugging Face's rotate-half q/k rows to this layout at load time.
 * - All ops are synchronous: CPU backends block until the result is in `out`.
 */

/** Raw weight bytes handed to a backend once, at load. */
export interface WeightSpec {
  /** Canonical name (`layers.3.wq`), used in errors and traces. */
  readonly name: string;
  readonly dtype: DType;
  /** [rows, cols] for a matrix, [n] for a vector. */
  readonly shape: readonly number[];
  /** Bytes in `dtype`'s block layout, row-major. The backend may keep a view of it; do not mutate. */
  readonly data: Uint8Array;
  /**
   * When given, `data` is read lazily (on first access) and this copies bytes [byteOffset,
   * byteOffset + length) of it straight from the source (e.g. the file) into dst: a backend that
   * keeps weights in its own memory uses it so the bytes are copied once, not twice.
   */
  readonly readInto?: (dst: Uint8Array, dstOffset: number, byteOffset: number, length: number) => void;
  /** data.byteLength, known without reading it (given with readInto). */
  readonly byteLength?: number;
}

/** A weight as the backend stores it (quantized weights stay in their blocks). */
export interface Weight {
  readonly name: string;
  readonly dtype: DType;
  readonly shape: readonly number[];
}

/** An f32 activation buffer of `length` elements, owned by a backend. */
export interface Tensor {
  readonly length: number;
}

export type KVDType = 'f32' | 'f16';

export interface KVCacheSpec {
  readonly layers: number;
  readonly kvHeads: number;
  readonly headDim: number;
  /** Slots (tokens) the cache can hold. */
  readonly capacity: number;
  readonly dtype: KVDType;
}

/**
 * Per-sequence key/value cache. Slots are filled in order; `positions[slot]` is the RoPE position
 * of the token in that slot, so a sequence may jump (0..23 then 20000..20023). Attention is causal
 * by position: a query at position p sees every cached slot whose position is ≤ p.
 *
 * `length` and `positions` are written only by the engine's KV bookkeeping (src/engine/kv-store.ts)
 * before a forward step; the ops read them.
 */
export interface KVCache {
  readonly spec: KVCacheSpec;
  /** Slots in use. */
  length: number;
  /** RoPE position of each slot; only [0, length) is meaningful. */
  readonly positions: Int32Array;
}

/**
 * How a multi-threaded backend shared out its work: chunks run, and how many of them by a thread
 * other than the one holding their data (wasm: a thread that ran out of its own work took them).
 */
export interface WorkSharing {
  readonly chunks: number;
  readonly stolen: number;
}

/** What a backend reports about itself (bench, info). */
export interface BackendInfo {
  readonly name: string;
  /** Compute threads, including the calling one. */
  readonly threads: number;
  /** wasm: whether the relaxed-SIMD kernels are in use. */
  readonly relaxedSimd?: boolean;
  /** wasm: each decode kernel's variant, in LLAMA_TS_KERNELS form (`q8_0=i16,q4_0=g2,q4_k=i16`). */
  readonly kernels?: string;
  /** wasm: how they were chosen: `probe`, `cache` (an earlier probe on this CPU) or `override` (LLAMA_TS_KERNELS). */
  readonly kernelsSource?: string;
}

export type OpName =
  | 'embed'
  | 'matmul'
  | 'matmulMany'
  | 'rmsnorm'
  | 'rope'
  | 'storeKV'
  | 'attention'
  | 'siluMul'
  | 'add'
  | 'copy'
  | 'copyKV';

export interface Backend {
  readonly name: string;
  /** Whether `op` is implemented for weights of `dtype` (only meaningful for embed and matmul). */
  supports(op: OpName, dtype?: DType): boolean;

  loadWeight(spec: WeightSpec): Weight;
  /**
   * Optional: once a model's weights are loaded, choose kernel variants by timing decode on them
   * (wasm: the first load of a large model on a machine; cached after that).
   */
  tuneKernels?(ws: readonly Weight[]): unknown;
  readonly info: BackendInfo;
  alloc(length: number): Tensor;
  free(t: Tensor): void;
  /**
   * A tensor aliasing elements [offset, offset + length) of `t` (no copy). Lets per-sequence ops
   * (storeKV, attention) address one sequence's rows of a batch. Not to be freed.
   */
  view(t: Tensor, offset: number, length: number): Tensor;
  write(dst: Tensor, src: Float32Array, dstOffset?: number): void;
  /**
   * Copies `length` elements starting at `offset` out of `src`: into a new array, or into the
   * start of `into` (at least `length` long), returned as the view of what was written.
   */
  read(src: Tensor, offset?: number, length?: number, into?: Float32Array): Float32Array;
  createKVCache(spec: KVCacheSpec): KVCache;
  /** Releases a cache's memory; the cache must not be used afterwards. */
  freeKVCache(cache: KVCache): void;
  /**
   * Copies slots [0, n) of every layer (keys, values and positions) from `src` to `dst` (fork, prefix
   * reuse). Both caches have the same layers, heads and dtype; dst's capacity must hold n.
   */
  copyKV(dst: KVCache, src: KVCache, n: number): void;

  /** out[i, :] = table[ids[i], :]. out: [n, dim], table: [vocab, dim] of any supported dtype. */
  embed(out: Tensor, table: Weight, ids: Int32Array): void;
  /** out[i, r] = Σ_c x[i, c] · w[r, c]. out: [n, rows], x: [n, cols]. */
  matmul(out: Tensor, x: Tensor, w: Weight, n: number): void;
  /**
   * outs[j] = x · ws[j]ᵀ for several weights that read the same x (q/k/v, gate/up): the same
   * results as one matmul each, but a backend may quantize x once and run them as one op.
   */
  matmulMany(outs: readonly Tensor[], x: Tensor, ws: readonly Weight[], n: number): void;
  /** out[i, :] = x[i, :] / sqrt(mean(x[i, :]²) + eps) · w. x, out: [n, dim], w: f32 [dim]. */
  rmsnorm(out: Tensor, x: Tensor, w: Weight, n: number, dim: number, eps: number): void;
  /**
   * In place: rotate each adjacent pair (2j, 2j+1) of every head of row i by positions[i] · invFreq[j].
   * x: [n, heads · headDim], invFreq: [headDim / 2]. invFreq is f64 and the angle must be formed
   * in f64 (position · invFreq): at position 20000 an f32 angle is off by ~1e-3 rad.
   */
  rope(x: Tensor, n: number, heads: number, headDim: number, positions: Int32Array, invFreq: Float64Array): void;
  /** Writes n rows of k and v ([n, kvHeads · headDim]) into `layer`'s slots [slot, slot + n). */
  storeKV(cache: KVCache, layer: number, k: Tensor, v: Tensor, n: number, slot: number): void;
  /**
   * Causal grouped-query attention of n queries against `layer`'s slots [0, cache.length).
   * q, out: [n, heads · headDim]; query head h reads KV head floor(h / (heads / kvHeads)).
   * Scores are scaled by `scale` (1/√headDim), softmax in f32.
   */
  attention(out: Tensor, q: Tensor, cache: KVCache, layer: number, n: number, queryPositions: Int32Array, heads: number, scale: number): void;
  /** out = silu(gate) · up, elementwise over `length`. */
  siluMul(out: Tensor, gate: Tensor, up: Tensor, length: number): void;
  /** out = a + b, elementwise over `length` (out may alias a). */
  add(out: Tensor, a: Tensor, b: Tensor, length: number): void;
  /** Copies `length` elements from src[srcOffset] to dst[dstOffset]. */
  copy(dst: Tensor, src: Tensor, length: number, dstOffset?: number, srcOffset?: number): void;

  /** Memory read bandwidth in bytes/s, where the backend can measure it (bench). */
  measureReadBandwidth?(): number;
  /** Work-sharing counters since the backend started (wasm). */
  workSharing?(): WorkSharing;
  /** Per-op time accumulated since the last clear, where the backend profiles (LLAMA_TS_WASM_PROFILE=1). */
  readonly profile?: Map<string, { calls: number; ms: number }>;

  /** Releases workers and memory. */
  dispose(): Promise<void>;
}

/** The checks every backend's copyKV makes before copying. */
export function checkCopyKV(dst: KVCacheSpec, src: KVCacheSpec, n: number): void {
  if (dst.layers !== src.layers || dst.kvHeads !== src.kvHeads || dst.headDim !== src.headDim || dst.dtype !== src.dtype) {
    throw new BadArgumentError('copyKV needs two caches of the same shape and dtype');
  }
  if (!Number.isInteger(n) || n < 0 || n > src.capacity || n > dst.capacity) throw new BadArgumentError(`copyKV of ${n} slots does not fit caches of ${src.capacity} and ${dst.capacity}`);
}

/** Backend.read's copy into a caller's array: `values` into the start of `into`, that view returned. */
export function intoView(into: Float32Array, values: Float32Array): Float32Array {
  if (into.length < values.length) throw new BadArgumentError(`read of ${values.length} values into an array of ${into.length}`);
  const view = into.subarray(0, values.length);
  view.set(values);
  return view;
}
