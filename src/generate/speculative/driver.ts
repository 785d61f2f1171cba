import type { GenerateChunk, GenerateResult, DraftStats, FinishReason } from '../options.js';
import type { GenerateRequest, RequestHandle, Scheduler } from '../../engine/scheduler.js';
import type { Tokenizer } from '../../tokenizer/types.js';
import type { KVDType } from '../../backend/backend.js';
import { Channel } from '../../engine/channel.js';
import { commonPrefix, type Sequence } from '../../engine/kv-manager.js';
import { Generation } from '../generation.js';
import { AdaptiveK } from './adaptive.js';
import { verifyDrafts } from './verify.js';
import type { Drafter } from './drafter.js';
import { BadArgumentError, ContextOverflowError } from '../../errors/errors.js';

/** The target model as the driver sees it. */
export interface SpeculativeTarget {
  readonly scheduler: Scheduler;
  readonly vocabSize: number;
  readonly eosIds: readonly number[];
  readonly tokenizer: Tokenizer | undefined;
  readonly contextSize: number;
  readonly kvDType: KVDType;
}

export interface SpeculativeSettings {
  readonly draftMax: number;
  readonly fixed: boolean;
  /** Called once per finished request with its counts (the model's totals for /metrics). */
  readonly onFinish?: (stats: DraftStats) => void;
}

/**
 * Speculative decoding as a client of the scheduler. Each round the drafter proposes up to K
 * tokens, the target evaluates [last, d1..dK] in one evalTokens call (one batched step, beside
 * whatever else the scheduler runs), `verifyDrafts` keeps a prefix and samples one more, and the
 * KV cache is cut back to what was kept. Only kept tokens ever reach the Generation, so text,
 * stop strings, EOS, maxTokens and processors see exactly the sequence plain decoding would. At
 * the end the sequence holds what plain decoding leaves: the prompt and every sampled token but
 * the last.
 */
export function submitSpeculative(target: SpeculativeTarget, req: GenerateRequest, drafter: Drafter, settings: SpeculativeSettings): RequestHandle {
  const prompt = req.prompt;
  if (prompt.length === 0) throw new BadArgumentError('the prompt is empty: give at least one token (e.g. BOS)');
  for (const id of prompt) if (!Number.isInteger(id) || id < 0 || id >= target.vocabSize) throw new BadArgumentError(`token id ${id} is outside the vocabulary (0..${target.vocabSize - 1})`);
  const context = req.sequence ? req.sequence.capacity : target.contextSize;
  if (prompt.length > context) throw new ContextOverflowError(prompt.length, context);
  const gen = new Generation(target.tokenizer, target.eosIds, prompt, req);
  // Where plain decoding stops with 'length': the session's capacity, else its own sequence's.
  const limit = req.sequence ? req.sequence.capacity : Math.min(target.contextSize, prompt.length + gen.maxTokens);
  const sched = target.scheduler;
  // Aborting (the caller's signal, cancel(), a consumer that stops) also ends a wait for a slot.
  const stop = new AbortController();
  let aborted = req.signal?.aborted ?? false;
  const abort = (): void => {
    aborted = true;
    stop.abort();
  };
  if (aborted) stop.abort();
  // Taken now, so a full queue is QUEUE_FULL at submission, as for plain requests.
  const slot = req.sequence || gen.done ? undefined : sched.reserveSlot(stop.signal);
  let release: (() => void) | undefined;
  const channel = new Channel<GenerateChunk, GenerateResult>(abort);
  const onAbort = (): void => abort();
  req.signal?.addEventListener('abort', onAbort, { once: true });
  const kv = sched.kv;
  const k = new AdaptiveK(settings.draftMax, settings.fixed);
  const counts = { drafted: 0, accepted: 0, steps: 0 };
  const t0 = performance.now();
  let tFirst: number | undefined;
  let seq: Sequence | undefined;
  let reused = 0;
  const emit = (chunks: readonly GenerateChunk[]): void => {
    for (const c of chunks) channel.push(c);
  };

  const run = async (): Promise<void> => {
    if (req.sequence) {
      seq = req.sequence;
      await seq.ready;
      if (!seq.contiguous && seq.length > 0) kv.truncate(seq, 0);
      reused = Math.min(commonPrefix(seq.tokens, prompt), prompt.length - 1);
      kv.truncate(seq, reused);
    } else if (!gen.done) {
      // A slot like any submitted request's, so speculative requests are bounded by maxSequences too.
      release = await slot;
      if (!release) {
        emit(gen.finish('abort'));
        return;
      }
      const got = await kv.acquire(prompt, limit, target.kvDType, []);
      seq = got.seq;
      reused = got.reused;
    }
    if (gen.done || !seq) return;
    // The prompt's last token goes into the first verification, so its row is the first draw.
    if (reused < prompt.length - 1) {
      const fresh = prompt.slice(reused, prompt.length - 1);
      await sched.evalTokens(seq, fresh, fresh.map((_, i) => reused + i), 'none');
    }
    const taken = [...prompt];
    // The verification rows, reused from round to round (verifyDrafts keeps none of them).
    let rowsBuf = new Float32Array(0);
    while (!gen.done) {
      if (aborted) {
        emit(gen.finish('abort'));
        break;
      }
      const cached = seq.length;
      if (cached >= limit) {
        emit(gen.finish('length'));
        break;
      }
      const want = Math.min(k.value, limit - cached - 1, gen.maxTokens - gen.ids.length - 1, drafter.room(taken));
      const proposal = want > 0 ? await drafter.propose(taken, want, gen) : { ids: [], qs: [] };
      if (aborted) continue;
      const tokens = [taken[taken.length - 1]!, ...proposal.ids];
      // One forward step for all K + 1 rows, however the scheduler chunks prefill.
      const size = tokens.length * target.vocabSize;
      if (rowsBuf.length < size) rowsBuf = new Float32Array(size);
      const rows = await sched.evalTokens(seq, tokens, tokens.map((_, i) => cached + i), 'all', { whole: true, into: rowsBuf });
      counts.steps++;
      tFirst ??= performance.now();
      const r = verifyDrafts(gen, proposal.ids, proposal.qs, rows, target.vocabSize);
      counts.drafted += proposal.ids.length;
      counts.accepted += r.accepted;
      k.update(proposal.ids.length, r.accepted);
      kv.truncate(seq, cached + 1 + r.accepted);
      taken.push(...r.sampled);
      emit(r.chunks);
    }
    // Plain decoding never evaluates the last sampled token.
    if (seq.length > taken.length - 1) kv.truncate(seq, taken.length - 1);
  };

  const finish = (): void => {
    req.signal?.removeEventListener('abort', onAbort);
    drafter.dispose();
    if (seq && !req.sequence) kv.release(seq, true);
    release?.();
    const stats: DraftStats = { ...counts };
    settings.onFinish?.(stats);
  };

  void run().then(
    () => {
      finish();
      const reason: FinishReason = gen.finishReason ?? 'length';
      sched.noteExternal(gen.ids.length, reason);
      const now = performance.now();
      const first = tFirst ?? now;
      const prefillMs = first - t0;
      const decodeMs = now - first;
      const evaluated = Math.max(0, prompt.length - reused);
      const ids = gen.ids;
      channel.close({
        ids,
        text: gen.text,
        finishReason: reason,
        stoppedBy: gen.stoppedBy,
        promptTokens: prompt.length,
        cache: { reused, evaluated },
        timings: {
          prefillMs,
          decodeMs,
          prefillTps: prefillMs > 0 ? (evaluated * 1000) / prefillMs : 0,
          decodeTps: decodeMs > 0 && ids.length > 1 ? ((ids.length - 1) * 1000) / decodeMs : 0,
        },
        draft: { ...counts },
      });
    },
    (e: unknown) => {
      // A failed step leaves drafts in the cache: cut back to the tokens known to be kept.
      if (seq && !seq.freed) kv.truncate(seq, Math.min(seq.length, prompt.length - 1 + gen.ids.length));
      finish();
      sched.noteExternal(gen.ids.length, 'error');
      channel.fail(e);
    },
  );
  return { chunks: channel, result: channel.result, cancel: abort };
}
