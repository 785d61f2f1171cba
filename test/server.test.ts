/**
 * The OpenAI-compatible server driven by the official `openai` client, against tiny-llama3-chat
 * (real Llama 3 tokenizer and Llama 3.1 Instruct template, random weights: the text is noise, so
 * tests check protocol, determinism, usage and errors, not meaning).
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import OpenAI from 'openai';
import { fixture, HAVE_FIXTURES } from './fixtures.js';
import { loadModel, type LlamaModel } from '../src/index.js';
import { createServer } from '../src/server/app.js';
import type { FastifyInstance } from 'fastify';

const skip = HAVE_FIXTURES ? false : 'fixtures not found (../shared/fixtures)';
const KEY = 'test-key-123';
let model: LlamaModel;
let app: FastifyInstance;
let base = '';
let client: OpenAI;
const NAME = 'tiny-llama3-chat.q8_0';

before(async () => {
  if (!HAVE_FIXTURES) return;
  model = await loadModel(fixture('models', 'tiny-llama3-chat', 'tiny-llama3-chat.q8_0.gguf'), { threads: 2, maxSequences: 16, contextSize: 4200 });
  ({ app } = createServer(model, { apiKey: KEY, cors: 'http://example.test' }));
  base = await app.listen({ host: '127.0.0.1', port: 0 });
  client = new OpenAI({ baseURL: `${base}/v1`, apiKey: KEY, maxRetries: 0 });
});
after(async () => {
  await app?.close();
  await model?.dispose();
});

const chat = (content: string, extra: object = {}): OpenAI.Chat.ChatCompletionCreateParamsNonStreaming => ({
  model: NAME,
  messages: [{ role: 'user', content }],
  max_tokens: 12,
  seed: 5,
  ...extra,
});

test('chat completion: shape, usage, seed determinism', { skip }, async () => {
  const a = await client.chat.completions.create(chat('Hello there'));
  const b = await client.chat.completions.create(chat('Hello there'));
  assert.equal(a.object, 'chat.completion');
  assert.equal(a.model, NAME);
  assert.equal(a.choices[0]!.message.role, 'assistant');
  assert.equal(a.choices[0]!.message.content, b.choices[0]!.message.content);
  assert.ok(['stop', 'length'].includes(a.choices[0]!.finish_reason));
  const prompt = model.tokenizer.encode('', {}).length; // nothing: just exercising the tokenizer
  assert.ok(prompt >= 0);
  const rendered = await (await fetch(`${base}/tokenize`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ content: 'x' }) })).json();
  assert.ok(Array.isArray((rendered as { tokens: number[] }).tokens));
  assert.equal(a.usage!.total_tokens, a.usage!.prompt_tokens + a.usage!.completion_tokens);
  assert.ok(a.usage!.completion_tokens <= 12 && a.usage!.completion_tokens > 0);
});

test('streaming chat equals the non-streamed text, with include_usage', { skip }, async () => {
  const full = await client.chat.completions.create(chat('Stream me', { max_tokens: 16 }));
  const stream = await client.chat.completions.create({ ...chat('Stream me', { max_tokens: 16 }), stream: true, stream_options: { include_usage: true } });
  let text = '';
  let finish: string | null = null;
  let usage: OpenAI.CompletionUsage | undefined;
  for await (const ch of stream) {
    if (ch.usage) usage = ch.usage;
    const c = ch.choices[0];
    if (c?.delta.content) text += c.delta.content;
    if (c?.finish_reason) finish = c.finish_reason;
  }
  assert.equal(text, full.choices[0]!.message.content);
  assert.equal(finish, full.choices[0]!.finish_reason);
  assert.equal(usage?.completion_tokens, full.usage?.completion_tokens);
  assert.equal(usage?.prompt_tokens, full.usage?.prompt_tokens);
});

test('n choices, logprobs and top_logprobs', { skip }, async () => {
  const r = await client.chat.completions.create(chat('Pick', { n: 3, temperature: 1, logprobs: true, top_logprobs: 3, max_tokens: 5 }));
  assert.equal(r.choices.length, 3);
  assert.deepEqual(r.choices.map((c) => c.index), [0, 1, 2]);
  for (const c of r.choices) {
    const lp = c.logprobs!.content!;
    assert.ok(lp.length > 0);
    for (const t of lp) {
      assert.ok(t.logprob <= 0);
      assert.equal(t.top_logprobs.length, 3);
      assert.ok(t.top_logprobs[0]!.logprob >= t.top_logprobs[2]!.logprob);
    }
  }
  assert.equal(r.usage!.completion_tokens, r.choices.reduce((a, c) => a + c.logprobs!.content!.length, 0));
});

test('completions: text prompt, echo with prompt logprobs, streaming', { skip }, async () => {
  const r = await client.completions.create({ model: NAME, prompt: 'Once upon', max_tokens: 6, seed: 2, temperature: 0 });
  assert.equal(r.object, 'text_completion');
  assert.ok(r.choices[0]!.text.length > 0);
  const e = await client.completions.create({ model: NAME, prompt: 'Once upon a time', max_tokens: 1, echo: true, logprobs: 2, temperature: 0 });
  const lp = e.choices[0]!.logprobs!;
  assert.ok(e.choices[0]!.text.startsWith('Once upon a time'));
  assert.equal(lp.token_logprobs![0], null, 'the first prompt token has no log-prob');
  assert.ok((lp.token_logprobs![1] as number) < 0);
  // Against the model's own logits.
  const ids = model.tokenizer.encode('Once upon a time', { addBos: true });
  const logits = await model.logits(ids);
  const V = model.config.vocabSize;
  const row = logits.subarray(0, V);
  let m = -Infinity;
  for (const x of row) m = Math.max(m, x);
  let s = 0;
  for (const x of row) s += Math.exp(x - m);
  assert.ok(Math.abs((lp.token_logprobs![1] as number) - (row[ids[1]!]! - m - Math.log(s))) < 1e-4);
  const st = await client.completions.create({ model: NAME, prompt: 'Once upon', max_tokens: 6, seed: 2, temperature: 0, stream: true });
  let text = '';
  for await (const ch of st) text += ch.choices[0]?.text ?? '';
  assert.equal(text, r.choices[0]!.text);
});

test('16 concurrent streaming clients with different seeds each get exactly their tokens alone', { skip, timeout: 180_000 }, async () => {
  const req = (i: number) => ({ ...chat(`client ${i}`, { seed: 1000 + i, temperature: 0.9, max_tokens: 10 }), stream: true as const });
  const collect = async (i: number): Promise<string> => {
    let t = '';
    for await (const ch of await client.chat.completions.create(req(i))) t += ch.choices[0]?.delta.content ?? '';
    return t;
  };
  const alone: string[] = [];
  for (let i = 0; i < 16; i++) alone.push(await collect(i));
  const together = await Promise.all(Array.from({ length: 16 }, (_, i) => collect(i)));
  assert.deepEqual(together, alone);
});

test('a client that disconnects frees its sequence at once', { skip, timeout: 60_000 }, async () => {
  const ac = new AbortController();
  const stream = await client.chat.completions.create({ ...chat('long one', { max_tokens: 2000, temperature: 1 }), stream: true }, { signal: ac.signal });
  let n = 0;
  try {
    for await (const _ of stream) if (++n === 3) ac.abort();
  } catch {
    // aborted
  }
  for (let i = 0; i < 100 && model.stats().running > 0; i++) await new Promise((r) => setTimeout(r, 20));
  assert.equal(model.stats().running, 0);
  const metrics = await (await fetch(`${base}/metrics`)).text();
  assert.match(metrics, /llama_ts_running_sequences 0/);
  assert.match(metrics, /llama_ts_finished_total\{reason="abort"\} [1-9]/);
});

test('/health answers within 100 ms while a 4K-token prompt is prefilled', { skip, timeout: 120_000 }, async () => {
  const long = Array.from({ length: 4000 }, (_, i) => 1000 + (i % 5000));
  let finished = false;
  const done = client.completions.create({ model: NAME, prompt: long as unknown as string, max_tokens: 1 }).finally(() => (finished = true));
  while (model.stats().evaluatedTokens === 0) await new Promise((r) => setTimeout(r, 1));
  const before = model.stats().evaluatedTokens;
  let worst = 0;
  let during = 0;
  while (!finished) {
    const t0 = performance.now();
    const r = await fetch(`${base}/health`);
    assert.equal(r.status, 200);
    worst = Math.max(worst, performance.now() - t0);
    if (!finished && model.stats().evaluatedTokens - before < 4000) during++;
    await new Promise((r2) => setTimeout(r2, 5));
  }
  await done;
  assert.ok(during >= 2, `only ${during} /health answers came while the prefill ran`);
  assert.ok(worst < 100, `/health took ${worst.toFixed(1)} ms`);
});

test('bad requests get 4xx in OpenAI shape and the server keeps serving', { skip, timeout: 60_000 }, async () => {
  const post = (path: string, body: string, headers: Record<string, string> = {}) =>
    fetch(`${base}${path}`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${KEY}`, ...headers }, body });
  const check = async (r: Response, status: number, re: RegExp): Promise<void> => {
    assert.equal(r.status, status);
    const j = (await r.json()) as { error: { message: string; type: string } };
    assert.match(j.error.message, re);
    assert.ok(j.error.type);
  };
  await check(await post('/v1/chat/completions', '{"model":'), 400, /JSON/);
  await check(await post('/v1/chat/completions', JSON.stringify({ model: NAME, messages: [{ role: 'user', content: 5 }] })), 400, /content/);
  await check(await post('/v1/chat/completions', JSON.stringify({ model: NAME, messages: [{ role: 'user', content: 'x' }], temperature: 'hot' })), 400, /temperature/);
  await check(await post('/v1/chat/completions', JSON.stringify({ model: 'gpt-4', messages: [{ role: 'user', content: 'x' }] })), 404, /gpt-4/);
  const huge = 'word '.repeat(5000);
  await check(await post('/v1/chat/completions', JSON.stringify({ model: NAME, messages: [{ role: 'user', content: huge }] })), 400, /context holds 4200/);
  await check(await post('/v1/chat/completions', JSON.stringify({ model: NAME, messages: [{ role: 'user', content: 'x'.repeat(10 * 2 ** 20) }] })), 413, /.+/);
  await check(await post('/v1/chat/completions', JSON.stringify({ model: NAME, messages: [{ role: 'user', content: 'x' }] }), { authorization: 'Bearer wrong' }), 401, /API key/);
  await check(await post('/detokenize', JSON.stringify({ tokens: [999999999] })), 400, /vocabulary/);
  const ok = await client.chat.completions.create(chat('still alive'));
  assert.ok(ok.choices[0]);
  assert.equal((await fetch(`${base}/health`)).status, 200, '/health needs no key');
  const cors = await fetch(`${base}/v1/models`, { headers: { origin: 'http://example.test', authorization: `Bearer ${KEY}` } });
  assert.equal(cors.headers.get('access-control-allow-origin'), 'http://example.test');
  const noCors = await fetch(`${base}/v1/models`, { headers: { origin: 'http://evil.test', authorization: `Bearer ${KEY}` } });
  assert.equal(noCors.headers.get('access-control-allow-origin'), null);
});

test('a full queue answers 429 with Retry-After', { skip, timeout: 60_000 }, async () => {
  const m = await loadModel(fixture('models', 'tiny-llama3-chat', 'tiny-llama3-chat.q8_0.gguf'), { threads: 1, maxSequences: 1, maxQueue: 1 });
  const { app: a2 } = createServer(m);
  const url = await a2.listen({ host: '127.0.0.1', port: 0 });
  try {
    const body = (t: number) => JSON.stringify({ model: NAME, messages: [{ role: 'user', content: 'q' }], max_tokens: t, temperature: 1, seed: 1 });
    const send = (t: number) => fetch(`${url}/v1/chat/completions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: body(t) });
    const first = send(300);
    while (m.stats().running === 0) await new Promise((r) => setTimeout(r, 2));
    const second = send(2);
    while (m.stats().queued === 0) await new Promise((r) => setTimeout(r, 2));
    const third = await send(2);
    assert.equal(third.status, 429);
    assert.equal(third.headers.get('retry-after'), '1');
    assert.equal(((await third.json()) as { error: { type: string } }).error.type, 'rate_limit_error');
    assert.equal((await first).status, 200);
    assert.equal((await second).status, 200);
  } finally {
    await a2.close();
    await m.dispose();
  }
});

test('GET /v1/models, the chat page and /metrics', { skip }, async () => {
  const models = await client.models.list();
  assert.equal(models.data[0]!.id, NAME);
  const page = await fetch(`${base}/`);
  assert.match(await page.text(), /<script type="module" src="\/chat.js">/);
  assert.equal((await fetch(`${base}/chat.js`)).status, 200);
  const m = await (await fetch(`${base}/metrics`)).text();
  for (const k of ['llama_ts_requests_total', 'llama_ts_prompt_tokens_total', 'llama_ts_generated_tokens_total', 'llama_ts_queue_depth', 'llama_ts_running_sequences', 'llama_ts_prefix_cache_hits_total', 'llama_ts_tokens_per_second']) assert.ok(m.includes(k), k);
});
