import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import type { LlamaModel } from '../model/model.js';
import { BadArgumentError } from '../errors/errors.js';
import { bearerMatches } from './auth.js';
import { chatCompletions } from './chat-route.js';
import { completions } from './completions-route.js';
import { ServerContext } from './context.js';
import { errorBody, HttpError, toHttpError } from './errors.js';
import { Metrics } from './metrics.js';
import type { Cascade } from '../cascade/cascade.js';
import { chatCompletionSchema, completionSchema, detokenizeSchema, tokenizeSchema } from './schemas.js';

export interface ServerOptions {
  /** The id clients put in `model` (default: the file's base name). */
  readonly modelName?: string;
  /** Bearer key every /v1 route requires (absent: open). */
  readonly apiKey?: string;
  /** Allowed CORS origin ('*' for any); absent: no CORS headers. */
  readonly cors?: string;
  /** Largest request body in bytes (default 4 MiB). */
  readonly bodyLimit?: number;
  /**
   * Verify-or-escalate: requests answered by `model` go through this cascade (its small model must
   * be `model`); the body field `escalate` overrides it per request.
   */
  readonly cascade?: Cascade;
  /** Speculative decoding for every request: a draft model of the same vocabulary, or 'lookup'. */
  readonly draft?: LlamaModel | 'lookup';
  readonly draftMax?: number;
}

const PUBLIC = new URL('./public/', import.meta.url);
const STATIC: Record<string, string> = { '/': 'index.html', '/chat.js': 'chat.js', '/chat.css': 'chat.css' };
const TYPES: Record<string, string> = { html: 'text/html; charset=utf-8', js: 'text/javascript; charset=utf-8', css: 'text/css; charset=utf-8' };

/**
 * The OpenAI-compatible HTTP app. It holds no model logic: each request becomes scheduler
 * submissions on `model`, whose tokens are streamed back.
 */
export function createServer(model: LlamaModel, options: ServerOptions = {}): { app: FastifyInstance; metrics: Metrics } {
  if (options.cascade && options.cascade.small !== model) throw new BadArgumentError("the cascade's small model must be the model the server serves");
  const metrics = new Metrics(options.cascade?.stats);
  const name = options.modelName ?? model.source.path.split(/[\\/]/).pop()!.replace(/\.gguf$/i, '');
  const speculative = options.draft === undefined ? {} : { draft: options.draft, ...(options.draftMax !== undefined ? { draftMax: options.draftMax } : {}) };
  const ctx = new ServerContext(model, name, metrics, options.cors, options.cascade, speculative);
  const app = Fastify({ bodyLimit: options.bodyLimit ?? 4 * 2 ** 20, logger: false, ajv: { customOptions: { allErrors: false, coerceTypes: false, removeAdditional: false } } });

  app.addHook('onRequest', async (req, reply) => {
    const cors = ctx.corsHeaders(req);
    for (const [k, v] of Object.entries(cors)) void reply.header(k, v);
    if (req.method === 'OPTIONS' && options.cors) {
      void reply.header('access-control-allow-methods', 'GET, POST, OPTIONS').header('access-control-allow-headers', 'authorization, content-type').header('access-control-max-age', '600');
      return reply.code(204).send();
    }
    if (options.apiKey && req.url.startsWith('/v1') && !bearerMatches(req.headers.authorization, options.apiKey)) {
      metrics.request(routeOf(req), 401);
      return reply.code(401).send(errorBody('Incorrect API key provided', 'authentication_error', null, 'invalid_api_key'));
    }
    return undefined;
  });
  app.addHook('onResponse', async (req, reply) => {
    if (req.url.startsWith('/metrics') || req.url.startsWith('/health')) return;
    if (reply.statusCode !== 200 || !req.url.startsWith('/v1/')) metrics.request(routeOf(req), reply.statusCode);
    else if (!(req.body as { stream?: boolean } | undefined)?.stream) metrics.request(routeOf(req), 200);
  });
  app.setErrorHandler((e, _req, reply) => {
    const { status, body } = toHttpError(e);
    if (status === 429) void reply.header('retry-after', '1');
    return reply.code(status).send(body);
  });
  app.setNotFoundHandler((req, reply) => reply.code(404).send(errorBody(`no route ${req.method} ${req.url}`, 'not_found_error')));

  app.get('/health', async () => ({ status: 'ok', model: name, ...pick(model.stats()) }));
  app.get('/metrics', async (_req, reply) => reply.type('text/plain; version=0.0.4').send(metrics.render(model.stats())));
  app.get('/v1/models', async () => ({ object: 'list', data: [{ id: name, object: 'model', created: 0, owned_by: 'llama-ts', context_length: model.contextSize }] }));
  app.get('/v1/models/:id', async (req) => {
    ctx.checkModel((req.params as { id: string }).id);
    return { id: name, object: 'model', created: 0, owned_by: 'llama-ts' };
  });
  app.post('/v1/chat/completions', { schema: { body: chatCompletionSchema } }, (req, reply) => chatCompletions(ctx, req, reply));
  app.post('/v1/completions', { schema: { body: completionSchema } }, (req, reply) => completions(ctx, req, reply));
  app.post('/tokenize', { schema: { body: tokenizeSchema } }, async (req) => {
    const b = req.body as { content: string; add_special?: boolean; with_pieces?: boolean };
    const tokens = model.tokenizer.encode(b.content, { addBos: b.add_special ?? false });
    return b.with_pieces ? { tokens: tokens.map((id) => ({ id, piece: model.tokenizer.decode([id]) })) } : { tokens };
  });
  app.post('/detokenize', { schema: { body: detokenizeSchema } }, async (req) => {
    const ids = (req.body as { tokens: number[] }).tokens;
    const V = model.config.vocabSize;
    const bad = ids.find((id) => id >= V);
    if (bad !== undefined) throw new HttpError(400, `token id ${bad} is outside the vocabulary (0..${V - 1})`, undefined, 'tokens');
    return { content: model.tokenizer.decode(ids) };
  });
  for (const [path, file] of Object.entries(STATIC)) {
    const ext = file.split('.').pop()!;
    app.get(path, async (_req: FastifyRequest, reply: FastifyReply) => reply.type(TYPES[ext]!).send(readFileSync(fileURLToPath(new URL(file, PUBLIC)))));
  }
  return { app, metrics };
}

function routeOf(req: FastifyRequest): string {
  return req.routeOptions.url ?? req.url.split('?')[0]!;
}

function pick(s: ReturnType<LlamaModel['stats']>): object {
  return { running: s.running, queued: s.queued };
}
