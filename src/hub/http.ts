/**
 * HTTP to the hub: bearer token only to the hub's own origin, manual redirects (so a CDN never
 * sees the token and HEAD can read the hub's headers before the jump), retries with exponential
 * backoff on 5xx/429 and on connections that fail or drop.
 */
import { HubUnreachableError } from './errors.js';

export interface HttpConfig {
  readonly endpoint: string;
  readonly token: string | undefined;
  /** Attempts after the first (default 4). */
  readonly retries?: number;
  /** First backoff delay; doubles per attempt, capped at 10 s (default 500 ms). */
  readonly retryDelayMs?: number;
  /** No body bytes for this long aborts the transfer (default 30 s). */
  readonly idleTimeoutMs?: number;
  /** No response headers for this long aborts the attempt (default 15 s). */
  readonly responseTimeoutMs?: number;
}

export interface RequestInit {
  readonly method?: 'GET' | 'HEAD';
  readonly headers?: Record<string, string>;
}

/** Network-level failure (refused, reset, DNS, timeout): worth a retry, and a sign the hub is unreachable. */
export class NetworkError extends Error {
  constructor(
    readonly url: string,
    readonly detail: string,
    options?: { cause?: unknown },
  ) {
    super(`${url}: ${detail}`, options);
    this.name = 'NetworkError';
  }
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

function describe(e: unknown): string {
  const cause = (e as { cause?: { code?: string; message?: string } }).cause;
  if (cause?.code) return cause.code;
  if (cause?.message) return cause.message;
  return e instanceof Error ? e.message : String(e);
}

export class Http {
  readonly origin: string;
  readonly retries: number;
  readonly retryDelayMs: number;
  readonly idleTimeoutMs: number;
  readonly responseTimeoutMs: number;

  constructor(readonly config: HttpConfig) {
    this.origin = new URL(config.endpoint).origin;
    this.retries = config.retries ?? 4;
    this.retryDelayMs = config.retryDelayMs ?? 500;
    this.idleTimeoutMs = config.idleTimeoutMs ?? 30_000;
    this.responseTimeoutMs = config.responseTimeoutMs ?? 15_000;
  }

  backoff(attempt: number): Promise<void> {
    return sleep(Math.min(10_000, this.retryDelayMs * 2 ** attempt));
  }

  /**
   * One request, no redirects followed, no retries. The returned body (if read) keeps an idle
   * timer: a stalled stream errors instead of hanging.
   */
  async once(url: string, init: RequestInit = {}): Promise<Response> {
    const headers: Record<string, string> = { 'user-agent': 'llama-ts', 'accept-encoding': 'identity', ...init.headers };
    if (this.config.token && new URL(url).origin === this.origin) headers['authorization'] = `Bearer ${this.config.token}`;
    const ac = new AbortController();
    let timer = setTimeout(() => ac.abort(), this.responseTimeoutMs);
    let res: Response;
    try {
      res = await fetch(url, { method: init.method ?? 'GET', headers, redirect: 'manual', signal: ac.signal });
    } catch (e) {
      clearTimeout(timer);
      throw new NetworkError(url, ac.signal.aborted ? `no response in ${this.responseTimeoutMs} ms` : describe(e), { cause: e });
    }
    clearTimeout(timer);
    if (!res.body || init.method === 'HEAD') return res;
    // Re-arm the idle timer around every chunk of the body.
    const reader = res.body.getReader();
    const idle = this.idleTimeoutMs;
    const body = new ReadableStream<Uint8Array>({
      async pull(ctl) {
        timer = setTimeout(() => ac.abort(), idle);
        try {
          const { done, value } = await reader.read();
          if (done) ctl.close();
          else ctl.enqueue(value);
        } catch (e) {
          ctl.error(new NetworkError(url, ac.signal.aborted ? `stalled for ${idle} ms` : `connection dropped (${describe(e)})`, { cause: e }));
        } finally {
          clearTimeout(timer);
        }
      },
      cancel(reason) {
        clearTimeout(timer);
        return reader.cancel(reason);
      },
    });
    return new Response(body, { status: res.status, statusText: res.statusText, headers: res.headers });
  }

  /**
   * A request retried on network errors and 5xx/429; redirects are followed when `follow` says so
   * for that target (HEAD follows only same-origin ones, to read the hub's own headers).
   */
  async request(url: string, init: RequestInit = {}, follow: (from: URL, to: URL) => boolean = () => true): Promise<{ res: Response; url: string }> {
    let lastError: unknown;
    for (let attempt = 0; attempt <= this.retries; attempt++) {
      if (attempt > 0) await this.backoff(attempt - 1);
      let current = url;
      try {
        for (let hops = 0; ; hops++) {
          const res = await this.once(current, init);
          if (res.status >= 300 && res.status < 400 && res.headers.has('location')) {
            const next = new URL(res.headers.get('location')!, current);
            if (hops < 10 && follow(new URL(current), next)) {
              await res.body?.cancel();
              current = next.href;
              continue;
            }
          }
          if (res.status >= 500 || res.status === 429) {
            await res.body?.cancel();
            lastError = new HubUnreachableError(this.config.endpoint, `HTTP ${res.status} from ${current} after ${attempt + 1} attempt(s)`);
            break;
          }
          return { res, url: current };
        }
      } catch (e) {
        if (!(e instanceof NetworkError)) throw e;
        lastError = e;
        // A name that does not resolve will not resolve on retry either.
        if (/ENOTFOUND|EAI_AGAIN/.test(e.detail)) break;
        // Nothing listening, or no answer at all: one more try, then let the caller fall back to the cache soon.
        if (/ECONNREFUSED|no response in/.test(e.detail) && attempt >= 1) break;
      }
    }
    if (lastError instanceof NetworkError) throw lastError;
    throw lastError ?? new HubUnreachableError(this.config.endpoint, `no answer from ${url}`);
  }
}
