import { loadDraftForCli, type DraftFlags } from './draft.js';
import type { BackendName } from '../model/load.js';
import { loadModel } from '../model/load.js';
import { createServer } from '../server/app.js';
import { loadProgress } from './progress.js';
import { cliModelPath } from './model-ref.js';
import { checkFits } from './plan.js';
import { BadArgumentError } from '../errors/errors.js';
import { isEndpoint } from '../eval/openai-client.js';
import { Cascade } from '../cascade/cascade.js';
import { DEFAULT_POLICY, parsePolicyArg } from '../cascade/policy.js';
import type { LlamaModel } from '../model/model.js';

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
  /** Big model for verify-or-escalate: a model path/hf: reference, or an http(s) URL of an OpenAI-compatible server. */
  readonly escalateTo?: string;
  /** Preset name, inline JSON or a JSON file (default: balanced). */
  readonly escalatePolicy?: string;
  /** Bearer key for an --escalate-to endpoint. */
  readonly escalateApiKey?: string;
  /** `model` field sent to an --escalate-to endpoint (default: its first model). */
  readonly escalateModel?: string;
}

/**
 * `llama-ts serve`: the OpenAI-compatible server. SIGTERM/SIGINT stop accepting connections, let
 * running requests finish for `grace` seconds, cancel the rest and exit; a second signal exits at once.
 */
export async function serveCommand(o: ServeOptions, log: (s: string) => void): Promise<void> {
  if (o.escalatePolicy !== undefined && o.escalateTo === undefined) throw new BadArgumentError('--escalate-policy needs --escalate-to');
  // Parsed before any model loads, so a bad policy fails fast.
  const policy = o.escalatePolicy !== undefined ? parsePolicyArg(o.escalatePolicy) : DEFAULT_POLICY;
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
  let big: LlamaModel | undefined;
  let cascade: Cascade | undefined;
  if (o.escalateTo !== undefined) {
    if (isEndpoint(o.escalateTo)) {
      cascade = new Cascade(model, o.escalateTo, { policy, endpoint: { apiKey: o.escalateApiKey, model: o.escalateModel } });
    } else {
      const bigPath = await cliModelPath(o.escalateTo, { allowDefault: false });
      const p2 = loadProgress(true);
      big = await loadModel(bigPath, { backend: o.backend, threads: o.threads, tokenizer: o.tokenizer, kvDType: o.kvDType, contextSize: o.contextSize, maxSequences: o.parallel, maxQueue: o.queue, onProgress: p2.onProgress });
      p2.stop();
      cascade = new Cascade(model, big, { policy });
    }
    log(`escalating to ${cascade.big.name} (policy ${JSON.stringify(cascade.policy)})\n`);
  }
  const spec = await loadDraftForCli(o, model, { backend: o.backend, threads: o.threads, kvDType: o.kvDType, tokenizer: o.tokenizer });
  const { app } = createServer(model, { apiKey: o.apiKey, cors: o.cors, cascade, ...(spec.draft !== undefined ? { draft: spec.draft } : {}), ...(spec.draftMax !== undefined ? { draftMax: spec.draftMax } : {}) });
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
        void big?.dispose();
      }, o.grace * 1000);
      timer.unref();
      void app
        .close()
        .catch(() => {})
        .then(() => model.dispose())
        .then(() => big?.dispose())
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
