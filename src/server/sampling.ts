import type { GenerateOptions, LogitsProcessor } from '../generate/options.js';

/** The sampling fields shared by /v1/chat/completions and /v1/completions. */
export interface SamplingBody {
  readonly temperature?: number | null;
  readonly top_p?: number | null;
  readonly top_k?: number | null;
  readonly min_p?: number | null;
  readonly max_tokens?: number | null;
  readonly max_completion_tokens?: number | null;
  readonly stop?: string | readonly string[] | null;
  readonly seed?: number | null;
  readonly presence_penalty?: number | null;
  readonly frequency_penalty?: number | null;
  readonly repeat_penalty?: number | null;
  readonly logit_bias?: Readonly<Record<string, number>> | null;
  readonly n?: number | null;
}

/** OpenAI's defaults: temperature 1, top_p 1, 16 tokens for completions (chat: up to the context). */
export function generateOptions(b: SamplingBody, defaultMax: number, choice: number): GenerateOptions {
  const bias: Record<number, number> = {};
  for (const [k, v] of Object.entries(b.logit_bias ?? {})) bias[Number(k)] = v;
  const seed = b.seed ?? undefined;
  return {
    temperature: b.temperature ?? 1,
    topP: b.top_p ?? 1,
    topK: b.top_k ?? 0,
    minP: b.min_p ?? 0,
    maxTokens: b.max_completion_tokens ?? b.max_tokens ?? defaultMax,
    stop: b.stop === undefined || b.stop === null ? [] : typeof b.stop === 'string' ? [b.stop] : [...b.stop],
    // n choices from one seed: each its own stream, reproducible.
    seed: seed === undefined ? undefined : (seed + choice) >>> 0,
    presencePenalty: b.presence_penalty ?? 0,
    frequencyPenalty: b.frequency_penalty ?? 0,
    repetitionPenalty: b.repeat_penalty ?? 1,
    penaltyLastN: -1,
    logitBias: bias,
  };
}

export interface TopLogprob {
  readonly id: number;
  readonly logprob: number;
}

/**
 * Watches each row (before sampling) and keeps the k most likely tokens with their log-probs
 * under the model's distribution, one entry per step, for `logprobs` / `top_logprobs`.
 */
export class TopLogprobs implements LogitsProcessor {
  readonly steps: TopLogprob[][] = [];
  private last: TopLogprob[] = [];
  constructor(private readonly k: number) {}

  // Recorded when the token is taken: speculative decoding also shows draft rows to process().
  process(row: Float32Array): void {
    this.last = topLogprobs(row, this.k);
  }

  accept(): void {
    this.steps.push(this.last);
  }

  rollback(count: number): void {
    this.steps.length -= count;
  }
}

/** log Σ exp(row). */
export function logSumExp(row: Float32Array): number {
  let max = -Infinity;
  for (let i = 0; i < row.length; i++) if (row[i]! > max) max = row[i]!;
  let sum = 0;
  for (let i = 0; i < row.length; i++) sum += Math.exp(row[i]! - max);
  return max + Math.log(sum);
}

/** The k most likely tokens of a row with their log-probs (ties by lower id), without sorting the row. */
export function topLogprobs(row: Float32Array, k: number): TopLogprob[] {
  const logZ = logSumExp(row);
  const top: TopLogprob[] = [];
  if (k <= 0) return top;
  for (let i = 0; i < row.length; i++) {
    const v = row[i]!;
    if (top.length < k || v > top[top.length - 1]!.logprob) {
      let j = top.length;
      while (j > 0 && top[j - 1]!.logprob < v) j--;
      top.splice(j, 0, { id: i, logprob: v });
      if (top.length > k) top.pop();
    }
  }
  return top.map((t) => ({ id: t.id, logprob: t.logprob - logZ }));
}
