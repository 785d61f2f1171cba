/**
 * The verify-or-escalate cascade as a library: policy parsing, confidence scores, and each path
 * with a local big model and with a llama-ts server started here as the big endpoint. Small is
 * tiny-llama3.2-tied, big tiny-llama3.1 (same vocabulary, different random weights); thresholds
 * are set from the numbers the models really give, so each test forces one path.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createServer as createHttpServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { fixture, HAVE_FIXTURES, skipNoFixtures } from './fixtures.js';
import { loadModel, type LlamaModel } from '../src/index.js';
import { cascade, Cascade, POLICY_PRESETS, resolvePolicy, parsePolicyArg, confidenceScores, isConfident, InvalidPolicyError, CascadeModelMismatchError, BadArgumentError, type CascadePolicyInput } from '../src/index.js';
import { createServer } from '../src/server/app.js';
import { tokenLogprob, rowArgmax } from '../src/eval/logprob.js';

const skip = skipNoFixtures;
const PROMPT = [1, 300, 301, 302, 303, 304];
const MAX = 12;
let small: LlamaModel;
let big: LlamaModel;
let bigApp: FastifyInstance;
let bigUrl = '';

before(async () => {
  if (!HAVE_FIXTURES) return;
  small = await loadModel(fixture('models', 'tiny-llama3.2-tied', 'tiny-llama3.2-tied.f32.gguf'), { threads: 1 });
  big = await loadModel(fixture('models', 'tiny-llama3.1', 'tiny-llama3.1.f32.gguf'), { threads: 1 });
  ({ app: bigApp } = createServer(big));
  bigUrl = await bigApp.listen({ host: '127.0.0.1', port: 0 });
});
after(async () => {
  await bigApp?.close();
  await small?.dispose();
  await big?.dispose();
});

/** Greedy ids and chosen-token log-probs of `m` after `prompt`. */
async function greedy(m: LlamaModel, prompt: readonly number[], maxTokens: number): Promise<{ ids: number[]; logprobs: number[]; text: string }> {
  const h = m.submit([...prompt], { maxTokens });
  const ids: number[] = [];
  const logprobs: number[] = [];
  for await (const c of h.chunks) {
    ids.push(c.id);
    logprobs.push(c.logprob!);
  }
  return { ids, logprobs, text: (await h.result).text };
}

/** The big model's log-prob and top-1 flag of each answer token, from its logits over prompt + answer. */
async function bigScores(prompt: readonly number[], answer: readonly number[]): Promise<{ logprobs: number[]; top1: boolean[] }> {
  const all = [...prompt, ...answer];
  const V = big.config.vocabSize;
  const logits = await big.logits(all);
  const logprobs: number[] = [];
  const top1: boolean[] = [];
  for (let i = prompt.length; i < all.length; i++) {
    logprobs.push(tokenLogprob(logits, i - 1, V, all[i]!));
    top1.push(rowArgmax(logits, i - 1, V) === all[i]);
  }
  return { logprobs, top1 };
}

const mean = (xs: readonly number[]): number => xs.reduce((a, b) => a + b, 0) / xs.length;
const offConfidence: CascadePolicyInput = { confidence: null };

test('policy: presets, merging over a base, typed errors naming the field', () => {
  assert.deepEqual(resolvePolicy('strict'), POLICY_PRESETS.strict);
  const p = resolvePolicy({ verify: { minMeanLogprob: -2 }, confidence: { maxTailShare: 0.5 } }, POLICY_PRESETS.balanced);
  assert.equal(p.verify!.minMeanLogprob, -2);
  assert.equal(p.confidence!.maxTailShare, 0.5);
  assert.equal(p.confidence!.minMeanLogprob, POLICY_PRESETS.balanced.confidence.minMeanLogprob, 'unnamed fields keep the base value');
  assert.equal(resolvePolicy({ verify: null }).verify, null);
  assert.deepEqual(resolvePolicy({ resume: { minTokenLogprob: -3 } }).resume, { minTokenLogprob: -3 });
  const bad: [unknown, RegExp][] = [
    [{ verfy: {} }, /verfy is not a policy field/],
    [{ confidence: { minMean: -1 } }, /confidence\.minMean is not a policy field/],
    [{ confidence: { maxTailShare: 2 } }, /maxTailShare must be ≤ 1/],
    [{ verify: { minMeanLogprob: 'high' } }, /verify\.minMeanLogprob must be a number/],
    [{ verify: { minMeanLogprob: 0.5 } }, /must be ≤ 0/],
    [{ resume: 'longest' }, /resume must be 'top1', 'none'/],
    [{ timeoutMs: 0 }, /timeoutMs must be ≥ 1/],
    ['lenient', /'lenient' is not a preset/],
    [[1], /must be an object or a preset name/],
    [{ verify: {} }, /verify\.minMeanLogprob is required|verify\.minMeanLogprob must be/],
  ];
  for (const [input, re] of bad) {
    assert.throws(() => resolvePolicy(input, input === bad[9]![0] ? POLICY_PRESETS['always-escalate'] : POLICY_PRESETS.balanced), (e: unknown) => e instanceof InvalidPolicyError && e.code === 'BAD_ARGUMENT' && re.test(e.message), JSON.stringify(input));
  }
});

test('policy: --escalate-policy takes a preset, inline JSON or a file', () => {
  assert.deepEqual(parsePolicyArg('always-verify'), POLICY_PRESETS['always-verify']);
  assert.equal(parsePolicyArg('{"verify":{"minMeanLogprob":-0.7}}').verify!.minMeanLogprob, -0.7);
  const dir = mkdtempSync(join(tmpdir(), 'cascade-policy-'));
  try {
    const f = join(dir, 'p.json');
    writeFileSync(f, JSON.stringify({ confidence: null, resume: 'none', timeoutMs: 500 }));
    const p = parsePolicyArg(f);
    assert.equal(p.confidence, null);
    assert.equal(p.timeoutMs, 500);
    writeFileSync(f, '{ not json');
    assert.throws(() => parsePolicyArg(f), /not valid JSON/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  assert.throws(() => parsePolicyArg('/no/such/policy.json'), InvalidPolicyError);
});

test('confidence: mean, minimum and tail share of the token log-probs', () => {
  const s = confidenceScores([-0.1, -0.2, -3, -0.1], -2.3);
  assert.equal(s.tokens, 4);
  assert.ok(Math.abs(s.meanLogprob - -0.85) < 1e-12);
  assert.equal(s.minLogprob, -3);
  assert.equal(s.tailShare, 0.25);
  const c = { minMeanLogprob: -1, minTokenLogprob: null, tailLogprob: -2.3, maxTailShare: 0.3 };
  assert.equal(isConfident(s, c), true);
  assert.equal(isConfident(s, { ...c, minTokenLogprob: -2 }), false);
  assert.equal(isConfident(s, { ...c, maxTailShare: 0.2 }), false);
  assert.equal(isConfident(s, { ...c, minMeanLogprob: -0.5 }), false);
});

test('local big: accept on confidence (no big-model work), scores from the small model itself', { skip }, async () => {
  const g = await greedy(small, PROMPT, MAX);
  const c = cascade(small, big, { policy: { confidence: { minMeanLogprob: mean(g.logprobs) - 0.01, minTokenLogprob: null, maxTailShare: null } } });
  const steps = big.stats().steps;
  const r = await c.run(PROMPT, { maxTokens: MAX });
  assert.equal(r.path, 'accept');
  assert.deepEqual(r.ids, g.ids);
  assert.equal(r.text, g.text);
  assert.ok(Math.abs(r.confidence.meanLogprob - mean(g.logprobs)) < 1e-9);
  assert.equal(r.confidence.minLogprob, Math.min(...g.logprobs));
  assert.equal(r.verification, undefined);
  assert.equal(big.stats().steps, steps, 'the big model was not run');
  assert.equal(c.stats.paths.accept, 1);
  // The same answer just above the threshold is not confident.
  const r2 = await c.run(PROMPT, { maxTokens: MAX, policy: { confidence: { minMeanLogprob: mean(g.logprobs) + 0.01 }, verify: { minMeanLogprob: -100 } } });
  assert.equal(r2.path, 'verify-accept');
});

test('local big: verify-accept and verify-reject → escalate resuming after the top-1 prefix', { skip }, async () => {
  const g = await greedy(small, PROMPT, MAX);
  const s = await bigScores(PROMPT, g.ids);
  const m = mean(s.logprobs);
  const c = cascade(small, big, { policy: { ...offConfidence, verify: { minMeanLogprob: m - 1e-3 }, resume: 'top1' } });
  const a = await c.run(PROMPT, { maxTokens: MAX });
  assert.equal(a.path, 'verify-accept');
  assert.equal(a.text, g.text);
  assert.ok(Math.abs(a.verification!.meanLogprob - m) < 1e-6, `${a.verification!.meanLogprob} vs ${m}`);
  assert.equal(a.verification!.tokens, g.ids.length);
  assert.ok(a.latencyMs.verify! >= 0 && a.latencyMs.total >= a.latencyMs.small);

  const r = await c.run(PROMPT, { maxTokens: MAX, policy: { verify: { minMeanLogprob: m + 1e-3 } } });
  assert.equal(r.path, 'escalate');
  assert.equal(r.verification!.accepted, false);
  let k = 0;
  while (k < s.top1.length && s.top1[k]) k++;
  assert.equal(r.resumedFrom, k);
  const cont = await greedy(big, [...PROMPT, ...g.ids.slice(0, k)], MAX - k);
  assert.deepEqual(r.ids, [...g.ids.slice(0, k), ...cont.ids]);
  assert.equal(r.completionTokens, r.ids!.length);
  assert.ok(r.latencyMs.escalate! >= 0);
  assert.deepEqual({ ...c.stats.paths }, { accept: 0, 'verify-accept': 1, escalate: 1, degraded: 0 });
  assert.equal(c.stats.verified, 2);
  assert.equal(c.stats.verifyAcceptRate, 0.5);
});

test('local big: resume after the prefix whose tokens pass a per-token log-prob threshold', { skip }, async () => {
  const g = await greedy(small, PROMPT, MAX);
  const s = await bigScores(PROMPT, g.ids);
  // A threshold that keeps the first j tokens: j is the first token less likely than all before it.
  let j = 1;
  while (j < s.logprobs.length && s.logprobs[j]! >= Math.min(...s.logprobs.slice(0, j))) j++;
  assert.ok(j > 0 && j < s.logprobs.length, 'the fixture gives a usable split');
  const threshold = (Math.min(...s.logprobs.slice(0, j)) + s.logprobs[j]!) / 2;
  const r = await cascade(small, big, { policy: { ...offConfidence, verify: { minMeanLogprob: -1e-9 }, resume: { minTokenLogprob: threshold } } }).run(PROMPT, { maxTokens: MAX });
  assert.equal(r.path, 'escalate');
  assert.equal(r.resumedFrom, j);
  const cont = await greedy(big, [...PROMPT, ...g.ids.slice(0, j)], MAX - j);
  assert.deepEqual(r.ids, [...g.ids.slice(0, j), ...cont.ids]);
  assert.equal(r.text, small.tokenizer.decode(g.ids.slice(0, j)) + cont.text);
  // resume 'none': the big model answers from the prompt alone.
  const n = await cascade(small, big, { policy: 'always-escalate' }).run(PROMPT, { maxTokens: MAX });
  assert.equal(n.resumedFrom, 0);
  assert.equal(n.verification, undefined, 'always-escalate does not score');
  assert.deepEqual(n.ids, (await greedy(big, PROMPT, MAX)).ids);
});

test('local big = the small model: it agrees with every greedy token, and a full-length prefix needs no generation', { skip }, async () => {
  const g = await greedy(small, PROMPT, MAX);
  const r = await cascade(small, small, { policy: { ...offConfidence, verify: { minMeanLogprob: -1e-9 } } }).run(PROMPT, { maxTokens: MAX });
  assert.ok(Math.abs(r.verification!.meanLogprob - mean(g.logprobs)) < 1e-4, 'the same model scores its answer as it generated it');
  assert.equal(r.verification!.agreedPrefix, g.ids.length);
  assert.equal(r.path, 'escalate');
  assert.deepEqual(r.ids, g.ids);
  assert.equal(r.latencyMs.escalate, 0);
});

test('local big: a model with another vocabulary is refused; constraints cannot cross the cascade', { skip }, async () => {
  const chat = await loadModel(fixture('models', 'tiny-llama3-chat', 'tiny-llama3-chat.q8_0.gguf'), { threads: 1 });
  try {
    assert.throws(() => new Cascade(small, chat), (e: unknown) => e instanceof CascadeModelMismatchError && /vocabularies differ in size \(1024 vs 128256\)/.test(e.message));
  } finally {
    await chat.dispose();
  }
  await assert.rejects(cascade(small, big).run(PROMPT, { responseFormat: { type: 'json_object' } }), BadArgumentError);
});

test('endpoint: verification log-likelihoods equal those from the big model’s own logits; escalation continues the same way', { skip }, async () => {
  const g = await greedy(small, PROMPT, MAX);
  const s = await bigScores(PROMPT, g.ids);
  const c = cascade(small, bigUrl, { policy: { ...offConfidence, verify: { minMeanLogprob: -1e-9 }, resume: { minTokenLogprob: -100 } } });
  const r = await c.run(PROMPT, { maxTokens: MAX });
  assert.equal(r.path, 'escalate');
  const local = await cascade(small, big, { policy: { ...offConfidence, verify: { minMeanLogprob: -1e-9 }, resume: 'top1' } }).run(PROMPT, { maxTokens: MAX });
  assert.ok(Math.abs(r.verification!.sumLogprob - s.logprobs.reduce((a, b) => a + b, 0)) < 1e-3, `${r.verification!.sumLogprob}`);
  assert.ok(Math.abs(r.verification!.meanLogprob - local.verification!.meanLogprob) < 1e-4);
  // Every token passes -100: the endpoint resumes after the whole answer; nothing is left to generate.
  assert.equal(r.resumedFrom, g.ids.length);
  assert.equal(r.text, g.text);
  // Top-1 agreement read from the endpoint's top_logprobs matches the local argmax.
  const t = await cascade(small, bigUrl, { policy: { ...offConfidence, verify: { minMeanLogprob: -1e-9 }, resume: 'top1' } }).run(PROMPT, { maxTokens: MAX });
  assert.equal(t.verification!.agreedPrefix, local.verification!.agreedPrefix);
  const k = t.resumedFrom!;
  const cont = await greedy(big, [...PROMPT, ...g.ids.slice(0, k)], MAX - k);
  assert.equal(t.text, small.tokenizer.decode(g.ids.slice(0, k)) + cont.text, 'the endpoint continued exactly as the local big model');
  assert.equal(t.ids, undefined, 'an endpoint returns text, not ids');
  assert.equal(t.completionTokens, MAX);
});

test('endpoint: a closed port degrades to the small answer with a warning', { skip }, async () => {
  const probe = createHttpServer();
  await new Promise<void>((r) => probe.listen(0, '127.0.0.1', r));
  const port = (probe.address() as AddressInfo).port;
  await new Promise<void>((r) => probe.close(() => r()));
  const g = await greedy(small, PROMPT, MAX);
  const c = cascade(small, `http://127.0.0.1:${port}`, { policy: 'always-verify' });
  const r = await c.run(PROMPT, { maxTokens: MAX });
  assert.equal(r.path, 'degraded');
  assert.equal(r.text, g.text);
  assert.match(r.warning!, /127\.0\.0\.1.*(ECONNREFUSED|fetch failed).*small model alone/);
  assert.equal(c.stats.paths.degraded, 1);
});

test('endpoint: a server that never answers times out (policy.timeoutMs) instead of hanging', { skip, timeout: 30_000 }, async () => {
  const held: import('node:http').ServerResponse[] = [];
  const hang: Server = createHttpServer((_req, res) => void held.push(res)); // accepts, never replies
  await new Promise<void>((r) => hang.listen(0, '127.0.0.1', r));
  try {
    const url = `http://127.0.0.1:${(hang.address() as AddressInfo).port}/v1`;
    const t0 = Date.now();
    const r = await cascade(small, url, { policy: { ...offConfidence, verify: { minMeanLogprob: -1 }, timeoutMs: 400 } }).run(PROMPT, { maxTokens: MAX });
    const took = Date.now() - t0;
    assert.equal(r.path, 'degraded');
    assert.match(r.warning!, /timed out/);
    assert.ok(took < 10_000, `took ${took} ms`);
  } finally {
    for (const res of held) res.destroy();
    hang.closeAllConnections();
    await new Promise<void>((r) => hang.close(() => r()));
  }
});

test('endpoint: a server that refuses max_tokens 0 (as vLLM does) is scored with max_tokens 1, the extra token ignored', { skip }, async () => {
  const seen: number[] = [];
  // A proxy in front of the big server that answers 400 to max_tokens 0.
  const proxy = createHttpServer((req, res) => {
    let data = '';
    req.on('data', (c: Buffer) => (data += c.toString()));
    req.on('end', () => {
      void (async () => {
        const body = data ? (JSON.parse(data) as { max_tokens?: number }) : {};
        if (req.method === 'POST') seen.push(body.max_tokens ?? -1);
        if (body.max_tokens === 0) {
          res.writeHead(400, { 'content-type': 'application/json' }).end(JSON.stringify({ error: { message: 'max_tokens must be at least 1, got 0.' } }));
          return;
        }
        const up = await fetch(bigUrl + req.url!, { method: req.method, headers: { 'content-type': 'application/json' }, body: req.method === 'POST' ? data : undefined });
        res.writeHead(up.status, { 'content-type': 'application/json' }).end(await up.text());
      })();
    });
  });
  await new Promise<void>((r) => proxy.listen(0, '127.0.0.1', r));
  try {
    const url = `http://127.0.0.1:${(proxy.address() as AddressInfo).port}`;
    const policy = { ...offConfidence, verify: { minMeanLogprob: -100 } };
    const c = cascade(small, url, { policy });
    const r = await c.run(PROMPT, { maxTokens: MAX });
    const local = await cascade(small, big, { policy }).run(PROMPT, { maxTokens: MAX });
    assert.equal(r.path, 'verify-accept');
    assert.ok(Math.abs(r.verification!.sumLogprob - local.verification!.sumLogprob) < 1e-3);
    assert.equal(r.verification!.tokens, local.verification!.tokens);
    await c.run(PROMPT, { maxTokens: MAX });
    assert.deepEqual(seen, [0, 1, 1], 'asks with 0 once, then remembers');
  } finally {
    proxy.closeAllConnections();
    await new Promise<void>((r) => proxy.close(() => r()));
  }
});
