/**
 * Built-in task definitions, in two conventions:
 *
 *  - lm-evaluation-harness (`mmlu`, `arc_challenge`, `hellaswag`, `winogrande`, `gsm8k`): plain
 *    text, log-likelihood multiple choice (GSM8K: 5-shot generation, "#### n" extraction), the
 *    harness's prompts, delimiters and few-shot splits.
 *  - Meta's Llama 3.1 evaluations (`*_llama`): the Instruct models answer generatively in chat
 *    format; few-shot examples are earlier user/assistant turns; the reply is started with "The
 *    best answer is" (multiple choice) and graded on the extracted letter, or ends with "The final
 *    answer is n" (GSM8K, 8-shot chain of thought). The chat template is the model's own; with the
 *    Llama 3.1 template that adds its system header (knowledge cutoff and date), which Meta's
 *    published prompts do not show. Winogrande has no generative Meta prompt; `winogrande_llama`
 *    is Meta's base-model setting (5-shot, per-choice partial scoring, character-normalised).
 *
 * `ifeval` (the harness's: the prompt as plain text, 0-shot, up to 1280 tokens) and `ifeval_llama`
 * (Meta's: the prompt as a user turn of the chat template) score IFEval's verifiable
 * instructions (ifeval/). `bfcl-simple` sends BFCL's question as a user turn with its function
 * as a tool in the chat template and scores the reply's tool call by AST match (bfcl/).
 *
 * `humaneval` and `mbpp` (harness convention, plain completion, pass@1 greedy) run the completion
 * with the item's tests in the Python sandbox (sandbox.ts).
 *
 * Point them at the public releases with --data (a JSONL/Parquet file, or a folder with
 * <split>.jsonl): MMLU cais/mmlu "all" (test, dev), ARC allenai/ai2_arc ARC-Challenge (test,
 * train), HellaSwag Rowan/hellaswag (validation, train), Winogrande winogrande_xl (validation,
 * train), GSM8K openai/gsm8k main (test, train), HumanEval openai_humaneval (test), MBPP mbpp full
 * (test, prompt), IFEval google/IFEval (train, the only split), BFCL BFCL_v3_simple.json with
 * possible_answer/BFCL_v3_simple.json beside it.
 */
import { BadArgumentError } from '../errors/errors.js';
import type { TaskDefinition } from './taskdef.js';

const LETTER_CHOICES = ['A', 'B', 'C', 'D'];
const FOUR = 'A. {{choices[0]}}\nB. {{choices[1]}}\nC. {{choices[2]}}\nD. {{choices[3]}}';
const BEST = 'Your response should end with "The best answer is [the_answer_letter]" where the [the_answer_letter] is one of A, B, C or D.';

/** The harness's GSM8K exact-match preprocessing (both sides). */
const GSM8K_NORMALIZE = { ignore_case: true, ignore_punctuation: false, regexes_to_ignore: [',', '\\$', '(?s).*#### ', '\\.$'] };
const LETTER_NORMALIZE = { ignore_case: true, ignore_punctuation: true };

/** Meta's GSM8K 8-shot chain-of-thought exemplars (those of Wei et al., answers ending "The final answer is n."). */
const GSM8K_COT: { question: string; target: string }[] = [
  {
    question: 'There are 15 trees in the grove. Grove workers will plant trees in the grove today. After they are done, there will be 21 trees. How many trees did the grove workers plant today?',
    target: 'There are 15 trees originally. Then there were 21 trees after some more were planted. So there must have been 21 - 15 = 6. The final answer is 6.',
  },
  {
    question: 'If there are 3 cars in the parking lot and 2 more cars arrive, how many cars are in the parking lot?',
    target: 'There are originally 3 cars. 2 more cars arrive. 3 + 2 = 5. The final answer is 5.',
  },
  {
    question: 'Leah had 32 chocolates and her sister had 42. If they ate 35, how many pieces do they have left in total?',
    target: 'Originally, Leah had 32 chocolates. Her sister had 42. So in total they had 32 + 42 = 74. After eating 35, they had 74 - 35 = 39. The final answer is 39.',
  },
  {
    question: 'Jason had 20 lollipops. He gave Denny some lollipops. Now Jason has 12 lollipops. How many lollipops did Jason give to Denny?',
    target: 'Jason started with 20 lollipops. Then he had 12 after giving some to Denny. So he gave Denny 20 - 12 = 8. The final answer is 8.',
  },
  {
    question: 'Shawn has five toys. For Christmas, he got two toys each from his mom and dad. How many toys does he have now?',
    target: 'Shawn started with 5 toys. If he got 2 toys each from his mom and dad, then that is 4 more toys. 5 + 4 = 9. The final answer is 9.',
  },
  {
    question: 'There were nine computers in the server room. Five more computers were installed each day, from monday to thursday. How many computers are now in the server room?',
    target: 'There were originally 9 computers. For each of 4 days, 5 more computers were added. So 5 * 4 = 20 computers were added. 9 + 20 is 29. The final answer is 29.',
  },
  {
    question: 'Michael had 58 golf balls. On tuesday, he lost 23 golf balls. On wednesday, he lost 2 more. How many golf balls did he have at the end of wednesday?',
    target: 'Michael started with 58 golf balls. After losing 23 on tuesday, he had 58 - 23 = 35. After losing 2 more, he had 35 - 2 = 33 golf balls. The final answer is 33.',
  },
  {
    question: 'Olivia has $23. She bought five bagels for $3 each. How much money does she have left?',
    target: 'Olivia had 23 dollars. 5 bagels for 3 dollars each will be 5 x 3 = 15 dollars. So she has 23 - 15 dollars left. 23 - 15 is 8. The final answer is 8.',
  },
];

export const BUILTIN_TASKS: Readonly<Record<string, TaskDefinition>> = {
  // ---- lm-evaluation-harness convention ----
  mmlu: {
    name: 'mmlu',
    output_type: 'multiple_choice',
    process: 'mmlu',
    split: 'test',
    fewshot_split: 'dev',
    fewshot_match: 'subject',
    fewshot_sampler: 'first_n',
    num_fewshot: 5,
    description: 'The following are multiple choice questions (with answers) about {{subject_name}}.\n\n',
    prompt: `{{question.strip()}}\n${FOUR}\nAnswer:`,
    choices: LETTER_CHOICES,
    gold: '{{answer}}',
    metric: 'acc',
  },
  arc_challenge: {
    name: 'arc_challenge',
    output_type: 'multiple_choice',
    process: 'arc',
    split: 'test',
    fewshot_split: 'train',
    num_fewshot: 0,
    prompt: 'Question: {{question}}\nAnswer:',
    choices: 'choices',
    gold: '{{gold}}',
    metric: 'acc_norm',
  },
  hellaswag: {
    name: 'hellaswag',
    output_type: 'multiple_choice',
    process: 'hellaswag',
    split: 'validation',
    fewshot_split: 'train',
    num_fewshot: 0,
    prompt: '{{query}}',
    choices: 'choices',
    gold: '{{gold}}',
    metric: 'acc_norm',
  },
  winogrande: {
    name: 'winogrande',
    output_type: 'multiple_choice',
    process: 'winogrande',
    split: 'validation',
    fewshot_split: 'train',
    num_fewshot: 0,
    prompt: '{{sentence}}',
    contexts: 'contexts',
    continuation: '{{continuation}}',
    gold: '{{gold}}',
    metric: 'acc',
  },
  gsm8k: {
    name: 'gsm8k',
    output_type: 'generate_until',
    process: 'gsm8k',
    split: 'test',
    fewshot_split: 'train',
    num_fewshot: 5,
    fewshot_seed: 1234,
    prompt: 'Question: {{question}}\nAnswer:',
    target: '{{answer_number}}',
    fewshot_target: '{{answer}}',
    metric: 'exact_match',
    extraction: 'gsm8k',
    normalize: GSM8K_NORMALIZE,
    generation: { max_tokens: 256, until: ['Question:', '</s>', '<|im_end|>'] },
  },
  humaneval: {
    name: 'humaneval',
    output_type: 'generate_until',
    split: 'test',
    num_fewshot: 0,
    prompt: '{{prompt}}',
    target: '{{canonical_solution}}',
    metric: 'pass@k',
    program: '{{prompt}}{{completion}}\n\n{{test}}\n\ncheck({{entry_point}})\n',
    generation: { max_tokens: 1024, until: ['\nclass', '\ndef', '\n#', '\nif', '\nprint'] },
  },
  mbpp: {
    name: 'mbpp',
    output_type: 'generate_until',
    split: 'test',
    fewshot_split: 'prompt',
    fewshot_sampler: 'first_n',
    num_fewshot: 3,
    prompt: 'You are an expert Python programmer, and here is your task: {{text}} Your code should pass these tests:\n\n{{test_list[0]}}\n{{test_list[1]}}\n{{test_list[2]}}\n[BEGIN]\n',
    target: '{{code}}',
    fewshot_target: '{{code}}\n[DONE]',
    target_delimiter: '',
    metric: 'pass@k',
    program: '{{completion}}\n\n{{test_list[0]}}\n{{test_list[1]}}\n{{test_list[2]}}\n',
    generation: { max_tokens: 512, until: ['[DONE]'] },
  },
  ifeval: {
    name: 'ifeval',
    output_type: 'generate_until',
    process: 'ifeval',
    split: 'train',
    num_fewshot: 0,
    prompt: '{{prompt}}',
    metric: 'ifeval',
    generation: { max_tokens: 1280, until: [] },
  },
  // ---- Meta's Llama 3.1 convention ----
  mmlu_llama: {
    name: 'mmlu_llama',
    output_type: 'generate_until',
    format: 'chat',
    process: 'mmlu',
    split: 'test',
    fewshot_split: 'dev',
    fewshot_match: 'subject',
    fewshot_sampler: 'first_n',
    num_fewshot: 5,
    prompt: `Given the following question and four candidate answers (A, B, C and D), choose the best answer.\nQuestion: {{question.strip()}}\n${FOUR}\n${BEST}`,
    gen_prefix: 'The best answer is',
    target: '{{answer_letter}}',
    fewshot_target: 'The best answer is {{answer_letter}}.',
    metric: 'exact_match',
    extraction: 'best_answer',
    normalize: LETTER_NORMALIZE,
    generation: { max_tokens: 10, until: ['.'] },
  },
  arc_challenge_llama: {
    name: 'arc_challenge_llama',
    output_type: 'generate_until',
    format: 'chat',
    process: 'arc',
    split: 'test',
    num_fewshot: 0,
    prompt: `Given the following question and four candidate answers (A, B, C and D), choose the best answer.\nQuestion: {{question}}\n${FOUR}\n${BEST}`,
    gen_prefix: 'The best answer is',
    target: '{{answer_letter}}',
    fewshot_target: 'The best answer is {{answer_letter}}.',
    metric: 'exact_match',
    extraction: 'best_answer',
    normalize: LETTER_NORMALIZE,
    generation: { max_tokens: 100, until: [] },
  },
  hellaswag_llama: {
    name: 'hellaswag_llama',
    output_type: 'generate_until',
    format: 'chat',
    process: 'hellaswag',
    split: 'validation',
    num_fewshot: 0,
    prompt: `Given the following context and four candidate endings, choose the best ending.\nContext: {{query}}\n${FOUR}\n${BEST}`,
    gen_prefix: 'The best answer is',
    target: '{{answer_letter}}',
    fewshot_target: 'The best answer is {{answer_letter}}.',
    metric: 'exact_match',
    extraction: 'best_answer',
    normalize: LETTER_NORMALIZE,
    generation: { max_tokens: 100, until: [] },
  },
  ifeval_llama: {
    name: 'ifeval_llama',
    output_type: 'generate_until',
    format: 'chat',
    process: 'ifeval',
    split: 'train',
    num_fewshot: 0,
    prompt: '{{prompt}}',
    metric: 'ifeval',
    generation: { max_tokens: 1280, until: [] },
  },
  // ---- BFCL's own convention (function calling through the chat template's tools) ----
  'bfcl-simple': {
    name: 'bfcl-simple',
    output_type: 'generate_until',
    format: 'chat',
    process: 'bfcl',
    answers: 'possible_answer/{name}',
    split: 'BFCL_v3_simple',
    num_fewshot: 0,
    system: '{{system}}',
    prompt: '{{user}}',
    tools: 'tools',
    target: '{{answer_text}}',
    metric: 'ast_match',
    generation: { max_tokens: 512, until: [] },
  },
  winogrande_llama: {
    name: 'winogrande_llama',
    output_type: 'multiple_choice',
    process: 'winogrande',
    split: 'validation',
    fewshot_split: 'train',
    num_fewshot: 5,
    fewshot_seed: 1234,
    prompt: '{{sentence}}',
    contexts: 'contexts',
    continuation: '{{continuation}}',
    gold: '{{gold}}',
    metric: 'acc_norm',
  },
  gsm8k_llama: {
    name: 'gsm8k_llama',
    output_type: 'generate_until',
    format: 'chat',
    process: 'gsm8k',
    split: 'test',
    num_fewshot: 8,
    fewshot_sampler: 'first_n',
    fewshot_samples: GSM8K_COT,
    prompt: 'Given the following problem, reason and give a final answer to the problem.\nProblem: {{question}}\nYour response should end with "The final answer is [answer]" where [answer] is the response to the problem.',
    target: '{{answer_number}}',
    fewshot_target: '{{target}}',
    metric: 'exact_match',
    extraction: 'final_answer',
    normalize: GSM8K_NORMALIZE,
    generation: { max_tokens: 1024, until: [] },
  },
};

/** A built-in definition by name, or undefined. */
export function builtinTask(name: string): TaskDefinition | undefined {
  return Object.prototype.hasOwnProperty.call(BUILTIN_TASKS, name) ? BUILTIN_TASKS[name] : undefined;
}

export function requireBuiltin(name: string): TaskDefinition {
  const t = builtinTask(name);
  if (!t) throw new BadArgumentError(`unknown task ${JSON.stringify(name)}; built-in: perplexity, mc, ${Object.keys(BUILTIN_TASKS).join(', ')}, or a .json/.yaml definition file`);
  return t;
}
