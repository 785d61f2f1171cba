import type { FastifyReply, FastifyRequest } from 'fastify';
import type { LlamaModel } from '../model/model.js';
import type { ServerContext } from './context.js';
import { SSE } from './sse.js';
import type { GenerateChunk, GenerateOptions, GenerateResult } from '../generate/options.js';
import { TopLogprobs, type TopLogprob } from './sampling.js';

export interface TokenEvent {
  readonly chunk: GenerateChunk;
  /** Alternatives at this step (when logprobs were asked for). */
  readonly top: readonly TopLogprob[] | undefined;
}

/**
 * Runs one choice through the model's scheduler, handing each token (with its alternatives) to
 * `onToken` as it is produced. `signal` cancels it (client gone): the sequence is freed at once.
 */
export async function runChoice(
  model: LlamaModel,
  ids: readonly number[],
  options: GenerateOptions,
  topK: number | undefined,
  signal: AbortSignal,
  onToken: (e: TokenEvent) => void,
): Promise<GenerateResult> {
  const top = topK !== undefined ? new TopLogprobs(topK) : undefined;
  const processors = [...(options.logitsProcessors ?? []), ...(top ? [top] : [])];
  const h = model.submit([...ids], { ...options, logitsProcessors: processors, signal });
  let i = 0;
  for await (const chunk of h.chunks) onToken({ chunk, top: top?.steps[i++] });
  return h.result;
}

/**
 * Runs a request's n choices concurrently and answers it: streamed as SSE (each choice's chunks as
 * they come, then a usage chunk when asked for, then [DONE]), or as one JSON body built by `body`.
 * `usage` is exact: the prompt counted once, every choice's generated tokens.
 */
export async function answerChoices<R extends { readonly result: GenerateResult }>(
  ctx: ServerContext,
  req: FastifyRequest,
  reply: FastifyReply,
  o: {
    readonly route: string;
    readonly n: number;
    readonly promptTokens: number;
    readonly stream: boolean;
    readonly includeUsage: boolean;
    /** One choice; `send` streams a chunk (a no-op when not streaming). */
    readonly run: (choice: number, send: (chunk: object) => void) => Promise<R>;
    /** The SSE envelope around choices (id, object, created, model). */
    readonly envelope: object;
    readonly body: (all: R[], usage: object) => object;
  },
): Promise<unknown> {
  const count = (all: R[]): number => all.reduce((a, r) => a + r.result.ids.length, 0);
  if (!o.stream) {
    const all = await Promise.all(Array.from({ length: o.n }, (_, choice) => o.run(choice, () => {})));
    ctx.metrics.tokens(o.promptTokens, count(all));
    return o.body(all, usage(o.promptTokens, count(all), all[0]?.result));
  }
  const sse = new SSE(reply.raw, ctx.corsHeaders(req));
  reply.hijack();
  try {
    const all = await Promise.all(Array.from({ length: o.n }, (_, choice) => o.run(choice, (chunk) => sse.send(chunk))));
    ctx.metrics.tokens(o.promptTokens, count(all));
    if (o.includeUsage) sse.send({ ...o.envelope, choices: [], usage: usage(o.promptTokens, count(all), all[0]?.result) });
    sse.end();
    ctx.metrics.request(o.route, 200);
  } catch (e) {
    ctx.streamError(sse, e, o.route);
  }
  return reply;
}

export function usage(prompt: number, completion: number, r: GenerateResult | undefined): object {
  return { prompt_tokens: prompt, completion_tokens: completion, total_tokens: prompt + completion, prompt_tokens_details: { cached_tokens: r?.cache?.reused ?? 0 } };
}
