import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fixture, skipNoFixtures, HAVE_FIXTURES } from './fixtures.js';
import { loadModel } from '../src/model/load.js';
import type { Model } from '../src/model/types.js';
import { evaluate } from '../src/eval/evaluate.js';
import { planWindows } from '../src/eval/windows.js';

const CHAT = (): string => fixture('models', 'tiny-llama3-chat', 'tiny-llama3-chat.q8_0.gguf');
const TEXT = 'It was the best of times, it was the worst of times, it was the age of wisdom, it was the age of foolishness.';
let model: Model;
before(async () => {
  if (HAVE_FIXTURES) model = await loadModel(CHAT());
});
after(async () => {
  await model?.dispose();
});

/** −ln p(ids[t]) from the last row of a logits block, computed here in float64. */
function nllOfLastRow(logits: Float32Array, vocab: number, target: number, row: number): number {
  const r = logits.subarray(row * vocab, (row + 1) * vocab);
  let m = -Infinity;
  for (const v of r) m = Math.max(m, v);
  let s = 0;
  for (const v of r) s += Math.exp(v - m);
  return -(r[target]! - m - Math.log(s));
}

function close(a: number, b: number, rel = 1e-5): boolean {
  return Math.abs(a - b) <= rel * Math.max(1, Math.abs(b));
}

test('whole-text perplexity equals exp(mean NLL) from one model.logits call', { skip: skipNoFixtures }, async () => {
  const tok = model.tokenizer;
  const ids = [tok.bosId!, ...tok.encode(TEXT, { addBos: false })];
  const logits = await model.logits(ids);
  let sum = 0;
  for (let t = 1; t < ids.length; t++) sum += nllOfLastRow(logits, model.config.vocabSize, ids[t]!, t - 1);
  const nll = sum / (ids.length - 1);
  const r = await evaluate(model, 'perplexity', { text: TEXT, ctx: 256, stride: 128 });
  assert.deepEqual(Object.keys(r).sort(), ['nll', 'ppl', 'tokens']);
  assert.equal(r.tokens, ids.length - 1, 'every token after BOS scored once');
  assert.ok(close(r.nll, nll), `${r.nll} vs ${nll}`);
  assert.ok(close(r.ppl, Math.exp(nll)));
  // A window exactly the text's length is the same single pass.
  const exact = await evaluate(model, 'perplexity', { text: TEXT, ctx: ids.length, stride: ids.length - 1 });
  assert.equal(exact.tokens, r.tokens);
  assert.ok(close(exact.nll, r.nll));
});

test('windowed perplexity equals a token-by-token computation over the same windows', { skip: skipNoFixtures }, async () => {
  const tok = model.tokenizer;
  const ids = [tok.bosId!, ...tok.encode(TEXT, { addBos: false })];
  for (const [ctx, stride] of [
    [8, 3],
    [6, 5],
    [5, 1],
  ] as const) {
    // Token t is scored in the first window that contains it and starts before it: window k starts at k·stride.
    let sum = 0;
    for (let t = 1; t < ids.length; t++) {
      const k = Math.max(0, Math.ceil((t - ctx + 1) / stride));
      const begin = k * stride;
      const logits = await model.logits(ids.slice(begin, t + 1));
      sum += nllOfLastRow(logits, model.config.vocabSize, ids[t]!, t - 1 - begin);
    }
    const want = sum / (ids.length - 1);
    const progress: number[] = [];
    const r = await evaluate(model, 'perplexity', { text: TEXT, ctx, stride, onProgress: (done, total) => progress.push(done / total) });
    assert.equal(r.tokens, ids.length - 1);
    assert.equal(progress.length, planWindows(ids.length, ctx, stride).length);
    assert.equal(progress[progress.length - 1], 1);
    assert.ok(close(r.nll, want), `ctx ${ctx} stride ${stride}: ${r.nll} vs ${want}`);
    // A short context sees less, so the windowed result differs from the whole pass.
  }
});

test('planWindows scores every token after BOS exactly once, each after at least one context token', () => {
  for (let len = 2; len <= 40; len++) {
    for (let ctx = 2; ctx <= 12; ctx++) {
      for (let stride = 1; stride < ctx; stride++) {
        const seen = new Array<number>(len).fill(0);
        for (const w of planWindows(len, ctx, stride)) {
          assert.ok(w.end - w.begin <= ctx && w.from > w.begin && w.from < w.end);
          for (let t = w.from; t < w.end; t++) seen[t]!++;
        }
        assert.equal(seen[0], 0);
        assert.ok(seen.slice(1).every((c) => c === 1), `len ${len} ctx ${ctx} stride ${stride}`);
      }
    }
  }
  assert.deepEqual(planWindows(10, 4, 2), [
    { begin: 0, end: 4, from: 1 },
    { begin: 2, end: 6, from: 4 },
    { begin: 4, end: 8, from: 6 },
    { begin: 6, end: 10, from: 8 },
  ]);
  assert.throws(() => planWindows(10, 4, 4), { code: 'BAD_ARGUMENT' });
  assert.throws(() => planWindows(10, 1, 1), { code: 'BAD_ARGUMENT' });
});

test('perplexity on JSONL texts sums over documents; an empty text is an error', { skip: skipNoFixtures }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'eval-ppl-'));
  try {
    const file = join(dir, 'docs.jsonl');
    const docs = ['first document here', 'and a second, longer document with more words'];
    writeFileSync(file, docs.map((t) => JSON.stringify({ text: t })).join('\n') + '\n');
    const all = await evaluate(model, 'perplexity', { data: file, ctx: 16, stride: 8 });
    const parts = await Promise.all(docs.map((t) => evaluate(model, 'perplexity', { text: t, ctx: 16, stride: 8 })));
    assert.equal(all.tokens, parts[0]!.tokens + parts[1]!.tokens);
    assert.ok(close(all.nll, (parts[0]!.nll * parts[0]!.tokens + parts[1]!.nll * parts[1]!.tokens) / all.tokens));
    writeFileSync(file, '{"body": "x"}\n');
    await assert.rejects(evaluate(model, 'perplexity', { data: file }).then(() => {}), { code: 'BAD_ARGUMENT' });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  await assert.rejects(evaluate(model, 'perplexity', { text: '' }).then(() => {}), { code: 'BAD_ARGUMENT' });
  await assert.rejects(evaluate(model, 'perplexity', {}).then(() => {}), { code: 'BAD_ARGUMENT' });
});

test('perplexity on the dummy-vocab tiny-llama3.1 GGUF (ref backend) matches model.logits', { skip: skipNoFixtures }, async () => {
  const m = await loadModel(fixture('models', 'tiny-llama3.1', 'tiny-llama3.1.f32.gguf'), { backend: 'ref' });
  try {
    const ids = [1, ...m.tokenizer.encode('abc def', { addBos: false })];
    const logits = await m.logits(ids);
    let sum = 0;
    for (let t = 1; t < ids.length; t++) sum += nllOfLastRow(logits, m.config.vocabSize, ids[t]!, t - 1);
    const r = await evaluate(m, 'perplexity', { text: 'abc def', ctx: 4, stride: 3 });
    const r2 = await evaluate(m, 'perplexity', { text: 'abc def', ctx: 64, stride: 32 });
    assert.equal(r2.tokens, ids.length - 1);
    assert.ok(close(r2.nll, sum / (ids.length - 1)));
    assert.equal(r.tokens, r2.tokens);
  } finally {
    await m.dispose();
  }
});
