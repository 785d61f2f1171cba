import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { skipNoFixtures } from './fixtures.js';
import type { Model } from '../src/model/types.js';
import { BUILTIN_TASKS } from '../src/eval/builtin.js';
import { itemPrompt, loadTaskData, runTask } from '../src/eval/run-task.js';
import { promptText } from '../src/eval/local.js';
import type { GenPrompt } from '../src/eval/prompt.js';
import type { ChatPrompt, EvalRecord } from '../src/eval/types.js';
import { Scripted } from './helpers/scripted-backend.js';
import { matchSimpleCall, standardizeString, type BfclAnswer } from '../src/eval/bfcl/ast-match.js';
import { checkBfclFunction, toolFromFunction, type BfclFunction } from '../src/eval/bfcl/functions.js';
import { floatLiteralArgs } from '../src/eval/bfcl/literals.js';
import { parseAssistantMessage } from '../src/chat/tools.js';
import { useChatFixture } from './helpers/chat-fixture.js';

let dir: string;
let model: Model | undefined;
let template: string;
useChatFixture('eval-bfcl-', (f) => ({ dir, model, template } = f));

/** A function document in BFCL's own vocabulary (dict, float, tuple…). */
const FN: BfclFunction = checkBfclFunction(
  {
    name: 'geometry.triangle_area',
    description: 'Calculate the area of a triangle.',
    parameters: {
      type: 'dict',
      properties: {
        base: { type: 'integer', description: 'The base.' },
        height: { type: 'float', description: 'The height.' },
        unit: { type: 'string', description: 'The unit.', default: 'units' },
        tags: { type: 'array', items: { type: 'string' }, description: 'Tags.' },
        opts: { type: 'dict', properties: { round: { type: 'boolean' } }, description: 'Options.' },
      },
      required: ['base', 'height'],
    },
  },
  'test',
);
const ANSWER: BfclAnswer = {
  'geometry.triangle_area': { base: [10], height: [5.0], unit: ['units', 'cm', ''], tags: [['Right Angle', 'small'], ''], opts: [{ round: [true] }, ''] },
};
const call = (args: Record<string, unknown>, name = 'geometry_triangle_area'): { name: string; arguments: never } => ({ name, arguments: args as never });
const match = (args: Record<string, unknown>, name?: string): string => {
  const m = matchSimpleCall([call(args, name)], FN, ANSWER);
  return m.valid ? 'ok' : m.error.split(':')[0]!;
};

test('BFCL string normalisation: spaces and , . / - _ * ^ dropped, lower case, single quotes as double', () => {
  assert.equal(standardizeString("New York, N.Y. - 'Big_Apple'*^/"), 'newyorkny"bigapple"');
});

test('AST match: matching calls (int for float, normalised strings, optional params left out, either name spelling)', () => {
  assert.equal(match({ base: 10, height: 5 }), 'ok'); // int where float is wanted is widened
  assert.equal(match({ base: 10, height: 5.0, unit: 'CM' }), 'ok');
  assert.equal(match({ base: 10, height: 5, tags: ['right angle', 'Small'] }), 'ok');
  assert.equal(match({ base: 10, height: 5, opts: { round: true } }), 'ok');
  assert.equal(match({ base: 10, height: 5 }, 'geometry.triangle_area'), 'ok');
});

test('AST match: non-matching calls fail with BFCL\'s reasons', () => {
  assert.equal(match({ base: 10, height: 5 }, 'triangle_area'), 'wrong_func_name');
  assert.equal(match({ base: 10 }), 'missing_required');
  assert.equal(match({ base: 10, height: 5, colour: 'red' }), 'unexpected_param');
  assert.equal(match({ base: '10', height: 5 }), 'type_error'); // a string for an integer
  assert.equal(match({ base: 10.5, height: 5 }), 'type_error'); // a float for an integer
  assert.equal(match({ base: true, height: 5 }), 'type_error');
  assert.equal(match({ base: 10, height: 5, tags: ['a', 3] }), 'type_error'); // item type
  assert.equal(match({ base: 11, height: 5 }), 'value_error');
  assert.equal(match({ base: 10, height: 5, unit: 'inches' }), 'value_error');
  assert.equal(match({ base: 10, height: 5, tags: ['small', 'right angle'] }), 'value_error'); // order matters in lists
  assert.equal(match({ base: 10, height: 5, opts: { round: false } }), 'value_error');
  const strict: BfclAnswer = { 'geometry.triangle_area': { base: [10], height: [5.0], unit: ['cm'] } };
  const m = matchSimpleCall([call({ base: 10, height: 5 })], FN, strict);
  assert.equal(m.valid ? 'ok' : m.error.split(':')[0], 'missing_optional'); // the answer needs a parameter the function makes optional
  const two = matchSimpleCall([call({ base: 10, height: 5 }), call({ base: 10, height: 5 })], FN, ANSWER);
  assert.equal(two.valid ? 'ok' : two.error.split(':')[0], 'wrong_count');
  assert.equal(matchSimpleCall([], FN, ANSWER).valid, false);
});

test('BFCL function → tool as BFCL\'s handlers send it: JSON Schema types, the float note, the Python hint, "_" names, doc key order', () => {
  const t = toolFromFunction(FN);
  assert.equal(t.function.name, 'geometry_triangle_area');
  assert.equal(t.function.description, 'Calculate the area of a triangle. Note that the provided function is in Python 3 syntax.');
  const params = t.function.parameters as { type: string; properties: Record<string, Record<string, unknown>> };
  assert.equal(params.type, 'object');
  const props = params.properties;
  assert.deepEqual(props.height, { type: 'number', description: 'The height. This is a float type value.', format: 'float' });
  assert.deepEqual(Object.keys(props.height!), ['type', 'description', 'format']);
  assert.deepEqual(props.unit, { type: 'string', description: 'The unit.', default: 'units' });
  assert.deepEqual(props.tags, { type: 'array', items: { type: 'string' }, description: 'Tags.' });
  assert.deepEqual(props.opts, { type: 'object', properties: { round: { type: 'boolean' } }, description: 'Options.' });
  // An unknown type is sent as a string, as BFCL does; the checker's copy keeps the original.
  const odd = toolFromFunction(checkBfclFunction({ name: 'f', description: 'd', parameters: { type: 'dict', properties: { a: { type: 'complex' }, b: { type: 'tuple', items: { type: 'float' } } } } }, 'x'));
  const oddProps = (odd.function.parameters as { properties: Record<string, { type: string; items?: { type: string } }> }).properties;
  assert.deepEqual([oddProps.a!.type, oddProps.b!.type, oddProps.b!.items!.type], ['string', 'array', 'number']);
  assert.equal(FN.parameters.properties.height!.type, 'float');
  assert.throws(() => checkBfclFunction({ name: 'f' }, 'line 2'), { code: 'BAD_ARGUMENT', message: /line 2/ });
  assert.throws(() => checkBfclFunction({ name: 'f', parameters: { type: 'dict', properties: { a: {} } } }, 'line 3'), { code: 'BAD_ARGUMENT', message: /parameter a of f needs a "type"/ });
});

const FN_DOC = {
  name: 'geometry.triangle_area',
  description: 'Calculate the area of a triangle.',
  parameters: { type: 'dict', properties: { base: { type: 'integer', description: 'The base.' }, height: { type: 'float', description: 'The height.' } }, required: ['base', 'height'] },
};
const QUESTIONS = [
  { id: 'simple_0', question: [[{ role: 'user', content: 'Find the area of a triangle with a base of 10 units and height of 5 units.' }]], function: [FN_DOC] },
  { id: 'simple_1', question: [[{ role: 'user', content: 'Triangle: base 3, height 4.5.' }]], function: [FN_DOC] },
  { id: 'simple_2', question: [[{ role: 'user', content: 'Base 7 and height 2?' }]], function: [FN_DOC] },
];
/** As BFCL ships them: questions as JSON lines in BFCL_v3_simple.json, answers in possible_answer/ (here in another order). */
function bfclFiles(name: string): string {
  const f = join(dir, name);
  mkdirSync(join(f, 'possible_answer'), { recursive: true });
  writeFileSync(join(f, 'BFCL_v3_simple.json'), QUESTIONS.map((q) => JSON.stringify(q)).join('\n') + '\n');
  const answers = [
    { id: 'simple_2', ground_truth: [{ 'geometry.triangle_area': { base: [7], height: [2.0] } }] },
    { id: 'simple_0', ground_truth: [{ 'geometry.triangle_area': { base: [10], height: [5.0] } }] },
    { id: 'simple_1', ground_truth: [{ 'geometry.triangle_area': { base: [3], height: [4.5] } }] },
  ];
  writeFileSync(join(f, 'possible_answer', 'BFCL_v3_simple.json'), answers.map((a) => JSON.stringify(a)).join('\n') + '\n');
  return f;
}

test('bfcl-simple task: answers joined by id, tool calls parsed in Llama 3.1 formats, accuracy and per-item reasons', async () => {
  const f = bfclFiles('bfcl');
  const outputs = [
    '{"name": "geometry_triangle_area", "parameters": {"base": 10, "height": 5}}',
    '<function=geometry_triangle_area>{"base": 3, "height": 4}</function>',
    'The area is 7.',
  ];
  const b = new Scripted(outputs);
  const records: EvalRecord[] = [];
  const r = await runTask(b, BUILTIN_TASKS['bfcl-simple']!, { data: join(f, 'BFCL_v3_simple.json'), onRecord: (x) => records.push(x) });
  assert.deepEqual(r, { task: 'bfcl-simple', n: 3, accuracy: 1 / 3 });
  assert.deepEqual(
    records.map((x) => x.extracted!.split(':')[0]),
    ['[{"name"', 'value_error', 'wrong_count'],
  );
  const p = b.seen[0]!.prompt as ChatPrompt;
  assert.equal(p.tools?.[0]?.function.name, 'geometry_triangle_area');
  // The folder form finds the split by name, and a missing answer is an error naming the item.
  assert.equal((await runTask(new Scripted(outputs), BUILTIN_TASKS['bfcl-simple']!, { data: f })).n, 3);
  writeFileSync(join(f, 'possible_answer', 'BFCL_v3_simple.json'), JSON.stringify({ id: 'simple_0', ground_truth: [{ 'geometry.triangle_area': { base: [10], height: [5.0] } }] }) + '\n');
  await assert.rejects(runTask(new Scripted(outputs), BUILTIN_TASKS['bfcl-simple']!, { data: f }), { code: 'BAD_ARGUMENT', message: /no answer for item 2 \(id "simple_1"\)/ });
});

test('bfcl-simple prompt: the question as a user turn, the function as a tool in the Llama 3.1 template — byte for byte', { skip: skipNoFixtures }, async () => {
  const f = bfclFiles('bfcl-p');
  const def = BUILTIN_TASKS['bfcl-simple']!;
  const p = itemPrompt(def, await loadTaskData(def, { data: f }), 0) as GenPrompt;
  const tool = {
    type: 'function',
    function: {
      name: 'geometry_triangle_area',
      description: 'Calculate the area of a triangle. Note that the provided function is in Python 3 syntax.',
      parameters: { type: 'object', properties: { base: { type: 'integer', description: 'The base.' }, height: { type: 'number', description: 'The height. This is a float type value.', format: 'float' } }, required: ['base', 'height'] },
    },
  };
  assert.equal(
    promptText(model!.tokenizer, template, p.prompt),
    '<|begin_of_text|><|start_header_id|>system<|end_header_id|>\n\nEnvironment: ipython\nCutting Knowledge Date: December 2023\nToday Date: 26 Jul 2024\n\n<|eot_id|>' +
      '<|start_header_id|>user<|end_header_id|>\n\nGiven the following functions, please respond with a JSON for a function call with its proper arguments that best answers the given prompt.\n\n' +
      'Respond in the format {"name": function name, "parameters": dictionary of argument name and its value}.Do not use variables.\n\n' +
      JSON.stringify(tool, null, 4) +
      '\n\nFind the area of a triangle with a base of 10 units and height of 5 units.<|eot_id|>' +
      '<|start_header_id|>assistant<|end_header_id|>\n\n',
  );
});

test('bfcl-simple runs end to end on the tiny chat model (tools through its template), one item', { skip: skipNoFixtures }, async () => {
  const f = bfclFiles('bfcl-e2e');
  const { evaluate } = await import('../src/eval/evaluate.js');
  const records: EvalRecord[] = [];
  const r = await evaluate(model!, { ...BUILTIN_TASKS['bfcl-simple']!, generation: { max_tokens: 4, until: [] } }, { data: f, limit: 1, onRecord: (x) => records.push(x) });
  assert.equal(r.n, 1);
  assert.ok(r.accuracy === 0 || r.accuracy === 1);
  assert.match(records[0]!.prompt, /"name": "geometry_triangle_area"/);
});

test('bfcl-simple through an OpenAI-compatible endpoint: tools sent in the request, structured tool_calls scored like local text', async () => {
  const { createServer } = await import('node:http');
  const { OpenAIBackend } = await import('../src/eval/openai.js');
  const bodies: Record<string, unknown>[] = [];
  const replies = [
    { tool_calls: [{ id: 'c1', type: 'function', function: { name: 'geometry_triangle_area', arguments: '{"base": 10, "height": 5.0}' } }], content: null },
    { tool_calls: [{ id: 'c2', type: 'function', function: { name: 'geometry_triangle_area', arguments: '{"base": 3}' } }], content: null },
    { content: 'The area is 7.' },
  ];
  const server = createServer((req, res) => {
    let data = '';
    req.on('data', (c: Buffer) => (data += c.toString()));
    req.on('end', () => {
      const body = JSON.parse(data) as Record<string, unknown>;
      bodies.push(body);
      const q = ((body.messages as { content: string }[]).at(-1)!.content);
      const k = QUESTIONS.findIndex((x) => x.question[0]![0]!.content === q);
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify({ choices: [{ message: { role: 'assistant', ...replies[k]! } }] }));
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  try {
    const port = (server.address() as { port: number }).port;
    const backend = new OpenAIBackend(`http://127.0.0.1:${port}`, { model: 'm' });
    const records: EvalRecord[] = [];
    const r = await runTask(backend, BUILTIN_TASKS['bfcl-simple']!, { data: bfclFiles('bfcl-endpoint'), onRecord: (x) => records.push(x) });
    assert.deepEqual(r, { task: 'bfcl-simple', n: 3, accuracy: 1 / 3 });
    assert.deepEqual(records.map((x) => x.extracted!.split(':')[0]), ['[{"name"', 'missing_required', 'wrong_count']);
    assert.equal(records[0]!.output, '{"name": "geometry_triangle_area", "parameters": {"base": 10, "height": 5.0}}');
    const tools = bodies[0]!.tools as { function: { name: string; parameters: { properties: Record<string, { type: string }> } } }[];
    assert.equal(tools[0]!.function.name, 'geometry_triangle_area');
    assert.equal(tools[0]!.function.parameters.properties.height!.type, 'number');
  } finally {
    server.close();
  }
});

test('definitions: ast_match needs process bfcl, chat format and tools; ifeval needs process ifeval', async () => {
  const { checkTaskDefinition } = await import('../src/eval/taskdef.js');
  const base = { name: 't', output_type: 'generate_until', prompt: '{{user}}' };
  assert.throws(() => checkTaskDefinition({ ...base, metric: 'ast_match', process: 'bfcl', tools: 'tools' }), { code: 'BAD_ARGUMENT', message: /format chat/ });
  assert.throws(() => checkTaskDefinition({ ...base, metric: 'ast_match', format: 'chat', tools: 'tools' }), { code: 'BAD_ARGUMENT', message: /process bfcl/ });
  assert.throws(() => checkTaskDefinition({ ...base, metric: 'ifeval' }), { code: 'BAD_ARGUMENT', message: /process ifeval/ });
  assert.equal(checkTaskDefinition({ ...BUILTIN_TASKS['bfcl-simple']! }).metric, 'ast_match');
});

test('a .json dataset may be JSON lines (BFCL) or one array of objects; anything else is an error naming the file', async () => {
  const { readRows } = await import('../src/eval/dataset.js');
  const lines = join(dir, 'lines.json');
  writeFileSync(lines, '{"id": 1}\n{"id": 2}\n');
  const array = join(dir, 'array.json');
  writeFileSync(array, '[{"id": 1}, {"id": 2}]');
  assert.deepEqual(await readRows(lines), [{ id: 1 }, { id: 2 }]);
  assert.deepEqual(await readRows(array), [{ id: 1 }, { id: 2 }]);
  const bad = join(dir, 'bad.json');
  writeFileSync(bad, '[1, 2]');
  await assert.rejects(readRows(bad), { code: 'BAD_ARGUMENT', message: /bad\.json: expected an array of objects/ });
});

test('float literals: "5.0" for an integer parameter is a type error as in BFCL, whatever form the call takes', () => {
  assert.deepEqual([...floatLiteralArgs('{"name": "f", "parameters": {"base": 10.0, "height": 5, "tags": [1.5], "s": "2.0"}}')], ['base']);
  assert.deepEqual([...floatLiteralArgs('<function=f>{"base": 1e1, "height": 2}</function>')], ['base']);
  assert.deepEqual([...floatLiteralArgs('<|python_tag|>f.call(base=10.0, height=5, unit="a,b")')], ['base']);
  assert.deepEqual([...floatLiteralArgs('not json {')], []);
  const score = (text: string): string => {
    const calls = parseAssistantMessage(text).toolCalls.map((c) => ({ name: c.name, arguments: c.arguments, floatLiterals: floatLiteralArgs(c.raw ?? '') }));
    const m = matchSimpleCall(calls, FN, ANSWER);
    return m.valid ? 'ok' : m.error.split(':')[0]!;
  };
  assert.equal(score('{"name": "geometry_triangle_area", "parameters": {"base": 10.0, "height": 5}}'), 'type_error');
  assert.equal(score('{"name": "geometry_triangle_area", "parameters": {"base": 10, "height": 5.0}}'), 'ok'); // a float literal where float is wanted
  assert.equal(score('<function=geometry_triangle_area>{"base": 10, "height": 5}</function>'), 'ok');
});
