import type { LlamaModel } from '../model/model.js';
import type { GenerateChunk, GenerateOptions, GenerateResult } from '../generate/options.js';
import { TopLogprobs, type TopLogprob } from './sampling.js';

export interface TokenEvent {
  readonly chunk: GenerateChunk;
  /** Alternatives at this step (when logprobs were asked for). */
  readonly top: readonly TopLogprob[] | undefined;
}

/**
 * Runs one choice through the model's scheduler, handing each token (with its alternatives) to
 * `onToken` as it is produced. `signal` cancels it (client gone): the sequence is freed at once.
 */
export async function runChoice(
  model: LlamaModel,
  ids: readonly number[],
  options: GenerateOptions,
  topK: number | undefined,
  signal: AbortSignal,
  onToken: (e: TokenEvent) => void,
): Promise<GenerateResult> {
  const top = topK !== undefined ? new TopLogprobs(topK) : undefined;
  const processors = [...(options.logitsProcessors ?? []), ...(top ? [top] : [])];
  const h = model.submit([...ids], { ...options, logitsProcessors: processors, signal });
  let i = 0;
  for await (const chunk of h.chunks) onToken({ chunk, top: top?.steps[i++] });
  return h.result;
}
