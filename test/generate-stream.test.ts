import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fixture, skipNoFixtures } from './fixtures.js';
import { loadModel } from '../src/model/load.js';
import type { LlamaModel } from '../src/model/model.js';
import { consume } from '../src/generate/consume.js';
import type { GenerateChunk, GenerateOptions, GenerateResult } from '../src/generate/options.js';

const CHAT = (): string => fixture('models', 'tiny-llama3-chat', 'tiny-llama3-chat.q8_0.gguf');

async function collect(model: LlamaModel, prompt: string | number[], o: GenerateOptions): Promise<{ chunks: GenerateChunk[]; result: GenerateResult }> {
  const chunks: GenerateChunk[] = [];
  const result = await consume(model.generate(prompt, o), (c) => chunks.push(c));
  return { chunks, result };
}

test('streamed text equals the decoded ids, chunk by chunk, with valid UTF-8', { skip: skipNoFixtures }, async () => {
  const model = await loadModel(CHAT(), { backend: 'ref' });
  try {
    // Sampling at high temperature on a random model visits many multi-byte tokens.
    const { chunks, result } = await collect(model, 'Bonjour 世界 🌍', { maxTokens: 60, temperature: 1.5, seed: 11, ignoreEos: true });
    assert.equal(chunks.length, 60);
    assert.deepEqual(chunks.map((c) => c.id), result.ids);
    assert.equal(chunks.map((c) => c.text).join(''), result.text);
    assert.equal(result.text, model.tokenizer.decode(result.ids));
    assert.equal(result.finishReason, 'length');
    for (const c of chunks) {
      assert.ok(c.logprob !== undefined && c.logprob <= 0);
      // never a lone surrogate half
      assert.ok(!/[\uD800-\uDBFF]$/.test(c.text) && !/^[\uDC00-\uDFFF]/.test(c.text));
    }
    // the same seed reproduces the run
    const again = await collect(model, 'Bonjour 世界 🌍', { maxTokens: 60, temperature: 1.5, seed: 11, ignoreEos: true });
    assert.deepEqual(again.result.ids, result.ids);
  } finally {
    await model.dispose();
  }
});

test('stop strings end generation, are not emitted, and may span tokens', { skip: skipNoFixtures }, async () => {
  const model = await loadModel(CHAT(), { backend: 'ref' });
  try {
    const base = await collect(model, 'The answer is', { maxTokens: 40, ignoreEos: true });
    const text = base.result.text;
    assert.ok(text.length > 20, 'enough text to cut');
    // A stop string straddling a token boundary, somewhere in the middle.
    let acc = 0;
    let cut = -1;
    for (const c of base.chunks) {
      acc += c.text.length;
      if (acc > text.length / 3 && c.text.length > 0) {
        cut = acc - 1;
        break;
      }
    }
    assert.ok(cut > 0);
    const stop = text.slice(cut, cut + 3);
    const first = text.indexOf(stop);
    const r = await collect(model, 'The answer is', { maxTokens: 40, ignoreEos: true, stop: ['\u0000never', stop] });
    assert.equal(r.result.finishReason, 'stop');
    assert.equal(r.result.stoppedBy, stop);
    assert.equal(r.result.text, text.slice(0, first));
    assert.equal(r.chunks.map((c) => c.text).join(''), r.result.text);
  } finally {
    await model.dispose();
  }
});

test('EOS ids stop generation; extra stop ids too; abort ends early', { skip: skipNoFixtures }, async () => {
  const model = await loadModel(CHAT(), { backend: 'ref' });
  try {
    assert.ok(model.config.eosTokenIds.includes(128009), 'eot_id is an EOS');
    const base = await collect(model, 'x', { maxTokens: 10, ignoreEos: true });
    const third = base.result.ids[2]!;
    const r = await collect(model, 'x', { maxTokens: 10, ignoreEos: true, stopIds: [third] });
    assert.equal(r.result.finishReason, 'stop');
    assert.equal(r.result.stoppedBy, third);
    assert.deepEqual(r.result.ids, base.result.ids.slice(0, base.result.ids.indexOf(third)));
    // forcing an EOS with a logit bias stops at once, without emitting it
    const eos = await collect(model, 'x', { maxTokens: 10, logitBias: { 128009: 100 } });
    assert.equal(eos.result.finishReason, 'stop');
    assert.equal(eos.result.ids.length, 0);
    const ac = new AbortController();
    const gen = model.generate('x', { maxTokens: 50, ignoreEos: true, signal: ac.signal });
    let n = 0;
    let res: GenerateResult | undefined;
    for (;;) {
      const s = await gen.next();
      if (s.done) {
        res = s.value;
        break;
      }
      if (++n === 3) ac.abort();
    }
    assert.equal(res.finishReason, 'abort');
    assert.equal(res.ids.length, 3);
  } finally {
    await model.dispose();
  }
});

test('a session reuses its cached prefix and gives the same tokens as a fresh run', { skip: skipNoFixtures }, async () => {
  const model = await loadModel(CHAT(), { backend: 'ref' });
  try {
    const session = model.session({ contextSize: 256 });
    const p1 = model.tokenizer.encode('Once upon a time', { addBos: true });
    const r1 = await collect(model, p1, { maxTokens: 8, ignoreEos: true, session });
    assert.equal(session.length, p1.length + 7, 'the last sampled token is not yet evaluated');
    const p2 = [...p1, ...r1.result.ids, ...model.tokenizer.encode(' and then')];
    const r2 = await collect(model, p2, { maxTokens: 8, ignoreEos: true, session });
    const fresh = await collect(model, p2, { maxTokens: 8, ignoreEos: true });
    assert.deepEqual(r2.result.ids, fresh.result.ids);
    assert.ok(r2.result.timings.prefillTps >= 0);
    session.dispose();
  } finally {
    await model.dispose();
  }
});
