import { Worker } from 'node:worker_threads';
import type { BackendInfo, KVDType, WorkSharing } from '../backend/backend.js';
import type { ForwardBatch } from './batch.js';
import type { Executor, OpProfile } from './executor.js';
import type { EngineRequest, EngineWorkerData, FromEngine, ReplyValue } from './engine-protocol.js';
import { workerSource } from './worker-source.js';
import { errorFromData } from '../errors/transfer.js';
import { LlamaError } from '../errors/errors.js';

type Pending = { resolve: (v: ReplyValue | undefined) => void; reject: (e: Error) => void };
/** Distributes Omit over the request union (so each op keeps its own fields). */
type RequestBody = EngineRequest extends infer R ? (R extends EngineRequest ? Omit<R, 'id'> : never) : never;

/**
 * The main thread's handle on an engine thread (engine-worker.ts): every call is a message, the
 * step's logits come back as a transferred buffer. While a step runs, this thread's event loop is
 * free (timers, HTTP, other clients' streams).
 */
export class WorkerExecutor implements Executor {
  private nextId = 1;
  private readonly pending = new Map<number, Pending>();
  private dead: Error | undefined;

  private constructor(
    private readonly worker: Worker,
    readonly info: BackendInfo,
  ) {
    worker.on('message', (m: FromEngine) => {
      if (m.kind !== 'reply') return;
      const p = this.pending.get(m.id);
      if (!p) return;
      this.pending.delete(m.id);
      if (m.error) p.reject(errorFromData(m.error));
      else p.resolve(m.value);
    });
    const fail = (e: Error): void => {
      this.dead = e;
      for (const p of this.pending.values()) p.reject(e);
      this.pending.clear();
    };
    worker.on('error', (e) => fail(new LlamaError('BACKEND_ERROR', `the engine thread failed: ${e.message}`, { cause: e })));
    worker.on('exit', (code) => fail(new LlamaError('BACKEND_ERROR', `the engine thread exited (${code})`)));
  }

  /** Starts an engine thread that loads the model's weights; resolves once it is ready. */
  static start(data: EngineWorkerData, onProgress?: (loaded: number, total: number, tensor: string) => void): Promise<WorkerExecutor> {
    const src = workerSource(new URL('./engine-worker.js', import.meta.url));
    const worker = new Worker(src.code, { eval: src.eval, workerData: data });
    return new Promise((resolve, reject) => {
      const onMessage = (m: FromEngine): void => {
        if (m.kind === 'progress') onProgress?.(m.loaded, m.total, m.tensor);
        else if (m.kind === 'ready') {
          cleanup();
          resolve(new WorkerExecutor(worker, m.info));
        } else if (m.kind === 'loadError') {
          cleanup();
          void worker.terminate();
          reject(errorFromData(m.error));
        }
      };
      const onError = (e: Error): void => {
        cleanup();
        reject(new LlamaError('BACKEND_ERROR', `the engine thread failed to start: ${e.message}`, { cause: e }));
      };
      const onExit = (code: number): void => {
        cleanup();
        reject(new LlamaError('BACKEND_ERROR', `the engine thread exited (${code}) while loading`));
      };
      const cleanup = (): void => {
        worker.off('message', onMessage);
        worker.off('error', onError);
        worker.off('exit', onExit);
      };
      worker.on('message', onMessage);
      worker.once('error', onError);
      worker.once('exit', onExit);
    });
  }

  private call(body: RequestBody, transfer: ArrayBuffer[] = []): Promise<ReplyValue | undefined> {
    if (this.dead) return Promise.reject(this.dead);
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      this.worker.postMessage({ ...body, id } as EngineRequest, transfer);
    });
  }

  async createCache(cache: number, capacity: number, dtype: KVDType): Promise<void> {
    await this.call({ op: 'createCache', cache, capacity, dtype });
  }

  freeCache(cache: number): void {
    this.call({ op: 'freeCache', cache }).catch(() => {}); // nothing to do if the engine is gone
  }

  async copyCache(dst: number, src: number, n: number): Promise<void> {
    await this.call({ op: 'copyCache', dst, src, n });
  }

  private spare: ArrayBuffer | undefined;

  async step(batch: ForwardBatch): Promise<Float32Array> {
    const out = this.spare;
    this.spare = undefined;
    return (await this.call({ op: 'step', batch, out }, out ? [out] : [])) as Float32Array;
  }

  recycle(logits: Float32Array): void {
    // Transferred to the engine with the next step (it writes that step's logits into it).
    if (logits.buffer instanceof ArrayBuffer) this.spare = logits.buffer;
  }

  async measureReadBandwidth(): Promise<number | undefined> {
    const v = await this.call({ op: 'bandwidth' });
    return typeof v === 'number' ? v : undefined;
  }

  async workSharing(): Promise<WorkSharing | undefined> {
    const v = await this.call({ op: 'workSharing' });
    return v && typeof v === 'object' && 'stolen' in v ? (v as WorkSharing) : undefined;
  }

  async profile(clear: boolean): Promise<OpProfile | undefined> {
    const v = await this.call({ op: 'profile', clear });
    return v && !(v instanceof Float32Array) && typeof v === 'object' ? (v as OpProfile) : undefined;
  }

  async dispose(): Promise<void> {
    if (!this.dead) await this.call({ op: 'dispose' }).catch(() => {});
    await this.worker.terminate();
  }
}
