import type { FastifyRequest } from 'fastify';
import type { LlamaModel } from '../model/model.js';
import { HttpError, toHttpError } from './errors.js';
import type { Metrics } from './metrics.js';
import type { SSE } from './sse.js';
import type { Cascade } from '../cascade/cascade.js';
import type { GenerateOptions } from '../generate/options.js';

/** What every route needs: the model, its public name, metrics, CORS. */
export class ServerContext {
  constructor(
    readonly model: LlamaModel,
    readonly modelName: string,
    readonly metrics: Metrics,
    private readonly cors: string | undefined,
    /** The big model to escalate to (serve --escalate-to), if any. */
    readonly cascade?: Cascade,
    /** Speculative decoding for every request (serve --draft-model / --lookup). */
    readonly speculative: Pick<GenerateOptions, 'draft' | 'draftMax'> = {},
  ) {}

  checkModel(name: string | undefined): void {
    if (name !== undefined && name !== this.modelName) {
      throw new HttpError(404, `The model '${name}' does not exist; this server serves '${this.modelName}'`, 'invalid_request_error', 'model', 'model_not_found');
    }
  }

  corsHeaders(req: FastifyRequest): Record<string, string> {
    if (!this.cors) return {};
    const origin = req.headers.origin;
    const allow = this.cors === '*' ? '*' : origin === this.cors ? origin : undefined;
    return allow ? { 'access-control-allow-origin': allow, vary: 'Origin' } : {};
  }

  /** An error after the stream started: an error event (as OpenAI sends), then the end. */
  streamError(sse: SSE, e: unknown, route: string): void {
    const { status, body } = toHttpError(e);
    this.metrics.request(route, status);
    sse.send(body);
    sse.end();
  }
}
