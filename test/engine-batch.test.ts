/**
 * The many-sequences engine: a request's output is the same alone or among 15 others (greedy and
 * seeded sampling, both backends), prefix reuse, fork, abort, queue bounds, logits processors.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fixture, skipNoFixtures } from './fixtures.js';
import { loadModel, consume, type GenerateOptions, type GenerateResult, type LlamaModel } from '../src/index.js';

const MODEL = (): string => fixture('models', 'tiny-llama3.1', 'tiny-llama3.1.f32.gguf');

interface Case {
  prompt: number[];
  options: GenerateOptions;
}

/** 16 requests with different prompt lengths, seeds, sampling and stop conditions. */
function cases(): Case[] {
  return Array.from({ length: 16 }, (_, i) => {
    const len = 3 + ((i * 7) % 40);
    const prompt = [1, ...Array.from({ length: len }, (_, j) => 3 + ((i * 31 + j * 17) % 1000))];
    const options: GenerateOptions =
      i % 4 === 0
        ? { maxTokens: 24 }
        : i % 4 === 1
          ? { maxTokens: 20, temperature: 0.9, topP: 0.9, seed: 100 + i }
          : i % 4 === 2
            ? { maxTokens: 28, temperature: 1.2, topK: 40, seed: 7 * i, repetitionPenalty: 1.1, stopIds: [600 + i] }
            : { maxTokens: 16, temperature: 0.7, minP: 0.05, seed: i, stop: ['e', 'xq'] };
    return { prompt, options };
  });
}

interface Out {
  ids: number[];
  logprobs: number[];
  text: string;
  result: GenerateResult;
}

async function run(m: LlamaModel, c: Case): Promise<Out> {
  const logprobs: number[] = [];
  let text = '';
  const result = await consume(m.generate(c.prompt, c.options), (ch) => {
    logprobs.push(ch.logprob ?? NaN);
    text += ch.text;
  });
  return { ids: result.ids, logprobs, text, result };
}

for (const backend of ['ref', 'wasm'] as const) {
  test(`${backend}: each of 16 concurrent requests gets exactly what it gets alone`, { skip: skipNoFixtures, timeout: 240_000 }, async () => {
    const m = await loadModel(MODEL(), { backend, threads: 2, prefixCacheBytes: 0 });
    try {
      const cs = cases();
      const alone: Out[] = [];
      for (const c of cs) alone.push(await run(m, c));
      const before = m.stats().steps;
      const together = await Promise.all(cs.map((c) => run(m, c)));
      const steps = m.stats().steps - before;
      for (let i = 0; i < cs.length; i++) {
        assert.deepEqual(together[i]!.ids, alone[i]!.ids, `request ${i}: ids differ`);
        assert.deepEqual(together[i]!.logprobs, alone[i]!.logprobs, `request ${i}: logprobs differ (not bit-identical)`);
        assert.equal(together[i]!.text, alone[i]!.text);
        assert.equal(together[i]!.result.finishReason, alone[i]!.result.finishReason);
      }
      // Batched: far fewer steps than the requests' tokens one by one.
      const tokens = alone.reduce((a, o) => a + o.ids.length, 0);
      assert.ok(steps < tokens / 4, `${steps} steps for ${tokens} tokens: requests were not batched`);
      assert.ok(alone.some((o) => o.result.finishReason === 'stop'), 'some request should stop early');
    } finally {
      await m.dispose();
    }
  });
}

test('logits of a sequence are bit-identical whatever shares the step and however the prompt is chunked', { skip: skipNoFixtures }, async () => {
  const m = await loadModel(MODEL(), { backend: 'wasm', threads: 2 });
  try {
    const ids = Array.from({ length: 40 }, (_, i) => 3 + ((i * 13) % 900));
    const alone = await m.logits(ids);
    const noise = Array.from({ length: 6 }, (_, k) => m.logits(Array.from({ length: 5 + k * 9 }, (_, i) => 5 + ((i * k + 11) % 800))));
    const s = m.session({ contextSize: 64 });
    const parts = [await s.eval(ids.slice(0, 7)), await s.eval(ids.slice(7, 8)), await s.eval(ids.slice(8))];
    const [batched] = await Promise.all([m.logits(ids), ...noise]);
    assert.deepEqual(batched, alone);
    const V = m.config.vocabSize;
    const joined = new Float32Array(40 * V);
    joined.set(parts[0]!, 0);
    joined.set(parts[1]!, 7 * V);
    joined.set(parts[2]!, 8 * V);
    assert.deepEqual(joined, alone);
    s.dispose();
  } finally {
    await m.dispose();
  }
});

test('prefix cache: a repeated prompt and a next turn reuse cached tokens and give identical output', { skip: skipNoFixtures }, async () => {
  const m = await loadModel(MODEL(), { backend: 'wasm', threads: 2 });
  try {
    const prompt = [1, ...Array.from({ length: 60 }, (_, i) => 3 + ((i * 29) % 1000))];
    const first = await run(m, { prompt, options: { maxTokens: 12 } });
    assert.equal(first.result.cache?.reused, 0);
    assert.equal(first.result.cache?.evaluated, prompt.length);
    const ev0 = m.stats().evaluatedTokens;
    const again = await run(m, { prompt, options: { maxTokens: 12 } });
    assert.deepEqual(again.ids, first.ids);
    assert.equal(again.result.cache?.reused, prompt.length - 1);
    assert.equal(again.result.cache?.evaluated, 1);
    // 1 prompt token + 11 decode rows (the 12th sampled token is never evaluated).
    assert.equal(m.stats().evaluatedTokens - ev0, 1 + again.ids.length - 1);
    // Next turn: the previous prompt + answer + new text.
    const next = [...prompt, ...first.ids, 7, 8, 9];
    const turn = await run(m, { prompt: next, options: { maxTokens: 8 } });
    assert.ok((turn.result.cache?.reused ?? 0) >= prompt.length, `reused ${turn.result.cache?.reused}`);
    const fresh = await loadModel(MODEL(), { backend: 'wasm', threads: 2, prefixCacheBytes: 0 });
    try {
      const ref = await run(fresh, { prompt: next, options: { maxTokens: 8 } });
      assert.deepEqual(turn.ids, ref.ids);
      assert.deepEqual(turn.logprobs, ref.logprobs);
      assert.equal(ref.result.cache?.reused, 0);
    } finally {
      await fresh.dispose();
    }
    assert.ok(m.stats().prefixCache.hits >= 2);
  } finally {
    await m.dispose();
  }
});

test('requests arriving together with a shared prefix evaluate it once and give identical output', { skip: skipNoFixtures }, async () => {
  const m = await loadModel(MODEL(), { backend: 'wasm', threads: 2, prefixCacheBytes: 0 });
  try {
    const header = [1, ...Array.from({ length: 47 }, (_, i) => 3 + ((i * 37) % 1000))];
    const cs: Case[] = Array.from({ length: 6 }, (_, k) => ({
      prompt: [...header, ...Array.from({ length: 5 + k }, (_, j) => 11 + ((k * 101 + j * 7) % 900))],
      options: { maxTokens: 6, temperature: 0.8, seed: k },
    }));
    const alone: Out[] = [];
    for (const c of cs) alone.push(await run(m, c));
    const ev0 = m.stats().evaluatedTokens;
    const together = await Promise.all(cs.map((c) => run(m, c)));
    for (let k = 0; k < cs.length; k++) {
      assert.deepEqual(together[k]!.ids, alone[k]!.ids, `request ${k}`);
      assert.deepEqual(together[k]!.logprobs, alone[k]!.logprobs, `request ${k}: logprobs`);
    }
    // One request evaluates the shared 48 tokens; the other five copy them.
    const reused = together.map((o) => o.result.cache?.reused ?? 0);
    assert.equal(reused.filter((r) => r >= header.length).length, cs.length - 1, `reused: ${reused}`);
    const prompts = cs.reduce((a, c) => a + c.prompt.length, 0);
    const decodeRows = together.reduce((a, o) => a + o.ids.length - 1, 0);
    assert.equal(m.stats().evaluatedTokens - ev0, prompts - (cs.length - 1) * header.length + decodeRows);
  } finally {
    await m.dispose();
  }
});

test('prefix cache is bounded: entries are evicted least recently used first', { skip: skipNoFixtures }, async () => {
  const m = await loadModel(MODEL(), { backend: 'ref', contextSize: 64, prefixCacheBytes: 1 });
  try {
    await run(m, { prompt: [1, 5, 6, 7], options: { maxTokens: 2 } });
    assert.equal(m.stats().prefixCache.entries, 0, 'nothing fits in 1 byte');
  } finally {
    await m.dispose();
  }
  // 64 slots × 3 layers × 2 heads × 16 × 2 × 4 bytes = 49152 bytes per sequence: room for two.
  const m2 = await loadModel(MODEL(), { backend: 'ref', contextSize: 64, prefixCacheBytes: 2 * 49152 });
  try {
    for (const p of [[1, 10, 11], [1, 20, 21], [1, 30, 31]]) await run(m2, { prompt: p, options: { maxTokens: 60 } });
    const st = m2.stats().prefixCache;
    assert.equal(st.entries, 2);
    assert.equal(st.evictions, 1);
    const r = await run(m2, { prompt: [1, 10, 11, 12], options: { maxTokens: 2 } });
    assert.equal(r.result.cache?.reused, 0, 'the oldest entry was evicted');
    const r2 = await run(m2, { prompt: [1, 30, 31, 12], options: { maxTokens: 2 } });
    assert.equal(r2.result.cache?.reused, 3);
  } finally {
    await m2.dispose();
  }
});

test('fork: two sessions continue from one shared prefix exactly as fresh ones would', { skip: skipNoFixtures }, async () => {
  const m = await loadModel(MODEL(), { backend: 'wasm', threads: 2 });
  try {
    const s = m.session({ contextSize: 32 });
    await s.eval([1, 40, 41, 42], { logits: 'none' });
    const f = await s.fork();
    assert.deepEqual(f.tokens, [1, 40, 41, 42]);
    const a = await s.eval([50]);
    const b = await f.eval([60, 61], { startPos: 10 });
    const direct = await m.logits([1, 40, 41, 42, 50]);
    const V = m.config.vocabSize;
    assert.deepEqual(a, direct.subarray(4 * V));
    const g = m.session({ contextSize: 32 });
    await g.eval([1, 40, 41, 42]);
    const b2 = await g.eval([60, 61], { startPos: 10 });
    assert.deepEqual(b, b2);
    assert.equal(f.nextPosition, 12);
    for (const x of [s, f, g]) x.dispose();
  } finally {
    await m.dispose();
  }
});

test('abort mid-prefill and mid-decode frees the sequence at once; the others are unaffected', { skip: skipNoFixtures, timeout: 120_000 }, async () => {
  const m = await loadModel(MODEL(), { backend: 'wasm', threads: 2, maxSequences: 2, stepMs: 5 });
  try {
    const c: Case = { prompt: [1, 9, 8, 7, 6], options: { maxTokens: 40, temperature: 0.8, seed: 3 } };
    const alone = await run(m, c);
    // Mid-prefill: a long prompt aborted after its first chunk.
    const ac = new AbortController();
    const long = run(m, { prompt: Array.from({ length: 1500 }, (_, i) => 3 + (i % 1000)), options: { maxTokens: 4, signal: ac.signal } });
    const other = run(m, c);
    while (m.stats().evaluatedTokens === 0 || m.stats().steps < 3) await new Promise((r) => setTimeout(r, 1));
    ac.abort();
    const aborted = await long;
    assert.equal(aborted.result.finishReason, 'abort');
    assert.equal(aborted.ids.length, 0);
    // Its slot is free: a third request is admitted while `other` still runs (maxSequences 2).
    const third = run(m, c);
    assert.equal(m.stats().running <= 2, true);
    const [o, t] = await Promise.all([other, third]);
    assert.deepEqual(o.ids, alone.ids);
    assert.deepEqual(t.ids, alone.ids);
    // Mid-decode: break out of the stream after 3 tokens.
    let n = 0;
    const gen = m.generate(c.prompt, { ...c.options, maxTokens: 200 });
    const beside = run(m, c);
    for await (const _ of gen) if (++n === 3) break;
    assert.equal(m.stats().running, 1, 'the broken-off request left at once');
    assert.deepEqual((await beside).ids, alone.ids);
    assert.ok(m.stats().finished.abort >= 2);
  } finally {
    await m.dispose();
  }
});

test('a prompt beside many decodes gets at least as many rows a step as they take', { skip: skipNoFixtures, timeout: 120_000 }, async () => {
  // stepMs 1: the time budget is the floor (8 rows), below the 16 decode rows of every step.
  const m = await loadModel(MODEL(), { backend: 'ref', maxSequences: 17, stepMs: 1, prefixCacheBytes: 0 });
  try {
    const decoding = Array.from({ length: 16 }, (_, i) => run(m, { prompt: [1, 10 + i], options: { maxTokens: 40, ignoreEos: true } }));
    while (m.stats().generatedTokens < 32) await new Promise((r) => setTimeout(r, 1));
    const before = m.stats().steps;
    const prompt = Array.from({ length: 64 }, (_, i) => 3 + i);
    for await (const _ of m.generate(prompt, { maxTokens: 1 })) break;
    const steps = m.stats().steps - before;
    // 64 prompt rows at 16 a step: 4 steps, plus the one in flight when it arrived. At the floor
    // of 8 rows a step it took 8 or more, and the 16 decodes starved any burst of new requests.
    assert.ok(steps <= 5, `first token after ${steps} steps`);
    for (const d of await Promise.all(decoding)) assert.equal(d.ids.length, 40);
  } finally {
    await m.dispose();
  }
});

test('bounded concurrency and queue: QUEUE_FULL when the queue is full', { skip: skipNoFixtures }, async () => {
  const m = await loadModel(MODEL(), { backend: 'ref', maxSequences: 1, maxQueue: 1 });
  try {
    const a = run(m, { prompt: [1, 5], options: { maxTokens: 30, ignoreEos: true } });
    const b = run(m, { prompt: [1, 6], options: { maxTokens: 3 } });
    assert.throws(() => m.submit([1, 7], { maxTokens: 3 }), (e: unknown) => (e as { code?: string }).code === 'QUEUE_FULL');
    assert.equal(m.stats().queued, 1);
    await Promise.all([a, b]);
    assert.equal(m.stats().queued, 0);
  } finally {
    await m.dispose();
  }
});

test('a logits processor masks every row before sampling and sees each accepted token', { skip: skipNoFixtures }, async () => {
  const m = await loadModel(MODEL(), { backend: 'ref' });
  try {
    const plain = await run(m, { prompt: [1, 3, 4], options: { maxTokens: 10, ignoreEos: true } });
    const banned = new Set(plain.ids);
    const seen: number[] = [];
    const r = await run(m, {
      prompt: [1, 3, 4],
      options: {
        maxTokens: 10,
        ignoreEos: true,
        logitsProcessors: [{ process: (row) => banned.forEach((id) => (row[id] = -Infinity)), accept: (id) => seen.push(id) }],
      },
    });
    assert.equal(r.ids.length, 10);
    assert.ok(r.ids.every((id) => !banned.has(id)));
    assert.deepEqual(seen, r.ids);
    await assert.rejects(
      consume(m.generate([1, 3], { logitsProcessors: [{ process: (row) => row.fill(-Infinity) }] }), () => {}),
      (e: unknown) => (e as { code?: string }).code === 'BAD_LOGITS',
    );
  } finally {
    await m.dispose();
  }
});

test('after dispose every call throws DISPOSED; models and sessions print small', { skip: skipNoFixtures }, async () => {
  const m = await loadModel(MODEL(), { backend: 'wasm', threads: 2 });
  const s = m.session({ contextSize: 8 });
  assert.ok(JSON.stringify(m).length < 400);
  assert.ok(JSON.stringify(s).length < 200);
  await m.dispose();
  assert.throws(() => m.session(), (e: unknown) => (e as { code?: string }).code === 'DISPOSED');
  await assert.rejects(m.logits([1]), (e: unknown) => (e as { code?: string }).code === 'DISPOSED');
  await assert.rejects(consume(m.generate([1, 2]), () => {}), (e: unknown) => (e as { code?: string }).code === 'DISPOSED');
  await assert.rejects(s.eval([1]), (e: unknown) => (e as { code?: string }).code === 'DISPOSED');
});

test('loadModel rejects unknown options and values (BAD_ARGUMENT)', { skip: skipNoFixtures }, async () => {
  const bad = (o: object): Promise<void> =>
    assert.rejects(loadModel(MODEL(), o as never), (e: unknown) => (e as { code?: string }).code === 'BAD_ARGUMENT');
  await bad({ backend: 'cuda' });
  await bad({ threads: 0 });
  await bad({ kvDType: 'q8' });
  await bad({ contextsize: 10 });
  await bad({ maxSequences: -1 });
});

test('backends print small too', async () => {
  const { inspect } = await import('node:util');
  const { RefBackend } = await import('../src/index.js');
  const { createWasmBackend } = await import('../src/backend/wasm/index.js');
  const w = await createWasmBackend({ threads: 2 });
  try {
    assert.ok(JSON.stringify(w).length < 300, JSON.stringify(w));
    assert.ok(inspect(w).length < 300);
    assert.equal(JSON.stringify(new RefBackend()), '{"kind":"RefBackend"}');
  } finally {
    await w.dispose();
  }
});

test('a generation in a session streams its tokens as they come, not at the end', { skip: skipNoFixtures }, async () => {
  const m = await loadModel(MODEL(), { backend: 'wasm', threads: 2 });
  try {
    const s = m.session({ contextSize: 64 });
    let seenBeforeEnd = 0;
    const steps: number[] = [];
    for await (const _ of m.generate([1, 5, 6], { session: s, maxTokens: 20, ignoreEos: true })) steps.push(m.stats().steps);
    // Each chunk arrives right after its step: the step counter grows along the stream.
    for (let i = 1; i < steps.length; i++) if (steps[i]! < steps[steps.length - 1]!) seenBeforeEnd++;
    assert.ok(seenBeforeEnd >= 10, `only ${seenBeforeEnd} of ${steps.length} chunks arrived before the last step`);
    await assert.rejects(consume(m.generate(Array.from({ length: 70 }, () => 5), { session: s }), () => {}), (e: unknown) => (e as { code?: string }).code === 'CONTEXT_OVERFLOW');
    s.dispose();
  } finally {
    await m.dispose();
  }
});
