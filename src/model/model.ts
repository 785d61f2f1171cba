import type { Backend, KVDType } from '../backend/backend.js';
import type { LlamaConfig } from '../config/config.js';
import type { Tokenizer } from '../tokenizer/types.js';
import type { GenerateChunk, GenerateOptions, GenerateResult } from '../generate/options.js';
import type { Model } from './types.js';
import type { ModelWeights } from './weights.js';
import { LlamaForward } from './llama.js';
import { Session, type SessionOptions } from './session.js';
import { generateStream } from '../generate/generate.js';
import { BadArgumentError, LlamaError } from '../errors/errors.js';

/** Where a model came from, for `info` and error messages. */
export interface ModelSource {
  readonly path: string;
  readonly format: 'gguf' | 'hf' | 'llama2c';
  /** Bytes of weights handed to the backend. */
  readonly weightBytes: number;
}

export class LlamaModel implements Model {
  readonly forwardPass: LlamaForward;
  private readonly tok: Tokenizer | undefined;
  private readonly closeSources: () => void;

  constructor(
    readonly config: LlamaConfig,
    readonly backend: Backend,
    weights: ModelWeights,
    tokenizer: Tokenizer | undefined,
    readonly chatTemplate: string | undefined,
    readonly source: ModelSource,
    closeSources: () => void = () => {},
    /** KV cache type for sessions that do not choose one. */
    readonly defaultKVDType: KVDType = 'f32',
  ) {
    this.forwardPass = new LlamaForward(config, backend, weights);
    this.tok = tokenizer;
    this.closeSources = closeSources;
  }

  get hasTokenizer(): boolean {
    return this.tok !== undefined;
  }

  get tokenizer(): Tokenizer {
    if (!this.tok) {
      throw new LlamaError('TOKENIZER_ERROR', `${this.source.path} has no tokenizer; pass options.tokenizer to loadModel, or give token ids`);
    }
    return this.tok;
  }

  session(options: SessionOptions = {}): Session {
    return new Session(this.forwardPass, { ...options, kvDType: options.kvDType ?? this.defaultKVDType });
  }

  async logits(ids: readonly number[], options: { startPos?: number } = {}): Promise<Float32Array> {
    if (ids.length === 0) throw new BadArgumentError('logits() needs at least one token');
    const s = this.session({ contextSize: ids.length });
    try {
      return await s.eval(ids, { startPos: options.startPos ?? 0 });
    } finally {
      s.dispose();
    }
  }

  async *generate(prompt: string | readonly number[], options: GenerateOptions = {}): AsyncGenerator<GenerateChunk, GenerateResult, void> {
    const ids =
      typeof prompt === 'string'
        ? this.tokenizer.encode(prompt, { addBos: options.addBos, specials: options.specials ?? 'plain' })
        : [...prompt];
    const own = options.session === undefined;
    const session = options.session ?? this.session();
    try {
      return yield* generateStream(session, this.tok, this.config.eosTokenIds, ids, options);
    } finally {
      if (own) session.dispose();
    }
  }

  async dispose(): Promise<void> {
    this.forwardPass.freeScratch();
    this.closeSources();
    await this.backend.dispose();
  }
}
