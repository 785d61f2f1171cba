import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { skipNoFixtures } from './fixtures.js';
import type { Model } from '../src/model/types.js';
import { BUILTIN_TASKS } from '../src/eval/builtin.js';
import { itemPrompt, loadTaskData, runTask } from '../src/eval/run-task.js';
import { promptText } from '../src/eval/local.js';
import type { GenPrompt } from '../src/eval/prompt.js';
import type { EvalRecord } from '../src/eval/types.js';
import { Scripted } from './helpers/scripted-backend.js';
import { checkInstruction, instructionKwargs, IFEVAL_CHECKS } from '../src/eval/ifeval/checks.js';
import { aggregateIfeval, looseVariants, parseIfevalRow, scoreIfevalItem } from '../src/eval/ifeval/score.js';
import { countSentences, countWords, pyIsLower, pyIsUpper } from '../src/eval/ifeval/text.js';
import { useChatFixture } from './helpers/chat-fixture.js';

let dir: string;
let model: Model | undefined;
let template: string;
useChatFixture('eval-ifeval-', (f) => ({ dir, model, template } = f));

/** Checks `response` against one instruction, kwargs given as the dataset gives them (nulls included). */
const follows = (id: string, response: string, kw: Record<string, unknown> = {}): boolean => checkInstruction(id, response, instructionKwargs(id, kw, 'test'));

test('text measures: Python isupper/islower, \\w+ words, the sentence splitter on abbreviations and decimals', () => {
  assert.equal(pyIsUpper('HELLO, WORLD! 123'), true);
  assert.equal(pyIsUpper('123 !!'), false); // nothing cased
  assert.equal(pyIsUpper('HELLo'), false);
  assert.equal(pyIsLower('straße ist gut.'), true);
  assert.equal(pyIsLower('i am Fine'), false);
  assert.equal(countWords("don't stop-me now_ok 3.14"), 7); // don, t, stop, me, now_ok, 3, 14 → \w+ splits on ' - .
  assert.equal(countSentences('Mr. Smith paid $3.50 for it. Was it worth it? Yes!'), 3);
  assert.equal(countSentences('See example.com for details. Then wait... and go.'), 3);
  assert.equal(countSentences('One sentence without a stop'), 1);
});

test('keywords checks: existence (case-insensitive substrings), frequency relations, forbidden whole words, letter counts', () => {
  assert.equal(follows('keywords:existence', 'The Moon and the sunlight.', { keywords: ['moon', 'sun'] }), true);
  assert.equal(follows('keywords:existence', 'The Moon only.', { keywords: ['moon', 'sun'] }), false);
  assert.equal(follows('keywords:frequency', 'cat Cat CAT dog', { keyword: 'cat', frequency: 3, relation: 'at least' }), true);
  assert.equal(follows('keywords:frequency', 'cat Cat CAT dog', { keyword: 'cat', frequency: 3, relation: 'less than' }), false);
  // "scatter" holds "cat" as a substring: frequency counts it (the reference uses re.findall), forbidden_words does not (\b…\b).
  assert.equal(follows('keywords:frequency', 'scatter', { keyword: 'cat', frequency: 1, relation: 'at least' }), true);
  assert.equal(follows('keywords:forbidden_words', 'The cats scatter.', { forbidden_words: ['cat'] }), true);
  assert.equal(follows('keywords:forbidden_words', 'A CAT, sat.', { forbidden_words: ['dog', 'cat'] }), false);
  assert.equal(follows('keywords:forbidden_words', 'café au lait', { forbidden_words: ['caf'] }), true); // é is a word character
  assert.equal(follows('keywords:letter_frequency', 'Banana', { letter: 'a', let_frequency: 3, let_relation: 'at least' }), true);
  assert.equal(follows('keywords:letter_frequency', 'bAnAnA', { letter: 'A', let_frequency: 3, let_relation: 'less than' }), false);
  // Keyword and letter kwargs are trimmed as the reference's build_description does; a letter must be one character.
  assert.equal(follows('keywords:frequency', 'Tea, tea and TEA.', { keyword: ' tea  ', frequency: 3, relation: 'at least' }), true);
  assert.equal(follows('keywords:letter_frequency', '#a #b', { letter: ' # ', let_frequency: 2, let_relation: 'at least' }), true);
  assert.throws(() => follows('keywords:letter_frequency', 'x', { letter: 'ab', let_frequency: 1, let_relation: 'at least' }), { code: 'BAD_ARGUMENT', message: /one non-space character/ });
});

test('length checks: words, sentences, "***" paragraphs (empty ones only at the ends), nth paragraph first word', () => {
  assert.equal(follows('length_constraints:number_words', 'one two three', { num_words: 3, relation: 'at least' }), true);
  assert.equal(follows('length_constraints:number_words', 'one two three', { num_words: 3, relation: 'less than' }), false);
  assert.equal(follows('length_constraints:number_sentences', 'A b. C d! E?', { num_sentences: 4, relation: 'less than' }), true);
  assert.equal(follows('length_constraints:number_sentences', 'A b. C d! E?', { num_sentences: 4, relation: 'at least' }), false);
  assert.equal(follows('length_constraints:number_paragraphs', 'p1\n***\np2\n***\np3', { num_paragraphs: 3 }), true);
  assert.equal(follows('length_constraints:number_paragraphs', '***\np1\n***\np2\n***', { num_paragraphs: 2 }), true);
  assert.equal(follows('length_constraints:number_paragraphs', 'p1\n***\n\n***\np3', { num_paragraphs: 2 }), false); // an empty one in the middle
  assert.equal(follows('length_constraints:number_paragraphs', 'p1\n\np2', { num_paragraphs: 2 }), false); // blank lines do not split here
  const text = 'Intro here.\n\n"Summer, they said."\n\nEnd.';
  assert.equal(follows('length_constraints:nth_paragraph_first_word', text, { num_paragraphs: 3, nth_paragraph: 2, first_word: 'summer' }), true);
  assert.equal(follows('length_constraints:nth_paragraph_first_word', text, { num_paragraphs: 2, nth_paragraph: 2, first_word: 'summer' }), false);
  assert.equal(follows('length_constraints:nth_paragraph_first_word', text, { num_paragraphs: 3, nth_paragraph: 4, first_word: 'end' }), false);
});

test('format checks: bullets, highlights, sections, JSON (fenced), title, constrained response, two responses, placeholders, postscript', () => {
  assert.equal(follows('detectable_format:number_bullet_lists', '* a\n* b\n- c\n**bold** line', { num_bullets: 3 }), true);
  assert.equal(follows('detectable_format:number_bullet_lists', '* a\n* b', { num_bullets: 3 }), false);
  assert.equal(follows('detectable_format:number_highlighted_sections', 'a *one* b **two** c * *', { num_highlights: 2 }), true);
  assert.equal(follows('detectable_format:number_highlighted_sections', 'a ** b *\nc*', { num_highlights: 1 }), false);
  assert.equal(follows('detectable_format:multiple_sections', 'SECTION 1\nx\nSECTION 2\ny', { section_spliter: 'SECTION', num_sections: 2 }), true);
  assert.equal(follows('detectable_format:multiple_sections', 'SECTION 1\nx\nSECTION two', { section_spliter: 'SECTION', num_sections: 2 }), false);
  assert.equal(follows('detectable_format:json_format', '```json\n{"a": [1, 2]}\n```'), true);
  assert.equal(follows('detectable_format:json_format', 'Here: {"a": 1}'), false);
  assert.equal(follows('detectable_format:title', 'Poem\n<<The Sea>>\nwaves'), true);
  assert.equal(follows('detectable_format:title', '<<   >> and <<a\nb>>'), false);
  assert.equal(follows('detectable_format:constrained_response', '  My answer is maybe.  '), true);
  assert.equal(follows('detectable_format:constrained_response', 'My answer is Yes.'), false);
  assert.equal(follows('combination:two_responses', 'first answer\n******\nsecond answer'), true);
  assert.equal(follows('combination:two_responses', 'same\n******\nsame'), false);
  assert.equal(follows('combination:two_responses', 'a\n******\n\n******\nb'), false);
  assert.equal(follows('detectable_content:number_placeholders', 'Dear [name], at [address].', { num_placeholders: 2 }), true);
  assert.equal(follows('detectable_content:number_placeholders', 'Dear [name].', { num_placeholders: 2 }), false);
  assert.equal(follows('detectable_content:postscript', 'Body.\n\np.s. see you', { postscript_marker: 'P.S.' }), true);
  assert.equal(follows('detectable_content:postscript', 'Body.\nP.P.S extra', { postscript_marker: 'P.P.S' }), true);
  assert.equal(follows('detectable_content:postscript', 'Body. PS see you', { postscript_marker: 'P.S.' }), false);
});

test('case, punctuation, start/end checks', () => {
  assert.equal(follows('change_case:english_lowercase', 'all lower case, even here.'), true);
  assert.equal(follows('change_case:english_lowercase', 'not All lower'), false);
  assert.equal(follows('change_case:english_capital', 'ALL CAPS, 2024!'), true);
  assert.equal(follows('change_case:english_capital', 'ВСЕ ЗАГЛАВНЫЕ'), false); // upper case, but not English
  assert.equal(follows('change_case:capital_word_frequency', 'I LIKE the NASA, ok', { capital_frequency: 3, capital_relation: 'at least' }), true);
  assert.equal(follows('change_case:capital_word_frequency', 'I LIKE the NASA, ok', { capital_frequency: 3, capital_relation: 'less than' }), false);
  assert.equal(follows('punctuation:no_comma', 'No commas here; none.'), true);
  assert.equal(follows('punctuation:no_comma', 'One, comma'), false);
  assert.equal(follows('startend:quotation', '  "quoted"\n'), true);
  assert.equal(follows('startend:quotation', '"'), false);
  assert.equal(follows('startend:end_checker', 'Text. Is there anything else I can help with?"', { end_phrase: 'Is there anything else I can help with?' }), true);
  assert.equal(follows('startend:end_checker', 'Is there anything else I can help with? Bye', { end_phrase: 'Is there anything else I can help with?' }), false);
  assert.equal(follows('combination:repeat_prompt', 'Write a poem. Here it is', { prompt_to_repeat: 'write a POEM.' }), true);
  assert.equal(follows('combination:repeat_prompt', 'Sure! Write a poem.', { prompt_to_repeat: 'Write a poem.' }), false);
});

test('kwargs as the dataset ships them: null keys ignored; an unknown key, a missing key, a bad relation are errors', () => {
  assert.deepEqual(instructionKwargs('punctuation:no_comma', { num_words: null, keywords: null }, 'x'), {});
  assert.throws(() => instructionKwargs('punctuation:no_comma', { num_words: 5 }, 'row 3'), { code: 'BAD_ARGUMENT', message: /row 3: "punctuation:no_comma" takes no kwarg "num_words"/ });
  assert.throws(() => instructionKwargs('length_constraints:number_words', { num_words: 5 }, 'x'), { code: 'BAD_ARGUMENT', message: /needs kwarg "relation"/ });
  assert.throws(() => follows('length_constraints:number_words', 'a', { num_words: 5, relation: 'about' }), { code: 'BAD_ARGUMENT' });
  assert.throws(() => instructionKwargs('language:response_language', { language: 'de' }, 'x'), { code: 'BAD_ARGUMENT', message: /unsupported/ });
  assert.equal(Object.keys(IFEVAL_CHECKS).length, 24);
});

test('strict vs loose: a preamble line and markdown asterisks fail strict, pass loose; empty responses fail both', () => {
  assert.deepEqual(looseVariants('Sure:\n*x*\nbye'), ['Sure:\n*x*\nbye', 'Sure:\nx\nbye', '*x*\nbye', 'Sure:\n*x*', '*x*', 'x\nbye', 'Sure:\nx', 'x']);
  const row = { key: 7, prompt: 'Answer in lowercase, wrapped in double quotes.', instruction_id_list: ['change_case:english_lowercase', 'startend:quotation'], kwargs: [{ num_words: null }, {}] };
  const item = parseIfevalRow(row, 'r');
  assert.ok(!('unsupported' in item));
  const s = scoreIfevalItem(item, 'Sure! Here it is:\n"**hello there**"');
  assert.deepEqual(s, { strict: [false, false], loose: [true, true] });
  assert.deepEqual(scoreIfevalItem(item, '   '), { strict: [false, false], loose: [false, false] });
  assert.deepEqual(scoreIfevalItem(item, '"fine"'), { strict: [true, true], loose: [true, true] });
  // Two items: prompt level 1/2 strict, instruction level 3/4 strict.
  const m = aggregateIfeval([
    { strict: [true, true], loose: [true, true] },
    { strict: [true, false], loose: [true, true] },
  ]);
  assert.deepEqual(m, { prompt_level_strict_acc: 0.5, inst_level_strict_acc: 0.75, prompt_level_loose_acc: 1, inst_level_loose_acc: 1, ifeval_average: 0.8125 });
});

/** Rows in google/IFEval's format: every kwargs dict carries all keys, unused ones null. */
const NULLS = { num_highlights: null, relation: null, num_words: null, num_placeholders: null, prompt_to_repeat: null, num_paragraphs: null, keywords: null, end_phrase: null, language: null };
const ROWS = [
  { key: 1000, prompt: 'Write a haiku about rain without commas.', instruction_id_list: ['punctuation:no_comma'], kwargs: [{ ...NULLS }] },
  { key: 1001, prompt: 'Describe a cat in at least 5 words, all lowercase.', instruction_id_list: ['length_constraints:number_words', 'change_case:english_lowercase'], kwargs: [{ ...NULLS, num_words: 5, relation: 'at least' }, { ...NULLS }] },
  { key: 1002, prompt: 'Antworte auf Deutsch.', instruction_id_list: ['language:response_language'], kwargs: [{ ...NULLS, language: 'de' }] },
  { key: 1003, prompt: 'Wrap your answer in double quotes.', instruction_id_list: ['startend:quotation'], kwargs: [{ ...NULLS }] },
];

test('ifeval task: unsupported instructions skipped and reported (never passed); the four accuracies and their mean by hand', async () => {
  const f = join(dir, 'ifeval.jsonl');
  writeFileSync(f, ROWS.map((r) => JSON.stringify(r)).join('\n') + '\n');
  // item 1000 passes; 1001 passes the count, fails lowercase ("A"); 1003 passes loose only (a preamble line).
  const b = new Scripted(['rain falls soft and slow', 'A small furry cat sleeps there', 'OK:\n"quoted"']);
  const records: EvalRecord[] = [];
  const r = await runTask(b, BUILTIN_TASKS.ifeval!, { data: f, onRecord: (x) => records.push(x) });
  assert.equal(b.seen.length, 3); // the German item is never generated
  assert.deepEqual(r, {
    task: 'ifeval',
    n: 3,
    prompt_level_strict_acc: 1 / 3,
    inst_level_strict_acc: 2 / 4,
    prompt_level_loose_acc: 2 / 3,
    inst_level_loose_acc: 3 / 4,
    ifeval_average: (1 / 3 + 2 / 4 + 2 / 3 + 3 / 4) / 4,
    skipped: 1,
    skipped_instructions: { 'language:response_language': 1 },
  });
  assert.equal(b.seen[0]!.maxTokens, 1280);
  assert.equal(records[1]!.extracted, 'length_constraints:number_words:strict,change_case:english_lowercase:fail');
  assert.equal(records[2]!.extracted, 'startend:quotation:loose');
  // Every item unsupported: an error naming the instruction, not a score.
  const only = join(dir, 'ifeval-de.jsonl');
  writeFileSync(only, JSON.stringify(ROWS[2]) + '\n');
  await assert.rejects(runTask(new Scripted([]), BUILTIN_TASKS.ifeval!, { data: only }), { code: 'BAD_ARGUMENT', message: /language:response_language/ });
  // A malformed row is an error naming the file and record.
  const bad = join(dir, 'ifeval-bad.jsonl');
  writeFileSync(bad, JSON.stringify({ ...ROWS[0], kwargs: [{ ...NULLS, num_words: 3 }] }) + '\n');
  await assert.rejects(runTask(new Scripted(['x']), BUILTIN_TASKS.ifeval!, { data: bad }), { code: 'BAD_ARGUMENT', message: /record 1: "punctuation:no_comma" takes no kwarg "num_words"/ });
});

test('ifeval (harness) prompt is the item text as is; ifeval_llama (Meta) is one user turn of the Llama 3.1 template — byte for byte', { skip: skipNoFixtures }, async () => {
  const f = join(dir, 'ifeval-p.jsonl');
  writeFileSync(f, JSON.stringify(ROWS[0]) + '\n');
  const h = itemPrompt(BUILTIN_TASKS.ifeval!, await loadTaskData(BUILTIN_TASKS.ifeval!, { data: f }), 0) as GenPrompt;
  assert.equal(h.prompt, 'Write a haiku about rain without commas.');
  const m = itemPrompt(BUILTIN_TASKS.ifeval_llama!, await loadTaskData(BUILTIN_TASKS.ifeval_llama!, { data: f }), 0) as GenPrompt;
  assert.equal(
    promptText(model!.tokenizer, template, m.prompt),
    '<|begin_of_text|><|start_header_id|>system<|end_header_id|>\n\nCutting Knowledge Date: December 2023\nToday Date: 26 Jul 2024\n\n<|eot_id|>' +
      '<|start_header_id|>user<|end_header_id|>\n\nWrite a haiku about rain without commas.<|eot_id|>' +
      '<|start_header_id|>assistant<|end_header_id|>\n\n',
  );
});

test('ifeval_llama runs end to end on the tiny chat model, one item', { skip: skipNoFixtures }, async () => {
  const f = join(dir, 'ifeval-e2e.jsonl');
  writeFileSync(f, JSON.stringify(ROWS[0]) + '\n');
  const { evaluate } = await import('../src/eval/evaluate.js');
  const r = await evaluate(model!, { ...BUILTIN_TASKS.ifeval_llama!, generation: { max_tokens: 4, until: [] } }, { data: f });
  assert.equal(r.n, 1);
  assert.equal(r.skipped, 0);
  assert.ok(r.prompt_level_loose_acc! >= r.prompt_level_strict_acc!);
});
