/**
 * Meta's published Llama 3.1 figures (percent), for `--compare published`. Source: the Llama 3.1
 * model card, meta-llama/llama-models models/llama3_1/MODEL_CARD.md ("Benchmark scores": the
 * "Base pretrained models" and "Instruction tuned models" tables, columns Llama 3.1 8B / 70B /
 * 405B), the same table as on the Hugging Face model pages; settings from eval_details.md beside
 * it. Each built-in task maps to the row whose setting it reproduces; the setting is printed
 * beside the number so a mismatch (shots, chat vs plain) stays visible.
 */
export interface PublishedRow {
  readonly benchmark: string;
  readonly setting: string;
  readonly models: 'instruct' | 'pretrained';
  readonly '8B': number;
  readonly '70B': number;
  readonly '405B': number;
}

const INSTRUCT = {
  mmlu: { benchmark: 'MMLU', setting: '5-shot, macro_avg/acc', models: 'instruct', '8B': 69.4, '70B': 83.6, '405B': 87.3 },
  arc: { benchmark: 'ARC-Challenge', setting: '0-shot, acc', models: 'instruct', '8B': 83.4, '70B': 94.8, '405B': 96.9 },
  gsm8k: { benchmark: 'GSM-8K', setting: 'CoT, 8-shot, em_maj1@1', models: 'instruct', '8B': 84.5, '70B': 95.1, '405B': 96.8 },
  humaneval: { benchmark: 'HumanEval', setting: '0-shot, pass@1', models: 'instruct', '8B': 72.6, '70B': 80.5, '405B': 89.0 },
  mbpp: { benchmark: 'MBPP++ base version', setting: '0-shot, pass@1', models: 'instruct', '8B': 72.8, '70B': 86.0, '405B': 88.6 },
  ifeval: { benchmark: 'IFEval', setting: '0-shot, mean of prompt- and instruction-level strict and loose accuracy', models: 'instruct', '8B': 80.4, '70B': 87.5, '405B': 88.6 },
  bfcl: { benchmark: 'BFCL', setting: '0-shot, acc; all of BFCL (gorilla commit 7bef000), not the simple category alone', models: 'instruct', '8B': 76.1, '70B': 84.8, '405B': 88.5 },
} as const satisfies Record<string, PublishedRow>;

const PRETRAINED = {
  mmlu: { benchmark: 'MMLU', setting: '5-shot, macro_avg/acc_char', models: 'pretrained', '8B': 66.7, '70B': 79.3, '405B': 85.2 },
  arc: { benchmark: 'ARC-Challenge', setting: '25-shot, acc_char', models: 'pretrained', '8B': 79.7, '70B': 92.9, '405B': 96.1 },
  winogrande: { benchmark: 'Winogrande', setting: '5-shot, acc_char', models: 'pretrained', '8B': 60.5, '70B': 83.3, '405B': 86.7 },
} as const satisfies Record<string, PublishedRow>;

/** Task name → the published row it is comparable with. */
export const PUBLISHED: Readonly<Record<string, PublishedRow>> = {
  mmlu: PRETRAINED.mmlu,
  mmlu_llama: INSTRUCT.mmlu,
  arc_challenge: PRETRAINED.arc,
  arc_challenge_llama: INSTRUCT.arc,
  gsm8k: INSTRUCT.gsm8k,
  gsm8k_llama: INSTRUCT.gsm8k,
  humaneval: INSTRUCT.humaneval,
  mbpp: INSTRUCT.mbpp,
  winogrande_llama: PRETRAINED.winogrande,
  ifeval: INSTRUCT.ifeval,
  ifeval_llama: INSTRUCT.ifeval,
  'bfcl-simple': INSTRUCT.bfcl,
};

export function publishedFor(task: string): PublishedRow | undefined {
  return Object.prototype.hasOwnProperty.call(PUBLISHED, task) ? PUBLISHED[task] : undefined;
}
