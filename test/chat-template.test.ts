import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { fixture, skipNoFixtures } from './fixtures.js';
import { ChatTemplate, renderChatTemplate } from '../src/chat/template.js';
import { ChatTemplateError } from '../src/chat/template-error.js';
import { pyJsonDumps } from '../src/chat/py-json.js';
import type { ChatMessage } from '../src/chat/types.js';
import { readChatGolden, goldenOptions } from './helpers/chat-golden.js';

const golden = readChatGolden();

test('every golden rendering matches exactly (3 templates × 8 conversations, including the jinja2-only cases)', { skip: skipNoFixtures }, () => {
  const g = golden!;
  let n = 0;
  let jinja2Only = 0;
  for (const [name, t] of Object.entries(g.templates)) {
    const tpl = new ChatTemplate(t.chat_template);
    for (const c of g.conversations) {
      const want = g.results[name]![c.name]!;
      assert.equal(tpl.render(c.messages, goldenOptions(c)), want.rendered, `${name} / ${c.name}`);
      n++;
      if (want.rendered_by.startsWith('jinja2')) jinja2Only++;
    }
  }
  assert.equal(n, 24);
  assert.equal(jinja2Only, 6);
});

test('the template file and the golden JSON hold the same official 3.1 template', { skip: skipNoFixtures }, () => {
  const file = readFileSync(fixture('chat', 'llama3.1-instruct.chat_template.jinja'), 'utf8');
  assert.equal(file, golden!.templates['llama3.1-instruct']!.chat_template);
});

test('tool-call arguments given as a JSON string render like the object', { skip: skipNoFixtures }, () => {
  const g = golden!;
  const tpl = g.templates['llama3.1-instruct']!.chat_template;
  for (const name of ['tool_call_round_trip', 'builtin_tool_call_round_trip']) {
    const c = g.conversations.find((x) => x.name === name)!;
    const stringArgs = c.messages.map((m) =>
      m.tool_calls ? { ...m, tool_calls: m.tool_calls.map((tc) => ({ ...tc, function: { ...tc.function, arguments: JSON.stringify(tc.function.arguments) } })) } : m,
    );
    assert.equal(renderChatTemplate(tpl, stringArgs, goldenOptions(c)), g.results['llama3.1-instruct']![name]!.rendered);
  }
});

test('raise_exception and render failures are typed TEMPLATE_ERRORs', { skip: skipNoFixtures }, () => {
  const tpl = new ChatTemplate(golden!.templates['llama3.1-instruct']!.chat_template);
  const twoCalls: ChatMessage[] = [
    { role: 'user', content: 'x' },
    { role: 'assistant', tool_calls: [{ function: { name: 'a', arguments: {} } }, { function: { name: 'b', arguments: {} } }] },
  ];
  assert.throws(() => tpl.render(twoCalls), (e: unknown) => e instanceof ChatTemplateError && e.code === 'TEMPLATE_ERROR' && /single tool-calls/.test(e.message));
  const tools = golden!.conversations.find((c) => c.name === 'custom_tools')!.tools!;
  assert.throws(() => tpl.render([], { tools }), /no first user message/);
  assert.throws(() => new ChatTemplate('{% if %}'), ChatTemplateError);
  assert.throws(() => new ChatTemplate('{{ x | no_such_filter }}').render([]), (e: unknown) => e instanceof ChatTemplateError);
});

test('jinja2 semantics the library lacks: select/reject, trim on none/undefined, strftime_now, newlines', () => {
  const r = (src: string, vars: Record<string, unknown>, now?: () => Date) => new ChatTemplate(src).renderVariables(vars, now);
  assert.equal(r("{{ xs | reject('equalto', 'b') | join(', ') }}|{{ xs | select('equalto', 'b') | list | length }}", { xs: ['a', 'b', 'c'] }), 'a, c|1');
  assert.equal(r("{{ ns | select('odd') | join(',') }}/{{ ns | reject('gt', 2) | join(',') }}/{{ ns | select | join(',') }}", { ns: [0, 1, 2, 3, 4] }), '1,3/0,1,2/1,2,3,4');
  assert.equal(r("{{ xs | reject('in', ['a', 'c']) | list | tojson }}", { xs: ['a', 'b', 'c', 'd'] }), '["b", "d"]');
  // Python's str.strip: \x85 is whitespace, U+FEFF is not.
  assert.equal(r('[{{ u | trim }}][{{ n | trim }}][{{ s | trim }}][{{ s | trim("x") }}]', { n: null, s: 'x  hi \u0085 x' }), '[][None][x  hi \u0085 x][  hi \u0085 ]');
  assert.equal(r('[{{ s | trim }}]', { s: '\ufeff a \x1f' }), '[\ufeff a]');
  assert.equal(r('{{ strftime_now("%d %b %Y, %A %-d/%m %H:%M") }}', {}, () => new Date(2024, 6, 5, 9, 3)), '05 Jul 2024, Friday 5/07 09:03');
  assert.equal(r('a\r\nb\r{% if true %}\r\n  x\r\n{% endif %}\r\n', {}), 'a\nb\n  x\n');
  assert.equal(r('{% for i in range(3) %}{{ i }}{% endfor %}{{ range(1, 7, 2) | join }}', {}), '012135');
  // Values print as Python prints them.
  assert.equal(r("{{ xs }}|{{ d }}|{{ n }}|{{ 1.0 }}|{{ ok }}|{{ u }}|{{ [\"a'b\", 'c\"d'] }}", { xs: [1, 'a', true, null, 2.5], d: { k: 'v' }, n: null, ok: false }), "[1, 'a', True, None, 2.5]|{'k': 'v'}|None|1.0|False||[\"a'b\", 'c\"d']");
  assert.equal(r("{{ ts | selectattr('type', 'equalto', 'function') | map(attribute='name') | join(',') }}", { ts: [{ type: 'function', name: 'f' }, { type: 'x', name: 'g' }] }), 'f');
  // Extra variables override globals, as render() keyword arguments do in jinja2.
  assert.equal(r('{{ true }}', { true: 'yes' }), 'yes');
});

test('tojson spacing matches Python json.dumps', () => {
  const v = { a: 'é\u2028"\\\n', b: [1, { c: null, d: true }, []], e: {}, f: 0.5, g: 1e-7 };
  const r = new ChatTemplate('{{ v | tojson }}\n{{ v | tojson(indent=2) }}').renderVariables({ v });
  // Strings written by Python 3 json.dumps(v, ensure_ascii=False) and json.dumps(v, ensure_ascii=False, indent=2).
  const py = '{"a": "é\u2028\\"\\\\\\n", "b": [1, {"c": null, "d": true}, []], "e": {}, "f": 0.5, "g": 1e-07}';
  const pyIndent = '{\n  "a": "é\u2028\\"\\\\\\n",\n  "b": [\n    1,\n    {\n      "c": null,\n      "d": true\n    },\n    []\n  ],\n  "e": {},\n  "f": 0.5,\n  "g": 1e-07\n}';
  assert.equal(pyJsonDumps(v), py);
  assert.equal(pyJsonDumps(v, 2), pyIndent);
  // The library writes 1e-7 the JavaScript way; everything else agrees with Python.
  assert.equal(r, `${py}\n${pyIndent}`.replaceAll('1e-07', '1e-7'));
});
