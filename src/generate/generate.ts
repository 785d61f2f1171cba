import type { Session } from '../model/session.js';
import type { Tokenizer } from '../tokenizer/types.js';
import type { FinishReason, GenerateChunk, GenerateOptions, GenerateResult } from './options.js';
import { StreamDecoder } from '../tokenizer/stream.js';
import { Sampler } from './sampler.js';
import { StopMatcher } from './stop.js';
import { BadArgumentError } from '../errors/errors.js';

const yieldToEventLoop = (): Promise<void> => new Promise((r) => setImmediate(r));

/** Length of the common prefix of two id lists. */
function commonPrefix(a: readonly number[], b: readonly number[]): number {
  const n = Math.min(a.length, b.length);
  let i = 0;
  while (i < n && a[i] === b[i]) i++;
  return i;
}

/**
 * The generation loop every front end consumes: prefill (reusing the session's cached prefix),
 * then sample → yield → decode one token, until EOS, a stop string, maxTokens or a full context.
 *
 * Text deltas never split a UTF-8 character and never show a stop string: a token whose text might
 * begin a stop string is held back until that is decided, so the concatenated chunk texts always
 * equal the returned `text`.
 */
export async function* generateStream(
  session: Session,
  tokenizer: Tokenizer | undefined,
  eosIds: readonly number[],
  promptIds: readonly number[],
  options: GenerateOptions = {},
): AsyncGenerator<GenerateChunk, GenerateResult, void> {
  if (promptIds.length === 0) throw new BadArgumentError('the prompt is empty: give at least one token (e.g. BOS)');
  const maxTokens = options.maxTokens ?? 256;
  if (!Number.isInteger(maxTokens) || maxTokens < 0) throw new BadArgumentError(`maxTokens must be a non-negative integer, got ${maxTokens}`);
  const sampler = new Sampler(options);
  const stopIds = new Set<number>([...(options.ignoreEos ? [] : eosIds), ...(options.stopIds ?? [])]);
  const stops = new StopMatcher(options.stop ?? []);
  const decoder = tokenizer ? new StreamDecoder(tokenizer) : undefined;

  // Prefill, keeping whatever prefix the session already holds (at least one token is re-run
  // so there are logits to sample from).
  const t0 = performance.now();
  const keep = Math.min(commonPrefix(session.tokens, promptIds), promptIds.length - 1);
  session.truncate(keep);
  let logits = await session.eval(promptIds.slice(keep), { logits: 'last' });
  sampler.accept(promptIds);
  const t1 = performance.now();

  const ids: number[] = [];
  let all = '';
  let released = 0;
  let pending: { id: number; logprob: number }[] = [];
  let finishReason: FinishReason = 'length';
  let stoppedBy: number | string | undefined;

  const release = function* (upTo: number): Generator<GenerateChunk> {
    for (let i = 0; i < pending.length; i++) {
      const p = pending[i]!;
      const text = i === pending.length - 1 ? all.slice(released, upTo) : '';
      yield { id: p.id, text, logprob: p.logprob };
    }
    released = upTo;
    pending = [];
  };

  while (ids.length < maxTokens) {
    if (options.signal?.aborted) {
      finishReason = 'abort';
      break;
    }
    const { id, logprob } = sampler.sample(logits);
    if (stopIds.has(id)) {
      finishReason = 'stop';
      stoppedBy = id;
      break;
    }
    ids.push(id);
    sampler.accept(id);
    pending.push({ id, logprob });
    const before = all.length;
    if (decoder) all += decoder.push(id);
    if (stops.active) {
      const hit = stops.find(all, before);
      if (hit) {
        all = all.slice(0, hit.index);
        yield* release(all.length);
        finishReason = 'stop';
        stoppedBy = hit.stop;
        break;
      }
    }
    const releasable = all.length - (stops.active ? stops.heldBack(all) : 0);
    if (releasable > released || (!decoder && pending.length > 0)) yield* release(releasable);
    if (ids.length >= maxTokens) break;
    if (session.length >= session.contextSize) {
      finishReason = 'length';
      break;
    }
    await yieldToEventLoop();
    logits = await session.eval([id], { logits: 'last' });
  }
  if (finishReason !== 'stop' || typeof stoppedBy === 'number') {
    if (decoder) all += decoder.flush();
    if (pending.length > 0) yield* release(all.length);
  }
  const t2 = performance.now();
  const prefillMs = t1 - t0;
  const decodeMs = t2 - t1;
  return {
    ids,
    text: all,
    finishReason,
    stoppedBy,
    promptTokens: promptIds.length,
    timings: {
      prefillMs,
      decodeMs,
      prefillTps: prefillMs > 0 ? ((promptIds.length - keep) * 1000) / prefillMs : 0,
      decodeTps: decodeMs > 0 && ids.length > 0 ? (ids.length * 1000) / decodeMs : 0,
    },
  };
}
