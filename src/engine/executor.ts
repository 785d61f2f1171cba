import { appendFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Backend, BackendInfo, KVCache, KVDType, WorkSharing } from '../backend/backend.js';
import type { LlamaConfig } from '../config/config.js';
import type { ModelWeights } from '../model/weights.js';
import type { ForwardBatch } from './batch.js';
import { LlamaForward } from '../model/llama.js';
import { BadArgumentError } from '../errors/errors.js';

export type OpProfile = Record<string, { calls: number; ms: number }>;

/**
 * Runs forward steps and owns the KV caches' memory. The scheduler is its only caller; calls are
 * answered in the order they were made. `WorkerExecutor` runs one on a worker thread so the
 * caller's event loop stays free; `LocalExecutor` computes on the calling thread.
 */
export interface Executor {
  readonly info: BackendInfo;
  createCache(id: number, capacity: number, dtype: KVDType): Promise<void>;
  /** Frees a cache (ordered after every step already requested). */
  freeCache(id: number): void;
  /** Copies slots [0, n) (keys, values, positions) from cache src to cache dst. */
  copyCache(dst: number, src: number, n: number): Promise<void>;
  /** One forward step; logits [batch.logitRows.length × vocab]. */
  step(batch: ForwardBatch): Promise<Float32Array>;
  /**
   * Hands back a step's logits once nothing reads them any more: a later step writes into the same
   * memory instead of a new array (a 16-row step on a 128K vocabulary is 8 MB; allocating it every
   * step cost page faults on the engine thread and garbage collections on this one).
   */
  recycle(logits: Float32Array): void;
  measureReadBandwidth(): Promise<number | undefined>;
  /** The backend's work-sharing counters (wasm), if it keeps them. */
  workSharing(): Promise<WorkSharing | undefined>;
  /** The backend's per-op profile (when profiling is on), optionally cleared after reading. */
  profile(clear: boolean): Promise<OpProfile | undefined>;
  dispose(): Promise<void>;
}

/**
 * The executor's own bookkeeping of caches: which backend cache an id names. Slot lengths and
 * positions are written here, from the batch, right before each step (the scheduler's KV manager
 * decides them; ops only read them).
 */
export class LocalExecutor implements Executor {
  private readonly forwardPass: LlamaForward;
  private readonly caches = new Map<number, KVCache>();
  private steps = 0;

  constructor(
    readonly config: LlamaConfig,
    readonly backend: Backend,
    weights: ModelWeights,
    /** Runs after the backend is released (e.g. closing the model's files). */
    private readonly onDispose: () => void = () => {},
    /** LLAMA_TS_TRACE: a folder to dump every intermediate of every step into (debugging). */
    traceDir: string | undefined = process.env.LLAMA_TS_TRACE || undefined,
  ) {
    this.forwardPass = new LlamaForward(config, backend, weights);
    if (traceDir) {
      mkdirSync(traceDir, { recursive: true });
      // One raw f32 file per (step, name, layer): diff against a reference dump with numpy.fromfile.
      this.forwardPass.trace = (name, layer, t) => {
        const file = join(traceDir, `step${this.steps}.${name}${layer >= 0 ? `.${layer}` : ''}.f32`);
        appendFileSync(file, new Uint8Array(t.buffer, t.byteOffset, t.byteLength));
      };
    }
  }

  get info(): BackendInfo {
    return this.backend.info;
  }

  async createCache(id: number, capacity: number, dtype: KVDType): Promise<void> {
    this.createCacheSync(id, capacity, dtype);
  }

  createCacheSync(id: number, capacity: number, dtype: KVDType): void {
    if (this.caches.has(id)) throw new BadArgumentError(`KV cache ${id} exists already`);
    const c = this.config;
    this.caches.set(id, this.backend.createKVCache({ layers: c.numLayers, kvHeads: c.numKVHeads, headDim: c.headDim, capacity, dtype }));
  }

  freeCache(id: number): void {
    const c = this.caches.get(id);
    if (!c) return;
    this.caches.delete(id);
    this.backend.freeKVCache(c);
  }

  async copyCache(dst: number, src: number, n: number): Promise<void> {
    this.backend.copyKV(this.cache(dst), this.cache(src), n);
  }

  private spare: Float32Array | undefined;

  async step(batch: ForwardBatch): Promise<Float32Array> {
    const out = this.spare;
    this.spare = undefined;
    return this.stepSync(batch, out);
  }

  recycle(logits: Float32Array): void {
    this.spare = whole(logits);
  }

  /** A step; logits go into the start of `out` where it is long enough. */
  stepSync(batch: ForwardBatch, out?: Float32Array): Float32Array {
    const caches = batch.seqs.map((s) => {
      const cache = this.cache(s.cache);
      if (s.slot + s.rows > cache.spec.capacity) throw new BadArgumentError(`KV cache ${s.cache} holds ${cache.spec.capacity} slots; cannot store ${s.rows} at slot ${s.slot}`);
      return cache;
    });
    const saved = caches.map((c) => c.length);
    batch.seqs.forEach((s, i) => {
      const c = caches[i]!;
      c.positions.set(batch.positions.subarray(s.row, s.row + s.rows), s.slot);
      c.length = s.slot + s.rows; // the new rows attend to themselves (causal by position)
    });
    try {
      this.steps++;
      return this.forwardPass.forward(batch, caches, out);
    } catch (e) {
      caches.forEach((c, i) => (c.length = saved[i]!)); // a failed step leaves the caches as they were
      throw e;
    }
  }

  async measureReadBandwidth(): Promise<number | undefined> {
    return this.backend.measureReadBandwidth?.();
  }

  async workSharing(): Promise<WorkSharing | undefined> {
    return this.backend.workSharing?.();
  }

  async profile(clear: boolean): Promise<OpProfile | undefined> {
    const p = this.backend.profile;
    if (!p) return undefined;
    const out: OpProfile = Object.fromEntries([...p].map(([k, v]) => [k, { ...v }]));
    if (clear) p.clear();
    return out;
  }

  private cache(id: number): KVCache {
    const c = this.caches.get(id);
    if (!c) throw new BadArgumentError(`no KV cache ${id}`);
    return c;
  }

  async dispose(): Promise<void> {
    for (const id of [...this.caches.keys()]) this.freeCache(id);
    this.forwardPass.freeScratch();
    await this.backend.dispose();
    this.onDispose();
  }
}

/** The whole float32 array a view of logits lies in (its buffer, from its start). */
export function whole(logits: Float32Array): Float32Array {
  return logits.byteOffset === 0 && logits.byteLength === logits.buffer.byteLength ? logits : new Float32Array(logits.buffer, 0, logits.buffer.byteLength >> 2);
}
