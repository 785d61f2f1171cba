/** Speculative decoding, greedy: output equal to plain greedy token for token, and sessions left as plain decoding leaves them. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fixture, skipNoFixtures } from './fixtures.js';
import { loadModel, type GenerateOptions, type GenerateResult, type LlamaModel, type LogitsProcessor } from '../src/index.js';

const KQ = (t: string): string => fixture('models', 'small-llama3.1-kq', `small-llama3.1-kq.${t}.gguf`);
const TINY = (t: string): string => fixture('models', 'tiny-llama3.1', `tiny-llama3.1.${t}.gguf`);

/** A prompt that repeats itself, so lookup finds matches and drafts are sometimes right. */
const PROMPT = [1, 300, 301, 302, 303, 304, 300, 301, 302, 310, 311, 300, 301];

async function generate(m: LlamaModel, prompt: readonly number[], o: GenerateOptions): Promise<{ result: GenerateResult; streamed: number[]; text: string }> {
  const g = m.generate(prompt, o);
  const streamed: number[] = [];
  let text = '';
  for (;;) {
    const x = await g.next();
    if (x.done) return { result: x.value, streamed, text };
    streamed.push(x.value.id);
    text += x.value.text;
  }
}

for (const pair of [
  { name: 'small-llama3.1-kq q8_0 ← q4_0', target: KQ('q8_0'), draft: KQ('q4_0') },
  { name: 'tiny-llama3.1 f32 ← q8_0', target: TINY('f32'), draft: TINY('q8_0') },
]) {
  test(`greedy speculative output equals plain greedy: ${pair.name}, K = 1..8 and lookup`, { skip: skipNoFixtures, timeout: 120_000 }, async () => {
    const target = await loadModel(pair.target, { threads: 1 });
    const draft = await loadModel(pair.draft, { threads: 1 });
    try {
      const base: GenerateOptions = { maxTokens: 48, ignoreEos: true };
      const plain = await generate(target, PROMPT, base);
      assert.equal(plain.result.ids.length, 48);
      let accepted = 0;
      for (let K = 1; K <= 8; K++) {
        const s = await generate(target, PROMPT, { ...base, draft, draftMax: K, draftFixed: true });
        assert.deepEqual(s.result.ids, plain.result.ids, `K=${K}`);
        assert.deepEqual(s.streamed, plain.streamed, `streamed, K=${K}`);
        assert.equal(s.text, plain.text);
        assert.ok(s.result.draft, 'draft stats');
        assert.ok(s.result.draft.drafted > 0 && s.result.draft.accepted <= s.result.draft.drafted);
        // Every verification step produced at least one token and at most K + 1.
        assert.ok(s.result.draft.steps <= 48 && s.result.draft.steps * (K + 1) >= 48, JSON.stringify(s.result.draft));
        accepted += s.result.draft.accepted;
      }
      assert.ok(accepted > 0, 'a draft of the same weights is right sometimes');
      for (const draftMax of [1, 4, 10]) {
        const l = await generate(target, PROMPT, { ...base, draft: 'lookup', draftMax });
        assert.deepEqual(l.result.ids, plain.result.ids, `lookup ${draftMax}`);
        assert.ok(l.result.draft);
      }
      const adaptive = await generate(target, PROMPT, { ...base, draft });
      assert.deepEqual(adaptive.result.ids, plain.result.ids, 'adaptive K');
      assert.ok(target.stats().draft.requests >= 12);
    } finally {
      await target.dispose();
      await draft.dispose();
    }
  });
}

test('greedy speculative: EOS, stop strings, maxTokens and a stateful logits processor end as plain decoding', { skip: skipNoFixtures, timeout: 120_000 }, async () => {
  const target = await loadModel(TINY('f32'), { threads: 1 });
  const draft = await loadModel(TINY('q8_0'), { threads: 1 });
  try {
    const plain = await generate(target, PROMPT, { maxTokens: 30, ignoreEos: true });
    // A stop id and a stop string taken from plain output, so both fire mid-round.
    const stopId = plain.result.ids[17]!;
    const stopText = target.tokenizer.decode(plain.result.ids.slice(9, 11));
    /** Bans every token already taken: its state depends on every accepted token. */
    const processor = (): LogitsProcessor & { seen: number[] } => {
      const seen: number[] = [];
      return {
        seen,
        process(row) {
          for (const id of seen) row[id] = -Infinity;
        },
        accept(id) {
          seen.push(id);
        },
        rollback(n) {
          seen.length -= n;
        },
      };
    };
    const cases: GenerateOptions[] = [
      { maxTokens: 30, stopIds: [stopId] },
      { maxTokens: 30, ignoreEos: true, stop: [stopText] },
      { maxTokens: 7, ignoreEos: true },
      { maxTokens: 30, ignoreEos: true, repetitionPenalty: 1.5, frequencyPenalty: 0.5, logitBias: { [plain.result.ids[3]!]: -50 } },
    ];
    for (const c of cases) {
      const ref = await generate(target, PROMPT, c);
      for (const d of [draft, 'lookup'] as const) {
        const s = await generate(target, PROMPT, { ...c, draft: d, draftMax: 6, draftFixed: true });
        assert.deepEqual(s.result.ids, ref.result.ids, JSON.stringify(c));
        assert.equal(s.result.text, ref.result.text);
        assert.equal(s.text, ref.text);
        assert.equal(s.result.finishReason, ref.result.finishReason);
        assert.equal(s.result.stoppedBy, ref.result.stoppedBy);
      }
    }
    const pRef = processor();
    const ref = await generate(target, PROMPT, { maxTokens: 30, ignoreEos: true, logitsProcessors: [pRef] });
    const pSpec = processor();
    const s = await generate(target, PROMPT, { maxTokens: 30, ignoreEos: true, logitsProcessors: [pSpec], draft, draftMax: 8, draftFixed: true });
    assert.deepEqual(s.result.ids, ref.result.ids);
    assert.deepEqual(pSpec.seen, pRef.seen, 'the processor saw exactly the accepted tokens');
    assert.notDeepEqual(ref.result.ids, plain.result.ids, 'the processor changed the output');
  } finally {
    await target.dispose();
    await draft.dispose();
  }
});

test('speculative generate on a session leaves its tokens and next logits as plain generate does', { skip: skipNoFixtures, timeout: 120_000 }, async () => {
  const target = await loadModel(TINY('f32'), { threads: 1 });
  const draft = await loadModel(TINY('q8_0'), { threads: 1 });
  try {
    for (const o of [{ maxTokens: 20, ignoreEos: true }, { maxTokens: 20, temperature: 0.8, seed: 3, ignoreEos: true }] as GenerateOptions[]) {
      const a = target.session({ contextSize: 64 });
      const b = target.session({ contextSize: 64 });
      const c = target.session({ contextSize: 64 });
      const plain = await generate(target, PROMPT, { ...o, session: a });
      const spec = await generate(target, PROMPT, { ...o, session: b, draft, draftMax: 5, draftFixed: true });
      const look = await generate(target, PROMPT, { ...o, session: c, draft: 'lookup' });
      if (!o.temperature) {
        assert.deepEqual(spec.result.ids, plain.result.ids);
        assert.deepEqual(look.result.ids, plain.result.ids);
      }
      for (const [s, r] of [[b, spec], [c, look]] as const) {
        assert.deepEqual(s.tokens, [...PROMPT, ...r.result.ids.slice(0, -1)], 'prompt and every sampled token but the last');
      }
      assert.deepEqual(b.tokens.length, a.tokens.length);
      if (!o.temperature) {
        assert.deepEqual(b.tokens, a.tokens);
        const next = [5, 6];
        const la = await a.eval(next);
        const lb = await b.eval(next);
        const lc = await c.eval(next);
        assert.deepEqual(lb, la, 'next logits equal after speculative generate');
        assert.deepEqual(lc, la, 'next logits equal after lookup generate');
        // A second turn on the session continues the cached prefix.
        const turn = [...a.tokens, 7];
        const t1 = await generate(target, turn, { maxTokens: 10, ignoreEos: true, session: a });
        const t2 = await generate(target, turn, { maxTokens: 10, ignoreEos: true, session: b, draft });
        assert.deepEqual(t2.result.ids, t1.result.ids);
        assert.equal(t2.result.cache?.reused, turn.length - 1);
      }
      for (const s of [a, b, c]) s.dispose();
    }
  } finally {
    await target.dispose();
    await draft.dispose();
  }
});

test('speculative requests run beside plain ones on one model, each as alone; abort ends one early', { skip: skipNoFixtures, timeout: 120_000 }, async () => {
  const target = await loadModel(TINY('f32'), { threads: 1 });
  const draft = await loadModel(TINY('q8_0'), { threads: 1 });
  try {
    const o: GenerateOptions = { maxTokens: 24, ignoreEos: true };
    const prompts = [PROMPT, [1, 500, 501, 502], [1, 600, 601, 600, 601]];
    const alone = [];
    for (const p of prompts) alone.push((await generate(target, p, o)).result.ids);
    const together = await Promise.all([
      generate(target, prompts[0]!, { ...o, draft }),
      generate(target, prompts[1]!, { ...o, draft: 'lookup' }),
      generate(target, prompts[2]!, o),
      generate(target, prompts[1]!, { ...o, draft, draftMax: 2 }),
    ]);
    assert.deepEqual(together.map((t) => t.result.ids), [alone[0], alone[1], alone[2], alone[1]]);

    const ac = new AbortController();
    const g = target.generate(PROMPT, { maxTokens: 200, ignoreEos: true, draft, signal: ac.signal });
    let n = 0;
    let result: GenerateResult | undefined;
    for (;;) {
      const x = await g.next();
      if (x.done) {
        result = x.value;
        break;
      }
      if (++n === 3) ac.abort();
    }
    assert.equal(result.finishReason, 'abort');
    assert.ok(result.ids.length < 200);
  } finally {
    await target.dispose();
    await draft.dispose();
  }
});

test('speculative requests take maxSequences slots and wait in the bounded queue like plain ones', { skip: skipNoFixtures, timeout: 120_000 }, async () => {
  const target = await loadModel(TINY('f32'), { threads: 1, maxSequences: 1, maxQueue: 1 });
  try {
    const o: GenerateOptions = { maxTokens: 16, ignoreEos: true };
    const alone = (await generate(target, PROMPT, o)).result.ids;
    const first = target.submit(PROMPT, { ...o, draft: 'lookup' });
    const second = target.submit(PROMPT, { ...o, draft: 'lookup' });
    assert.deepEqual(target.stats().running, 1);
    assert.deepEqual(target.stats().queued, 1);
    // One running, one waiting: the queue is full for plain and speculative requests alike.
    assert.throws(() => target.submit(PROMPT, o), (e: Error & { code?: string }) => e.code === 'QUEUE_FULL');
    assert.throws(() => target.submit(PROMPT, { ...o, draft: 'lookup' }), (e: Error & { code?: string }) => e.code === 'QUEUE_FULL');
    const [a, b] = await Promise.all([first.result, second.result]);
    assert.deepEqual(a.ids, alone);
    assert.deepEqual(b.ids, alone);
    // A waiting request that is cancelled ends at once, without ever taking the slot.
    const holder = target.submit(PROMPT, { ...o, draft: 'lookup' });
    const waiter = target.submit(PROMPT, { ...o, draft: 'lookup' });
    waiter.cancel();
    const w = await waiter.result;
    assert.equal(w.finishReason, 'abort');
    assert.equal(w.ids.length, 0);
    await holder.result;
    assert.equal(target.stats().running, 0);
    assert.equal(target.stats().queued, 0);
  } finally {
    await target.dispose();
  }
});

test('each verification of K + 1 tokens is one forward step of the model, even past the prefill chunk size', { skip: skipNoFixtures, timeout: 60_000 }, async () => {
  const target = await loadModel(TINY('f32'), { threads: 1, stepMs: 1 });
  const draft = await loadModel(TINY('q8_0'), { threads: 1 });
  try {
    const prompt = PROMPT.slice(0, 9); // 8 prompt tokens to prefill: one step at the smallest budget
    const before = target.stats().steps;
    const s = await generate(target, prompt, { maxTokens: 40, ignoreEos: true, draft, draftMax: 12, draftFixed: true });
    assert.equal(target.stats().steps - before, 1 + s.result.draft!.steps);
    const plain = await generate(target, prompt, { maxTokens: 40, ignoreEos: true });
    assert.deepEqual(s.result.ids, plain.result.ids);
  } finally {
    await target.dispose();
    await draft.dispose();
  }
});

test('a full context ends speculative decoding with length where plain decoding ends', { skip: skipNoFixtures, timeout: 60_000 }, async () => {
  const target = await loadModel(TINY('f32'), { threads: 1, contextSize: 20 });
  const draft = await loadModel(TINY('q8_0'), { threads: 1 });
  try {
    for (const session of [false, true]) {
      const run = async (o: GenerateOptions): Promise<GenerateResult> => {
        const s = session ? target.session({ contextSize: 18 }) : undefined;
        const r = (await generate(target, PROMPT, { maxTokens: 30, ignoreEos: true, ...(s ? { session: s } : {}), ...o })).result;
        s?.dispose();
        return r;
      };
      const plain = await run({});
      assert.equal(plain.finishReason, 'length');
      assert.ok(plain.ids.length < 30);
      for (const d of [draft, 'lookup'] as const) {
        const s = await run({ draft: d, draftMax: 8, draftFixed: true });
        assert.deepEqual(s.ids, plain.ids, `session ${session}`);
        assert.equal(s.finishReason, 'length');
      }
    }
  } finally {
    await target.dispose();
    await draft.dispose();
  }
});
