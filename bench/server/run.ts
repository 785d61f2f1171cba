/**
 * The server under load, through HTTP: total generated tokens/s with 1, 4 and 16 concurrent
 * streaming clients, time to first token (p50/p99), and the server's own cost per request (HTTP +
 * JSON + SSE, measured with zero-token requests). Synthetic Llama 3.2 1B-shaped GGUF (generated on
 * demand by ../shared/tools/synth_gguf.py into --cache).
 *
 *   node --import tsx bench/server/run.ts [--type q4_0] [-t 2] [--clients 1,4,16] [--prompt 128] [--gen 64] [--prefix-cache]
 *
 * The prefix cache is off by default, so every prompt token is computed: the kernels' figure.
 * --prefix-cache runs the server as `llama-ts serve` does (the model's default cache): every
 * client's prompt then starts from the chat template's system block already cached by an earlier
 * request (the warm-up's, for the single client too).
 */
import { cpus, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { loadModel } from '../../src/index.js';
import { createServer } from '../../src/server/app.js';
import { ensureSyntheticGguf } from '../synthetic-gguf.js';

const { values } = parseArgs({
  options: {
    type: { type: 'string', default: 'q4_0' },
    shape: { type: 'string', default: 'llama3.2-1b' },
    model: { type: 'string' },
    t: { type: 'string', short: 't', default: '2' },
    clients: { type: 'string', default: '1,4,16' },
    prompt: { type: 'string', default: '128' },
    gen: { type: 'string', default: '64' },
    overhead: { type: 'string', default: '200' },
    cache: { type: 'string', default: join(tmpdir(), 'llama-ts-bench') },
    'prefix-cache': { type: 'boolean', default: false },
  },
});
const cpu = cpus()[0]?.model ?? 'unknown CPU';
const threads = Number(values.t);
const promptWords = Number(values.prompt);
const gen = Number(values.gen);

function ensureModel(): string {
  return values.model ?? ensureSyntheticGguf(resolve(values.cache!), values.shape!, values.type!);
}

const pct = (xs: number[], p: number): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))]!;
};

const file = ensureModel();
const maxClients = Math.max(...values.clients!.split(',').map(Number));
const prefixCache = values['prefix-cache'] === true;
const model = await loadModel(file, { threads, maxSequences: maxClients, ...(prefixCache ? {} : { prefixCacheBytes: 0 }) });
const { app } = createServer(model, { modelName: 'bench' });
const base = await app.listen({ host: '127.0.0.1', port: 0 });

/** One streaming chat request; returns (ttft ms, tokens, total ms). */
async function stream(i: number, maxTokens: number): Promise<{ ttft: number; tokens: number; ms: number; times: number[] }> {
  const words = Array.from({ length: promptWords }, (_, k) => `w${(i * 7919 + k * 31) % 5000}`).join(' ');
  const t0 = performance.now();
  const res = await fetch(`${base}/v1/chat/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ model: 'bench', messages: [{ role: 'user', content: words }], max_tokens: maxTokens, temperature: 0.8, seed: i, stream: true, stream_options: { include_usage: true } }),
  });
  const reader = res.body!.getReader();
  const dec = new TextDecoder();
  let buf = '';
  let ttft = 0;
  let tokens = 0;
  const times: number[] = [];
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    buf += dec.decode(value, { stream: true });
    let k;
    while ((k = buf.indexOf('\n\n')) >= 0) {
      const ev = buf.slice(0, k);
      buf = buf.slice(k + 2);
      if (!ev.startsWith('data: {')) continue;
      const j = JSON.parse(ev.slice(6)) as { choices: { delta?: { content?: string } }[]; usage?: { completion_tokens: number } };
      if (j.usage) tokens = j.usage.completion_tokens;
      if (j.choices[0]?.delta?.content !== undefined && j.choices[0]?.delta?.content !== '') {
        times.push(performance.now());
        if (!ttft) ttft = performance.now() - t0;
      }
    }
  }
  return { ttft, tokens, ms: performance.now() - t0, times };
}

await stream(0, 4); // warm-up
const rows: string[] = [];
let single = 0;
let singleDecode = 0;
for (const k of values.clients!.split(',').map(Number)) {
  const t0 = performance.now();
  const rs = await Promise.all(Array.from({ length: k }, (_, i) => stream(100 * k + i, gen)));
  const s = (performance.now() - t0) / 1000;
  const tokens = rs.reduce((a, r) => a + r.tokens, 0);
  const tps = tokens / s;
  if (k === 1) single = tps;
  const ttfts = rs.map((r) => r.ttft);
  // Steady state: streamed chunks while every client is decoding (last first token → first end).
  const start = Math.max(...rs.map((r) => r.times[0] ?? Infinity));
  const end = Math.min(...rs.map((r) => r.times[r.times.length - 1] ?? 0));
  let inWindow = 0;
  for (const r of rs) for (const t of r.times) if (t > start && t <= end) inWindow++;
  // null when no moment had every client decoding (the first finished before the last started).
  const decodeTps = end > start ? inWindow / ((end - start) / 1000) : null;
  if (k === 1) singleDecode = decodeTps ?? 0;
  const out = { bench: 'server-stream', cpu, threads, prefix_cache: prefixCache, clients: k, prompt_words: promptWords, gen, tokens, seconds: s, tokens_per_s: tps, decode_tps: decodeTps, ttft_p50_ms: pct(ttfts, 50), ttft_p99_ms: pct(ttfts, 99) };
  console.log(JSON.stringify(out));
  rows.push(`| ${k} | ${tps.toFixed(2)} | ${single ? (tps / single).toFixed(2) + '×' : '-'} | ${decodeTps === null ? 'none (no moment with all decoding)' : decodeTps.toFixed(2)} | ${singleDecode && decodeTps !== null ? (decodeTps / singleDecode).toFixed(2) + '×' : '-'} | ${out.ttft_p50_ms.toFixed(0)} | ${out.ttft_p99_ms.toFixed(0)} |`);
}

// Server overhead: zero-token requests (template, tokenize, scheduler round trip, JSON/SSE, HTTP).
const over: number[] = [];
for (let i = 0; i < Number(values.overhead); i++) {
  const t0 = performance.now();
  const r = await fetch(`${base}/v1/chat/completions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ model: 'bench', messages: [{ role: 'user', content: 'hi' }], max_tokens: 0 }) });
  await r.arrayBuffer();
  over.push(performance.now() - t0);
}
const ov = { bench: 'server-overhead', cpu, requests: over.length, p50_ms: pct(over, 50), p99_ms: pct(over, 99), mean_ms: over.reduce((a, b) => a + b, 0) / over.length };
console.log(JSON.stringify(ov));
console.log(`\n${cpu}, ${threads} threads, ${file.split("/").pop()}, ~${promptWords}-word prompts, ${gen} tokens per client, prefix cache ${prefixCache ? 'on (as served)' : 'off'}\n`);
console.log('| streaming clients | generated tok/s (wall, incl. prefill) | vs 1 | streamed tok/s while all decode | vs 1 | TTFT p50 ms | TTFT p99 ms |\n| ---: | ---: | ---: | ---: | ---: | ---: | ---: |');
for (const r of rows) console.log(r);
console.log(`\nserver overhead per zero-token request: p50 ${ov.p50_ms.toFixed(2)} ms, p99 ${ov.p99_ms.toFixed(2)} ms, mean ${ov.mean_ms.toFixed(2)} ms`);
await app.close();
await model.dispose();
process.exit(0);
