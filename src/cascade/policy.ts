/**
 * The cascade's policy as plain data: what counts as a confident small answer, what verification
 * score the big model must give, and where escalation resumes. Parsed from JSON (a string, a
 * file, or a preset name) and validated field by field, so a typo is an error, never a default.
 */
import { existsSync, readFileSync } from 'node:fs';
import { InvalidPolicyError } from './errors.js';

/** (a) Confidence from the small answer's own token log-probs. A criterion set to null is not checked. */
export interface ConfidencePolicy {
  /** Accept only if the mean token log-prob is at least this. */
  readonly minMeanLogprob: number | null;
  /** Accept only if every token's log-prob is at least this. */
  readonly minTokenLogprob: number | null;
  /** A token is in the tail when its log-prob is below this. */
  readonly tailLogprob: number;
  /** Accept only if at most this share (0..1) of the tokens is in the tail. */
  readonly maxTailShare: number | null;
}

/** (b) Verification: the answer's mean per-token log-likelihood under the big model. */
export interface VerifyPolicy {
  readonly minMeanLogprob: number;
}

/**
 * (c) Where the big model resumes: after the longest prefix of the small answer whose every token
 * is the big model's top-1 choice ('top1'), or whose every token has at least `minTokenLogprob`
 * under the big model; 'none' regenerates from the prompt.
 */
export type ResumePolicy = 'top1' | 'none' | { readonly minTokenLogprob: number };

export interface CascadePolicy {
  /** null: never accept on confidence alone (always verify or escalate). */
  readonly confidence: ConfidencePolicy | null;
  /** null: no verification; an unconfident answer escalates at once (resuming from nothing). */
  readonly verify: VerifyPolicy | null;
  readonly resume: ResumePolicy;
  /** Each call to an endpoint gives up after this long and the small answer is returned with a warning. */
  readonly timeoutMs: number;
}

/** A partial policy: what a request or a user overrides; the rest comes from the base policy. */
export interface CascadePolicyInput {
  readonly confidence?: Partial<ConfidencePolicy> | null;
  readonly verify?: Partial<VerifyPolicy> | null;
  readonly resume?: ResumePolicy;
  readonly timeoutMs?: number;
}

/**
 * Named presets. Log-prob thresholds are in nats per token: -0.5 ≈ the chosen token had p ≈ 0.6 on
 * average. They are starting points for trained Llama 3 models, not tuned values.
 */
export const POLICY_PRESETS = {
  balanced: {
    confidence: { minMeanLogprob: -0.35, minTokenLogprob: -4, tailLogprob: -2.3, maxTailShare: 0.1 },
    verify: { minMeanLogprob: -1 },
    resume: 'top1',
    timeoutMs: 30_000,
  },
  strict: {
    confidence: { minMeanLogprob: -0.15, minTokenLogprob: -2.3, tailLogprob: -1.2, maxTailShare: 0.05 },
    verify: { minMeanLogprob: -0.6 },
    resume: 'top1',
    timeoutMs: 30_000,
  },
  'always-verify': { confidence: null, verify: { minMeanLogprob: -1 }, resume: 'top1', timeoutMs: 30_000 },
  'always-escalate': { confidence: null, verify: null, resume: 'none', timeoutMs: 30_000 },
} as const satisfies Record<string, CascadePolicy>;

export type PolicyPresetName = keyof typeof POLICY_PRESETS;
export const DEFAULT_POLICY: CascadePolicy = POLICY_PRESETS.balanced;

const num = (v: unknown, field: string, opts: { nullable?: boolean; min?: number; max?: number } = {}): number | null => {
  if (v === null && opts.nullable) return null;
  if (typeof v !== 'number' || Number.isNaN(v)) throw new InvalidPolicyError(field, `must be a number${opts.nullable ? ' or null' : ''}, got ${JSON.stringify(v)}`);
  if (opts.min !== undefined && v < opts.min) throw new InvalidPolicyError(field, `must be ≥ ${opts.min}, got ${v}`);
  if (opts.max !== undefined && v > opts.max) throw new InvalidPolicyError(field, `must be ≤ ${opts.max}, got ${v}`);
  return v;
};

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function onlyKeys(o: Record<string, unknown>, keys: readonly string[], where: string): void {
  for (const k of Object.keys(o)) if (!keys.includes(k)) throw new InvalidPolicyError(where ? `${where}.${k}` : k, `is not a policy field (known: ${keys.join(', ')})`);
}

/**
 * Validates `input` (an object parsed from JSON, or typed) and fills what it leaves out from
 * `base`. A section given as null turns that stage off; given as an object it overrides field by field.
 */
export function resolvePolicy(input: unknown, base: CascadePolicy = DEFAULT_POLICY): CascadePolicy {
  if (input === undefined) return base;
  if (typeof input === 'string') return resolvePolicy(presetOrThrow(input), base);
  if (!isObject(input)) throw new InvalidPolicyError('policy', `must be an object or a preset name, got ${JSON.stringify(input)}`);
  onlyKeys(input, ['confidence', 'verify', 'resume', 'timeoutMs'], '');
  let confidence = base.confidence;
  if (input.confidence === null) confidence = null;
  else if (input.confidence !== undefined) {
    const c = input.confidence;
    if (!isObject(c)) throw new InvalidPolicyError('confidence', 'must be an object or null');
    onlyKeys(c, ['minMeanLogprob', 'minTokenLogprob', 'tailLogprob', 'maxTailShare'], 'confidence');
    const b = base.confidence ?? { minMeanLogprob: null, minTokenLogprob: null, tailLogprob: -2.3, maxTailShare: null };
    const pick = <K extends keyof ConfidencePolicy>(k: K): unknown => (k in c ? c[k] : b[k]);
    confidence = {
      minMeanLogprob: num(pick('minMeanLogprob'), 'confidence.minMeanLogprob', { nullable: true, max: 0 }),
      minTokenLogprob: num(pick('minTokenLogprob'), 'confidence.minTokenLogprob', { nullable: true, max: 0 }),
      tailLogprob: num(pick('tailLogprob'), 'confidence.tailLogprob', { max: 0 })!,
      maxTailShare: num(pick('maxTailShare'), 'confidence.maxTailShare', { nullable: true, min: 0, max: 1 }),
    };
  }
  let verify = base.verify;
  if (input.verify === null) verify = null;
  else if (input.verify !== undefined) {
    const v = input.verify;
    if (!isObject(v)) throw new InvalidPolicyError('verify', 'must be an object or null');
    onlyKeys(v, ['minMeanLogprob'], 'verify');
    const m = 'minMeanLogprob' in v ? v.minMeanLogprob : base.verify?.minMeanLogprob;
    if (m === undefined) throw new InvalidPolicyError('verify.minMeanLogprob', 'is required (the base policy has no verification)');
    verify = { minMeanLogprob: num(m, 'verify.minMeanLogprob', { max: 0 })! };
  }
  let resume = base.resume;
  if (input.resume !== undefined) {
    const r = input.resume;
    if (r === 'top1' || r === 'none') resume = r;
    else if (isObject(r)) {
      onlyKeys(r, ['minTokenLogprob'], 'resume');
      resume = { minTokenLogprob: num(r.minTokenLogprob, 'resume.minTokenLogprob', { max: 0 })! };
    } else throw new InvalidPolicyError('resume', `must be 'top1', 'none' or { minTokenLogprob }, got ${JSON.stringify(r)}`);
  }
  const timeoutMs = input.timeoutMs === undefined ? base.timeoutMs : num(input.timeoutMs, 'timeoutMs', { min: 1, max: 3_600_000 })!;
  return { confidence, verify, resume, timeoutMs };
}

function presetOrThrow(name: string): CascadePolicy {
  if (Object.hasOwn(POLICY_PRESETS, name)) return POLICY_PRESETS[name as PolicyPresetName];
  throw new InvalidPolicyError('preset', `'${name}' is not a preset (known: ${Object.keys(POLICY_PRESETS).join(', ')})`);
}

/**
 * `--escalate-policy`: a preset name, inline JSON (starts with '{'), or the path of a JSON file.
 */
export function parsePolicyArg(arg: string): CascadePolicy {
  const s = arg.trim();
  if (Object.hasOwn(POLICY_PRESETS, s)) return POLICY_PRESETS[s as PolicyPresetName];
  let text = s;
  if (!s.startsWith('{')) {
    if (!existsSync(s)) throw new InvalidPolicyError('policy', `'${s}' is neither a preset (${Object.keys(POLICY_PRESETS).join(', ')}), inline JSON, nor an existing file`);
    text = readFileSync(s, 'utf8');
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (e) {
    throw new InvalidPolicyError('policy', `is not valid JSON: ${(e as Error).message}`);
  }
  return resolvePolicy(parsed);
}
