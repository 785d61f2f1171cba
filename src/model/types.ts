import type { LlamaConfig } from '../config/config.js';
import type { Tokenizer } from '../tokenizer/types.js';
import type { GenerateChunk, GenerateOptions, GenerateResult } from '../generate/options.js';
import type { Session, SessionOptions } from './session.js';

/** The public face of a loaded model (what `loadModel` returns). */
export interface Model {
  readonly config: LlamaConfig;
  readonly tokenizer: Tokenizer;
  /** The model's own Jinja chat template (tokenizer_config.json / GGUF), if it has one. */
  readonly chatTemplate: string | undefined;
  /** Logits of every position for a fresh sequence: row-major [ids.length × vocab]. */
  logits(ids: readonly number[], options?: { startPos?: number }): Promise<Float32Array>;
  /** A sequence with its own KV cache. */
  session(options?: SessionOptions): Session;
  /** Streams generated tokens; the generator's return value summarises the run. */
  generate(prompt: string | readonly number[], options?: GenerateOptions): AsyncGenerator<GenerateChunk, GenerateResult, void>;
  dispose(): Promise<void>;
}
