import { existsSync, statSync } from 'node:fs';
import { detectFormat as detectContainer } from '../formats/detect.js';
import { dirname, join } from 'node:path';
import type { Backend, KVDType } from '../backend/backend.js';
import type { LlamaConfig } from '../config/config.js';
import type { TensorRecord } from '../formats/types.js';
import type { Tokenizer } from '../tokenizer/types.js';
import { RefBackend } from '../backend/ref/ref-backend.js';
import { readGGUF, ggufString } from '../formats/gguf.js';
import { readHFModel } from '../formats/hf-folder.js';
import { readLlama2c } from '../formats/llama2c.js';
import { configFromGGUF } from '../config/from-gguf.js';
import { loadTokenizer, tokenizerFromGGUFMetadata } from '../tokenizer/load.js';
import { loadWeights, type TensorLayout, type WeightLoadProgress } from './weights.js';
import { LlamaModel } from './model.js';

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
  /** Default KV cache type for sessions of this model. */
  readonly kvDType?: KVDType;
}

export type ContainerFormat = 'gguf' | 'hf' | 'llama2c';

/** The container a path holds, decided from its contents (see formats/detect.ts). */
export function detectFormat(path: string): ContainerFormat {
  const f = detectContainer(path);
  return f === 'gguf' ? 'gguf' : f === 'llama2c' ? 'llama2c' : 'hf';
}

async function makeBackend(options: LoadOptions): Promise<Backend> {
  const b = options.backend ?? 'wasm';
  if (typeof b !== 'string') return b;
  if (b === 'ref') return new RefBackend();
  const { createWasmBackend } = await import('../backend/wasm/index.js');
  return createWasmBackend({ threads: options.threads, kvDType: options.kvDType });
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

async function open(path: string, format: ContainerFormat, options: Pick<LoadOptions, 'tokenizer'>): Promise<OpenedModel> {
  const extraTokenizer = options.tokenizer ? await loadTokenizer(options.tokenizer) : undefined;
  switch (format) {
    case 'gguf': {
      const f = readGGUF(path);
      try {
        const tensors = new Map(f.tensors.map((t) => [t.name, t as TensorRecord]));
        const config = configFromGGUF(f.metadata, tensors);
        const tokenizer = extraTokenizer ?? (f.metadata.has('tokenizer.ggml.tokens') ? tokenizerFromGGUFMetadata(f.metadata) : undefined);
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
      if (!tokenizer && (existsSync(join(folder, 'tokenizer.json')) || existsSync(join(folder, 'tokenizer.model')))) {
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
      if (!tokenizer && existsSync(beside)) {
        tokenizer = await loadTokenizer(beside).catch((e: unknown) => {
          m.close();
          throw e;
        });
      }
      return { format, config: m.config, tensors: m.tensors, layout: 'llama2c', tokenizer, chatTemplate: undefined, close: () => m.close() };
    }
  }
}

/**
 * Loads a model from a Hugging Face folder (or one .safetensors file beside config.json),
 * a GGUF file, or a llama2.c .bin checkpoint. Weights are read once, tensor by tensor.
 */
export async function loadModel(path: string, options: LoadOptions = {}): Promise<LlamaModel> {
  const opened = await openModelFiles(path, options);
  let backend: Backend | undefined;
  try {
    backend = await makeBackend(options);
    const weights = loadWeights(opened.config, opened.tensors, opened.layout, backend, path, options.onProgress);
    let weightBytes = 0;
    for (const t of opened.tensors.values()) weightBytes += t.byteLength;
    return new LlamaModel(opened.config, backend, weights, opened.tokenizer, opened.chatTemplate, { path, format: opened.format, weightBytes }, () => opened.close(), options.kvDType);
  } catch (e) {
    opened.close();
    await backend?.dispose();
    throw e;
  }
}
