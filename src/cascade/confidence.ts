import type { ConfidencePolicy } from './policy.js';

/** How sure the small model was of its own answer, from the log-prob of each token it chose. */
export interface ConfidenceScores {
  readonly tokens: number;
  /** Mean log-prob per token (0 for an empty answer). */
  readonly meanLogprob: number;
  /** The least likely token's log-prob (0 for an empty answer). */
  readonly minLogprob: number;
  /** Share of tokens whose log-prob is below the policy's tailLogprob. */
  readonly tailShare: number;
}

export function confidenceScores(logprobs: readonly number[], tailLogprob: number): ConfidenceScores {
  const n = logprobs.length;
  if (n === 0) return { tokens: 0, meanLogprob: 0, minLogprob: 0, tailShare: 0 };
  let sum = 0;
  let min = Infinity;
  let tail = 0;
  for (const lp of logprobs) {
    sum += lp;
    if (lp < min) min = lp;
    if (lp < tailLogprob) tail++;
  }
  return { tokens: n, meanLogprob: sum / n, minLogprob: min, tailShare: tail / n };
}

/** Every criterion the policy sets must hold; one left null is not checked. */
export function isConfident(s: ConfidenceScores, p: ConfidencePolicy): boolean {
  if (p.minMeanLogprob !== null && s.meanLogprob < p.minMeanLogprob) return false;
  if (p.minTokenLogprob !== null && s.minLogprob < p.minTokenLogprob) return false;
  if (p.maxTailShare !== null && s.tailShare > p.maxTailShare) return false;
  return true;
}
