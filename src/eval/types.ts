/** Shapes shared by the evaluation harness (`evaluate`, `llama-ts eval`). */

import type { ChatMessage, ToolDefinition } from '../chat/types.js';

/** A chat prompt: the turns so far, and text the assistant's reply starts with (Meta's "The best answer is"). */
export interface ChatPrompt {
  readonly messages: readonly ChatMessage[];
  readonly prefill?: string;
  /** Tools offered to the model (passed to the chat template; an endpoint gets them as `tools`). */
  readonly tools?: readonly ToolDefinition[];
}

/** One log-likelihood request, as lm-evaluation-harness phrases it: score `continuation` after `context`. */
export interface LoglikRequest {
  readonly context: string;
  readonly continuation: string;
}

export interface LoglikResult {
  /** Sum of the natural-log probabilities of the continuation's tokens. */
  readonly logprob: number;
  /** Whether every continuation token is the argmax of its row (the harness's `is_greedy`). */
  readonly greedy: boolean;
  /** Continuation tokens scored. */
  readonly tokens: number;
}

/** Token-level NLL of one text (perplexity). */
export interface RollingResult {
  /** Sum of −log p over the scored tokens. */
  readonly nllSum: number;
  /** Tokens scored (every token after BOS, once). */
  readonly tokens: number;
}

export interface WindowOptions {
  /** Tokens per window (BOS included in the first). */
  readonly ctx: number;
  /** How far each window starts after the previous one (1 ≤ stride < ctx). */
  readonly stride: number;
}

export interface GenerateRequest {
  /** Plain text, or chat turns (rendered with the model's template) and the reply's first words. */
  readonly prompt: string | ChatPrompt;
  readonly maxTokens: number;
  readonly stop: readonly string[];
  /** Sampling for pass@k with several samples (default greedy). */
  readonly temperature?: number;
  readonly seed?: number;
}

/**
 * What a task needs from a model: the local engine and an OpenAI-compatible endpoint both
 * implement it, so the same task gives comparable numbers on either.
 */
export interface EvalBackend {
  readonly name: string;
  loglikelihood(requests: readonly LoglikRequest[], onDone?: (index: number) => void): Promise<LoglikResult[]>;
  rolling(text: string, window: WindowOptions, limitWindows?: number, onWindow?: (done: number, total: number) => void): Promise<RollingResult>;
  generate(requests: readonly GenerateRequest[], onDone?: (index: number) => void): Promise<string[]>;
  /** Default window for perplexity (the model's context). */
  readonly contextSize: number;
}

export interface PerplexityResult {
  readonly ppl: number;
  readonly nll: number;
  readonly tokens: number;
}

export interface McResult {
  readonly acc: number;
  readonly acc_norm: number;
  readonly n: number;
}

/** One multiple-choice item of the generic `mc` task. */
export interface McItem {
  readonly context: string;
  readonly choices: readonly string[];
  readonly gold: number;
}

/** Per-item audit record (prompt, output, extracted answer, score). */
export interface EvalRecord {
  readonly index: number;
  readonly prompt: string;
  readonly target: string | number;
  /** Log-likelihood tasks: each choice's summed log-prob. */
  readonly logprobs?: readonly number[];
  /** Generative tasks: the raw output and what was extracted from it. */
  readonly output?: string;
  readonly extracted?: string;
  readonly scores: Readonly<Record<string, number>>;
}
