/**
 * Sliding windows for perplexity, as in Hugging Face's perplexity guide and lm-evaluation-harness's
 * rolling windows: window k covers tokens [k·stride, k·stride + ctx) and scores only the tokens no
 * earlier window scored, each conditioned on everything before it inside its window. Token 0 (BOS)
 * is never scored; every later token is scored exactly once. stride < ctx keeps the first token
 * of every window as context (with stride = ctx it would go unscored, the guide's blind spot).
 */
import { BadArgumentError } from '../errors/errors.js';

export interface Window {
  /** First token of the window (absolute index). */
  readonly begin: number;
  /** One past its last token. */
  readonly end: number;
  /** First token it scores (absolute; ≥ begin + 1). */
  readonly from: number;
}

export function planWindows(length: number, ctx: number, stride: number): Window[] {
  if (!Number.isInteger(ctx) || ctx < 2) throw new BadArgumentError(`--ctx must be an integer ≥ 2, got ${ctx}`);
  if (!Number.isInteger(stride) || stride < 1 || stride >= ctx) throw new BadArgumentError(`--stride must be an integer in [1, ctx-1] (ctx ${ctx}), got ${stride}`);
  const out: Window[] = [];
  let scored = 1; // tokens [0, scored) are done
  for (let begin = 0; scored < length; begin += stride) {
    const end = Math.min(begin + ctx, length);
    out.push({ begin, end, from: Math.max(scored, begin + 1) });
    scored = end;
  }
  return out;
}
