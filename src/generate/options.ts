/** Sampling settings. Defaults give greedy decoding (temperature 0). */
export interface SamplingOptions {
  /** 0 (default) = greedy argmax. */
  readonly temperature?: number;
  /** Keep only the k most likely tokens (0 = off). */
  readonly topK?: number;
  /** Nucleus sampling: smallest set with cumulative probability ≥ topP (1 = off). */
  readonly topP?: number;
  /** Drop tokens whose probability is below minP × the top probability (0 = off). */
  readonly minP?: number;
  /** Divide positive / multiply negative logits of already-seen tokens (1 = off, llama.cpp semantics). */
  readonly repetitionPenalty?: number;
  /** Subtract frequencyPenalty × count of each seen token (OpenAI semantics). */
  readonly frequencyPenalty?: number;
  /** Subtract presencePenalty once from each seen token. */
  readonly presencePenalty?: number;
  /** How many recent tokens the penalties look at (default 64; -1 = all). */
  readonly penaltyLastN?: number;
  /** Additive bias per token id. */
  readonly logitBias?: Readonly<Record<number, number>>;
  /** Seed for the sampler's own RNG (default: random). */
  readonly seed?: number;
}

export interface GenerateOptions extends SamplingOptions {
  /** Maximum new tokens (default 256). */
  readonly maxTokens?: number;
  /** Stop when the text contains any of these; the stop string itself is not emitted. */
  readonly stop?: readonly string[];
  /** Stop on these ids in addition to the model's EOS set. */
  readonly stopIds?: readonly number[];
  /** Do not stop on the model's EOS set (benchmarks). */
  readonly ignoreEos?: boolean;
  /** When the prompt is text: prepend BOS (default: the tokenizer's setting). */
  readonly addBos?: boolean;
  /** When the prompt is text: parse special-token text in it (default 'plain'). */
  readonly specials?: 'parse' | 'plain';
  /**
   * Constrain the output during decoding: JSON matching a schema, any JSON object, or a GBNF
   * grammar (src/generate/constrain). EOS is allowed only once the value is complete.
   */
  readonly responseFormat?: import('./constrain-processor.js').ResponseFormat;
  /** Edit each row of logits before sampling (constraints, tool_choice), in order. */
  readonly logitsProcessors?: readonly LogitsProcessor[];
  /** Continue in this session; cached tokens that match the prompt's prefix are reused. */
  readonly session?: import('../model/session.js').Session;
  readonly signal?: AbortSignal;
  /**
   * Speculative decoding (docs/speculative.md): a smaller model with the same vocabulary proposes
   * tokens, or 'lookup' proposes the continuation of an earlier n-gram of the prompt and output;
   * the model verifies them in one forward step. The output is the same as without it (greedy:
   * token for token; sampling: the same distribution).
   */
  readonly draft?: import('../model/model.js').LlamaModel | 'lookup';
  /** Most tokens drafted per step (default 8 with a draft model, 10 with lookup); K adapts below it. */
  readonly draftMax?: number;
  /** Keep K at draftMax instead of adapting it to the acceptance rate (tests, benchmarks). */
  readonly draftFixed?: boolean;
}

/**
 * A per-request hook on the logits (constrained decoding, tool_choice): edits one row in place
 * before sampling, e.g. -Infinity for tokens that may not come next.
 */
export interface LogitsProcessor {
  /**
   * row: [vocab] logits of the next token; generated: the tokens generated so far. May be called
   * for rows that are never taken (speculative decoding's draft rows), so state advances in accept.
   */
  process(row: Float32Array, generated: readonly number[]): void;
  /** The token that was chosen (advance any state). */
  accept?(id: number): void;
  /** Forget the last `count` accepted tokens (speculative decoding rolls back rejected drafts). */
  rollback?(count: number): void;
}

/** One generated token. `text` is the newly complete UTF-8 text (may be '' mid-character). */
export interface GenerateChunk {
  readonly id: number;
  readonly text: string;
  /** Natural-log probability of the chosen token under the (penalised, unscaled) distribution. */
  readonly logprob?: number;
}

export type FinishReason = 'stop' | 'length' | 'abort';

/** How the prompt's tokens were served (prefix cache). */
export interface PromptCacheUse {
  /** Prompt tokens whose KV came from a cache (a session's or the prefix cache) instead of being evaluated. */
  readonly reused: number;
  /** Prompt tokens actually evaluated. */
  readonly evaluated: number;
}

/** Returned by the generator when it finishes (the `return` value of the async generator). */
export interface GenerateResult {
  readonly ids: number[];
  readonly text: string;
  readonly finishReason: FinishReason;
  /** The EOS id or stop string that ended generation, if any. */
  readonly stoppedBy?: number | string;
  readonly promptTokens: number;
  readonly cache?: PromptCacheUse;
  readonly timings: { readonly prefillMs: number; readonly decodeMs: number; readonly prefillTps: number; readonly decodeTps: number };
  /** Speculative decoding's counts (only with `draft`). */
  readonly draft?: DraftStats;
}

/** What speculative decoding proposed and kept. */
export interface DraftStats {
  /** Tokens proposed by the draft model or lookup. */
  readonly drafted: number;
  /** Proposed tokens the model accepted. */
  readonly accepted: number;
  /** Forward steps of the model (verifications); tokens per step = ids / steps. */
  readonly steps: number;
}
