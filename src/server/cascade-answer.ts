/**
 * The request side of the cascade: whether a request goes through it (the server's --escalate-to
 * and the body's `escalate` field), and the answer's extra field and header.
 */
import type { FastifyReply } from 'fastify';
import type { CascadePolicyInput, PolicyPresetName } from '../cascade/policy.js';
import { resolvePolicy } from '../cascade/policy.js';
import type { CascadeResult } from '../cascade/cascade.js';
import type { ServerContext } from './context.js';
import { HttpError } from './errors.js';

/** The body field: false = small model only; true = the server's policy; a preset name or policy fields = override. */
export type EscalateField = boolean | PolicyPresetName | CascadePolicyInput | null | undefined;

export const CASCADE_HEADER = 'x-llama-ts-cascade';

/**
 * The policy override for this request, or undefined when it does not go through the cascade.
 * `unsupported` names request features the cascade cannot carry to the big model (streaming,
 * n > 1, logprobs, tools, response_format): asking for both explicitly is a 400 naming the
 * feature; without `escalate` such requests are answered by the small model alone.
 */
export function cascadeRequest(ctx: ServerContext, field: EscalateField, unsupported: readonly (string | false)[]): { policy: PolicyPresetName | CascadePolicyInput | undefined } | undefined {
  if (field === false) return undefined;
  const explicit = field !== undefined && field !== null;
  if (!ctx.cascade) {
    if (explicit) throw new HttpError(400, 'this server has no big model to escalate to (start it with --escalate-to)', undefined, 'escalate');
    return undefined;
  }
  const blocker = unsupported.find((u): u is string => typeof u === 'string');
  if (blocker) {
    if (explicit) throw new HttpError(400, `escalate cannot be combined with ${blocker}: the answer must be complete before the policy decides, and the big model cannot continue it`, undefined, 'escalate');
    return undefined;
  }
  if (field === true || !explicit) return { policy: undefined };
  // Validate now, so a bad policy is a 400 before any generation.
  resolvePolicy(field, ctx.cascade.policy);
  return { policy: field };
}

/** Sets the header, and returns the `cascade` field of the answer body. */
export function cascadeField(reply: FastifyReply, r: CascadeResult): object {
  void reply.header(CASCADE_HEADER, r.path);
  return {
    path: r.path,
    confidence: r.confidence,
    ...(r.verification ? { verification: r.verification } : {}),
    ...(r.resumedFrom !== undefined ? { resumed_from: r.resumedFrom } : {}),
    small_text: r.small.text,
    latency_ms: r.latencyMs,
    ...(r.warning ? { warning: r.warning } : {}),
  };
}
