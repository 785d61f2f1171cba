import type { GenerateChunk } from '../options.js';
import type { Generation } from '../generation.js';
import { exactAcceptRule, proposalProbability, residual, type AcceptRule } from './accept.js';

export interface VerifyOutcome {
  /** Drafted tokens kept. */
  readonly accepted: number;
  /** Every token taken this round, in order: the kept drafts, then the replacement or bonus token (if any). */
  readonly sampled: number[];
  readonly chunks: GenerateChunk[];
}

/**
 * One verification: `rows` holds the target's logits after [last, d1..dk] (k + 1 rows of `vocab`).
 * Row i is judged with the generation's state after the tokens kept before it, so processors,
 * penalties, stop ids, stop strings and maxTokens act exactly as they would one token at a time.
 * Greedy keeps d(i) when it is the argmax (the output is plain greedy's); sampling uses modified
 * rejection sampling with `rule`. Stops at the first rejection (after its replacement), or after a
 * bonus token from the last row when every draft was kept.
 */
export function verifyDrafts(
  gen: Generation,
  drafts: readonly number[],
  qs: readonly (Float64Array | undefined)[],
  rows: Float32Array,
  vocab: number,
  rule: AcceptRule = exactAcceptRule,
): VerifyOutcome {
  let accepted = 0;
  const sampled: number[] = [];
  const chunks: GenerateChunk[] = [];
  const take = (id: number, logprob: number): void => {
    sampled.push(id);
    for (const c of gen.push(id, logprob)) chunks.push(c);
  };
  for (let i = 0; i <= drafts.length && !gen.done; i++) {
    const row = rows.subarray(i * vocab, (i + 1) * vocab);
    if (i === drafts.length || gen.greedy) {
      // Plain decoding's own draw: the bonus token, or greedy's argmax to compare with the draft.
      const r = gen.sample(row);
      take(r.id, r.logprob);
      if (i < drafts.length && r.id === drafts[i]) {
        accepted++;
        continue;
      }
      break;
    }
    const d = drafts[i]!;
    const p = gen.distribution(row);
    if (rule(p.probs[d]!, proposalProbability(d, qs[i]), gen.uniform())) {
      take(d, p.logprob(d));
      accepted++;
      continue;
    }
    const id = gen.drawWeights(residual(p.probs, d, qs[i]));
    take(id, p.logprob(id));
    break;
  }
  return { accepted, sampled, chunks };
}
