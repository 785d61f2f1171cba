/**
 * Worker side of QuantPool: quantizes a slice of rows from a shared float32 buffer into a shared
 * output buffer and reports back. Nothing else crosses the thread boundary.
 */
import { parentPort } from 'node:worker_threads';
import type { DType } from '../quant/dtype.js';
import { quantizeRows } from '../quant/quantize.js';

export interface QuantJob {
  readonly id: number;
  readonly type: DType;
  readonly input: SharedArrayBuffer;
  /** First element of the slice in `input` (float32 index). */
  readonly inOffset: number;
  readonly rows: number;
  readonly cols: number;
  readonly output: SharedArrayBuffer;
  readonly outOffset: number;
}

parentPort?.on('message', (job: QuantJob) => {
  try {
    quantizeRows(job.type, new Float32Array(job.input), job.rows, job.cols, new Uint8Array(job.output), job.inOffset, job.outOffset);
    parentPort!.postMessage({ id: job.id });
  } catch (e) {
    parentPort!.postMessage({ id: job.id, error: (e as Error).message });
  }
});
