import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { skipNoFixtures } from './fixtures.js';
import type { Model } from '../src/model/types.js';
import { BUILTIN_TASKS } from '../src/eval/builtin.js';
import { itemPrompt, loadTaskData, runTask } from '../src/eval/run-task.js';
import { promptText } from '../src/eval/local.js';
import { evaluate } from '../src/eval/evaluate.js';
import { loadTaskDefinition, type TaskDefinition } from '../src/eval/taskdef.js';
import type { McPrompt, GenPrompt } from '../src/eval/prompt.js';
import type { EvalRecord } from '../src/eval/types.js';
import { Scripted } from './helpers/scripted-backend.js';
import { useChatFixture } from './helpers/chat-fixture.js';

let dir: string;
const jsonl = (rows: object[]): string => rows.map((r) => JSON.stringify(r)).join('\n') + '\n';
function write(name: string, rows: object[]): string {
  const p = join(dir, name);
  writeFileSync(p, jsonl(rows));
  return p;
}
/** A dataset folder holding <split>.jsonl files. */
function folder(name: string, splits: Record<string, object[]>): string {
  const f = join(dir, name);
  mkdirSync(f, { recursive: true });
  for (const [split, rows] of Object.entries(splits)) writeFileSync(join(f, `${split}.jsonl`), jsonl(rows));
  return f;
}

let model: Model | undefined;
let template: string;
useChatFixture('eval-tasks-', (f) => ({ dir, model, template } = f));

const MMLU_TEST = [{ question: ' What is 2 + 2? ', subject: 'elementary_mathematics', choices: ['3', '4', '5', '22'], answer: 1 }];
const MMLU_DEV = [
  { question: '1 + 1 =', subject: 'elementary_mathematics', choices: ['2', '3', '4', '5'], answer: 0 },
  { question: 'Capital of France?', subject: 'geography', choices: ['Paris', 'Rome', 'Oslo', 'Bern'], answer: 0 },
  { question: '3 * 3 =', subject: 'elementary_mathematics', choices: ['6', '9', '12', '3'], answer: 1 },
  { question: '10 / 2 =', subject: 'elementary_mathematics', choices: ['2', '4', '5', '8'], answer: 2 },
  { question: '7 - 7 =', subject: 'elementary_mathematics', choices: ['1', '7', '14', '0'], answer: 3 },
  { question: '2 ^ 3 =', subject: 'elementary_mathematics', choices: ['8', '6', '9', '5'], answer: 'A' },
];

test('mmlu (harness): 5 first dev examples of the same subject, the description, " A" continuations — byte for byte', async () => {
  const f = folder('mmlu', { test: MMLU_TEST, dev: MMLU_DEV });
  const def = BUILTIN_TASKS.mmlu!;
  const p = itemPrompt(def, await loadTaskData(def, { data: f }), 0) as McPrompt;
  const want =
    'The following are multiple choice questions (with answers) about elementary mathematics.\n\n' +
    '1 + 1 =\nA. 2\nB. 3\nC. 4\nD. 5\nAnswer: A\n\n' +
    '3 * 3 =\nA. 6\nB. 9\nC. 12\nD. 3\nAnswer: B\n\n' +
    '10 / 2 =\nA. 2\nB. 4\nC. 5\nD. 8\nAnswer: C\n\n' +
    '7 - 7 =\nA. 1\nB. 7\nC. 14\nD. 0\nAnswer: D\n\n' +
    '2 ^ 3 =\nA. 8\nB. 6\nC. 9\nD. 5\nAnswer: A\n\n' +
    'What is 2 + 2?\nA. 3\nB. 4\nC. 5\nD. 22\nAnswer:';
  assert.equal(p.prompt, want);
  assert.deepEqual(
    p.requests.map((r) => r.continuation),
    [' A', ' B', ' C', ' D'],
  );
  assert.ok(p.requests.every((r) => r.context === want));
  assert.equal(p.gold, 1);
});

test('mmlu_llama (Meta): 5-shot as chat turns, "The best answer is" prefill, Llama 3.1 template — byte for byte', { skip: skipNoFixtures }, async () => {
  const f = folder('mmlu2', { test: MMLU_TEST, dev: MMLU_DEV });
  const def: TaskDefinition = { ...BUILTIN_TASKS.mmlu_llama!, num_fewshot: 2 };
  const p = itemPrompt(def, await loadTaskData(def, { data: f }), 0) as GenPrompt;
  const q = (question: string, c: string[]): string =>
    `Given the following question and four candidate answers (A, B, C and D), choose the best answer.\nQuestion: ${question}\nA. ${c[0]}\nB. ${c[1]}\nC. ${c[2]}\nD. ${c[3]}\nYour response should end with "The best answer is [the_answer_letter]" where the [the_answer_letter] is one of A, B, C or D.`;
  const text = promptText(model!.tokenizer, template, p.prompt);
  const want =
    '<|begin_of_text|><|start_header_id|>system<|end_header_id|>\n\nCutting Knowledge Date: December 2023\nToday Date: 26 Jul 2024\n\n<|eot_id|>' +
    `<|start_header_id|>user<|end_header_id|>\n\n${q('1 + 1 =', ['2', '3', '4', '5'])}<|eot_id|>` +
    '<|start_header_id|>assistant<|end_header_id|>\n\nThe best answer is A.<|eot_id|>' +
    `<|start_header_id|>user<|end_header_id|>\n\n${q('3 * 3 =', ['6', '9', '12', '3'])}<|eot_id|>` +
    '<|start_header_id|>assistant<|end_header_id|>\n\nThe best answer is B.<|eot_id|>' +
    `<|start_header_id|>user<|end_header_id|>\n\n${q('What is 2 + 2?', ['3', '4', '5', '22'])}<|eot_id|>` +
    '<|start_header_id|>assistant<|end_header_id|>\n\nThe best answer is';
  assert.equal(text, want);
  assert.equal(p.target, 'B');
});

const ARC = [{ id: 'x', question: 'Which is a gas?', choices: { text: ['ice', 'steam', 'rock', 'wood'], label: ['A', 'B', 'C', 'D'] }, answerKey: 'B' }];

test('arc_challenge (harness) and arc_challenge_llama (Meta) prompts — byte for byte', { skip: skipNoFixtures }, async () => {
  const f = write('arc.jsonl', ARC);
  const h = itemPrompt(BUILTIN_TASKS.arc_challenge!, await loadTaskData(BUILTIN_TASKS.arc_challenge!, { data: f }), 0) as McPrompt;
  assert.equal(h.prompt, 'Question: Which is a gas?\nAnswer:');
  assert.deepEqual(
    h.requests.map((r) => r.continuation),
    [' ice', ' steam', ' rock', ' wood'],
  );
  assert.equal(h.gold, 1);
  const m = itemPrompt(BUILTIN_TASKS.arc_challenge_llama!, await loadTaskData(BUILTIN_TASKS.arc_challenge_llama!, { data: f }), 0) as GenPrompt;
  assert.equal(
    promptText(model!.tokenizer, template, m.prompt),
    '<|begin_of_text|><|start_header_id|>system<|end_header_id|>\n\nCutting Knowledge Date: December 2023\nToday Date: 26 Jul 2024\n\n<|eot_id|>' +
      '<|start_header_id|>user<|end_header_id|>\n\nGiven the following question and four candidate answers (A, B, C and D), choose the best answer.\nQuestion: Which is a gas?\nA. ice\nB. steam\nC. rock\nD. wood\nYour response should end with "The best answer is [the_answer_letter]" where the [the_answer_letter] is one of A, B, C or D.<|eot_id|>' +
      '<|start_header_id|>assistant<|end_header_id|>\n\nThe best answer is',
  );
  assert.equal(m.target, 'B');
});

const HS = [{ activity_label: 'Removing ice from car', ctx_a: 'Then, the man writes over the snow covering the window of a car.', ctx_b: 'a woman wearing winter clothes', endings: ['smiles [title] happily.', 'stands.', 'runs away.', 'sings.'], label: '3' }];

test('hellaswag (harness) and hellaswag_llama (Meta) prompts — byte for byte', { skip: skipNoFixtures }, async () => {
  const f = write('hs.jsonl', HS);
  const h = itemPrompt(BUILTIN_TASKS.hellaswag!, await loadTaskData(BUILTIN_TASKS.hellaswag!, { data: f }), 0) as McPrompt;
  assert.equal(h.prompt, 'Removing ice from car: Then, the man writes over the snow covering the window of a car. A woman wearing winter clothes');
  assert.deepEqual(
    h.requests.map((r) => r.continuation),
    [' smiles. happily.', ' stands.', ' runs away.', ' sings.'],
  );
  assert.equal(h.gold, 3);
  const m = itemPrompt(BUILTIN_TASKS.hellaswag_llama!, await loadTaskData(BUILTIN_TASKS.hellaswag_llama!, { data: f }), 0) as GenPrompt;
  const text = promptText(model!.tokenizer, template, m.prompt);
  assert.ok(
    text.endsWith(
      '<|start_header_id|>user<|end_header_id|>\n\nGiven the following context and four candidate endings, choose the best ending.\nContext: Removing ice from car: Then, the man writes over the snow covering the window of a car. A woman wearing winter clothes\nA. smiles. happily.\nB. stands.\nC. runs away.\nD. sings.\nYour response should end with "The best answer is [the_answer_letter]" where the [the_answer_letter] is one of A, B, C or D.<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\nThe best answer is',
    ),
    text,
  );
  assert.equal(m.target, 'D');
});

const WG_TRAIN = [
  { sentence: 'Sam gave Tom a book because _ was kind.', option1: 'Sam', option2: 'Tom', answer: '1' },
  { sentence: 'The cup broke the plate because _ was hard.', option1: 'cup', option2: 'plate', answer: '1' },
  { sentence: 'Ann beat Kim because _ trained more.', option1: 'Ann', option2: 'Kim', answer: '1' },
];
const WG_VAL = [{ sentence: 'The trophy did not fit in the suitcase because _ was too big.', option1: 'the trophy', option2: 'the suitcase', answer: '1' }];

test('winogrande: partial scoring (per-option contexts, shared continuation); seeded few-shot examples filled in', async () => {
  const f = folder('wg', { validation: WG_VAL, train: WG_TRAIN });
  const h = itemPrompt(BUILTIN_TASKS.winogrande!, await loadTaskData(BUILTIN_TASKS.winogrande!, { data: f }), 0) as McPrompt;
  assert.deepEqual(h.requests, [
    { context: 'The trophy did not fit in the suitcase because the trophy', continuation: ' was too big.' },
    { context: 'The trophy did not fit in the suitcase because the suitcase', continuation: ' was too big.' },
  ]);
  const def: TaskDefinition = { ...BUILTIN_TASKS.winogrande_llama!, num_fewshot: 2 };
  const data = await loadTaskData(def, { data: f });
  const m = itemPrompt(def, data, 0) as McPrompt;
  const again = itemPrompt(def, await loadTaskData(def, { data: f }), 0) as McPrompt;
  assert.deepEqual(m, again, 'the same seed picks the same examples');
  const shots = m.prompt.split('\n\n').filter(Boolean);
  assert.equal(shots.length, 2);
  const filled = ['Sam gave Tom a book because Sam was kind.', 'The cup broke the plate because cup was hard.', 'Ann beat Kim because Ann trained more.'];
  assert.ok(shots.every((s) => filled.includes(s)), shots.join(' | '));
  assert.equal(m.requests[0]!.context, m.prompt + 'The trophy did not fit in the suitcase because the trophy');
});

const GSM_TEST = [{ question: 'Tom has 3 apples and buys 2 more. How many apples does he have?', answer: 'He has 3 + 2 = <<3+2=5>>5 apples.\n#### 5' }];
const GSM_TRAIN = [
  { question: 'What is 1 + 1?', answer: '1 + 1 = 2\n#### 2' },
  { question: 'What is 2 + 2?', answer: '2 + 2 = 4\n#### 4' },
  { question: 'What is 3 + 3?', answer: '3 + 3 = 6\n#### 6' },
  { question: 'What is 4 + 4?', answer: '4 + 4 = 8\n#### 8' },
  { question: 'What is 5 + 5?', answer: '5 + 5 = 10\n#### 10' },
  { question: 'What is 6 + 6?', answer: '6 + 6 = 12\n#### 12' },
];

test('gsm8k (harness): 5 seeded examples "Question: …\\nAnswer: … #### n"; gsm8k_llama (Meta): the 8 CoT exemplars as chat turns', { skip: skipNoFixtures }, async () => {
  const f = folder('gsm', { test: GSM_TEST, train: GSM_TRAIN });
  const data = await loadTaskData(BUILTIN_TASKS.gsm8k!, { data: f });
  const h = itemPrompt(BUILTIN_TASKS.gsm8k!, data, 0) as GenPrompt;
  const text = h.prompt as string;
  const blocks = text.split('\n\n');
  assert.equal(blocks.length, 6);
  assert.equal(blocks[5], 'Question: Tom has 3 apples and buys 2 more. How many apples does he have?\nAnswer:');
  const examples = GSM_TRAIN.map((x) => `Question: ${x.question}\nAnswer: ${x.answer}`);
  for (const b of blocks.slice(0, 5)) assert.ok(examples.includes(b), b);
  assert.equal(new Set(blocks.slice(0, 5)).size, 5);
  assert.equal(h.target, '5');
  const m = itemPrompt(BUILTIN_TASKS.gsm8k_llama!, await loadTaskData(BUILTIN_TASKS.gsm8k_llama!, { data: f }), 0) as GenPrompt;
  const chat = promptText(model!.tokenizer, template, m.prompt);
  const turns = chat.split('<|start_header_id|>user<|end_header_id|>\n\n');
  assert.equal(turns.length, 10, '8 examples + the item');
  assert.equal(
    turns[1],
    'Given the following problem, reason and give a final answer to the problem.\nProblem: There are 15 trees in the grove. Grove workers will plant trees in the grove today. After they are done, there will be 21 trees. How many trees did the grove workers plant today?\nYour response should end with "The final answer is [answer]" where [answer] is the response to the problem.<|eot_id|>' +
      '<|start_header_id|>assistant<|end_header_id|>\n\nThere are 15 trees originally. Then there were 21 trees after some more were planted. So there must have been 21 - 15 = 6. The final answer is 6.<|eot_id|>',
  );
  assert.equal(
    turns[9],
    'Given the following problem, reason and give a final answer to the problem.\nProblem: Tom has 3 apples and buys 2 more. How many apples does he have?\nYour response should end with "The final answer is [answer]" where [answer] is the response to the problem.<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\n',
  );
});

test('generative scoring: extraction + exact match per item, records, stop strings and token budget passed on', async () => {
  const f = folder('gsm2', { test: [...GSM_TEST, { question: 'q2', answer: 'x\n#### 1,000' }, { question: 'q3', answer: '#### 7' }], train: GSM_TRAIN });
  const b = new Scripted([' He has 5 apples.\n#### 5', ' The total is $1,000.', ' I do not know.']);
  const records: EvalRecord[] = [];
  const r = await runTask(b, BUILTIN_TASKS.gsm8k!, { data: f, onRecord: (x) => records.push(x) });
  assert.deepEqual(r, { task: 'gsm8k', n: 3, exact_match: 2 / 3 });
  assert.deepEqual(
    records.map((x) => x.extracted),
    ['5', '$1,000.', '[invalid]'],
  );
  assert.deepEqual(b.seen[0]!.stop, ['Question:', '</s>', '<|im_end|>']);
  assert.equal(b.seen[0]!.maxTokens, 256);
  const meta = new Scripted([' C.']);
  const arc = write('arc2.jsonl', [{ ...ARC[0], answerKey: 'C' }]);
  assert.deepEqual(await runTask(meta, BUILTIN_TASKS.arc_challenge_llama!, { data: arc }), { task: 'arc_challenge_llama', n: 1, exact_match: 1 });
});

test('a YAML and a JSON definition file run like the equivalent generic mc task on the tiny model', { skip: skipNoFixtures }, async () => {
  const items = [
    { q: 'The capital of France is', opts: [' Paris', ' London', ' Rome'], a: 0 },
    { q: '2 + 2 =', opts: [' 4', ' 5'], a: 1 },
    { q: 'Water is', opts: [' wet', ' dry', ' blue'], a: 2 },
  ];
  write('my.jsonl', items);
  const yaml = join(dir, 'my.yaml');
  writeFileSync(yaml, 'name: mytask\noutput_type: multiple_choice\ndataset: my.jsonl\nprompt: "{{q}}"\nchoices: opts\ngold: "{{a}}"\ntarget_delimiter: ""\n');
  const def = loadTaskDefinition(yaml);
  const r = await evaluate(model!, def, {});
  const generic = await evaluate(model!, 'mc', { items: items.map((x) => ({ context: x.q, choices: x.opts, gold: x.a })) });
  assert.deepEqual(r, { task: 'mytask', n: 3, acc: generic.acc, acc_norm: generic.acc_norm });
  const json = join(dir, 'my.json');
  writeFileSync(json, JSON.stringify({ ...def, dataset: 'my.jsonl' }));
  assert.deepEqual(await evaluate(model!, json, { limit: 2 }), await evaluate(model!, yaml, { limit: 2 }));
  writeFileSync(json, JSON.stringify({ ...def, promt: 'typo' }));
  assert.throws(() => loadTaskDefinition(json), { code: 'BAD_ARGUMENT' });
  await assert.rejects(evaluate(model!, 'no_such_task', {}).then(() => {}), { code: 'BAD_ARGUMENT' });
});

test('gsm8k_llama runs end to end on the tiny chat model (its own template), one item', { skip: skipNoFixtures }, async () => {
  const f = folder('gsm3', { test: GSM_TEST });
  const def: TaskDefinition = { ...BUILTIN_TASKS.gsm8k_llama!, num_fewshot: 1, generation: { max_tokens: 4, until: [] } };
  const records: EvalRecord[] = [];
  const r = await evaluate(model!, def, { data: f, onRecord: (x) => records.push(x) });
  assert.equal(r.n, 1);
  assert.ok(r.exact_match === 0 || r.exact_match === 1);
  assert.equal(records.length, 1);
  assert.match(records[0]!.prompt, /<\|start_header_id\|>assistant<\|end_header_id\|>\n\n$/);
  assert.equal(typeof records[0]!.output, 'string');
});

test('Parquet splits (as the hub ships them) read like JSONL; int64 columns become numbers', async () => {
  const { parquetWriteBuffer } = await import('hyparquet-writer');
  const f = join(dir, 'gsm-parquet');
  mkdirSync(f, { recursive: true });
  const put = (name: string, rows: { question: string; answer: string }[]): void => {
    const buf = parquetWriteBuffer({
      columnData: [
        { name: 'question', data: rows.map((r) => r.question), type: 'STRING' },
        { name: 'answer', data: rows.map((r) => r.answer), type: 'STRING' },
        { name: 'id', data: rows.map((_, i) => BigInt(i)), type: 'INT64' },
      ],
    });
    writeFileSync(join(f, name), new Uint8Array(buf));
  };
  put('test.parquet', [...GSM_TEST, { question: 'q2', answer: '#### 9' }]);
  put('train.parquet', GSM_TRAIN);
  const data = await loadTaskData(BUILTIN_TASKS.gsm8k!, { data: f });
  assert.equal(data.docs.length, 2);
  assert.equal(data.docs[1]!.id, 1);
  assert.equal(data.pool.docs.length, GSM_TRAIN.length);
  const jf = folder('gsm-jsonl', { test: [...GSM_TEST, { question: 'q2', answer: '#### 9' }], train: GSM_TRAIN });
  const fromJsonl = itemPrompt(BUILTIN_TASKS.gsm8k!, await loadTaskData(BUILTIN_TASKS.gsm8k!, { data: jf }), 0);
  assert.deepEqual(itemPrompt(BUILTIN_TASKS.gsm8k!, data, 0), fromJsonl);
  const r = await runTask(new Scripted(['#### 5', '#### 8']), BUILTIN_TASKS.gsm8k!, { data: f });
  assert.deepEqual(r, { task: 'gsm8k', n: 2, exact_match: 0.5 });
});
