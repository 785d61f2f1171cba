import { existsSync, statSync } from 'node:fs';
import { detectFormat as detectContainer } from '../formats/detect.js';
import { dirname, join } from 'node:path';
import type { Backend, KVDType } from '../backend/backend.js';
import type { LlamaConfig } from '../config/config.js';
import type { TensorRecord } from '../formats/types.js';
import type { Tokenizer } from '../tokenizer/types.js';
import { RefBackend } from '../backend/ref/ref-backend.js';
import { ggufString } from '../formats/gguf.js';
import { readGGUFModel } from '../formats/gguf-split.js';
import { resolveModel } from '../hub/resolve.js';
import { checkModelFits } from './memory-plan.js';
import { checkTensorsFinite } from '../quant/check-finite.js';
import { readHFModel } from '../formats/hf-folder.js';
import { readLlama2c } from '../formats/llama2c.js';
import { configFromGGUF } from '../config/from-gguf.js';
import { loadTokenizer, tokenizerFromGGUFMetadata } from '../tokenizer/load.js';
import { loadWeights, type TensorLayout, type WeightLoadProgress } from './weights.js';
import { LlamaModel } from './model.js';
import { LocalExecutor, type Executor } from '../engine/executor.js';
import { WorkerExecutor } from '../engine/worker-executor.js';
import { BadArgumentError, BadConfigError } from '../errors/errors.js';

export type BackendName = 'ref' | 'wasm';

export interface LoadOptions {
  /** Compute backend: 'wasm' (default, WebAssembly SIMD on worker threads), 'ref' (plain TS oracle) or an instance. */
  readonly backend?: BackendName | Backend;
  /** Worker threads for the wasm backend (default: all cores). */
  readonly threads?: number;
  /** Tokenizer file or folder (required for llama2.c checkpoints to have text; optional elsewhere). */
  readonly tokenizer?: string;
  /** Progress while weights are read: bytes loaded so far of the total. */
  readonly onProgress?: WeightLoadProgress;
  /** KV cache type of sessions and requests that do not choose one (default 'f32'). */
  readonly kvDType?: KVDType;
  /** Context (KV slots) of a sequence that does not choose one: generate() and session() (default min(model context, 4096)). */
  readonly contextSize?: number;
  /** Sequences decoded together at most (default 16); more wait in the queue. */
  readonly maxSequences?: number;
  /** Requests that may wait for a free sequence (default 256); beyond that submit fails with QUEUE_FULL. */
  readonly maxQueue?: number;
  /** KV memory kept for finished sequences whose prompts later requests may reuse (default 512 MiB; 0 = off). */
  readonly prefixCacheBytes?: number;
  /** Target duration of one forward step in ms (default 250): bounds how long a prefill chunk delays the others. */
  readonly stepMs?: number;
  /** Scan every weight for NaN/Inf before loading (reads the files once more); NON_FINITE_TENSOR names the first bad one. */
  readonly checkTensors?: boolean;
}

export type ContainerFormat = 'gguf' | 'hf' | 'llama2c';

/** The container a path holds, decided from its contents (see formats/detect.ts). */
export function detectFormat(path: string): ContainerFormat {
  const f = detectContainer(path);
  return f === 'gguf' ? 'gguf' : f === 'llama2c' ? 'llama2c' : 'hf';
}

async function makeBackend(options: { backend: BackendName; threads: number | undefined }): Promise<Backend> {
  if (options.backend === 'ref') return new RefBackend();
  const { createWasmBackend } = await import('../backend/wasm/index.js');
  return createWasmBackend({ threads: options.threads });
}

/** A model's container opened without loading weights: config, tensor records, tokenizer. */
export interface OpenedModel {
  readonly format: ContainerFormat;
  readonly config: LlamaConfig;
  readonly tensors: ReadonlyMap<string, TensorRecord>;
  readonly layout: TensorLayout;
  readonly tokenizer: Tokenizer | undefined;
  readonly chatTemplate: string | undefined;
  close(): void;
}

/** Opens a model's files and parses config and tokenizer, without reading any weights. */
export async function openModelFiles(path: string, options: Pick<LoadOptions, 'tokenizer'> = {}): Promise<OpenedModel> {
  const format = detectFormat(path);
  return open(path, format, options);
}

async function open(path: string, format: ContainerFormat, options: Pick<LoadOptions, 'tokenizer'> & { skipTokenizer?: boolean }): Promise<OpenedModel> {
  const skip = options.skipTokenizer === true;
  const extraTokenizer = options.tokenizer && !skip ? await loadTokenizer(options.tokenizer) : undefined;
  switch (format) {
    case 'gguf': {
      const f = readGGUFModel(path);
      try {
        const tensors = new Map(f.tensors.map((t) => [t.name, t as TensorRecord]));
        const config = configFromGGUF(f.metadata, tensors);
        const tokenizer = extraTokenizer ?? (!skip && f.metadata.has('tokenizer.ggml.tokens') ? tokenizerFromGGUFMetadata(f.metadata) : undefined);
        return { format, config, tensors, layout: 'gguf', tokenizer, chatTemplate: ggufString(f.metadata, 'tokenizer.chat_template'), close: () => f.close() };
      } catch (e) {
        f.close();
        throw e;
      }
    }
    case 'hf': {
      const m = readHFModel(path);
      const folder = statSync(path).isDirectory() ? path : dirname(path);
      let tokenizer = extraTokenizer;
      if (!tokenizer && !skip && (existsSync(join(folder, 'tokenizer.json')) || existsSync(join(folder, 'tokenizer.model')))) {
        tokenizer = await loadTokenizer(folder).catch((e: unknown) => {
          m.close();
          throw e;
        });
      }
      return { format, config: m.config, tensors: m.tensors, layout: 'hf', tokenizer, chatTemplate: m.chatTemplate, close: () => m.close() };
    }
    case 'llama2c': {
      const m = readLlama2c(path);
      let tokenizer = extraTokenizer;
      const beside = join(dirname(path), 'tokenizer.bin');
      if (!tokenizer && !skip && existsSync(beside)) {
        tokenizer = await loadTokenizer(beside).catch((e: unknown) => {
          m.close();
          throw e;
        });
      }
      return { format, config: m.config, tensors: m.tensors, layout: 'llama2c', tokenizer, chatTemplate: undefined, close: () => m.close() };
    }
  }
}

/** Loads a model's weights into a fresh backend and wraps them in an executor (the engine thread's side). */
export async function loadWeightsInto(path: string, backendName: BackendName, threads: number | undefined, onProgress?: WeightLoadProgress): Promise<LocalExecutor> {
  const opened = await open(path, detectFormat(path), { skipTokenizer: true });
  let backend: Backend | undefined;
  try {
    backend = await makeBackend({ backend: backendName, threads });
    return executorFor(opened, backend, path, onProgress, true);
  } catch (e) {
    opened.close();
    await backend?.dispose();
    throw e;
  }
}

/** Weights loaded into `backend` and an executor over them that closes the files when disposed. */
function executorFor(opened: OpenedModel, backend: Backend, path: string, onProgress: WeightLoadProgress | undefined, tune = false): LocalExecutor {
  checkBackendFits(opened.config, backend);
  const weights = loadWeights(opened.config, opened.tensors, opened.layout, backend, path, onProgress);
  // Seconds of decode passes on a machine's first large model: only on the engine thread, never on
  // a caller's event loop (a Backend instance passed to loadModel runs in the caller's thread).
  if (tune) backend.tuneKernels?.([...weights.layers.flatMap((l) => [l.wq, l.wk, l.wv, l.wo, l.wGate, l.wUp, l.wDown]), weights.output]);
  return new LocalExecutor(opened.config, backend, weights, () => opened.close());
}

/** Backend limits checked once at load instead of on every op. */
function checkBackendFits(config: LlamaConfig, backend: Backend): void {
  if (backend.info.name === 'wasm' && config.headDim % 4 !== 0) {
    throw new BadConfigError(`the wasm backend needs the head dimension to be a multiple of 4, got ${config.headDim}; use { backend: 'ref' }`);
  }
}

const OPTION_KEYS: ReadonlySet<string> = new Set(['backend', 'threads', 'tokenizer', 'onProgress', 'kvDType', 'contextSize', 'maxSequences', 'maxQueue', 'prefixCacheBytes', 'stepMs', 'checkTensors']);

/** Unknown option names and values are errors: a typo must not silently load something else. */
function checkLoadOptions(o: LoadOptions): void {
  if (typeof o !== 'object' || o === null) throw new BadArgumentError('loadModel options must be an object');
  for (const k of Object.keys(o)) if (!OPTION_KEYS.has(k)) throw new BadArgumentError(`unknown loadModel option '${k}' (known: ${[...OPTION_KEYS].join(', ')})`);
  const b = o.backend;
  if (b !== undefined && b !== 'ref' && b !== 'wasm' && (typeof b !== 'object' || b === null || typeof (b as Backend).loadWeight !== 'function')) {
    throw new BadArgumentError(`unknown backend ${JSON.stringify(b)}: use 'wasm', 'ref' or a Backend instance`);
  }
  const posInt = (name: string, v: unknown, max = Number.MAX_SAFE_INTEGER): void => {
    if (v !== undefined && (!Number.isInteger(v) || (v as number) < 1 || (v as number) > max)) throw new BadArgumentError(`${name} must be an integer in 1..${max}, got ${String(v)}`);
  };
  posInt('threads', o.threads, 256);
  posInt('contextSize', o.contextSize);
  posInt('maxSequences', o.maxSequences, 4096);
  if (o.maxQueue !== undefined && (!Number.isInteger(o.maxQueue) || o.maxQueue < 0)) throw new BadArgumentError(`maxQueue must be a non-negative integer, got ${String(o.maxQueue)}`);
  if (o.prefixCacheBytes !== undefined && !(o.prefixCacheBytes >= 0)) throw new BadArgumentError(`prefixCacheBytes must be ≥ 0, got ${String(o.prefixCacheBytes)}`);
  if (o.stepMs !== undefined && !(o.stepMs > 0)) throw new BadArgumentError(`stepMs must be > 0, got ${String(o.stepMs)}`);
  if (o.kvDType !== undefined && o.kvDType !== 'f32' && o.kvDType !== 'f16') throw new BadArgumentError(`kvDType is 'f32' or 'f16', got ${JSON.stringify(o.kvDType)}`);
  if (o.tokenizer !== undefined && typeof o.tokenizer !== 'string') throw new BadArgumentError('tokenizer must be a path');
  if (o.onProgress !== undefined && typeof o.onProgress !== 'function') throw new BadArgumentError('onProgress must be a function');
  if (o.checkTensors !== undefined && typeof o.checkTensors !== 'boolean') throw new BadArgumentError('checkTensors must be a boolean');
}

/**
 * Loads a model from a Hugging Face folder (or one .safetensors file beside config.json),
 * a GGUF file, or a llama2.c .bin checkpoint. Weights are read once, tensor by tensor, on the
 * engine thread (a worker) that will run the model; a Backend instance computes on this thread.
 */
export async function loadModel(ref: string, options: LoadOptions = {}): Promise<LlamaModel> {
  checkLoadOptions(options);
  if (typeof ref !== 'string' || ref === '') throw new BadArgumentError('loadModel needs a model path or hf: reference');
  const path = await resolveModel(ref);
  const opened = await openModelFiles(path, options);
  try {
    // Refuse with numbers before anything is allocated (one sequence at the default context).
    if (options.checkTensors) checkTensorsFinite(opened.tensors);
    checkModelFits(opened, { backend: options.backend, threads: options.threads, kvDType: options.kvDType, contextSize: Math.min(options.contextSize ?? Math.min(opened.config.contextLength, 4096), opened.config.contextLength) });
  } catch (e) {
    opened.close();
    throw e;
  }
  let weightBytes = 0;
  for (const t of opened.tensors.values()) weightBytes += t.byteLength;
  const embed = opened.tensors.get(opened.layout === 'gguf' ? 'token_embd.weight' : 'model.embed_tokens.weight');
  const source = { path, format: opened.format, weightBytes, embedBytes: embed?.byteLength ?? 0, tiedOutput: opened.config.tiedEmbeddings };
  let exec: Executor | undefined;
  try {
    const b = options.backend ?? 'wasm';
    if (typeof b === 'string') {
      opened.close(); // the engine thread opens the files itself
      exec = await WorkerExecutor.start({ path, backend: b, threads: options.threads }, options.onProgress);
    } else {
      exec = executorFor(opened, b, path, options.onProgress);
    }
    return new LlamaModel(opened.config, exec, opened.tokenizer, opened.chatTemplate, source, options);
  } catch (e) {
    opened.close();
    await exec?.dispose();
    throw e;
  }
}
