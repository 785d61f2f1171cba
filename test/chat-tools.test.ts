import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  ToolCallStreamParser,
  parseAssistantMessage,
  assistantMessageFromParsed,
  toolResultMessage,
  type ParsedAssistantMessage,
  type ToolStreamEvent,
} from '../src/chat/tools.js';

/** Feeds `text` in pieces of `step` characters; returns all events and the final message. */
function stream(text: string, step: number, endToken?: 'eom' | 'eot'): { events: ToolStreamEvent[]; message: ParsedAssistantMessage } {
  const p = new ToolCallStreamParser();
  const events: ToolStreamEvent[] = [];
  for (let i = 0; i < text.length; i += step) events.push(...p.push(text.slice(i, i + step)));
  const end = p.finish(endToken ? { endToken } : {});
  events.push(...end.events);
  return { events, message: end.message };
}

const textOf = (events: ToolStreamEvent[]): string => events.map((e) => (e.type === 'text' ? e.text : '')).join('');
const callsOf = (events: ToolStreamEvent[]) => events.flatMap((e) => (e.type === 'tool_call' ? [e.call] : []));

/** Every way of chunking gives the same message, and streamed events agree with it. */
function checkAllChunkings(text: string, endToken?: 'eom' | 'eot'): ParsedAssistantMessage {
  const whole = parseAssistantMessage(text, endToken ? { endToken } : {});
  for (const step of [1, 2, 3, 7, 1000]) {
    const s = stream(text, step, endToken);
    assert.deepEqual(s.message, whole, `chunk size ${step}`);
    assert.equal(textOf(s.events), whole.content, `streamed text, chunk size ${step}`);
    assert.deepEqual(callsOf(s.events), whole.toolCalls, `streamed calls, chunk size ${step}`);
  }
  return whole;
}

test('plain text is content, released immediately while streaming', () => {
  const m = checkAllChunkings('Paris is the capital of France.');
  assert.equal(m.content, 'Paris is the capital of France.');
  assert.deepEqual(m.toolCalls, []);
  assert.equal(m.endOfMessage, false);
  assert.equal(m.parseError, undefined);
  const p = new ToolCallStreamParser();
  assert.deepEqual(p.push('Hello'), [{ type: 'text', text: 'Hello' }]);
  // '<' might open <function=…>: held back until the next character decides.
  assert.deepEqual(p.push(' wor<'), [{ type: 'text', text: ' wor' }]);
  assert.deepEqual(p.push('ld'), [{ type: 'text', text: '<ld' }]);
});

test('custom JSON call with "parameters" (the Llama 3.1 format)', () => {
  const raw = '{"name": "get_current_weather", "parameters": {"location": "Paris, France", "unit": "celsius"}}';
  const m = checkAllChunkings(raw + '<|eot_id|>');
  assert.equal(m.content, '');
  assert.deepEqual(m.toolCalls, [{ name: 'get_current_weather', arguments: { location: 'Paris, France', unit: 'celsius' }, kind: 'custom', raw }]);
  assert.equal(m.endOfMessage, false);
  assert.equal(m.builtin, undefined);
});

test('custom JSON call with "arguments", also as a JSON string', () => {
  const a = checkAllChunkings('  {"name": "f", "arguments": {"x": [1, {"y": "}"}]}}');
  assert.deepEqual(a.toolCalls.map((c) => [c.name, c.arguments]), [['f', { x: [1, { y: '}' }] }]]);
  const b = checkAllChunkings('{"name": "g", "arguments": "{\\"q\\": 2}"}');
  assert.deepEqual(b.toolCalls[0]!.arguments, { q: 2 });
  const c = checkAllChunkings('{"type": "function", "name": "h"}');
  assert.deepEqual(c.toolCalls[0]!.arguments, {});
});

test('several JSON calls in one turn, separated by ";" or newlines', () => {
  const m = checkAllChunkings('{"name": "a", "parameters": {"i": 1}}; {"name": "b", "parameters": {}}\n{"name": "c", "parameters": {"s": "x;y"}}');
  assert.deepEqual(m.toolCalls.map((c) => c.name), ['a', 'b', 'c']);
  assert.deepEqual(m.toolCalls[2]!.arguments, { s: 'x;y' });
  assert.equal(m.content, '');
});

test('<function=name>{…}</function> blocks, with text around and several per turn', () => {
  const m = checkAllChunkings('Let me check. <function=get_weather>{"city": "Oslo"}</function>\n<function=get_time>{"tz": "CET"}</function> Done.');
  assert.deepEqual(m.toolCalls.map((c) => [c.name, c.arguments, c.kind]), [
    ['get_weather', { city: 'Oslo' }, 'custom'],
    ['get_time', { tz: 'CET' }, 'custom'],
  ]);
  assert.equal(m.content, 'Let me check.  Done.');
  // Missing closing tag at the end of the message (Meta's parser accepts it too).
  const open = checkAllChunkings('<function=spotify_trending_songs>{"n": 5}');
  assert.deepEqual(open.toolCalls.map((c) => [c.name, c.arguments]), [['spotify_trending_songs', { n: 5 }]]);
});

test('streaming: text before a call is released before the call completes; call JSON never shows as text', () => {
  const p = new ToolCallStreamParser();
  const ev1 = p.push('Sure. <func');
  assert.deepEqual(ev1, [{ type: 'text', text: 'Sure. ' }]);
  const ev2 = p.push('tion=f>{"a": ');
  assert.deepEqual(ev2, []);
  const ev3 = p.push('1}</function>');
  assert.deepEqual(ev3, [{ type: 'tool_call', call: { name: 'f', arguments: { a: 1 }, kind: 'custom', raw: '<function=f>{"a": 1}</function>' } }]);
  const q = new ToolCallStreamParser();
  const all: ToolStreamEvent[] = [];
  for (const ch of '{"name": "f", "parameters": {"x": "<|eot_id|"}}') all.push(...q.push(ch));
  all.push(...q.finish().events);
  assert.equal(textOf(all), '');
  assert.equal(callsOf(all).length, 1);
});

test('built-in tools after <|python_tag|>, ending with <|eom_id|>', () => {
  const b = checkAllChunkings('<|python_tag|>brave_search.call(query="latest Llama release")<|eom_id|>');
  assert.equal(b.endOfMessage, true);
  assert.deepEqual(b.builtin, { tool: 'brave_search', arguments: { query: 'latest Llama release' }, raw: 'brave_search.call(query="latest Llama release")' });
  assert.deepEqual(b.toolCalls.map((c) => [c.name, c.kind, c.arguments]), [['brave_search', 'builtin', { query: 'latest Llama release' }]]);
  assert.equal(b.content, '');

  const w = checkAllChunkings('<|python_tag|>wolfram_alpha.call(query="solve x^2 = \\"4\\"")', 'eom');
  assert.deepEqual(w.builtin?.arguments, { query: 'solve x^2 = "4"' });
  assert.equal(w.endOfMessage, true);

  const code = 'import math\nprint(math.sqrt(2))';
  const c = checkAllChunkings(`<|python_tag|>${code}<|eom_id|>`);
  assert.deepEqual(c.builtin, { tool: 'code_interpreter', arguments: { code }, raw: code });
  assert.deepEqual(c.toolCalls.map((x) => x.name), ['code_interpreter']);

  const j = checkAllChunkings('<|python_tag|>{"name": "get_weather", "parameters": {"city": "Rome"}}<|eom_id|>');
  assert.deepEqual(j.toolCalls.map((x) => [x.name, x.kind, x.arguments]), [['get_weather', 'custom', { city: 'Rome' }]]);
  assert.equal(j.builtin, undefined);

  const pre = checkAllChunkings('Searching now.<|python_tag|>brave_search.call(query="x")');
  assert.equal(pre.content, 'Searching now.');
  assert.equal(pre.builtin?.tool, 'brave_search');
});

test('<|eot_id|> versus <|eom_id|>, in the text or given by the caller; text after the end is ignored', () => {
  assert.equal(checkAllChunkings('Hi there<|eot_id|>ignored').content, 'Hi there');
  assert.equal(checkAllChunkings('Hi there<|eot_id|>').endOfMessage, false);
  assert.equal(checkAllChunkings('Hi there<|eom_id|>').endOfMessage, true);
  assert.equal(checkAllChunkings('Hi there', 'eom').endOfMessage, true);
  assert.equal(checkAllChunkings('Hi there', 'eot').endOfMessage, false);
});

test('malformed calls fall back to text with a parseError, never throw', () => {
  const bad = '{"name": "f", "parameters": {"a": 1,}}';
  const a = checkAllChunkings(bad);
  assert.equal(a.content, bad);
  assert.deepEqual(a.toolCalls, []);
  assert.match(a.parseError ?? '', /malformed JSON/);

  const unterminated = '{"name": "f", "parameters": {"a": 1}';
  const b = checkAllChunkings(unterminated);
  assert.equal(b.content, unterminated);
  assert.match(b.parseError ?? '', /unterminated/);

  const c = checkAllChunkings('x <function=f>{not json}</function> y');
  assert.equal(c.content, 'x <function=f>{not json}</function> y');
  assert.match(c.parseError ?? '', /not a JSON object/);

  const d = checkAllChunkings('{"name": "f", "parameters": [1, 2]}');
  assert.equal(d.toolCalls.length, 0);
  assert.match(d.parseError ?? '', /not an object/);

  // A good call followed by a broken one: the good one is kept.
  const e = checkAllChunkings('{"name": "ok", "parameters": {}}; {"name": "broken", ');
  assert.deepEqual(e.toolCalls.map((x) => x.name), ['ok']);
  assert.equal(e.content, '{"name": "broken", ');
  assert.ok(e.parseError);
});

test('a JSON answer that is not a tool call is plain content', () => {
  const m = checkAllChunkings('{"answer": 42}');
  assert.equal(m.content, '{"answer": 42}');
  assert.deepEqual(m.toolCalls, []);
  assert.equal(m.parseError, undefined);
});

test('history messages for calls and results', () => {
  const m = parseAssistantMessage('{"name": "get_current_weather", "parameters": {"location": "Paris, France"}}');
  assert.deepEqual(assistantMessageFromParsed(m), {
    role: 'assistant',
    tool_calls: [{ type: 'function', function: { name: 'get_current_weather', arguments: { location: 'Paris, France' } } }],
  });
  assert.deepEqual(assistantMessageFromParsed(parseAssistantMessage('Hi')), { role: 'assistant', content: 'Hi' });
  assert.deepEqual(toolResultMessage({ temperature: 22 }), { role: 'tool', content: '{"temperature":22}' });
  assert.deepEqual(toolResultMessage('ok', { builtin: true }), { role: 'ipython', content: 'ok' });
});
