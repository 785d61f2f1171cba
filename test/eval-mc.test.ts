import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { fixture, skipNoFixtures, HAVE_FIXTURES } from './fixtures.js';
import { loadModel } from '../src/model/load.js';
import type { Model } from '../src/model/types.js';
import { evaluate } from '../src/eval/evaluate.js';
import { LocalBackend } from '../src/eval/local.js';
import { encodePair } from '../src/eval/encode-pair.js';
import { mcScores } from '../src/eval/mc.js';
import type { EvalRecord, McItem } from '../src/eval/types.js';

const CHAT = (): string => fixture('models', 'tiny-llama3-chat', 'tiny-llama3-chat.q8_0.gguf');
let model: Model;
before(async () => {
  if (HAVE_FIXTURES) model = await loadModel(CHAT());
});
after(async () => {
  await model?.dispose();
});

/** ln p of each row's target, written here from scratch (float64 log-sum-exp). */
function logprobsOf(logits: Float32Array, vocab: number, ids: readonly number[], first: number): number[] {
  const out: number[] = [];
  for (let t = first; t < ids.length; t++) {
    const row = logits.subarray((t - 1) * vocab, t * vocab);
    let m = -Infinity;
    for (const v of row) m = Math.max(m, v);
    let s = 0;
    for (const v of row) s += Math.exp(v - m);
    out.push(row[ids[t]!]! - m - Math.log(s));
  }
  return out;
}

/** The harness's split, restated: trailing context whitespace joins the choice; tokens beyond the context's count belong to the choice. */
async function independentLoglik(m: Model, context: string, choice: string): Promise<number> {
  const tok = m.tokenizer;
  const ws = /\s+$/.exec(context)?.[0] ?? '';
  const ctx = context.slice(0, context.length - ws.length);
  const whole = tok.encode(ctx + ws + choice, { addBos: true });
  const nCtx = tok.encode(ctx, { addBos: true }).length;
  const logits = await m.logits(whole);
  return logprobsOf(logits, m.config.vocabSize, whole, nCtx).reduce((a, b) => a + b, 0);
}

const ITEMS: McItem[] = [
  { context: 'The capital of France is', choices: [' Paris', ' London', ' Berlin', ' a very long answer about Madrid'], gold: 0 },
  { context: 'Question: 2 + 2 = ?\nAnswer:', choices: [' 4', ' 5', ' 22'], gold: 0 },
  { context: 'The sky is ', choices: ['blue', 'green'], gold: 1 },
  { context: 'Ünïcödé çöntext —', choices: [' ß', ' émigré', ' 日本語'], gold: 2 },
  { context: 'She opened the door and', choices: [' walked in.', ' flew away into the night sky.', ' sat.', ' laughed'], gold: 3 },
];

test('every choice\'s log-likelihood equals the sum of token log-probs from model.logits', { skip: skipNoFixtures }, async () => {
  const backend = new LocalBackend(model, { concurrency: 4, chunk: 2 });
  const reqs = ITEMS.flatMap((it) => it.choices.map((c) => ({ context: it.context, continuation: c })));
  const got = await backend.loglikelihood(reqs);
  for (let i = 0; i < reqs.length; i++) {
    const want = await independentLoglik(model, reqs[i]!.context, reqs[i]!.continuation);
    assert.ok(Math.abs(got[i]!.logprob - want) <= 1e-4 * Math.max(1, Math.abs(want)), `${JSON.stringify(reqs[i])}: ${got[i]!.logprob} vs ${want}`);
    assert.ok(got[i]!.tokens >= 1);
  }
});

test('acc and acc_norm on a 5-item set match a hand count from model.logits', { skip: skipNoFixtures }, async () => {
  const records: EvalRecord[] = [];
  const r = await evaluate(model, 'mc', { items: ITEMS, onRecord: (x) => records.push(x) });
  let acc = 0;
  let accNorm = 0;
  for (const it of ITEMS) {
    const lps = await Promise.all(it.choices.map((c) => independentLoglik(model, it.context, c)));
    const norm = lps.map((lp, i) => lp / Buffer.byteLength(it.choices[i]!, 'utf8'));
    const best = (xs: number[]): number => xs.indexOf(Math.max(...xs));
    acc += best(lps) === it.gold ? 1 : 0;
    accNorm += best(norm) === it.gold ? 1 : 0;
  }
  assert.deepEqual(Object.keys(r).sort(), ['acc', 'acc_norm', 'n']);
  assert.equal(r.n, 5);
  assert.equal(r.acc, acc / 5);
  assert.equal(r.acc_norm, accNorm / 5);
  assert.equal(records.length, 5);
  assert.deepEqual(records.map((x) => x.index).sort(), [0, 1, 2, 3, 4]);
  const lim = await evaluate(model, 'mc', { items: ITEMS, limit: 2 });
  assert.equal(lim.n, 2);
});

test('mcScores: acc picks the largest log-prob, acc_norm the largest per UTF-8 byte, ties to the first', () => {
  const item: McItem = { context: 'x', choices: [' a', ' a much longer choice', 'é'], gold: 1 };
  // −3 over 2 bytes = −1.5; −10 over 21 bytes ≈ −0.476; −2 over 2 bytes (é is 2 bytes) = −1
  assert.deepEqual(mcScores(item, [-3, -10, -2]), { acc: 0, acc_norm: 1 });
  assert.deepEqual(mcScores({ ...item, gold: 2 }, [-3, -10, -2]), { acc: 1, acc_norm: 0 });
  assert.deepEqual(mcScores({ ...item, gold: 0 }, [-1, -1, -5]), { acc: 1, acc_norm: 0 });
});

test('encodePair follows the harness: trailing spaces move to the continuation; context + continuation = whole', { skip: skipNoFixtures }, () => {
  const tok = model.tokenizer;
  const p = encodePair(tok, 'Answer: ', 'Paris', true);
  assert.deepEqual(p.continuation, tok.encode(' Paris', { addBos: false }));
  assert.deepEqual([...p.context, ...p.continuation], tok.encode('Answer: Paris', { addBos: true }));
  assert.equal(p.context[0], tok.bosId);
  // A merge across the boundary ("hel" + "lo" → "hello"): the continuation gets the whole's tokens past the context's count.
  const q = encodePair(tok, 'say hel', 'lo world', true);
  const whole = tok.encode('say hello world', { addBos: true });
  const nCtx = tok.encode('say hel', { addBos: true }).length;
  assert.deepEqual(q.context, whole.slice(0, nCtx));
  assert.deepEqual(q.continuation, whole.slice(nCtx));
  // An empty context conditions on BOS alone.
  const e = encodePair(tok, '', 'Hello', true);
  assert.deepEqual(e.context, [tok.bosId]);
  assert.deepEqual(e.continuation, tok.encode('Hello', { addBos: false }));
});

test('mc rejects malformed items with a LlamaError code', { skip: skipNoFixtures }, async () => {
  await assert.rejects(evaluate(model, 'mc', { items: [{ context: 'a', choices: ['b'], gold: 3 }] as McItem[] }).then(() => {}), { code: 'BAD_ARGUMENT' });
  await assert.rejects(evaluate(model, 'mc', { data: '/nonexistent/x.jsonl' }).then(() => {}), { code: 'FILE_NOT_FOUND' });
});

test('items sharing a few-shot prefix evaluate it once and still match model.logits exactly', { skip: skipNoFixtures }, async () => {
  const shots = 'The following are questions (with answers) about arithmetic.\n\n1 + 1 =\nA. 2\nB. 3\nAnswer: A\n\n2 + 5 =\nA. 6\nB. 7\nAnswer: B\n\n';
  const items: McItem[] = [
    { context: shots + '3 + 3 =\nA. 6\nB. 5\nAnswer:', choices: [' A', ' B'], gold: 0 },
    { context: shots + '4 + 1 =\nA. 3\nB. 5\nAnswer:', choices: [' A', ' B'], gold: 1 },
    { context: shots + '9 - 2 =\nA. 7\nB. 8\nAnswer:', choices: [' A', ' B'], gold: 0 },
    { context: 'Unrelated context', choices: [' x', ' y'], gold: 0 },
  ];
  const reqs = items.flatMap((it) => it.choices.map((c) => ({ context: it.context, continuation: c })));
  const stats = (): number => (model as unknown as { stats(): { evaluatedTokens: number } }).stats().evaluatedTokens;
  const t0 = stats();
  const shared = await new LocalBackend(model).loglikelihood(reqs);
  const t1 = stats();
  const alone = await new LocalBackend(model, { minShared: 1e9 }).loglikelihood(reqs);
  const t2 = stats();
  const prefixTokens = model.tokenizer.encode(shots, { addBos: true }).length;
  assert.ok(t2 - t1 - (t1 - t0) >= 2 * (prefixTokens - 2), `shared ${t1 - t0} tokens, alone ${t2 - t1}`);
  for (let i = 0; i < reqs.length; i++) {
    const want = await independentLoglik(model, reqs[i]!.context, reqs[i]!.continuation);
    assert.ok(Math.abs(shared[i]!.logprob - want) <= 1e-4 * Math.max(1, Math.abs(want)), `${i}: ${shared[i]!.logprob} vs ${want}`);
    assert.equal(shared[i]!.logprob, alone[i]!.logprob);
  }
});
