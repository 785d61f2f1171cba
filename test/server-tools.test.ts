/**
 * Tool calls and structured output through the server: tool_choice forcing a call (enforced while
 * decoding), streamed delta.tool_calls, role "tool" results on the next turn, response_format
 * json_schema / json_object, an unsupported schema as a 400 naming the keyword, and LangChain's
 * ChatOpenAI with a bound tool.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import OpenAI from 'openai';
import { fixture, HAVE_FIXTURES } from './fixtures.js';
import { loadModel, type LlamaModel } from '../src/index.js';
import { createServer } from '../src/server/app.js';
import type { FastifyInstance } from 'fastify';

const skip = HAVE_FIXTURES ? false : 'fixtures not found (../shared/fixtures)';
let model: LlamaModel;
let app: FastifyInstance;
let base = '';
let client: OpenAI;
const NAME = 'tiny-llama3-chat.q8_0';
const weather: OpenAI.Chat.ChatCompletionTool = {
  type: 'function',
  function: {
    name: 'get_weather',
    description: 'Weather for a city',
    parameters: { type: 'object', properties: { city: { type: 'string', maxLength: 10 }, days: { type: 'integer', minimum: 1, maximum: 7 } }, required: ['city', 'days'], additionalProperties: false },
  },
};
const time: OpenAI.Chat.ChatCompletionTool = {
  type: 'function',
  function: { name: 'get_time', parameters: { type: 'object', properties: { zone: { enum: ['UTC', 'CET'] } }, required: ['zone'], additionalProperties: false } },
};

before(async () => {
  if (!HAVE_FIXTURES) return;
  model = await loadModel(fixture('models', 'tiny-llama3-chat', 'tiny-llama3-chat.q8_0.gguf'), { threads: 2 });
  ({ app } = createServer(model));
  base = await app.listen({ host: '127.0.0.1', port: 0 });
  client = new OpenAI({ baseURL: `${base}/v1`, apiKey: 'none', maxRetries: 0 });
});
after(async () => {
  await app?.close();
  await model?.dispose();
});

test('a named tool_choice is enforced while decoding and returned as tool_calls', { skip, timeout: 60_000 }, async () => {
  for (const seed of [1, 2, 3]) {
    const r: OpenAI.Chat.ChatCompletion = await client.chat.completions.create({ model: NAME, messages: [{ role: 'user', content: 'Weather in Paris?' }], tools: [weather, time], tool_choice: { type: 'function', function: { name: 'get_weather' } }, seed, temperature: 1 });
    const c: OpenAI.Chat.ChatCompletion.Choice = r.choices[0]!;
    assert.equal(c.finish_reason, 'tool_calls');
    const call = c.message.tool_calls![0]!;
    assert.equal(call.type, 'function');
    assert.equal((call as { function: { name: string } }).function.name, 'get_weather');
    const args = JSON.parse((call as { function: { arguments: string } }).function.arguments) as { city: string; days: number };
    assert.equal(typeof args.city, 'string');
    assert.ok(args.city.length <= 10 && Number.isInteger(args.days) && args.days >= 1 && args.days <= 7);
    assert.match(call.id, /^call_/);
  }
});

test("tool_choice 'required' picks one of the tools; streamed as delta.tool_calls fragments", { skip, timeout: 60_000 }, async () => {
  const stream = await client.chat.completions.create({ model: NAME, messages: [{ role: 'user', content: 'Time?' }], tools: [weather, time], tool_choice: 'required', seed: 9, temperature: 1, stream: true });
  let name = '';
  let args = '';
  let id = '';
  let finish = '';
  let fragments = 0;
  for await (const ch of stream) {
    const c = ch.choices[0];
    for (const tc of c?.delta.tool_calls ?? []) {
      assert.equal(tc.index, 0);
      if (tc.id) id = tc.id;
      if (tc.function?.name) name += tc.function.name;
      if (tc.function?.arguments !== undefined) {
        args += tc.function.arguments;
        fragments++;
      }
    }
    if (c?.finish_reason) finish = c.finish_reason;
  }
  assert.ok(['get_weather', 'get_time'].includes(name), name);
  assert.ok(id.startsWith('call_'));
  assert.equal(finish, 'tool_calls');
  assert.doesNotThrow(() => JSON.parse(args));
  assert.ok(fragments >= 1);
});

test('a tool result on the next turn is accepted', { skip, timeout: 60_000 }, async () => {
  const r = await client.chat.completions.create({
    model: NAME,
    messages: [
      { role: 'user', content: 'Weather in Paris?' },
      { role: 'assistant', content: null, tool_calls: [{ id: 'call_1', type: 'function', function: { name: 'get_weather', arguments: '{"city":"Paris","days":1}' } }] },
      { role: 'tool', tool_call_id: 'call_1', content: '{"temp": 21}' },
    ],
    tools: [weather],
    max_tokens: 8,
    seed: 1,
  });
  assert.ok(r.choices[0]!.message);
  assert.ok(r.usage!.prompt_tokens > 20);
});

test('response_format json_schema and json_object are enforced; an unsupported keyword is a 400 naming it', { skip, timeout: 60_000 }, async () => {
  const schema = { type: 'object', properties: { answer: { type: 'string', maxLength: 12 }, score: { type: 'integer', minimum: 0, maximum: 10 } }, required: ['answer', 'score'], additionalProperties: false };
  for (const seed of [1, 2]) {
    const r = await client.chat.completions.create({ model: NAME, messages: [{ role: 'user', content: 'Rate it' }], response_format: { type: 'json_schema', json_schema: { name: 'rating', schema, strict: true } }, seed, temperature: 1 });
    const v = JSON.parse(r.choices[0]!.message.content!) as { answer: string; score: number };
    assert.ok(typeof v.answer === 'string' && v.answer.length <= 12 && v.score >= 0 && v.score <= 10);
    assert.equal(r.choices[0]!.finish_reason, 'stop');
  }
  const o = await client.chat.completions.create({ model: NAME, messages: [{ role: 'user', content: 'JSON' }], response_format: { type: 'json_object' }, seed: 4, temperature: 1, max_tokens: 60 });
  assert.match(o.choices[0]!.message.content!, /^\s*\{/);
  await assert.rejects(
    client.chat.completions.create({ model: NAME, messages: [{ role: 'user', content: 'x' }], response_format: { type: 'json_schema', json_schema: { name: 'bad', schema: { type: 'string', not: { const: 'x' } } } } }),
    (e: unknown) => e instanceof OpenAI.BadRequestError && /not/.test(e.message) && (e.error as { param?: string }).param === 'response_format',
  );
});

test("LangChain's ChatOpenAI with a bound tool gets a tool call back", { skip, timeout: 60_000 }, async () => {
  const { ChatOpenAI } = await import('@langchain/openai');
  const llm = new ChatOpenAI({ model: NAME, apiKey: 'none', configuration: { baseURL: `${base}/v1` }, temperature: 1, maxRetries: 0 });
  const bound = llm.bindTools([weather], { tool_choice: { type: 'function', function: { name: 'get_weather' } } });
  const msg = await bound.invoke('Weather in Oslo?');
  assert.equal(msg.tool_calls?.length, 1);
  assert.equal(msg.tool_calls![0]!.name, 'get_weather');
  assert.equal(typeof (msg.tool_calls![0]!.args as { city?: unknown }).city, 'string');
});
