/**
 * Row-parallel quantization on worker threads. The K-quant searches cost ~1 µs per weight in
 * JS (an 8B model is hours on one core), and rows are independent, so a chunk is split into one
 * slice of rows per thread: the calling thread takes the first slice, workers the rest, all
 * reading and writing the same SharedArrayBuffers. Results are byte-identical to one thread.
 */
import { existsSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { LlamaError } from '../errors/errors.js';
import { type DType, rowBytes } from '../quant/dtype.js';
import { quantizeRows } from '../quant/quantize.js';
import type { QuantJob } from './quant-worker.js';

/** Compiled, the worker is quant-worker.js beside this file; from source (tsx), bootstrap tsx's loader in the worker first. */
function workerEntry(): { code: URL | string; eval: boolean } {
  const js = new URL('./quant-worker.js', import.meta.url);
  if (existsSync(fileURLToPath(js))) return { code: js, eval: false };
  const ts = new URL('./quant-worker.ts', import.meta.url).href;
  const api = import.meta.resolve('tsx/esm/api');
  return { code: `import(${JSON.stringify(api)}).then((m) => m.tsImport(${JSON.stringify(ts)}, ${JSON.stringify(ts)}));`, eval: true };
}

export function defaultThreads(): number {
  return Math.max(1, Math.min(availableParallelism(), 16));
}

export class QuantPool {
  private readonly workers: Worker[] = [];
  private readonly pending = new Map<number, { res: () => void; rej: (e: Error) => void }>();
  private nextId = 0;

  constructor(readonly threads: number) {
    const entry = workerEntry();
    for (let t = 1; t < threads; t++) {
      const w = new Worker(entry.code, { eval: entry.eval });
      w.on('message', (m: { id: number; error?: string }) => {
        const p = this.pending.get(m.id);
        this.pending.delete(m.id);
        if (m.error) p?.rej(new LlamaError('BAD_ARGUMENT', m.error));
        else p?.res();
      });
      w.on('error', (e) => {
        for (const p of this.pending.values()) p.rej(e);
        this.pending.clear();
      });
      this.workers.push(w);
    }
  }

  /** Quantizes `rows` × `cols` float32 values at the start of `input` into `output` (both shared). */
  async quantize(type: DType, input: Float32Array, rows: number, cols: number, output: Uint8Array): Promise<void> {
    const parts = Math.min(this.threads, rows);
    if (parts <= 1) {
      quantizeRows(type, input, rows, cols, output);
      return;
    }
    const rb = rowBytes(type, cols);
    const per = Math.ceil(rows / parts);
    const waits: Promise<void>[] = [];
    for (let p = 1; p < parts; p++) {
      const r0 = p * per;
      const n = Math.min(per, rows - r0);
      if (n <= 0) break;
      const id = this.nextId++;
      const job: QuantJob = {
        id,
        type,
        input: input.buffer as SharedArrayBuffer,
        inOffset: input.byteOffset / 4 + r0 * cols,
        rows: n,
        cols,
        output: output.buffer as SharedArrayBuffer,
        outOffset: output.byteOffset + r0 * rb,
      };
      waits.push(new Promise((res, rej) => this.pending.set(id, { res, rej })));
      this.workers[p - 1]!.postMessage(job);
    }
    quantizeRows(type, input, Math.min(per, rows), cols, output);
    await Promise.all(waits);
  }

  async close(): Promise<void> {
    await Promise.all(this.workers.map((w) => w.terminate()));
  }
}
