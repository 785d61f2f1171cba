import { test } from 'node:test';
import assert from 'node:assert/strict';
import { exactMatch, extractAnswer, lastBoxed, normalizeAnswer } from '../src/eval/extract.js';
import { selectFewshot } from '../src/eval/fewshot.js';
import { hellaswagPreprocess, pyCapitalize, processDoc } from '../src/eval/process.js';

const GSM = { ignore_case: true, regexes_to_ignore: [',', '\\$', '(?s).*#### ', '\\.$'] };

test('GSM8K extraction: "#### n" first, else the last number; awkward forms normalise like the harness', () => {
  assert.equal(extractAnswer('She pays 5 + 7 = 12 dollars.\n#### 12', 'gsm8k'), '12');
  assert.equal(extractAnswer('#### 1,234.\nQuestion: #### 9', 'gsm8k'), '1,234.');
  assert.equal(exactMatch(extractAnswer('#### 1,234.', 'gsm8k'), '1234', GSM), 1);
  assert.equal(extractAnswer('#### -3.5', 'gsm8k'), '-3.5');
  // No "####": the last number-ish run (the harness's flexible-extract), money and commas included.
  assert.equal(extractAnswer('First 3 apples, then 4 more: she has $1,000.', 'gsm8k'), '$1,000.');
  assert.equal(exactMatch(extractAnswer('she has $1,000.', 'gsm8k'), '1000', GSM), 1);
  assert.equal(extractAnswer('the answer is 7', 'gsm8k'), '7');
  assert.equal(extractAnswer('no digits here', 'gsm8k'), undefined);
  assert.equal(exactMatch(undefined, '7', GSM), 0);
  // The reference side goes through the same regexes: "...#### 72" → "72".
  assert.equal(normalizeAnswer('Natalia sold 48/2 = 24 clips.\n#### 72', GSM), '72');
});

test('Meta forms: "The final answer is n" (last one wins) and "The best answer is X"', () => {
  // As the harness's regex: the trailing period is captured and removed by the normalisation.
  assert.equal(extractAnswer('So 5 * 4 = 20. The final answer is 29.', 'final_answer'), '29.');
  assert.equal(exactMatch(extractAnswer('So 5 * 4 = 20. The final answer is 29.', 'final_answer'), '29', GSM), 1);
  assert.equal(extractAnswer('The final answer is 3. Wait. The final answer is -4,500.', 'final_answer'), '-4,500.');
  assert.equal(extractAnswer('The final answer is: $\\boxed{18}$. I hope it is correct.', 'final_answer'), '18');
  assert.equal(extractAnswer('I think 12 apples remain', 'final_answer'), '12');
  assert.equal(extractAnswer('The best answer is C.', 'best_answer'), 'C');
  assert.equal(extractAnswer('The best answer is (b)', 'best_answer'), 'B');
  assert.equal(extractAnswer('The best answer is A. On reflection the best answer is D', 'best_answer'), 'D');
  assert.equal(extractAnswer('I cannot decide', 'best_answer'), undefined);
});

test('MATH boxed answers: the last \\boxed, balanced braces, the space form, unbalanced is no answer', () => {
  assert.equal(lastBoxed('so $x = \\boxed{\\frac{1}{2}}$'), '\\frac{1}{2}');
  assert.equal(lastBoxed('\\boxed{1} then \\boxed{\\sqrt{2}+{3}}'), '\\sqrt{2}+{3}');
  assert.equal(lastBoxed('\\boxed 5$'), '5');
  assert.equal(lastBoxed('\\fbox{7}'), '7');
  assert.equal(lastBoxed('\\boxed{\\frac{1}{2}'), undefined);
  assert.equal(lastBoxed('nothing'), undefined);
  assert.equal(extractAnswer('Answer: \\boxed{42}', 'boxed'), '42');
});

test('custom regex extraction: group, last match, fallback', () => {
  assert.equal(extractAnswer('Answer: yes. Final: no', { regex: '(?:Answer|Final): (\\w+)', select: 'last' }), 'no');
  assert.equal(extractAnswer('Answer: yes', { regex: 'Answer: (\\w+)' }), 'yes');
  assert.equal(extractAnswer('nothing but 41 and 42', { regex: 'Answer: (\\w+)', fallback: 'last_number' }), '42');
  assert.throws(() => extractAnswer('x', { regex: '(' }), { code: 'BAD_ARGUMENT' });
  assert.equal(normalizeAnswer('The Answer!', { ignore_case: true, ignore_punctuation: true }), 'the answer');
});

test('few-shot selection is deterministic by seed, without replacement, never the item itself', () => {
  const a = selectFewshot(50, 5, 'random', 1234, 7, 7);
  assert.deepEqual(a, selectFewshot(50, 5, 'random', 1234, 7, 7));
  assert.equal(new Set(a).size, 5);
  assert.ok(!a.includes(7));
  assert.notDeepEqual(a, selectFewshot(50, 5, 'random', 99, 7, 7));
  assert.notDeepEqual(a, selectFewshot(50, 5, 'random', 1234, 8, 8), 'each item draws its own examples');
  assert.deepEqual(selectFewshot(10, 3, 'first_n', 1, 0, 0), [1, 2, 3]);
  assert.deepEqual(selectFewshot(10, 3, 'first_n', 1, 5), [0, 1, 2]);
  assert.equal(selectFewshot(3, 5, 'random', 1, 0, 0).length, 2);
  assert.deepEqual(selectFewshot(3, 0, 'random', 1, 0), []);
  // The spread is roughly uniform (no index starved).
  const counts = new Array<number>(10).fill(0);
  for (let i = 0; i < 2000; i++) for (const j of selectFewshot(10, 2, 'random', 1234, i)) counts[j]!++;
  assert.ok(counts.every((c) => c > 300 && c < 500), counts.join(','));
});

test('HellaSwag and Winogrande preprocessing as the harness does it', () => {
  assert.equal(pyCapitalize('tHE man'), 'The man');
  assert.equal(hellaswagPreprocess(' How to cook [title] Boil water. [step] Add  salt '), 'How to cook. Boil water.  Add salt'.replace('  ', ' '));
  const h = processDoc('hellaswag', { activity_label: 'Baking', ctx_a: 'A woman mixes flour.', ctx_b: 'SHE then', endings: ['bakes [header] it', 'runs'], label: '0' }, 'x');
  assert.equal(h.query, 'Baking: A woman mixes flour. She then');
  assert.deepEqual(h.choices, ['bakes  it'.replace('  ', ' '), 'runs']);
  const w = processDoc('winogrande', { sentence: 'The trophy did not fit in the suitcase because _ was too big.', option1: 'the trophy', option2: 'the suitcase', answer: '1' }, 'x');
  assert.deepEqual(w.contexts, ['The trophy did not fit in the suitcase because the trophy', 'The trophy did not fit in the suitcase because the suitcase']);
  assert.equal(w.continuation, 'was too big.');
  assert.equal(w.gold, 0);
  assert.throws(() => processDoc('winogrande', { sentence: 'no blank', option1: 'a', option2: 'b', answer: '1' }, 'x'), { code: 'BAD_ARGUMENT' });
});
