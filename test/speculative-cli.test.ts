/** Speculative decoding everywhere: the draft check, lookup and K, run --json, and the server's /metrics. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fixture, skipNoFixtures } from './fixtures.js';
import { loadModel, DraftMismatchError, type LlamaConfig, type Tokenizer } from '../src/index.js';
import { checkDraftCompatible, type VocabularyOwner } from '../src/generate/speculative/compat.js';
import { lookupDraft } from '../src/generate/speculative/lookup.js';
import { AdaptiveK } from '../src/generate/speculative/adaptive.js';
import { runCommand } from '../src/cli/run.js';
import { createServer } from '../src/server/app.js';
import { chatCommand } from '../src/cli/chat.js';
import { PassThrough, Readable } from 'node:stream';

const TINY = (t: string): string => fixture('models', 'tiny-llama3.1', `tiny-llama3.1.${t}.gguf`);
const CHAT = (): string => fixture('models', 'tiny-llama3-chat', 'tiny-llama3-chat.q8_0.gguf');

test('prompt lookup proposes what followed the latest, longest matching n-gram', () => {
  assert.deepEqual(lookupDraft([1, 2, 3, 4, 5, 9, 2, 3], 3), [4, 5, 9]);
  // The 2-gram [7, 8] matches at two places: the latest wins.
  assert.deepEqual(lookupDraft([7, 8, 1, 7, 8, 2, 5, 7, 8], 2), [2, 5]);
  // A longer match beats a more recent shorter one.
  assert.deepEqual(lookupDraft([5, 6, 7, 1, 9, 7, 2, 5, 6, 7], 1), [1]);
  assert.deepEqual(lookupDraft([1, 2, 3], 4), []);
  assert.deepEqual(lookupDraft([4, 4, 4], 5), [4]);
  assert.deepEqual(lookupDraft([1, 2, 1], 0), []);
});

test('adaptive K grows on full acceptance, shrinks on early rejection, stays in 1..max; fixed stays', () => {
  const k = new AdaptiveK(6);
  assert.equal(k.value, 4);
  k.update(4, 4);
  k.update(5, 5);
  k.update(6, 6);
  assert.equal(k.value, 6);
  for (let i = 0; i < 5; i++) k.update(k.value, 0);
  assert.equal(k.value, 1);
  k.update(1, 1);
  assert.equal(k.value, 2);
  k.update(2, 0);
  assert.equal(k.value, 1);
  // K = 1 keeping nothing three times: drafting pauses 4 rounds, then probes; the next pause is 8.
  k.update(1, 0);
  k.update(1, 0);
  k.update(1, 0);
  assert.deepEqual([0, 0, 0, 0].map(() => {
    const v = k.value;
    k.update(0, 0);
    return v;
  }), [0, 0, 0, 0]);
  assert.equal(k.value, 1);
  for (let i = 0; i < 3; i++) k.update(1, 0);
  let paused = 0;
  while (k.value === 0) {
    paused++;
    k.update(0, 0);
  }
  assert.equal(paused, 8);
  k.update(1, 1);
  assert.equal(k.value, 2, 'an acceptance resumes growth');
  const f = new AdaptiveK(3, true);
  f.update(3, 0);
  assert.equal(f.value, 3);
});

function owner(over: { vocab?: number; bos?: number; eos?: number[]; piece?: (id: number) => string; special?: (id: number) => boolean; tokenizer?: boolean } = {}): VocabularyOwner {
  const vocab = over.vocab ?? 8;
  const tok = {
    kind: 'spm',
    vocabSize: vocab,
    idToPiece: over.piece ?? ((id: number) => `p${id}`),
    isSpecial: over.special ?? ((id: number) => id < 3),
  } as unknown as Tokenizer;
  return {
    config: { vocabSize: vocab, bosTokenId: over.bos ?? 1, eosTokenIds: over.eos ?? [2] } as unknown as LlamaConfig,
    hasTokenizer: over.tokenizer ?? true,
    tokenizer: tok,
  };
}

test('draft check: vocabulary size, BOS, EOS, pieces and special flags must match (DRAFT_MISMATCH names the difference)', () => {
  const t = owner();
  assert.doesNotThrow(() => checkDraftCompatible(t, owner()));
  const cases: [ReturnType<typeof owner>, RegExp][] = [
    [owner({ vocab: 9 }), /vocabulary size 9 \(draft\) vs 8/],
    [owner({ bos: 0 }), /BOS id 0/],
    [owner({ eos: [2, 7] }), /EOS ids \[2,7\]/],
    [owner({ piece: (id) => (id === 5 ? 'x' : `p${id}`) }), /token 5 is "x" in the draft but "p5"/],
    [owner({ special: (id) => id < 4 }), /token 3 .* special in only one/],
    [owner({ tokenizer: false }), /no tokenizer/],
  ];
  for (const [d, re] of cases) {
    assert.throws(
      () => checkDraftCompatible(t, d),
      (e: unknown) => e instanceof DraftMismatchError && e.code === 'DRAFT_MISMATCH' && re.test(e.message),
      String(re),
    );
  }
});

test('generate with a draft of another vocabulary fails with DRAFT_MISMATCH; bad draft options with BAD_ARGUMENT', { skip: skipNoFixtures, timeout: 60_000 }, async () => {
  const target = await loadModel(TINY('f32'), { threads: 1 });
  const other = await loadModel(CHAT(), { threads: 1 });
  try {
    assert.throws(() => target.submit([1, 2], { draft: other }), (e: unknown) => e instanceof DraftMismatchError && /128256 \(draft\) vs 1024/.test(e.message));
    assert.throws(() => target.submit([1, 2], { draft: target }), /its own draft/);
    assert.throws(() => target.submit([1, 2], { draft: 'lookup', draftMax: 0 }), /draftMax/);
    assert.throws(() => target.submit([1, 2], { draft: 'nope' as unknown as 'lookup' }), /draft is/);
  } finally {
    await target.dispose();
    await other.dispose();
  }
});

test('run --draft-model / --lookup --json: same ids as plain, with draft { drafted, accepted }; flag errors', { skip: skipNoFixtures, timeout: 120_000 }, async () => {
  const base = { model: TINY('f32'), ids: [1, 300, 301, 302, 300, 301, 302], n: 24, temperature: 0, topK: 0, topP: 1, minP: 0, repetitionPenalty: 1, stop: [], json: true, backend: 'wasm' as const, threads: 1, specials: false, ignoreEos: true, stderr: () => {} };
  const run = async (extra: object): Promise<{ ids: number[]; draft?: { drafted: number; accepted: number; steps: number } }> => {
    let out = '';
    await runCommand({ ...base, ...extra }, (s) => void (out += s));
    return JSON.parse(out) as { ids: number[]; draft?: { drafted: number; accepted: number; steps: number } };
  };
  const plain = await run({});
  assert.equal(plain.draft, undefined);
  const spec = await run({ draftModel: TINY('q8_0'), draftMax: 4 });
  assert.deepEqual(spec.ids, plain.ids);
  assert.ok(spec.draft && spec.draft.drafted > 0 && spec.draft.accepted <= spec.draft.drafted && spec.draft.steps > 0);
  const look = await run({ lookup: true });
  assert.deepEqual(look.ids, plain.ids);
  assert.ok(look.draft);
  await assert.rejects(run({ lookup: true, draftModel: TINY('q8_0') }), /not both/);
  await assert.rejects(run({ draftMax: 3 }), /--draft-max needs/);
  await assert.rejects(run({ draftModel: CHAT() }), (e: unknown) => e instanceof DraftMismatchError);
});

test('server with a draft: completions equal the plain server and /metrics counts drafted and accepted tokens', { skip: skipNoFixtures, timeout: 120_000 }, async () => {
  const model = await loadModel(CHAT(), { threads: 1 });
  const draft = await loadModel(CHAT(), { threads: 1 });
  const servers = [createServer(model), createServer(model, { draft, draftMax: 3 }), createServer(model, { draft: 'lookup' })];
  try {
    const texts: string[] = [];
    for (const { app } of servers) {
      const res = await app.inject({ method: 'POST', url: '/v1/completions', payload: { prompt: 'one two three one two three one two', max_tokens: 16, temperature: 0 } });
      assert.equal(res.statusCode, 200, res.body);
      texts.push((res.json() as { choices: { text: string }[] }).choices[0]!.text);
      const chat = await app.inject({ method: 'POST', url: '/v1/chat/completions', payload: { messages: [{ role: 'user', content: 'hi hi hi' }], max_tokens: 8, temperature: 0, logprobs: true, top_logprobs: 2 } });
      assert.equal(chat.statusCode, 200, chat.body);
      const lp = (chat.json() as { choices: { logprobs: { content: { top_logprobs: unknown[] }[] } }[] }).choices[0]!.logprobs.content;
      assert.ok(lp.length > 0 && lp.every((c) => c.top_logprobs.length === 2), 'one top_logprobs entry per token');
    }
    assert.equal(texts[1], texts[0]);
    assert.equal(texts[2], texts[0]);
    const metrics = (await servers[1]!.app.inject({ method: 'GET', url: '/metrics' })).body;
    const value = (name: string): number => Number(new RegExp(`^${name} (\\S+)$`, 'm').exec(metrics)?.[1]);
    assert.ok(value('llama_ts_draft_tokens_total') > 0, metrics);
    assert.ok(value('llama_ts_draft_accepted_total') >= 0);
    assert.ok(value('llama_ts_draft_accepted_total') <= value('llama_ts_draft_tokens_total'));
    assert.ok(value('llama_ts_draft_requests_total') >= 2);
  } finally {
    for (const { app } of servers) await app.close();
    await model.dispose();
    await draft.dispose();
  }
});

test('chat with a draft or lookup prints the same replies as plain chat', { skip: skipNoFixtures, timeout: 120_000 }, async () => {
  const model = await loadModel(CHAT(), { threads: 1 });
  const draft = await loadModel(CHAT(), { threads: 1 });
  try {
    const script = async (extra: object): Promise<string> => {
      const output = new PassThrough();
      let out = '';
      output.on('data', (d: Buffer) => (out += d.toString('utf8')));
      await chatCommand(model, { temperature: 0, maxTokens: 12, dateString: '26 Jul 2024', input: Readable.from(['Hi there\nAgain please\n/exit\n']), output, ...extra });
      return out;
    };
    const plain = await script({});
    assert.ok(plain.length > 0);
    assert.equal(await script({ draft, draftMax: 3 }), plain);
    assert.equal(await script({ draft: 'lookup' }), plain);
    assert.ok(model.stats().draft.requests >= 4);
  } finally {
    await model.dispose();
    await draft.dispose();
  }
});
