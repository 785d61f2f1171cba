import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { fixture, skipNoFixtures, HAVE_FIXTURES } from './fixtures.js';
import { loadTokenizer } from '../src/tokenizer/load.js';
import type { Tokenizer } from '../src/tokenizer/types.js';
import { Conversation } from '../src/chat/conversation.js';
import { encodeChat } from '../src/chat/encode.js';
import { parseAssistantMessage } from '../src/chat/tools.js';
import { ContextOverflowError } from '../src/errors/errors.js';

let tok: Tokenizer;
let template: string;

before(async () => {
  if (!HAVE_FIXTURES) return;
  tok = await loadTokenizer(fixture('models', 'tiny-llama3-chat', 'tiny-llama3-chat.q8_0.gguf'));
  template = readFileSync(fixture('chat', 'llama3.1-instruct.chat_template.jinja'), 'utf8');
});

const DATE = '26 Jul 2024';

test('system prompt persists across turns and reset; toIds is the template encoding of system + history', { skip: skipNoFixtures }, () => {
  const conv = new Conversation(tok, { system: 'You are terse.', template, dateString: DATE });
  conv.addUser('Hi');
  conv.addAssistant('Hello.');
  conv.addUser('Bye');
  const expected = encodeChat(
    tok,
    template,
    [
      { role: 'system', content: 'You are terse.' },
      { role: 'user', content: 'Hi' },
      { role: 'assistant', content: 'Hello.' },
      { role: 'user', content: 'Bye' },
    ],
    { addGenerationPrompt: true, dateString: DATE },
  );
  assert.deepEqual(conv.toIds(), expected);
  conv.reset();
  assert.equal(conv.messages.length, 0);
  assert.equal(conv.system, 'You are terse.');
  conv.addUser('Again');
  assert.match(conv.render().text, /You are terse\.<\|eot_id\|>.*Again<\|eot_id\|>/s);
  conv.setSystem('New rules.');
  assert.match(conv.render().text, /New rules\./);
  assert.doesNotMatch(conv.render().text, /terse/);
  assert.throws(() => conv.add({ role: 'system', content: 'x' }), /setSystem/);
});

test('without a template the built-in format is used', { skip: skipNoFixtures }, () => {
  const withTpl = new Conversation(tok, { template, dateString: DATE });
  const builtin = new Conversation(tok, { dateString: DATE });
  for (const c of [withTpl, builtin]) c.addUser('Hello!');
  assert.deepEqual(builtin.toIds(), withTpl.toIds());
});

test('tool calls and results round-trip through the history', { skip: skipNoFixtures }, () => {
  const conv = new Conversation(tok, { template, dateString: DATE, builtinTools: ['brave_search'] });
  conv.addUser('Search for llamas');
  conv.addAssistant(parseAssistantMessage('<|python_tag|>brave_search.call(query="llamas")<|eom_id|>'));
  conv.addToolResult('Llamas are camelids.', { builtin: true });
  const text = conv.render().text;
  assert.ok(text.includes('<|python_tag|>brave_search.call(query="llamas")<|eom_id|><|start_header_id|>ipython<|end_header_id|>\n\n"Llamas are camelids."<|eot_id|>'), text);
});

test('a history that does not fit is reported: ContextOverflowError, or the dropped turns when asked', { skip: skipNoFixtures }, () => {
  const conv = new Conversation(tok, { system: 'S', template, dateString: DATE });
  for (let i = 0; i < 6; i++) {
    conv.addUser(`question number ${i} about something rather long to take tokens`);
    conv.addAssistant(`answer number ${i} which also takes a number of tokens`);
  }
  conv.addUser('final question');
  const full = conv.toIds().length;
  assert.deepEqual(conv.fit({ contextSize: full }).dropped, []);
  assert.throws(
    () => conv.fit({ contextSize: full, reserve: 1 }),
    (e: unknown) => e instanceof ContextOverflowError && e.code === 'CONTEXT_OVERFLOW' && e.needed === full && e.capacity === full - 1,
  );
  assert.equal(conv.messages.length, 13, 'nothing dropped without dropOldest');

  const r = conv.fit({ contextSize: full - 30, dropOldest: true });
  assert.ok(r.ids.length <= full - 30);
  assert.ok(r.dropped.length >= 2 && r.dropped.length % 2 === 0, `whole turns dropped (${r.dropped.length})`);
  assert.equal(r.dropped[0]!.content, 'question number 0 about something rather long to take tokens');
  assert.equal(conv.messages.length, 13 - r.dropped.length);
  assert.equal(conv.messages[0]!.role, 'user');
  assert.deepEqual(r.ids, conv.toIds());
  assert.equal(conv.system, 'S');

  // The last turn alone too big: an error, and the history is left as it was.
  const before = conv.messages.length;
  assert.throws(() => conv.fit({ contextSize: 20, dropOldest: true }), ContextOverflowError);
  assert.equal(conv.messages.length, before);
});
