import { loadDraftForCli, type DraftFlags } from './draft.js';
import type { BackendName } from '../model/load.js';
import { loadModel } from '../model/load.js';
import { createServer } from '../server/app.js';
import { loadProgress } from './progress.js';
import { cliModelPath } from './model-ref.js';
import { checkFits } from './plan.js';

export interface ServeOptions extends DraftFlags {
  readonly model: string | undefined;
  readonly host: string;
  readonly port: number;
  readonly parallel: number;
  readonly queue: number;
  readonly contextSize?: number;
  readonly apiKey?: string;
  readonly cors?: string;
  readonly backend: BackendName;
  readonly threads?: number;
  readonly kvDType?: 'f32' | 'f16';
  readonly tokenizer?: string;
  /** Seconds running requests may take to finish after SIGTERM/SIGINT before they are cancelled. */
  readonly grace: number;
}

/**
 * `llama-ts serve`: the OpenAI-compatible server. SIGTERM/SIGINT stop accepting connections, let
 * running requests finish for `grace` seconds, cancel the rest and exit; a second signal exits at once.
 */
export async function serveCommand(o: ServeOptions, log: (s: string) => void): Promise<void> {
  const path = await cliModelPath(o.model, { allowDefault: true });
  // Refuse with numbers if even one sequence at this context cannot fit (sequences are allocated per request).
  await checkFits(path, { backend: o.backend, threads: o.threads, kvDType: o.kvDType, contextSize: o.contextSize ?? 4096, tokenizer: o.tokenizer });
  const progress = loadProgress(true);
  const model = await loadModel(path, {
    backend: o.backend,
    threads: o.threads,
    tokenizer: o.tokenizer,
    kvDType: o.kvDType,
    contextSize: o.contextSize,
    maxSequences: o.parallel,
    maxQueue: o.queue,
    onProgress: progress.onProgress,
  });
  progress.stop();
  const spec = await loadDraftForCli(o, model, { backend: o.backend, threads: o.threads, kvDType: o.kvDType, tokenizer: o.tokenizer });
  const { app } = createServer(model, { apiKey: o.apiKey, cors: o.cors, ...(spec.draft !== undefined ? { draft: spec.draft } : {}), ...(spec.draftMax !== undefined ? { draftMax: spec.draftMax } : {}) });
  const address = await app.listen({ host: o.host, port: o.port });
  log(`llama-ts serving ${path} at ${address} (chat page at /, OpenAI API at /v1; ${o.parallel} parallel sequences, context ${model.contextSize}${spec.draft === undefined ? '' : `; speculative decoding with ${spec.draft === 'lookup' ? 'prompt lookup' : (o.draftModel ?? 'a draft model')}`})\n`);
  await new Promise<void>((resolve) => {
    let stopping = false;
    const stop = (sig: string): void => {
      if (stopping) process.exit(130);
      stopping = true;
      log(`${sig}: no new requests; finishing running ones (up to ${o.grace} s)…\n`);
      const timer = setTimeout(() => {
        void model.dispose(); // cancels whatever still runs: those clients get an error event
      }, o.grace * 1000);
      timer.unref();
      void app
        .close()
        .catch(() => {})
        .then(() => model.dispose())
        .then(() => spec.dispose())
        .then(() => {
          clearTimeout(timer);
          resolve();
        });
    };
    process.once('SIGTERM', () => stop('SIGTERM'));
    process.once('SIGINT', () => stop('SIGINT'));
  });
}
