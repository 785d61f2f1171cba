import type { FastifyReply, FastifyRequest } from 'fastify';
import type { ServerContext } from './context.js';
import type { GenerateResult } from '../generate/options.js';
import { ContextOverflowError } from '../errors/errors.js';
import { generateOptions, logSumExp, topLogprobs, type SamplingBody } from './sampling.js';
import { answerChoices, runChoice, usage, type TokenEvent } from './runner.js';
import { cascadeField, cascadeRequest, type EscalateField } from './cascade-answer.js';

interface CompletionBody extends SamplingBody {
  readonly model: string;
  readonly prompt: string | readonly number[] | readonly string[];
  readonly stream?: boolean | null;
  readonly stream_options?: { readonly include_usage?: boolean } | null;
  readonly echo?: boolean | null;
  readonly logprobs?: number | null;
  readonly escalate?: EscalateField;
}

interface Logprobs {
  tokens: string[];
  token_logprobs: (number | null)[];
  top_logprobs: (Record<string, number> | null)[];
  text_offset: number[];
}

export async function completions(ctx: ServerContext, req: FastifyRequest, reply: FastifyReply): Promise<unknown> {
  const body = req.body as CompletionBody;
  const model = ctx.model;
  ctx.checkModel(body.model);
  const tok = model.tokenizer;
  const p = body.prompt;
  const promptText = typeof p === 'string' ? p : typeof p[0] === 'string' ? (p[0] as string) : undefined;
  const ids = promptText !== undefined ? tok.encode(promptText, { addBos: true }) : [...(p as readonly number[])];
  if (ids.length >= model.contextSize) throw new ContextOverflowError(ids.length, model.contextSize);
  const n = body.n ?? 1;
  const id = `cmpl-${Math.random().toString(36).slice(2, 14)}`;
  const created = Math.floor(Date.now() / 1000);
  const ac = new AbortController();
  reply.raw.on('close', () => {
    if (!reply.raw.writableFinished) ac.abort();
  });
  const esc = cascadeRequest(ctx, body.escalate, [body.stream === true && 'stream', n > 1 && 'n > 1', body.logprobs != null && 'logprobs', body.echo === true && 'echo']);
  if (esc) {
    const r = await ctx.cascade!.run(ids, { ...generateOptions(body, 16, 0), signal: ac.signal, policy: esc.policy });
    ctx.metrics.generated(r.completionTokens);
    ctx.metrics.tokens(ids.length, r.completionTokens);
    const choice = { index: 0, text: r.text, logprobs: null, finish_reason: r.finishReason === 'length' ? 'length' : 'stop' };
    return { id, object: 'text_completion', created, model: ctx.modelName, choices: [choice], usage: usage(ids.length, r.completionTokens, undefined), cascade: cascadeField(reply, r) };
  }
  const k = body.logprobs ?? undefined;
  const echoText = body.echo ? (promptText ?? tok.decode(ids)) : '';
  // echo + logprobs: the prompt's own log-likelihoods (what evaluation harnesses ask for).
  const promptLps = body.echo && k !== undefined ? await promptLogprobs(ctx, ids, k) : undefined;

  const run = async (choice: number, emit: (text: string, lp: Logprobs | undefined) => void): Promise<{ result: GenerateResult; text: string; lp: Logprobs | undefined }> => {
    let text = '';
    const lp: Logprobs | undefined = k !== undefined ? { tokens: [], token_logprobs: [], top_logprobs: [], text_offset: [] } : undefined;
    let offset = echoText.length;
    const result = await runChoice(model, ids, { ...ctx.speculative, ...generateOptions(body, 16, choice) }, k, ac.signal, (e: TokenEvent) => {
      ctx.metrics.generated(1);
      text += e.chunk.text;
      let piece: Logprobs | undefined;
      if (lp) {
        piece = { tokens: [tok.decode([e.chunk.id])], token_logprobs: [e.chunk.logprob ?? null], top_logprobs: [Object.fromEntries((e.top ?? []).map((t) => [tok.decode([t.id]), t.logprob]))], text_offset: [offset] };
        offset += piece.tokens[0]!.length;
        lp.tokens.push(...piece.tokens);
        lp.token_logprobs.push(...piece.token_logprobs);
        lp.top_logprobs.push(...piece.top_logprobs);
        lp.text_offset.push(...piece.text_offset);
      }
      emit(e.chunk.text, piece);
    });
    return { result, text, lp };
  };
  const withPrompt = (lp: Logprobs | undefined): Logprobs | undefined =>
    lp && promptLps
      ? { tokens: [...promptLps.tokens, ...lp.tokens], token_logprobs: [...promptLps.token_logprobs, ...lp.token_logprobs], top_logprobs: [...promptLps.top_logprobs, ...lp.top_logprobs], text_offset: [...promptLps.text_offset, ...lp.text_offset] }
      : lp;

  const envelope = { id, object: 'text_completion', created, model: ctx.modelName };
  const finish = (r: GenerateResult): string => (r.finishReason === 'length' ? 'length' : 'stop');
  return answerChoices(ctx, req, reply, {
    route: '/v1/completions',
    n,
    promptTokens: ids.length,
    stream: body.stream === true,
    includeUsage: body.stream_options?.include_usage === true,
    envelope,
    run: async (choice, send) => {
      const chunk = (text: string, lp: Logprobs | null, finishReason: string | null = null): void =>
        send({ ...envelope, choices: [{ index: choice, text, logprobs: lp, finish_reason: finishReason }] });
      if (echoText) chunk(echoText, promptLps ?? null);
      const r = await run(choice, (text, lp) => chunk(text, lp ?? null));
      chunk('', null, finish(r.result));
      return r;
    },
    body: (all, u) => ({
      ...envelope,
      choices: all.map((r, index) => ({ index, text: echoText + r.text, logprobs: withPrompt(r.lp) ?? null, finish_reason: finish(r.result) })),
      usage: u,
    }),
  });
}

/** Log-probs of each prompt token given the ones before it (the first has none), from one prefill. */
async function promptLogprobs(ctx: ServerContext, ids: readonly number[], k: number): Promise<Logprobs> {
  const tok = ctx.model.tokenizer;
  const logits = await ctx.model.logits(ids);
  const V = ctx.model.config.vocabSize;
  const out: Logprobs = { tokens: [], token_logprobs: [], top_logprobs: [], text_offset: [] };
  let offset = 0;
  for (let i = 0; i < ids.length; i++) {
    const t = tok.decode([ids[i]!]);
    out.tokens.push(t);
    out.text_offset.push(offset);
    offset += t.length;
    if (i === 0) {
      out.token_logprobs.push(null);
      out.top_logprobs.push(null);
      continue;
    }
    const row = logits.subarray((i - 1) * V, i * V);
    out.token_logprobs.push(row[ids[i]!]! - logSumExp(row));
    out.top_logprobs.push(k > 0 ? Object.fromEntries(topLogprobs(row, k).map((t) => [tok.decode([t.id]), t.logprob])) : null);
  }
  return out;
}
