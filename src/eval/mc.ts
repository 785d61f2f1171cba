/**
 * Multiple choice by log-likelihood, lm-evaluation-harness's `acc` and `acc_norm`: each choice is
 * scored as a continuation of the context; acc picks the largest summed log-prob, acc_norm the
 * largest log-prob per UTF-8 byte of the choice (the harness divides by Python len(), which is
 * the same on ASCII). Ties go to the first choice, as numpy's argmax.
 */
import { BadArgumentError } from '../errors/errors.js';
import { argmax } from './logprob.js';
import type { EvalBackend, EvalRecord, LoglikRequest, McItem, McResult } from './types.js';

const utf8 = new TextEncoder();

export function checkMcItem(v: Record<string, unknown>, where: string): McItem {
  const { context, choices, gold } = v;
  if (typeof context !== 'string') throw new BadArgumentError(`${where}: "context" must be a string`);
  if (!Array.isArray(choices) || choices.length < 1 || !choices.every((c) => typeof c === 'string')) throw new BadArgumentError(`${where}: "choices" must be a non-empty array of strings`);
  if (typeof gold !== 'number' || !Number.isInteger(gold) || gold < 0 || gold >= choices.length) throw new BadArgumentError(`${where}: "gold" must be an index into choices`);
  return { context, choices: choices as string[], gold };
}

/** Scores of one item from its choices' log-probs; acc_norm divides by the UTF-8 bytes of `normTexts`. */
export function mcScores(item: { readonly choices: readonly string[]; readonly gold: number }, logprobs: readonly number[]): { acc: number; acc_norm: number } {
  const norm = logprobs.map((lp, i) => lp / Math.max(1, utf8.encode(item.choices[i]!).length));
  return { acc: argmax(logprobs) === item.gold ? 1 : 0, acc_norm: argmax(norm) === item.gold ? 1 : 0 };
}

/** One multiple-choice item as requests: per choice a (context, continuation) pair. */
export interface McRequests {
  readonly requests: readonly LoglikRequest[];
  readonly normTexts: readonly string[];
  readonly gold: number;
  readonly prompt: string;
}

/** Scores items (all their requests go to the backend at once, so it can batch and share prefixes). */
export async function scoreMc(backend: EvalBackend, items: readonly McRequests[], onRecord?: (r: EvalRecord) => void, onProgress?: () => void): Promise<McResult> {
  if (items.length === 0) throw new BadArgumentError('mc: no items');
  const reqs = items.flatMap((it) => it.requests);
  const owner = items.flatMap((it, i) => it.requests.map(() => i));
  const left = items.map((it) => it.requests.length);
  const res = await backend.loglikelihood(reqs, (k) => {
    if (--left[owner[k]!]! === 0) onProgress?.();
  });
  let acc = 0;
  let accNorm = 0;
  let k = 0;
  items.forEach((it, i) => {
    const lps = it.requests.map(() => res[k++]!.logprob);
    const s = mcScores({ choices: it.normTexts, gold: it.gold }, lps);
    acc += s.acc;
    accNorm += s.acc_norm;
    onRecord?.({ index: i, prompt: it.prompt, target: it.gold, logprobs: lps, scores: s });
  });
  return { acc: acc / items.length, acc_norm: accNorm / items.length, n: items.length };
}

/** The generic `mc` task: each choice scored as it is after the context. */
export function multipleChoice(backend: EvalBackend, items: readonly McItem[], onRecord?: (r: EvalRecord) => void, onProgress?: () => void): Promise<McResult> {
  return scoreMc(
    backend,
    items.map((it) => ({ requests: it.choices.map((c) => ({ context: it.context, continuation: c })), normTexts: it.choices, gold: it.gold, prompt: it.context })),
    onRecord,
    onProgress,
  );
}
