import { consume } from '../generate/consume.js';
import { loadModel, type BackendName } from '../model/load.js';
import { BadArgumentError } from '../errors/errors.js';
import { loadProgress } from './progress.js';
import { cliModelPath } from './model-ref.js';
import { checkFits } from './plan.js';

export interface RunOptions {
  /** Path or hf: reference; absent: the default model. */
  readonly model?: string;
  /** --max-memory in bytes (default: free memory). */
  readonly maxMemory?: number;
  readonly prompt?: string;
  readonly ids?: readonly number[];
  readonly n: number;
  readonly temperature: number;
  readonly topK: number;
  readonly topP: number;
  readonly minP: number;
  readonly repetitionPenalty: number;
  readonly seed?: number;
  readonly stop: readonly string[];
  readonly json: boolean;
  readonly backend: BackendName;
  readonly threads?: number;
  readonly kvDType?: 'f32' | 'f16';
  readonly contextSize?: number;
  readonly tokenizer?: string;
  readonly bos?: boolean;
  readonly specials: boolean;
  readonly ignoreEos: boolean;
}

/** `llama-ts run`: stream a continuation of a prompt (text or ids) to stdout. */
export async function runCommand(o: RunOptions, write: (s: string) => void): Promise<void> {
  if ((o.prompt === undefined) === (o.ids === undefined)) throw new BadArgumentError('give exactly one of --prompt or --ids');
  const path = await cliModelPath(o.model, { allowDefault: true, quiet: o.json });
  // Refuse with numbers before loading; with no -c, the largest context that fits.
  const plan = await checkFits(path, { backend: o.backend, threads: o.threads, kvDType: o.kvDType, contextSize: o.contextSize, maxMemory: o.maxMemory, tokenizer: o.tokenizer });
  const progress = loadProgress(!o.json);
  const t0 = performance.now();
  const model = await loadModel(path, { backend: o.backend, threads: o.threads, kvDType: o.kvDType, tokenizer: o.tokenizer, onProgress: progress.onProgress });
  progress.stop();
  const loadMs = performance.now() - t0;
  try {
    const promptIds = o.ids ? [...o.ids] : model.tokenizer.encode(o.prompt!, { addBos: o.bos, specials: o.specials ? 'parse' : 'plain' });
    const session = model.session({ contextSize: plan.contextSize });
    const gen = model.generate(promptIds, {
      session,
      maxTokens: o.n,
      temperature: o.temperature,
      topK: o.topK,
      topP: o.topP,
      minP: o.minP,
      repetitionPenalty: o.repetitionPenalty,
      seed: o.seed,
      stop: o.stop,
      ignoreEos: o.ignoreEos,
    });
    const result = await consume(gen, (chunk) => {
      if (!o.json) write(chunk.text);
    });
    session.dispose();
    if (o.json) {
      write(
        JSON.stringify({
          prompt_ids: promptIds,
          ids: result.ids,
          text: result.text,
          finish_reason: result.finishReason,
          stopped_by: result.stoppedBy ?? null,
          timings: { load_ms: round(loadMs), prefill_ms: round(result.timings.prefillMs), decode_ms: round(result.timings.decodeMs), prefill_tps: round(result.timings.prefillTps), decode_tps: round(result.timings.decodeTps) },
        }) + '\n',
      );
    } else {
      write('\n');
    }
  } finally {
    await model.dispose();
  }
}

const round = (x: number): number => Math.round(x * 100) / 100;
