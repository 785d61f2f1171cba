import type { BackendInfo, KVDType, WorkSharing } from '../backend/backend.js';
import type { ErrorData } from '../errors/transfer.js';
import type { ForwardBatch } from './batch.js';
import type { OpProfile } from './executor.js';

/** What the engine thread is started with. */
export interface EngineWorkerData {
  readonly path: string;
  readonly backend: 'ref' | 'wasm';
  readonly threads: number | undefined;
}

/** Main thread → engine thread. Answered in order, one reply per request id. */
export type EngineRequest = { readonly id: number } & (
  | { readonly op: 'createCache'; readonly cache: number; readonly capacity: number; readonly dtype: KVDType }
  | { readonly op: 'freeCache'; readonly cache: number }
  | { readonly op: 'copyCache'; readonly dst: number; readonly src: number; readonly n: number }
  | { readonly op: 'step'; readonly batch: ForwardBatch; /** a previous step's logits buffer, transferred back for reuse */ readonly out?: ArrayBuffer }
  | { readonly op: 'bandwidth' }
  | { readonly op: 'workSharing' }
  | { readonly op: 'profile'; readonly clear: boolean }
  | { readonly op: 'dispose' }
);

export type ReplyValue = Float32Array | number | OpProfile | WorkSharing | null;

/** Engine thread → main thread. */
export type FromEngine =
  | { readonly kind: 'progress'; readonly loaded: number; readonly total: number; readonly tensor: string }
  | { readonly kind: 'ready'; readonly info: BackendInfo }
  | { readonly kind: 'loadError'; readonly error: ErrorData }
  | { readonly kind: 'reply'; readonly id: number; readonly value?: ReplyValue; readonly error?: ErrorData };
