/**
 * The cascade's big model behind one interface: a local LlamaModel, or any OpenAI-compatible
 * endpoint. Both give (1) per-token log-likelihoods of a sequence from one prefill, and (2) a
 * generation continuing a token-id prompt. Token ids are sent as they are, so the endpoint must
 * serve a model with the small model's tokenizer (the Llama 3.x family shares one).
 */
import type { LlamaModel } from '../model/model.js';
import type { FinishReason, GenerateOptions } from '../generate/options.js';
import { BadArgumentError, LlamaError } from '../errors/errors.js';
import { rowArgmax, tokenLogprob } from '../eval/logprob.js';
import { EndpointHttpError, OpenAIClient, type CompletionLogprobs } from '../eval/openai-client.js';
import { BigModelError, CascadeModelMismatchError } from './errors.js';

/** Log-likelihood of each scored token under the big model, and whether it was the big model's top choice. */
export interface BigScore {
  readonly logprobs: readonly number[];
  readonly top1: readonly boolean[];
}

export interface BigGeneration {
  readonly text: string;
  /** The generated ids (a local model; an endpoint returns text only). */
  readonly ids?: readonly number[];
  readonly completionTokens: number;
  readonly finishReason: FinishReason;
}

export interface BigModel {
  /** For messages and metrics: the endpoint URL or the model's path. */
  readonly name: string;
  /** True for an endpoint: its failures degrade to the small answer instead of failing the request. */
  readonly remote: boolean;
  /** One prefill over `ids`; scores of ids[from..] (from ≥ 1: the first token has nothing before it). */
  score(ids: readonly number[], from: number, call?: CallOptions): Promise<BigScore>;
  /** Generates after `ids` with the request's sampling options. */
  generate(ids: readonly number[], options: GenerateOptions, call?: CallOptions): Promise<BigGeneration>;
}

/** Per call: the request's cancellation, and how long an endpoint may take. */
export interface CallOptions {
  readonly signal?: AbortSignal;
  readonly timeoutMs?: number;
}

export class LocalBigModel implements BigModel {
  readonly remote = false;
  readonly name: string;
  constructor(private readonly model: LlamaModel) {
    this.name = model.source.path;
  }

  /** The small and big models must give the same ids the same meaning. */
  checkCompatible(small: LlamaModel): void {
    const a = small.config.vocabSize;
    const b = this.model.config.vocabSize;
    if (a !== b) throw new CascadeModelMismatchError(`vocabularies differ in size (${a} vs ${b})`);
    if (small.hasTokenizer && this.model.hasTokenizer) {
      const probe = 'Hello, world! 12345 <|eot_id|> ÿ';
      const x = small.tokenizer.encode(probe, { addBos: true, specials: 'parse' });
      const y = this.model.tokenizer.encode(probe, { addBos: true, specials: 'parse' });
      if (x.join() !== y.join()) throw new CascadeModelMismatchError(`they tokenize the same text differently ([${x.join(', ')}] vs [${y.join(', ')}])`);
    }
  }

  async score(ids: readonly number[], from: number): Promise<BigScore> {
    const V = this.model.config.vocabSize;
    if (from < 1 || from >= ids.length) throw new BadArgumentError(`score: from must be in 1..${ids.length - 1}, got ${from}`);
    // One pass over the sequence, but the output head (vocab × hidden per row, the largest matmul
    // of a prefill) only for the rows that predict scored tokens.
    const s = this.model.session({ contextSize: ids.length });
    let logits: Float32Array;
    try {
      if (from > 1) await s.eval(ids.slice(0, from - 1), { logits: 'none' });
      logits = await s.eval(ids.slice(from - 1, ids.length - 1), { logits: 'all' });
    } finally {
      s.dispose();
    }
    const logprobs: number[] = [];
    const top1: boolean[] = [];
    for (let i = from; i < ids.length; i++) {
      const r = i - from;
      logprobs.push(tokenLogprob(logits, r, V, ids[i]!));
      // Ties count as agreement: greedy decoding could have picked either.
      top1.push(logits[r * V + ids[i]!]! >= logits[r * V + rowArgmax(logits, r, V)]!);
    }
    return { logprobs, top1 };
  }

  async generate(ids: readonly number[], options: GenerateOptions, call: CallOptions = {}): Promise<BigGeneration> {
    const h = this.model.submit([...ids], { ...options, signal: call.signal });
    for await (const _ of h.chunks); // drained so the request never waits on a full buffer
    const r = await h.result;
    return { text: r.text, ids: r.ids, completionTokens: r.ids.length, finishReason: r.finishReason };
  }
}

export interface EndpointOptions {
  readonly apiKey?: string;
  /** The `model` field (default: the endpoint's first model). */
  readonly model?: string;
}

/** An OpenAI-compatible server: scoring by /v1/completions echo + logprobs with max_tokens 0. */
export class EndpointBigModel implements BigModel {
  readonly remote = true;
  readonly name: string;
  private readonly client: OpenAIClient;
  /** 0 until the endpoint refuses it. */
  private echoMaxTokens = 0;
  constructor(url: string, o: EndpointOptions = {}) {
    this.client = new OpenAIClient(url, { apiKey: o.apiKey, model: o.model });
    this.name = this.client.base;
  }

  async score(ids: readonly number[], from: number, call: CallOptions = {}): Promise<BigScore> {
    const body = (maxTokens: number): Record<string, unknown> => ({ prompt: [...ids], max_tokens: maxTokens, echo: true, logprobs: 1, temperature: 0 });
    let j: Record<string, unknown>;
    try {
      j = await this.call('/v1/completions', body(this.echoMaxTokens), call);
    } catch (e) {
      // Servers that refuse max_tokens 0 (vLLM's sampling parameters want ≥ 1): one token more, ignored.
      if (this.echoMaxTokens !== 0 || !(e instanceof BigModelError && e.cause instanceof EndpointHttpError && e.cause.status === 400)) throw e;
      j = await this.call('/v1/completions', body(1), call);
      this.echoMaxTokens = 1;
    }
    const lp = (j.choices as { logprobs?: CompletionLogprobs }[] | undefined)?.[0]?.logprobs;
    const values = lp?.token_logprobs;
    if (!Array.isArray(values)) throw new BigModelError(this.name, '/v1/completions gave no echoed token_logprobs (does it support echo with logprobs?)');
    // The prompt's entries come first; with max_tokens 1 the generated token's entry may follow.
    if (values.length !== ids.length && values.length !== ids.length + this.echoMaxTokens) {
      throw new BigModelError(this.name, `echoed ${values.length} tokens for the ${ids.length} sent (is it serving a model with the same tokenizer?)`);
    }
    const logprobs: number[] = [];
    const top1: boolean[] = [];
    for (let i = from; i < ids.length; i++) {
      const v = values[i];
      if (typeof v !== 'number') throw new BigModelError(this.name, `no log-prob for token ${i}`);
      logprobs.push(v);
      // The top alternative's log-prob: the token is top-1 when it is at least as likely.
      const top = lp?.top_logprobs?.[i];
      const best = top ? Math.max(...Object.values(top)) : Infinity;
      top1.push(v >= best - 1e-6);
    }
    return { logprobs, top1 };
  }

  async generate(ids: readonly number[], o: GenerateOptions, call: CallOptions = {}): Promise<BigGeneration> {
    const body: Record<string, unknown> = {
      prompt: [...ids],
      max_tokens: o.maxTokens ?? 256,
      temperature: o.temperature ?? 0,
      ...(o.topP !== undefined && o.topP < 1 ? { top_p: o.topP } : {}),
      ...(o.topK ? { top_k: o.topK } : {}),
      ...(o.minP ? { min_p: o.minP } : {}),
      ...(o.seed !== undefined ? { seed: o.seed } : {}),
      ...(o.presencePenalty ? { presence_penalty: o.presencePenalty } : {}),
      ...(o.frequencyPenalty ? { frequency_penalty: o.frequencyPenalty } : {}),
      ...(o.logitBias && Object.keys(o.logitBias).length > 0 ? { logit_bias: o.logitBias } : {}),
      ...(o.stop && o.stop.length > 0 ? { stop: [...o.stop] } : {}),
      // vLLM's extension (a chat's end-of-turn ids); servers without it ignore the field and stop on their own EOS set.
      ...(o.stopIds && o.stopIds.length > 0 ? { stop_token_ids: [...o.stopIds] } : {}),
    };
    const j = await this.call('/v1/completions', body, call);
    const c = (j.choices as { text?: unknown; finish_reason?: unknown }[] | undefined)?.[0];
    if (!c || typeof c.text !== 'string') throw new BigModelError(this.name, '/v1/completions gave no choices[0].text');
    const used = (j.usage as { completion_tokens?: unknown } | undefined)?.completion_tokens;
    return { text: c.text, completionTokens: typeof used === 'number' ? used : 0, finishReason: c.finish_reason === 'length' ? 'length' : 'stop' };
  }

  private async call(path: string, body: Record<string, unknown>, call: CallOptions): Promise<Record<string, unknown>> {
    try {
      return await this.client.post(path, body, call);
    } catch (e) {
      if (e instanceof LlamaError && e.code === 'BACKEND_ERROR') throw new BigModelError(this.name, e.message, { cause: e });
      throw e;
    }
  }
}
