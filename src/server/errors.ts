import { LlamaError } from '../errors/errors.js';

/** OpenAI's error body: what every SDK parses. */
export interface OpenAIErrorBody {
  readonly error: { readonly message: string; readonly type: string; readonly param: string | null; readonly code: string | null };
}

/** An error with the HTTP status and OpenAI type it should be answered with. */
export class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly type = status === 401 ? 'authentication_error' : status === 404 ? 'not_found_error' : status === 429 ? 'rate_limit_error' : status >= 500 ? 'server_error' : 'invalid_request_error',
    readonly param: string | null = null,
    readonly code: string | null = null,
  ) {
    super(message);
  }
}

export function errorBody(message: string, type: string, param: string | null = null, code: string | null = null): OpenAIErrorBody {
  return { error: { message, type, param, code } };
}

/** Maps any error to (status, body): a user's mistake is a 4xx naming it, the rest a 500. */
export function toHttpError(e: unknown): { status: number; body: OpenAIErrorBody } {
  if (e instanceof HttpError) return { status: e.status, body: errorBody(e.message, e.type, e.param, e.code) };
  if (e instanceof LlamaError) {
    const status =
      e.code === 'QUEUE_FULL' ? 429 : e.code === 'DISPOSED' ? 503 : e.code === 'BACKEND_ERROR' || e.code === 'BAD_LOGITS' ? 500 : 400;
    return { status, body: errorBody(e.message, status === 429 ? 'rate_limit_error' : status >= 500 ? 'server_error' : 'invalid_request_error', null, e.code.toLowerCase()) };
  }
  const fe = e as { statusCode?: number; message?: string; code?: string; validation?: { instancePath?: string; params?: Record<string, unknown> }[] };
  if (typeof fe?.statusCode === 'number' && fe.statusCode >= 400 && fe.statusCode < 500) {
    const v = fe.validation?.[0];
    const param = v ? (v.instancePath || '').replace(/^\//, '').replace(/\//g, '.') || (typeof v.params?.missingProperty === 'string' ? v.params.missingProperty : null) : null;
    return { status: fe.statusCode, body: errorBody(fe.message ?? 'bad request', 'invalid_request_error', param, fe.code ?? null) };
  }
  return { status: 500, body: errorBody(`internal error: ${(e as Error)?.message ?? String(e)}`, 'server_error') };
}
