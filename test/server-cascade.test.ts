/**
 * `serve --escalate-to`: a small llama-ts server (tiny-llama3.2-tied) escalating to a second
 * llama-ts server started by the test (tiny-llama3.1) as the big OpenAI-compatible endpoint.
 * Each path is forced with a per-request `escalate` policy and must show in the response (header
 * and `cascade` field) and in /metrics.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createServer as createHttpServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { fixture, HAVE_FIXTURES, REPO_ROOT, skipNoFixtures } from './fixtures.js';
import { loadModel, cascade, type LlamaModel } from '../src/index.js';
import { createServer } from '../src/server/app.js';
import { serveCommand } from '../src/cli/serve.js';
import { InvalidPolicyError } from '../src/cascade/errors.js';

const skip = skipNoFixtures;
const PROMPT = [1, 300, 301, 302, 303, 304];
let small: LlamaModel;
let big: LlamaModel;
let bigApp: FastifyInstance;
let app: FastifyInstance;
let plain: FastifyInstance;
let base = '';
let plainBase = '';

before(async () => {
  if (!HAVE_FIXTURES) return;
  small = await loadModel(fixture('models', 'tiny-llama3.2-tied', 'tiny-llama3.2-tied.f32.gguf'), { threads: 1 });
  big = await loadModel(fixture('models', 'tiny-llama3.1', 'tiny-llama3.1.f32.gguf'), { threads: 1 });
  ({ app: bigApp } = createServer(big));
  const bigUrl = await bigApp.listen({ host: '127.0.0.1', port: 0 });
  ({ app } = createServer(small, { cascade: cascade(small, bigUrl, { policy: 'balanced' }) }));
  base = await app.listen({ host: '127.0.0.1', port: 0 });
  ({ app: plain } = createServer(small));
  plainBase = await plain.listen({ host: '127.0.0.1', port: 0 });
});
after(async () => {
  await app?.close();
  await plain?.close();
  await bigApp?.close();
  await small?.dispose();
  await big?.dispose();
});

interface Answer {
  status: number;
  header: string | null;
  body: { choices?: { text?: string; message?: { content: string }; finish_reason: string }[]; cascade?: { path: string; warning?: string; verification?: { meanLogprob: number; accepted: boolean }; confidence: { meanLogprob: number }; small_text: string; latency_ms: { total: number } }; usage?: { completion_tokens: number }; error?: { message: string; param: string | null } };
}

async function post(url: string, path: string, body: object): Promise<Answer> {
  const res = await fetch(url + path, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  return { status: res.status, header: res.headers.get('x-llama-ts-cascade'), body: (await res.json()) as Answer['body'] };
}

const complete = (escalate: unknown, extra: object = {}): Promise<Answer> => post(base, '/v1/completions', { prompt: PROMPT, max_tokens: 10, temperature: 0, ...(escalate === undefined ? {} : { escalate }), ...extra });

function metric(text: string, line: string): number {
  const m = new RegExp(`^${line.replace(/[{}"+.]/g, (c) => `\\${c}`)} (\\S+)$`, 'm').exec(text);
  assert.ok(m, `no ${line} in /metrics`);
  return Number(m[1]);
}

test('each path (accept, verify-accept, verify-reject → escalate) is taken, reported, and counted in /metrics', { skip }, async () => {
  // Scores of this prompt under both models, from a first request that only verifies.
  const probe = await complete({ confidence: null, verify: { minMeanLogprob: -1e-9 } });
  assert.equal(probe.status, 200);
  assert.equal(probe.header, 'escalate');
  const conf = probe.body.cascade!.confidence.meanLogprob;
  const ver = probe.body.cascade!.verification!.meanLogprob;

  const a = await complete({ confidence: { minMeanLogprob: conf - 0.01, minTokenLogprob: null, maxTailShare: null } });
  assert.equal(a.header, 'accept');
  assert.equal(a.body.cascade!.path, 'accept');
  assert.equal(a.body.choices![0]!.text, a.body.cascade!.small_text);

  const v = await complete({ confidence: null, verify: { minMeanLogprob: ver - 0.01 } });
  assert.equal(v.header, 'verify-accept');
  assert.equal(v.body.cascade!.verification!.accepted, true);
  assert.equal(v.body.choices![0]!.text, a.body.choices![0]!.text, 'the small answer, verified');

  const e = await complete({ confidence: null, verify: { minMeanLogprob: ver + 0.01 }, resume: 'none' });
  assert.equal(e.header, 'escalate');
  // resume 'none': the big server's own greedy answer to the prompt.
  const direct = await post(base.replace(/:\d+$/, `:${(bigApp.server.address() as AddressInfo).port}`), '/v1/completions', { prompt: PROMPT, max_tokens: 10, temperature: 0 });
  assert.equal(e.body.choices![0]!.text, direct.body.choices![0]!.text);
  assert.equal(e.body.usage!.completion_tokens, 10);

  const off = await complete(false);
  assert.equal(off.header, null);
  assert.equal(off.body.cascade, undefined);
  assert.equal(off.body.choices![0]!.text, a.body.choices![0]!.text);

  const m = await (await fetch(`${base}/metrics`)).text();
  assert.equal(metric(m, 'llama_ts_cascade_requests_total{path="accept"}'), 1);
  assert.equal(metric(m, 'llama_ts_cascade_requests_total{path="verify-accept"}'), 1);
  assert.equal(metric(m, 'llama_ts_cascade_requests_total{path="escalate"}'), 2);
  assert.equal(metric(m, 'llama_ts_cascade_verifications_total{outcome="accept"}'), 1);
  assert.equal(metric(m, 'llama_ts_cascade_verifications_total{outcome="reject"}'), 2);
  assert.equal(metric(m, 'llama_ts_cascade_verify_accept_rate'), 1 / 3);
  assert.equal(metric(m, 'llama_ts_cascade_escalation_rate'), 2 / 4);
  assert.equal(metric(m, 'llama_ts_cascade_latency_seconds_count{path="escalate"}'), 2);
  assert.equal(metric(m, 'llama_ts_cascade_latency_seconds_bucket{path="escalate",le="+Inf"}'), 2);
  assert.ok(metric(m, 'llama_ts_cascade_latency_seconds_sum{path="accept"}') > 0);
});

test('an unreachable big endpoint degrades to the small answer with a warning field', { skip }, async () => {
  const probe = createHttpServer();
  await new Promise<void>((r) => probe.listen(0, '127.0.0.1', r));
  const port = (probe.address() as AddressInfo).port;
  await new Promise<void>((r) => probe.close(() => r()));
  const { app: down } = createServer(small, { cascade: cascade(small, `http://127.0.0.1:${port}`, { policy: { confidence: null, timeoutMs: 2000 } }) });
  const url = await down.listen({ host: '127.0.0.1', port: 0 });
  try {
    const r = await post(url, '/v1/completions', { prompt: PROMPT, max_tokens: 10, temperature: 0 });
    assert.equal(r.status, 200);
    assert.equal(r.header, 'degraded');
    assert.match(r.body.cascade!.warning!, /small model alone/);
    assert.equal(r.body.choices![0]!.text, r.body.cascade!.small_text);
    const m = await (await fetch(`${url}/metrics`)).text();
    assert.equal(metric(m, 'llama_ts_cascade_requests_total{path="degraded"}'), 1);
  } finally {
    await down.close();
  }
});

test('a big endpoint that never answers: the request still answers (small model, warning) after the policy timeout', { skip, timeout: 60_000 }, async () => {
  const held: import('node:http').ServerResponse[] = [];
  const hang = createHttpServer((_req, res) => void held.push(res));
  await new Promise<void>((r) => hang.listen(0, '127.0.0.1', r));
  const { app: slow } = createServer(small, { cascade: cascade(small, `http://127.0.0.1:${(hang.address() as AddressInfo).port}`, { policy: { confidence: null, timeoutMs: 300 } }) });
  const url = await slow.listen({ host: '127.0.0.1', port: 0 });
  try {
    const t0 = Date.now();
    const r = await post(url, '/v1/completions', { prompt: PROMPT, max_tokens: 10, temperature: 0 });
    assert.equal(r.status, 200);
    assert.equal(r.header, 'degraded');
    assert.match(r.body.cascade!.warning!, /timed out after 300 ms/);
    assert.ok(Date.now() - t0 < 15_000);
  } finally {
    await slow.close();
    for (const res of held) res.destroy();
    hang.closeAllConnections();
    await new Promise<void>((r) => hang.close(() => r()));
  }
});

test('chat completions go through the cascade too', { skip }, async () => {
  const chat = await loadModel(fixture('models', 'tiny-llama3-chat', 'tiny-llama3-chat.q8_0.gguf'), { threads: 1 });
  // The same model as both: the big model agrees with every greedy token.
  const { app: c } = createServer(chat, { cascade: cascade(chat, chat, { policy: 'always-verify' }) });
  const url = await c.listen({ host: '127.0.0.1', port: 0 });
  try {
    const body = { messages: [{ role: 'user', content: 'Hi' }], max_tokens: 6, temperature: 0 };
    const r = await post(url, '/v1/chat/completions', body);
    assert.equal(r.status, 200);
    assert.equal(r.body.cascade!.path, r.header);
    const alone = await post(url, '/v1/chat/completions', { ...body, escalate: false });
    assert.equal(r.body.choices![0]!.message!.content, alone.body.choices![0]!.message!.content, 'the big model (the same one) keeps the answer');
    // Streaming cannot go through the cascade: silently small-only without the field, a 400 with it.
    const s = await fetch(`${url}/v1/chat/completions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ ...body, stream: true }) });
    assert.equal(s.status, 200);
    await s.text();
    const bad = await post(url, '/v1/chat/completions', { ...body, stream: true, escalate: true });
    assert.equal(bad.status, 400);
    assert.match(bad.body.error!.message, /escalate cannot be combined with stream/);
    // Through an endpoint: the rendered chat goes as token ids to /v1/completions, and the answer
    // is what that server gives the same messages on its chat route.
    const { app: e } = createServer(chat, { cascade: cascade(chat, url, { policy: 'always-escalate' }) });
    const eUrl = await e.listen({ host: '127.0.0.1', port: 0 });
    try {
      const viaEndpoint = await post(eUrl, '/v1/chat/completions', { ...body, max_tokens: 12 });
      const direct = await post(url, '/v1/chat/completions', { ...body, max_tokens: 12, escalate: false });
      assert.equal(viaEndpoint.header, 'escalate');
      assert.equal(viaEndpoint.body.choices![0]!.message!.content, direct.body.choices![0]!.message!.content);
      assert.equal(viaEndpoint.body.usage!.completion_tokens, direct.body.usage!.completion_tokens);
    } finally {
      await e.close();
    }
  } finally {
    await c.close();
    await chat.dispose();
  }
});

test('bad escalate fields are 400s naming the problem', { skip }, async () => {
  const r = await complete({ verify: { minMeanLogprob: 3 } });
  assert.equal(r.status, 400);
  assert.match(r.body.error!.message, /verify\.minMeanLogprob must be ≤ 0/);
  const p = await complete('fast');
  assert.equal(p.status, 400);
  assert.match(p.body.error!.message, /'fast' is not a preset/);
  const t = await complete(7);
  assert.equal(t.status, 400);
  const e = await complete(true, { echo: true, logprobs: 1 });
  assert.equal(e.status, 400);
  assert.match(e.body.error!.message, /combined with logprobs/);
  const none = await post(plainBase, '/v1/completions', { prompt: PROMPT, max_tokens: 2, escalate: true });
  assert.equal(none.status, 400);
  assert.match(none.body.error!.message, /no big model to escalate to/);
  assert.equal((await post(plainBase, '/v1/completions', { prompt: PROMPT, max_tokens: 2, escalate: false })).status, 200);
});

test('serve: a bad --escalate-policy fails before any model loads; --escalate-policy needs --escalate-to', async () => {
  const o = { model: '/no/such/model.gguf', host: '127.0.0.1', port: 0, parallel: 1, queue: 1, backend: 'ref' as const, grace: 1 };
  await assert.rejects(serveCommand({ ...o, escalateTo: 'http://127.0.0.1:9', escalatePolicy: '{"verify":{"minMeanLogprob":"x"}}' }, () => {}), InvalidPolicyError);
  await assert.rejects(serveCommand({ ...o, escalatePolicy: 'strict' }, () => {}), /--escalate-policy needs --escalate-to/);
});

test('llama-ts serve -m small --escalate-to big --escalate-policy always-verify', { skip, timeout: 120_000 }, async () => {
  const args = ['serve', '-m', fixture('models', 'tiny-llama3.2-tied', 'tiny-llama3.2-tied.f32.gguf'), '--escalate-to', fixture('models', 'tiny-llama3.1', 'tiny-llama3.1.f32.gguf'), '--escalate-policy', 'always-verify', '--port', '0', '-t', '1'];
  const proc = spawn(process.execPath, [join(REPO_ROOT, 'bin', 'llama-ts.js'), ...args], { stdio: ['ignore', 'ignore', 'pipe'] });
  let err = '';
  proc.stderr.on('data', (d: Buffer) => (err += d.toString()));
  const exited = new Promise<number | null>((r) => proc.on('exit', (code) => r(code)));
  try {
    for (let i = 0; i < 600 && !/serving .* at (http:\/\/\S+)/.test(err); i++) await new Promise((r) => setTimeout(r, 50));
    const url = /at (http:\/\/[^\s]+)/.exec(err)?.[1];
    assert.ok(url, `no address in: ${err}`);
    assert.match(err, /escalating to .*tiny-llama3\.1\.f32\.gguf/);
    const r = await post(url, '/v1/completions', { prompt: PROMPT, max_tokens: 8, temperature: 0 });
    assert.equal(r.status, 200);
    assert.ok(r.body.cascade!.verification, 'always-verify scored the answer');
    assert.ok(['verify-accept', 'escalate'].includes(r.header!));
    proc.kill('SIGTERM');
    assert.equal(await exited, 0, err);
  } finally {
    proc.kill('SIGKILL');
  }
});
