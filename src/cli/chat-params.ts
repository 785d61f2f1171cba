/** `/set name value` in the chat REPL: the sampling parameters of the following replies. */
import { BadArgumentError } from '../errors/errors.js';

export interface ChatParams {
  temperature: number;
  topK: number;
  topP: number;
  minP: number;
  repetitionPenalty: number;
  seed: number | undefined;
  maxTokens: number;
}

type Key = keyof ChatParams;

/** Accepted spellings (llama.cpp / ollama names and ours) → parameter. */
const NAMES: Readonly<Record<string, Key>> = {
  temperature: 'temperature', temp: 'temperature',
  top_k: 'topK', topk: 'topK', 'top-k': 'topK',
  top_p: 'topP', topp: 'topP', 'top-p': 'topP',
  min_p: 'minP', minp: 'minP', 'min-p': 'minP',
  repeat_penalty: 'repetitionPenalty', repetition_penalty: 'repetitionPenalty', 'repeat-penalty': 'repetitionPenalty',
  seed: 'seed',
  max_tokens: 'maxTokens', num_predict: 'maxTokens', n_predict: 'maxTokens', 'n-predict': 'maxTokens',
};

const CHECKS: Readonly<Record<Key, (v: number) => boolean>> = {
  temperature: (v) => v >= 0,
  topK: (v) => Number.isInteger(v) && v >= 0,
  topP: (v) => v > 0 && v <= 1,
  minP: (v) => v >= 0 && v <= 1,
  repetitionPenalty: (v) => v > 0,
  seed: (v) => Number.isInteger(v),
  maxTokens: (v) => Number.isInteger(v) && v > 0,
};

export function describeParams(p: ChatParams): string {
  return `temperature ${p.temperature}  top_k ${p.topK}  top_p ${p.topP}  min_p ${p.minP}  repeat_penalty ${p.repetitionPenalty}  seed ${p.seed ?? 'random'}  max_tokens ${p.maxTokens}`;
}

/** Applies "name value" to `p`; returns a confirmation line. */
export function setParam(p: ChatParams, args: string): string {
  const [name, value, ...rest] = args.trim().split(/\s+/);
  const key = name === undefined ? undefined : NAMES[name.toLowerCase()];
  if (key === undefined || value === undefined || rest.length > 0) {
    throw new BadArgumentError(`usage: /set <name> <value>, name one of ${Object.keys(NAMES).filter((n) => !n.includes('-')).join(', ')}`);
  }
  const v = Number(value);
  if (value.trim() === '' || !Number.isFinite(v) || !CHECKS[key](v)) throw new BadArgumentError(`${name} ${value} is out of range`);
  p[key] = v;
  return `${name} = ${v}`;
}
