import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fixture, skipNoFixtures, HAVE_FIXTURES } from './fixtures.js';
import { loadModel } from '../src/model/load.js';
import type { Model } from '../src/model/types.js';
import { evaluate } from '../src/eval/evaluate.js';
import { OpenAIBackend } from '../src/eval/openai.js';
import { BUILTIN_TASKS } from '../src/eval/builtin.js';
import { renderChat } from '../src/chat/encode.js';
import { consume } from '../src/generate/consume.js';
import type { ChatMessage } from '../src/chat/types.js';
import type { EvalRecord, McItem } from '../src/eval/types.js';

/**
 * A minimal OpenAI-compatible server over the local model, 127.0.0.1 only: /v1/completions
 * (echo + logprobs, or greedy text) and /v1/chat/completions (with continue_final_message).
 */
function startServer(model: Model): Promise<{ server: Server; url: string }> {
  const tok = model.tokenizer;
  const utf8 = new TextDecoder();
  const stopIds = ['<|eot_id|>', '<|eom_id|>'].map((s) => tok.specialId(s)).filter((x): x is number => x !== undefined);
  const vocab = model.config.vocabSize;
  const lp = (row: Float32Array, id: number): number => {
    let m = -Infinity;
    for (const v of row) m = Math.max(m, v);
    let s = 0;
    for (const v of row) s += Math.exp(v - m);
    return row[id]! - m - Math.log(s);
  };
  const gen = async (ids: number[], body: Record<string, unknown>): Promise<string> =>
    (await consume(model.generate(ids, { maxTokens: Number(body.max_tokens ?? 16), stop: (body.stop as string[] | undefined) ?? [], stopIds, temperature: 0 }), () => {})).text;
  const handle = async (path: string, body: Record<string, unknown>): Promise<unknown> => {
    if (path === '/v1/completions') {
      const ids = tok.encode(String(body.prompt), { addBos: true });
      if (body.echo !== true) return { choices: [{ text: await gen(ids, body) }] };
      const logits = await model.logits(ids);
      const tokens: string[] = [];
      const token_logprobs: number[] = [];
      const text_offset: number[] = [];
      const top_logprobs: Record<string, number>[] = [];
      let off = 0;
      for (let t = 1; t < ids.length; t++) {
        const row = logits.subarray((t - 1) * vocab, t * vocab);
        const text = utf8.decode(tok.tokenBytes(ids[t]!));
        tokens.push(text);
        text_offset.push(off);
        off += [...text].length;
        token_logprobs.push(lp(row, ids[t]!));
        let best = 0;
        for (let i = 1; i < vocab; i++) if (row[i]! > row[best]!) best = i;
        top_logprobs.push({ [utf8.decode(tok.tokenBytes(best))]: lp(row, best) });
      }
      return { choices: [{ text: String(body.prompt), logprobs: { tokens, token_logprobs, text_offset, top_logprobs } }] };
    }
    if (path === '/v1/chat/completions') {
      let messages = body.messages as ChatMessage[];
      let prefill = '';
      if (body.continue_final_message === true) {
        prefill = String(messages[messages.length - 1]!.content);
        messages = messages.slice(0, -1);
      }
      const ids = [...renderChat(tok, model.chatTemplate, messages, { addGenerationPrompt: true, addBos: true }).ids, ...(prefill ? tok.encode(prefill, { addBos: false }) : [])];
      return { choices: [{ message: { role: 'assistant', content: await gen(ids, body) } }] };
    }
    return undefined;
  };
  const server = createServer((req, res) => {
    let data = '';
    req.on('data', (c: Buffer) => (data += c.toString('utf8')));
    req.on('end', () => {
      const path = req.url ?? '';
      if (req.method === 'GET' && path === '/v1/models') {
        res.end(JSON.stringify({ data: [{ id: 'tiny' }] }));
        return;
      }
      handle(path, JSON.parse(data || '{}') as Record<string, unknown>).then(
        (out) => {
          res.statusCode = out === undefined ? 404 : 200;
          res.end(JSON.stringify(out ?? { error: 'not found' }));
        },
        (e: unknown) => {
          res.statusCode = 500;
          res.end(JSON.stringify({ error: String(e) }));
        },
      );
    });
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve({ server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}` })));
}

let model: Model;
let server: Server;
let url: string;
let dir: string;
before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'eval-endpoint-'));
  if (!HAVE_FIXTURES) return;
  model = await loadModel(fixture('models', 'tiny-llama3-chat', 'tiny-llama3-chat.q8_0.gguf'));
  ({ server, url } = await startServer(model));
});
after(async () => {
  rmSync(dir, { recursive: true, force: true });
  await new Promise<void>((r) => (server ? server.close(() => r()) : r()));
  await model?.dispose();
});

const ITEMS: McItem[] = [
  { context: 'The capital of France is', choices: [' Paris', ' London', ' Berlin'], gold: 0 },
  { context: 'Question: 2 + 2 = ?\nAnswer:', choices: [' 4', ' 5', ' 22'], gold: 0 },
  { context: 'The sky is ', choices: ['blue', 'green'], gold: 1 },
  { context: 'She opened the door and', choices: [' walked in.', ' flew away.', ' sat.'], gold: 2 },
];

test('the mc task gives the same log-likelihoods and scores through an endpoint as locally', { skip: skipNoFixtures }, async () => {
  const ep = new OpenAIBackend(url + '/v1', { concurrency: 4 });
  const a: EvalRecord[] = [];
  const b: EvalRecord[] = [];
  const remote = await evaluate(ep, 'mc', { items: ITEMS, onRecord: (r) => a.push(r) });
  const local = await evaluate(model, 'mc', { items: ITEMS, onRecord: (r) => b.push(r) });
  assert.deepEqual(remote, local);
  for (let i = 0; i < a.length; i++) {
    const x = a[i]!.logprobs!;
    const y = b[i]!.logprobs!;
    x.forEach((v, k) => assert.ok(Math.abs(v - y[k]!) < 1e-6 * Math.max(1, Math.abs(y[k]!)), `item ${i} choice ${k}: ${v} vs ${y[k]}`));
  }
});

test('perplexity through an endpoint equals the local single-window result', { skip: skipNoFixtures }, async () => {
  const text = 'It was the best of times, it was the worst of times.';
  const remote = await evaluate(new OpenAIBackend(url), 'perplexity', { text });
  const local = await evaluate(model, 'perplexity', { text, ctx: 64, stride: 32 });
  assert.equal(remote.tokens, local.tokens);
  assert.ok(Math.abs(remote.nll - local.nll) < 1e-6 * local.nll);
});

test('generative tasks (chat with a prefill, plain completions) give the same outputs through an endpoint', { skip: skipNoFixtures }, async () => {
  mkdirSync(join(dir, 'arc'), { recursive: true });
  writeFileSync(join(dir, 'arc', 'test.jsonl'), JSON.stringify({ question: 'Which is a gas?', choices: { text: ['ice', 'steam', 'rock', 'wood'], label: ['A', 'B', 'C', 'D'] }, answerKey: 'B' }) + '\n');
  const arc = { ...BUILTIN_TASKS.arc_challenge_llama!, generation: { max_tokens: 3, until: [] } };
  const gsm = { ...BUILTIN_TASKS.gsm8k!, num_fewshot: 0, generation: { max_tokens: 3, until: ['Question:'] } };
  writeFileSync(join(dir, 'gsm.jsonl'), JSON.stringify({ question: 'What is 1 + 1?', answer: '#### 2' }) + '\n');
  for (const [def, data] of [
    [arc, join(dir, 'arc')],
    [gsm, join(dir, 'gsm.jsonl')],
  ] as const) {
    const a: EvalRecord[] = [];
    const b: EvalRecord[] = [];
    const remote = await evaluate(new OpenAIBackend(url, { model: 'tiny' }), def, { data, onRecord: (r) => a.push(r) });
    const local = await evaluate(model, def, { data, onRecord: (r) => b.push(r) });
    assert.deepEqual(remote, local);
    assert.equal(a[0]!.output, b[0]!.output);
    assert.ok(b[0]!.output!.length > 0);
  }
});

test('endpoint errors are BACKEND_ERROR LlamaErrors', { skip: skipNoFixtures }, async () => {
  await assert.rejects(new OpenAIBackend(url + '/nope', { model: 'x' }).generate([{ prompt: 'hi', maxTokens: 1, stop: [] }]), { code: 'BACKEND_ERROR' });
  assert.throws(() => new OpenAIBackend('ftp://x'), { code: 'BAD_ARGUMENT' });
});
