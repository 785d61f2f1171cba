/**
 * The HTTP side of talking to an OpenAI-compatible endpoint (llama.cpp's server, vLLM, a llama-ts
 * server): JSON POSTs with a bearer key, a per-call timeout and an optional caller's signal, and
 * the `model` id found from GET /v1/models when none is given. Shared by the eval backend and the
 * cascade's big endpoint.
 */
import { BadArgumentError, LlamaError } from '../errors/errors.js';

export interface OpenAIClientOptions {
  /** The `model` field of requests (default: the first of GET /v1/models, else "default"). */
  readonly model?: string;
  readonly apiKey?: string;
  /** Per-request timeout (default 600 s). */
  readonly timeoutMs?: number;
}

/** Echoed or generated token log-probs of a /v1/completions choice (OpenAI's legacy shape). */
export interface CompletionLogprobs {
  readonly tokens?: string[];
  readonly token_logprobs?: (number | null)[];
  readonly text_offset?: number[];
  readonly top_logprobs?: (Record<string, number> | null)[];
}

export function isEndpoint(model: string): boolean {
  return /^https?:\/\//i.test(model);
}

export class OpenAIClient {
  /** Base URL without a trailing /v1. */
  readonly base: string;
  private modelId: string | undefined;
  readonly timeoutMs: number;

  constructor(
    url: string,
    private readonly o: OpenAIClientOptions = {},
  ) {
    if (!isEndpoint(url)) throw new BadArgumentError(`not an http(s) URL: ${url}`);
    // Accept http://host:port, …/v1 and …/v1/.
    this.base = url.replace(/\/+$/, '').replace(/\/v1$/, '');
    this.modelId = o.model;
    this.timeoutMs = o.timeoutMs ?? 600_000;
  }

  /** POSTs `body` (with `model` added) and returns the parsed JSON; any failure is a BACKEND_ERROR naming the URL. */
  async post(path: string, body: Record<string, unknown>, opts: { signal?: AbortSignal; timeoutMs?: number } = {}): Promise<Record<string, unknown>> {
    const timeoutMs = opts.timeoutMs ?? this.timeoutMs;
    const signal = opts.signal ? anySignal(opts.signal, AbortSignal.timeout(timeoutMs)) : AbortSignal.timeout(timeoutMs);
    const model = await this.model(signal, timeoutMs);
    let res: Response;
    let text: string;
    try {
      res = await fetch(this.base + path, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...(this.o.apiKey ? { authorization: `Bearer ${this.o.apiKey}` } : {}) },
        body: JSON.stringify({ model, ...body }),
        signal,
      });
      text = await res.text();
    } catch (e) {
      const why = (e as Error).name === 'TimeoutError' ? `timed out after ${timeoutMs} ms` : (e as Error).name === 'AbortError' ? 'cancelled' : describeFetchError(e);
      throw new LlamaError('BACKEND_ERROR', `${this.base}${path}: ${why}`, { cause: e });
    }
    if (!res.ok) throw new EndpointHttpError(res.status, `${this.base}${path}: HTTP ${res.status} ${text.slice(0, 300)}`);
    try {
      return JSON.parse(text) as Record<string, unknown>;
    } catch {
      throw new LlamaError('BACKEND_ERROR', `${this.base}${path}: the reply is not JSON`);
    }
  }

  /** The model id to send; asked of the endpoint once (an endpoint without /v1/models gets "default"). */
  async model(signal?: AbortSignal, timeoutMs?: number): Promise<string> {
    if (this.modelId !== undefined) return this.modelId;
    try {
      const res = await fetch(this.base + '/v1/models', {
        headers: this.o.apiKey ? { authorization: `Bearer ${this.o.apiKey}` } : {},
        signal: signal ? anySignal(signal, AbortSignal.timeout(30_000)) : AbortSignal.timeout(30_000),
      });
      const j = (await res.json()) as { data?: { id?: string }[] };
      this.modelId = j.data?.[0]?.id ?? 'default';
    } catch (e) {
      // Unreachable or timed out: the caller's POST reports it; do not remember a guess.
      if (signal?.aborted) throw new LlamaError('BACKEND_ERROR', `${this.base}/v1/models: ${(signal.reason as Error)?.name === 'TimeoutError' ? `timed out after ${timeoutMs ?? '?'} ms` : 'cancelled'}`, { cause: e });
      return 'default';
    }
    return this.modelId;
  }
}

/** The endpoint answered with an HTTP error status (a BACKEND_ERROR that keeps the status). */
export class EndpointHttpError extends LlamaError {
  constructor(readonly status: number, message: string) {
    super('BACKEND_ERROR', message);
    this.name = 'EndpointHttpError';
  }
}

/** fetch's "fetch failed" hides the reason (ECONNREFUSED, ENOTFOUND…) in `cause`. */
function describeFetchError(e: unknown): string {
  const cause = (e as { cause?: { code?: string; message?: string } }).cause;
  return cause?.code ? `${(e as Error).message} (${cause.code})` : (cause?.message ?? (e as Error).message);
}

/** Aborts when either does (AbortSignal.any arrived in Node 20.3; engines allow 20.0). */
function anySignal(a: AbortSignal, b: AbortSignal): AbortSignal {
  if (typeof AbortSignal.any === 'function') return AbortSignal.any([a, b]);
  const ac = new AbortController();
  for (const s of [a, b]) {
    if (s.aborted) ac.abort(s.reason);
    else s.addEventListener('abort', () => ac.abort(s.reason), { once: true });
  }
  return ac.signal;
}
