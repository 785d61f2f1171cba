/**
 * The generic perplexity task: token-level NLL of a text (or of each `text` field of a JSONL file,
 * each document with its own BOS), with sliding windows. nll is the mean over scored tokens.
 */
import { BadArgumentError } from '../errors/errors.js';
import type { EvalBackend, PerplexityResult } from './types.js';

export interface PerplexityOptions {
  /** Window in tokens (default: the backend's context). */
  readonly ctx?: number;
  /** Window advance (default ctx/2). */
  readonly stride?: number;
  /** Score at most this many windows per document. */
  readonly limit?: number;
  /** Windows done / total in the current document (progress). */
  readonly onWindow?: (done: number, total: number) => void;
}

export async function perplexity(backend: EvalBackend, texts: readonly string[], o: PerplexityOptions = {}): Promise<PerplexityResult> {
  const ctx = o.ctx ?? backend.contextSize;
  const stride = o.stride ?? Math.max(1, Math.floor(ctx / 2));
  let nllSum = 0;
  let tokens = 0;
  for (const t of texts) {
    const r = await backend.rolling(t, { ctx, stride }, o.limit, o.onWindow);
    nllSum += r.nllSum;
    tokens += r.tokens;
  }
  if (tokens === 0) throw new BadArgumentError('perplexity: the text has no tokens to score');
  const nll = nllSum / tokens;
  return { ppl: Math.exp(nll), nll, tokens };
}
