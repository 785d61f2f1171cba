/**
 * An OpenAI-compatible endpoint (llama.cpp's server, vLLM, a llama-ts server) as an evaluation
 * backend, so the same task runs against any of them with comparable numbers:
 *  - log-likelihood: POST /v1/completions with echo + logprobs and max_tokens 0; the continuation
 *    is every echoed token ending past the context's last character (a token straddling the
 *    boundary counts as continuation, as the harness's split gives it there);
 *  - perplexity: the same echo over the whole text (the endpoint's tokenisation, one window: the
 *    text must fit the server's context; the first token is only conditioned on);
 *  - generation: /v1/chat/completions for chat prompts (a prefill is sent as a final assistant
 *    message with continue_final_message, vLLM's and llama.cpp's way to continue it), and
 *    /v1/completions for plain ones; greedy (temperature 0).
 */
import { LlamaError } from '../errors/errors.js';
import { OpenAIClient, type CompletionLogprobs } from './openai-client.js';
import { mapBounded } from './pool.js';
import type { EvalBackend, GenerateRequest, LoglikRequest, LoglikResult, RollingResult, WindowOptions } from './types.js';

export { isEndpoint } from './openai-client.js';

export interface OpenAIBackendOptions {
  /** The `model` field of requests (default: the first of GET /v1/models, else "default"). */
  readonly model?: string;
  readonly apiKey?: string;
  /** Requests in flight (default 16). */
  readonly concurrency?: number;
  /** Per-request timeout (default 600 s). */
  readonly timeoutMs?: number;
  /** Context the endpoint serves, for reports (default 4096). */
  readonly contextSize?: number;
}

export class OpenAIBackend implements EvalBackend {
  readonly name: string;
  readonly contextSize: number;
  private readonly base: string;
  private readonly client: OpenAIClient;
  private readonly concurrency: number;

  constructor(url: string, o: OpenAIBackendOptions = {}) {
    this.client = new OpenAIClient(url, { model: o.model, apiKey: o.apiKey, timeoutMs: o.timeoutMs });
    this.base = this.client.base;
    this.name = `endpoint ${this.base}`;
    this.concurrency = o.concurrency ?? 16;
    this.contextSize = o.contextSize ?? 4096;
  }

  private post(path: string, body: Record<string, unknown>): Promise<Record<string, unknown>> {
    return this.client.post(path, body);
  }

  /** Echoed logprobs of `text` (no new tokens). */
  private async echo(text: string): Promise<Required<Pick<CompletionLogprobs, 'tokens' | 'token_logprobs' | 'text_offset'>> & CompletionLogprobs> {
    const j = await this.post('/v1/completions', { prompt: text, max_tokens: 0, echo: true, logprobs: 1, temperature: 0 });
    const lp = (j.choices as { logprobs?: CompletionLogprobs }[] | undefined)?.[0]?.logprobs;
    if (!lp || !Array.isArray(lp.tokens) || !Array.isArray(lp.token_logprobs) || !Array.isArray(lp.text_offset)) {
      throw new LlamaError('BACKEND_ERROR', `${this.base}: /v1/completions gave no echo logprobs (tokens, token_logprobs, text_offset)`);
    }
    return lp as Required<Pick<CompletionLogprobs, 'tokens' | 'token_logprobs' | 'text_offset'>> & CompletionLogprobs;
  }

  async loglikelihood(requests: readonly LoglikRequest[], onDone?: (index: number) => void): Promise<LoglikResult[]> {
    return mapBounded(requests, this.concurrency, async (r, i) => {
      const lp = await this.echo(r.context + r.continuation);
      // Offsets count characters (code points, as Python servers do); the context ends at this one.
      const ctxEnd = [...r.context].length;
      let logprob = 0;
      let tokens = 0;
      let greedy = true;
      for (let t = 0; t < lp.tokens.length; t++) {
        const end = lp.text_offset[t]! + [...lp.tokens[t]!].length;
        if (end <= ctxEnd) continue;
        const v = lp.token_logprobs[t];
        if (v === null || v === undefined) throw new LlamaError('BACKEND_ERROR', `${this.base}: no logprob for continuation token ${t}`);
        logprob += v;
        tokens++;
        const top = lp.top_logprobs?.[t];
        if (top) {
          const best = Object.entries(top).reduce((a, b) => (b[1] > a[1] ? b : a));
          if (best[0] !== lp.tokens[t]) greedy = false;
        }
      }
      if (tokens === 0) throw new LlamaError('BACKEND_ERROR', `${this.base}: the continuation ${JSON.stringify(r.continuation)} got no tokens`);
      onDone?.(i);
      return { logprob, greedy, tokens };
    });
  }

  async rolling(text: string, _window: WindowOptions, _limit?: number, onWindow?: (done: number, total: number) => void): Promise<RollingResult> {
    const lp = await this.echo(text);
    onWindow?.(1, 1);
    let nllSum = 0;
    let tokens = 0;
    for (const v of lp.token_logprobs) {
      if (v === null || v === undefined) continue; // the first token (or BOS) has nothing before it
      nllSum -= v;
      tokens++;
    }
    return { nllSum, tokens };
  }

  async generate(requests: readonly GenerateRequest[], onDone?: (index: number) => void): Promise<string[]> {
    return mapBounded(requests, this.concurrency, async (r, i) => {
      let out: string;
      if (typeof r.prompt === 'string') {
        const j = await this.post('/v1/completions', { prompt: r.prompt, max_tokens: r.maxTokens, ...sampling(r), ...(r.stop.length ? { stop: r.stop } : {}) });
        out = String((j.choices as { text?: string }[] | undefined)?.[0]?.text ?? '');
      } else {
        const prefill = r.prompt.prefill ?? '';
        const messages = prefill === '' ? r.prompt.messages : [...r.prompt.messages, { role: 'assistant', content: prefill }];
        const extra = prefill === '' ? {} : { continue_final_message: true, add_generation_prompt: false };
        const tools = r.prompt.tools ? { tools: r.prompt.tools } : {};
        const j = await this.post('/v1/chat/completions', { messages, max_tokens: r.maxTokens, ...sampling(r), ...(r.stop.length ? { stop: r.stop } : {}), ...extra, ...tools });
        out = replyText((j.choices as ChatChoice[] | undefined)?.[0]?.message);
      }
      onDone?.(i);
      return out;
    });
  }
}

interface ChatChoice {
  readonly message?: { readonly content?: string | null; readonly tool_calls?: readonly { readonly function?: { readonly name?: string; readonly arguments?: unknown } }[] };
}

/**
 * A chat reply as text. Tool calls come back structured; they are written as Llama 3.1's JSON
 * call form (one per line, the reply's text dropped) so the same tool-call parser scores local and endpoint replies.
 */
function replyText(m: ChatChoice['message']): string {
  const calls = (m?.tool_calls ?? []).map((c) => {
    const a = c.function?.arguments;
    const name = JSON.stringify(c.function?.name ?? '');
    // Arguments as the endpoint wrote them when they are JSON text (keeping "5.0" apart from "5").
    if (typeof a === 'string') {
      try {
        JSON.parse(a);
        // Raw newlines in JSON text are whitespace; one line per call keeps calls apart.
        return `{"name": ${name}, "parameters": ${a.trim().replace(/\s*\n\s*/g, ' ')}}`;
      } catch {
        return JSON.stringify({ name: c.function?.name ?? '', parameters: a });
      }
    }
    return `{"name": ${name}, "parameters": ${JSON.stringify(a ?? {})}}`;
  });
  return calls.length === 0 ? String(m?.content ?? '') : calls.join('\n');
}

function sampling(r: GenerateRequest): { temperature: number; seed?: number } {
  return { temperature: r.temperature ?? 0, ...(r.seed !== undefined ? { seed: r.seed } : {}) };
}
