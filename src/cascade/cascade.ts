/**
 * Verify-or-escalate: a small model answers; the answer is kept if the small model was confident
 * (a), or if the big model, scoring it in one prefill, finds it likely enough (b); otherwise the
 * big model writes the answer (c), continuing after the longest prefix of the small answer it
 * agrees with. An endpoint that fails or times out never fails the request: the small answer
 * comes back with a warning.
 */
import { LlamaModel } from '../model/model.js';
import type { FinishReason, GenerateOptions } from '../generate/options.js';
import { BadArgumentError, LlamaError } from '../errors/errors.js';
import { EndpointBigModel, LocalBigModel, type BigModel, type BigScore, type EndpointOptions } from './big-model.js';
import { confidenceScores, isConfident, type ConfidenceScores } from './confidence.js';
import { DEFAULT_POLICY, resolvePolicy, type CascadePolicy, type CascadePolicyInput, type PolicyPresetName, type ResumePolicy } from './policy.js';
import { CascadeStats } from './stats.js';

/** Which way the answer came: the small model's kept on confidence or on verification, the big model's, or the small one's because the big one failed. */
export type CascadePath = 'accept' | 'verify-accept' | 'escalate' | 'degraded';

export interface VerificationScores {
  /** Tokens scored: the small answer's, plus its end-of-sequence token when it stopped on one. */
  readonly tokens: number;
  readonly meanLogprob: number;
  readonly sumLogprob: number;
  /** Whether the mean passed the policy's verify threshold (false when verification is off). */
  readonly accepted: boolean;
  /** Leading answer tokens the big model agrees with (the resume rule of the policy). */
  readonly agreedPrefix: number;
}

export interface CascadeResult {
  readonly path: CascadePath;
  /** The answer. */
  readonly text: string;
  /** The answer's ids when known (always, except when an endpoint generated part of it). */
  readonly ids: readonly number[] | undefined;
  /** Tokens in the answer (an endpoint's own count for its part). */
  readonly completionTokens: number;
  readonly finishReason: FinishReason;
  readonly promptTokens: number;
  /** The small model's own answer. */
  readonly small: { readonly text: string; readonly ids: readonly number[]; readonly logprobs: readonly number[]; readonly finishReason: FinishReason };
  readonly confidence: ConfidenceScores & { readonly accepted: boolean };
  readonly verification?: VerificationScores;
  /** Small-answer tokens the big model continued from (path 'escalate'). */
  readonly resumedFrom?: number;
  /** Why the big model's part was skipped (path 'degraded'). */
  readonly warning?: string;
  readonly latencyMs: { readonly small: number; readonly verify?: number; readonly escalate?: number; readonly total: number };
}

export interface CascadeOptions {
  /** Preset name or policy; default 'balanced'. */
  readonly policy?: PolicyPresetName | CascadePolicyInput;
  /** For an endpoint big model. */
  readonly endpoint?: EndpointOptions;
}

export interface CascadeRunOptions extends GenerateOptions {
  /** Overrides the cascade's policy for this call (a preset name, or fields to replace). */
  readonly policy?: PolicyPresetName | CascadePolicyInput;
}

export class Cascade {
  readonly policy: CascadePolicy;
  readonly big: BigModel;
  readonly stats = new CascadeStats();

  /** `big`: a local model with the same tokenizer, an http(s) URL of an OpenAI-compatible server, or any BigModel. */
  constructor(
    readonly small: LlamaModel,
    big: LlamaModel | BigModel | string,
    options: CascadeOptions = {},
  ) {
    this.policy = resolvePolicy(options.policy, DEFAULT_POLICY);
    if (typeof big === 'string') this.big = new EndpointBigModel(big, options.endpoint);
    else if (big instanceof LlamaModel) {
      const local = new LocalBigModel(big);
      local.checkCompatible(small);
      this.big = local;
    } else this.big = big;
  }

  async run(prompt: string | readonly number[], options: CascadeRunOptions = {}): Promise<CascadeResult> {
    const t0 = performance.now();
    const { policy: override, ...gen } = options;
    if (gen.session || gen.responseFormat || (gen.logitsProcessors && gen.logitsProcessors.length > 0)) {
      throw new BadArgumentError('a cascade cannot hand a session, responseFormat or logitsProcessors to the big model; run those on one model');
    }
    const policy = resolvePolicy(override, this.policy);
    const promptIds = typeof prompt === 'string' ? this.small.tokenizer.encode(prompt, { addBos: gen.addBos, specials: gen.specials ?? 'plain' }) : [...prompt];

    // The small model's answer, with the log-prob of each token it chose.
    const h = this.small.submit(promptIds, gen);
    const ids: number[] = [];
    const logprobs: number[] = [];
    for await (const c of h.chunks) {
      ids.push(c.id);
      logprobs.push(c.logprob ?? 0);
    }
    const r = await h.result;
    const tSmall = performance.now();
    const small = { text: r.text, ids, logprobs, finishReason: r.finishReason };
    const conf = confidenceScores(logprobs, policy.confidence?.tailLogprob ?? DEFAULT_POLICY.confidence!.tailLogprob);
    const confident = policy.confidence !== null && isConfident(conf, policy.confidence);
    const base = { promptTokens: promptIds.length, small, confidence: { ...conf, accepted: confident } };
    const smallAnswer = { text: r.text, ids, completionTokens: ids.length, finishReason: r.finishReason };
    const done = (path: CascadePath, answer: typeof smallAnswer | { text: string; ids: readonly number[] | undefined; completionTokens: number; finishReason: FinishReason }, extra: Extra = {}): CascadeResult => {
      const t = performance.now();
      const result: CascadeResult = {
        ...base,
        ...answer,
        ...extra,
        path,
        latencyMs: { ...extra.latencyMs, small: tSmall - t0, total: t - t0 },
      };
      // A cancelled request is not an outcome of the policy: keep it out of the rates.
      if (r.finishReason !== 'abort' && !gen.signal?.aborted) this.stats.record(path, result.latencyMs.total, result.verification);
      return result;
    };
    // Nothing more to do: confident, cancelled, or nothing was generated.
    const scored = typeof r.stoppedBy === 'number' ? [...ids, r.stoppedBy] : ids;
    if (confident || r.finishReason === 'abort' || scored.length === 0) return done('accept', smallAnswer);
    const call = { signal: gen.signal, timeoutMs: policy.timeoutMs };
    const degrade = (e: unknown, extra: Extra): CascadeResult => {
      if (!this.big.remote || !(e instanceof LlamaError) || gen.signal?.aborted) throw e;
      return done('degraded', smallAnswer, { ...extra, warning: `${e.message}; answered by the small model alone` });
    };

    // (b) One prefill of the big model over prompt + answer.
    let verification: VerificationScores | undefined;
    let verifyMs: number | undefined;
    if (policy.verify !== null || policy.resume !== 'none') {
      let s: BigScore;
      try {
        s = await this.big.score([...promptIds, ...scored], promptIds.length, call);
      } catch (e) {
        return degrade(e, { latencyMs: { verify: performance.now() - tSmall } });
      }
      verifyMs = performance.now() - tSmall;
      const sum = s.logprobs.reduce((a, b) => a + b, 0);
      const mean = sum / s.logprobs.length;
      verification = {
        tokens: s.logprobs.length,
        meanLogprob: mean,
        sumLogprob: sum,
        accepted: policy.verify !== null && mean >= policy.verify.minMeanLogprob,
        agreedPrefix: agreedPrefix(s, ids.length, policy.resume),
      };
      if (verification.accepted) return done('verify-accept', smallAnswer, { verification, latencyMs: { verify: verifyMs } });
    }

    // (c) The big model writes the answer, continuing after the prefix it agrees with.
    let k = verification?.agreedPrefix ?? 0;
    // Never cut inside a character: the prefix text must decode cleanly on its own.
    while (k > 0 && this.small.tokenizer.decode(ids.slice(0, k)).endsWith('\uFFFD')) k--;
    const prefix = ids.slice(0, k);
    const prefixText = k > 0 ? this.small.tokenizer.decode(prefix) : '';
    const remaining = (gen.maxTokens ?? 256) - k;
    const tEsc = performance.now();
    const stages = { verify: verifyMs };
    if (remaining <= 0) return done('escalate', { text: prefixText, ids: prefix, completionTokens: k, finishReason: 'length' }, { verification, resumedFrom: k, latencyMs: { ...stages, escalate: 0 } });
    try {
      const g = await this.big.generate([...promptIds, ...prefix], { ...gen, maxTokens: remaining }, call);
      return done(
        'escalate',
        { text: prefixText + g.text, ids: g.ids ? [...prefix, ...g.ids] : undefined, completionTokens: k + g.completionTokens, finishReason: g.finishReason },
        { verification, resumedFrom: k, latencyMs: { ...stages, escalate: performance.now() - tEsc } },
      );
    } catch (e) {
      return degrade(e, { verification, latencyMs: { ...stages, escalate: performance.now() - tEsc } });
    }
  }
}

/** What a finished stage adds to the result. */
type Extra = Omit<Partial<CascadeResult>, 'latencyMs'> & { readonly latencyMs?: { readonly verify?: number; readonly escalate?: number } };

/** Leading answer tokens (of `answerLength`) that pass the resume rule. */
function agreedPrefix(s: BigScore, answerLength: number, rule: ResumePolicy): number {
  if (rule === 'none') return 0;
  let k = 0;
  while (k < answerLength && (rule === 'top1' ? s.top1[k]! : s.logprobs[k]! >= rule.minTokenLogprob)) k++;
  return k;
}

/** `cascade(small, big, options)`: the same as `new Cascade(...)`. */
export function cascade(small: LlamaModel, big: LlamaModel | BigModel | string, options: CascadeOptions = {}): Cascade {
  return new Cascade(small, big, options);
}
