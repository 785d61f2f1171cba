import type { BackendInfo, KVDType, WorkSharing } from '../backend/backend.js';
import type { LlamaConfig } from '../config/config.js';
import type { Tokenizer } from '../tokenizer/types.js';
import type { GenerateChunk, GenerateOptions, GenerateResult } from '../generate/options.js';
import type { Executor, OpProfile } from '../engine/executor.js';
import type { LoadOptions } from './load.js';
import type { Model } from './types.js';
import { KVManager, type PrefixCacheStats } from '../engine/kv-manager.js';
import { Scheduler, type RequestHandle, type SchedulerStats } from '../engine/scheduler.js';
import { Session, type SessionOptions } from './session.js';
import { compileResponseFormat, constraintProcessor } from '../generate/constrain-processor.js';
import { BadArgumentError, DisposedError, LlamaError } from '../errors/errors.js';
import type { DraftStats } from '../generate/options.js';
import { submitSpeculative } from '../generate/speculative/driver.js';
import { LookupDrafter, ModelDrafter, type Drafter } from '../generate/speculative/drafter.js';
import { checkDraftCompatible } from '../generate/speculative/compat.js';
import type { Sequence } from '../engine/kv-manager.js';

/** Where a model came from, for `info`, `bench` and error messages. */
export interface ModelSource {
  readonly path: string;
  readonly format: 'gguf' | 'hf' | 'llama2c';
  /** Bytes of weights in the file(s). */
  readonly weightBytes: number;
  /** Bytes of the token embedding (not read per token unless it is also the output head). */
  readonly embedBytes: number;
  readonly tiedOutput: boolean;
}

export interface ModelStats extends SchedulerStats {
  readonly prefixCache: PrefixCacheStats;
  /** Speculative decoding totals over finished requests that used a draft (requests: how many). */
  readonly draft: DraftStats & { readonly requests: number };
}

/** Default most tokens drafted per round: a draft model's steps cost time, lookup's do not. */
const DEFAULT_DRAFT_MAX = { model: 8, lookup: 10 } as const;

const DEFAULT_PREFIX_CACHE = 512 * 2 ** 20;

export class LlamaModel implements Model {
  readonly scheduler: Scheduler;
  /** Context of a sequence that does not choose one. */
  readonly contextSize: number;
  readonly defaultKVDType: KVDType;
  private readonly tok: Tokenizer | undefined;
  private disposed = false;
  private readonly draftTotals = { drafted: 0, accepted: 0, steps: 0, requests: 0 };

  constructor(
    readonly config: LlamaConfig,
    private readonly exec: Executor,
    tokenizer: Tokenizer | undefined,
    readonly chatTemplate: string | undefined,
    readonly source: ModelSource,
    options: LoadOptions = {},
  ) {
    this.tok = tokenizer;
    this.contextSize = Math.min(options.contextSize ?? Math.min(config.contextLength, 4096), config.contextLength);
    this.defaultKVDType = options.kvDType ?? 'f32';
    const kv = new KVManager(exec, { layers: config.numLayers, kvHeads: config.numKVHeads, headDim: config.headDim }, options.prefixCacheBytes ?? DEFAULT_PREFIX_CACHE);
    this.scheduler = new Scheduler(exec, kv, {
      vocabSize: config.vocabSize,
      eosIds: config.eosTokenIds,
      tokenizer,
      contextSize: this.contextSize,
      kvDType: this.defaultKVDType,
      maxSequences: options.maxSequences ?? 16,
      maxQueue: options.maxQueue ?? 256,
      stepMs: options.stepMs ?? 250,
      maxBatch: 512,
    });
  }

  /** The backend computing this model (name, threads, SIMD flavour). */
  get backendInfo(): BackendInfo {
    return this.exec.info;
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
    this.check();
    const capacity = options.contextSize ?? this.contextSize;
    if (!Number.isInteger(capacity) || capacity <= 0) throw new BadArgumentError(`contextSize must be a positive integer, got ${capacity}`);
    const dtype = options.kvDType ?? this.defaultKVDType;
    if (dtype !== 'f32' && dtype !== 'f16') throw new BadArgumentError(`kvDType is 'f32' or 'f16', got ${String(dtype)}`);
    return new Session(this.scheduler, this.scheduler.kv.create(capacity, dtype));
  }

  async logits(ids: readonly number[], options: { startPos?: number } = {}): Promise<Float32Array> {
    this.check();
    if (!Array.isArray(ids) || ids.length === 0) throw new BadArgumentError('logits() needs at least one token');
    const s = this.session({ contextSize: ids.length });
    try {
      return await s.eval(ids, { startPos: options.startPos ?? 0 });
    } finally {
      s.dispose();
    }
  }

  /** Submits a generation to the scheduler: concurrent calls are decoded together. */
  submit(prompt: string | readonly number[], opts: GenerateOptions = {}): RequestHandle {
    this.check();
    const ids = this.promptIds(prompt, opts);
    const options = this.withResponseFormat(opts);
    const session = options.session;
    const start = this.starter(options);
    if (!session) return start({ ...options, prompt: ids });
    // A session runs one thing at a time: the request waits for earlier calls on it, then holds
    // the session until it ends; its chunks stream as they come.
    let handle: RequestHandle | undefined;
    let cancelled = false;
    let ready!: (h: RequestHandle | undefined) => void;
    let failed!: (e: unknown) => void;
    const started = new Promise<RequestHandle | undefined>((res, rej) => {
      ready = res;
      failed = rej;
    });
    void session
      .exclusive(async () => {
        if (cancelled) return ready(undefined);
        try {
          handle = start({ ...options, prompt: ids, sequence: session.sequence });
        } catch (e) {
          return failed(e);
        }
        ready(handle);
        await handle.result.catch(() => {});
      })
      .catch(failed);
    async function* chunks(): AsyncGenerator<GenerateChunk> {
      const h = await started;
      if (h) yield* h.chunks;
    }
    const result = started.then((h) => (h ? h.result : Promise.reject(new LlamaError('BAD_ARGUMENT', 'cancelled before it started'))));
    result.catch(() => {}); // the chunks' iterator rethrows the same error
    return {
      chunks: chunks(),
      result,
      cancel: () => {
        cancelled = true;
        handle?.cancel();
      },
    };
  }

  async *generate(prompt: string | readonly number[], options: GenerateOptions = {}): AsyncGenerator<GenerateChunk, GenerateResult, void> {
    const h = this.submit(prompt, options);
    try {
      yield* h.chunks;
      return await h.result;
    } finally {
      h.cancel(); // the consumer stopped early: free the sequence now
    }
  }

  /**
   * How a request starts: the scheduler's own decoding, or speculative decoding driven through it
   * (options.draft), with the draft checked against this model's vocabulary first.
   */
  private starter(options: GenerateOptions): (req: GenerateOptions & { prompt: readonly number[]; sequence?: Sequence }) => RequestHandle {
    const draft = options.draft;
    if (draft === undefined) return (req) => this.scheduler.submit(req);
    if (draft !== 'lookup' && !(draft instanceof LlamaModel)) throw new BadArgumentError(`draft is a loaded LlamaModel or 'lookup', got ${String(draft)}`);
    const draftMax = options.draftMax ?? DEFAULT_DRAFT_MAX[draft === 'lookup' ? 'lookup' : 'model'];
    if (!Number.isInteger(draftMax) || draftMax < 1 || draftMax > 64) throw new BadArgumentError(`draftMax must be an integer in 1..64, got ${draftMax}`);
    if (draft !== 'lookup') {
      if (draft === this) throw new BadArgumentError('a model cannot be its own draft');
      draft.check();
      checkDraftCompatible(this, draft);
    }
    return (req) => {
      // The draft holds what the target may: a session's context, else the prompt plus maxTokens.
      const capacity = req.sequence ? req.sequence.capacity : Math.min(this.contextSize, req.prompt.length + (req.maxTokens ?? 256));
      // The draft's RNG is seeded from the request's, so a seeded request repeats exactly.
      const seed = ((req.seed ?? Math.floor(Math.random() * 2 ** 32)) ^ 0x5bd1e995) >>> 0;
      const drafter: Drafter = draft === 'lookup' ? new LookupDrafter() : new ModelDrafter(draft, capacity, seed);
      const target = { scheduler: this.scheduler, vocabSize: this.config.vocabSize, eosIds: this.config.eosTokenIds, tokenizer: this.tok, contextSize: this.contextSize, kvDType: req.sequence?.dtype ?? this.defaultKVDType };
      return submitSpeculative(target, req, drafter, {
        draftMax,
        fixed: req.draftFixed ?? false,
        onFinish: (s) => {
          this.draftTotals.drafted += s.drafted;
          this.draftTotals.accepted += s.accepted;
          this.draftTotals.steps += s.steps;
          this.draftTotals.requests++;
        },
      });
    };
  }

  /** responseFormat becomes a constraint processor ahead of any others. */
  private withResponseFormat(o: GenerateOptions): GenerateOptions {
    if (!o.responseFormat) return o;
    const constraint = compileResponseFormat(o.responseFormat, this.tokenizer);
    const stops = [...(o.ignoreEos ? [] : this.config.eosTokenIds), ...(o.stopIds ?? [])];
    return { ...o, logitsProcessors: [constraintProcessor(constraint, stops), ...(o.logitsProcessors ?? [])] };
  }

  private promptIds(prompt: string | readonly number[], options: GenerateOptions): number[] {
    if (typeof prompt === 'string') return this.tokenizer.encode(prompt, { addBos: options.addBos, specials: options.specials ?? 'plain' });
    if (!Array.isArray(prompt)) throw new BadArgumentError('the prompt is a string or an array of token ids');
    return [...(prompt as readonly number[])];
  }

  /** Scheduler and prefix-cache counters (tokens evaluated, requests, cache hits). */
  stats(): ModelStats {
    return { ...this.scheduler.stats, finished: { ...this.scheduler.stats.finished }, prefixCache: { ...this.scheduler.kv.stats }, draft: { ...this.draftTotals } };
  }

  measureReadBandwidth(): Promise<number | undefined> {
    this.check();
    return this.exec.measureReadBandwidth();
  }

  /** How the backend's threads shared out work (wasm: chunks run, and how many by a thread other than their owner). */
  workSharing(): Promise<WorkSharing | undefined> {
    this.check();
    return this.exec.workSharing();
  }

  /** Per-op time on the backend (LLAMA_TS_WASM_PROFILE=1), optionally cleared. */
  profile(clear = false): Promise<OpProfile | undefined> {
    this.check();
    return this.exec.profile(clear);
  }

  /** Throws DISPOSED after dispose() (also asked of a draft model before it drafts). */
  check(): void {
    if (this.disposed) throw new DisposedError('the model');
  }

  async dispose(): Promise<void> {
    if (this.disposed) return;
    this.disposed = true;
    this.scheduler.dispose();
    await this.exec.dispose();
  }

  toJSON(): object {
    const c = this.config;
    return {
      kind: 'LlamaModel',
      path: this.source.path,
      format: this.source.format,
      backend: this.exec.info,
      layers: c.numLayers,
      hiddenSize: c.hiddenSize,
      vocabSize: c.vocabSize,
      contextSize: this.contextSize,
      disposed: this.disposed,
    };
  }
  [Symbol.for('nodejs.util.inspect.custom')](): string {
    return `LlamaModel ${JSON.stringify(this.toJSON())}`;
  }
}
