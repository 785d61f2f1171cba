/**
 * The task definition format (JSON or YAML; keys as lm-evaluation-harness names them where they
 * exist). A definition says where the data is, how an item becomes a prompt, how few-shot
 * examples are chosen, and how the answer is scored:
 *
 *   name               task name (reports)
 *   output_type        'multiple_choice' (log-likelihood) | 'generate_until' (generate + extract)
 *   dataset            JSONL/Parquet file, or a folder holding <split>.jsonl; relative to the definition file; --data overrides
 *   split              the evaluated split when dataset is a folder (default 'test')
 *   fewshot_split      where few-shot examples come from (a sibling <fewshot_split>.jsonl; default: the evaluated file, never the item itself)
 *   fewshot_samples    a fixed list of few-shot items (Meta's GSM8K exemplars) instead of a split
 *   fewshot_match      only few-shot examples with the same value of this field (MMLU: 'subject')
 *   process            built-in doc preprocessing: mmlu | arc | hellaswag | winogrande | gsm8k | ifeval | bfcl
 *   answers            a second file joined to the items by "id" (BFCL's possible answers); relative to the
 *                      dataset file's folder, "{name}" standing for the dataset file's name
 *   tools              chat: the item field holding OpenAI-style tool definitions, passed to the chat template
 *   description        template placed before everything (plain) / as the system message (chat, if no `system`)
 *   prompt             template: item → question text (Jinja, fields of the processed item)
 *   choices            multiple_choice: a list of templates, or the name of a list field of the item
 *   gold               multiple_choice: template → index of the right choice
 *   contexts           multiple_choice, partial scoring (Winogrande): list field of per-choice contexts; `continuation` is then scored after each
 *   continuation       template of the shared continuation for `contexts`
 *   target             generate_until: template → the reference answer
 *   fewshot_target     template → a few-shot example's answer text (default: the right choice / `target`)
 *   target_delimiter   between a prompt and its answer (default " ")
 *   fewshot_delimiter  between examples (default "\n\n")
 *   num_fewshot, fewshot_seed (default 1234), fewshot_sampler ('random' | 'first_n')
 *   format             'plain' | 'chat' (the model's chat template via src/chat; few-shot examples become user/assistant turns)
 *   system             chat: a system message (template; omitted when it renders empty)
 *   gen_prefix         text the answer starts with (chat: after the assistant header; plain: after the prompt)
 *   metric             'acc' | 'acc_norm' (multiple_choice) | 'exact_match' | 'pass@k' | 'ifeval' | 'ast_match' (generate_until)
 *                      ifeval: the item's verifiable instructions (process ifeval); ast_match: the tool call against
 *                      BFCL's possible answers (process bfcl)
 *   extraction         see extract.ts (generate_until; default 'none')
 *   normalize          { ignore_case, ignore_punctuation, regexes_to_ignore } for exact_match
 *   generation         { max_tokens (default 256), until (stop strings), temperature (default 0) }
 *   program            pass@k: template of the Python program run per sample ({{completion}} + the item's tests)
 *   num_samples, k     pass@k: samples per item (default 1) and the k values reported (default [1])
 *   sandbox            pass@k: { timeout_ms (default 10000), memory_mb (default 1024) }
 */
import { dirname, isAbsolute, resolve } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { BadArgumentError } from '../errors/errors.js';
import type { ExtractionSpec, NormalizeOptions } from './extract.js';
import type { FewshotSampler } from './fewshot.js';
import type { ProcessName } from './process.js';
import { readText } from './jsonl.js';

export interface TaskDefinition {
  readonly name: string;
  readonly output_type: 'multiple_choice' | 'generate_until';
  readonly dataset?: string;
  readonly split?: string;
  readonly fewshot_split?: string;
  readonly fewshot_match?: string;
  /** Fixed few-shot examples (items with the fields the templates use), instead of a split. */
  readonly fewshot_samples?: readonly Readonly<Record<string, unknown>>[];
  readonly process?: ProcessName;
  /** A file of answers joined by "id" ("{name}" = the dataset file's name), relative to the dataset's folder. */
  readonly answers?: string;
  /** Chat: the item field holding tool definitions for the template. */
  readonly tools?: string;
  readonly description?: string;
  readonly prompt: string;
  readonly choices?: readonly string[] | string;
  readonly gold?: string;
  readonly contexts?: string;
  readonly continuation?: string;
  readonly target?: string;
  readonly fewshot_target?: string;
  readonly target_delimiter?: string;
  readonly fewshot_delimiter?: string;
  readonly num_fewshot?: number;
  readonly fewshot_seed?: number;
  readonly fewshot_sampler?: FewshotSampler;
  readonly format?: 'plain' | 'chat';
  readonly system?: string;
  readonly gen_prefix?: string;
  readonly metric?: 'acc' | 'acc_norm' | 'exact_match' | 'pass@k' | 'ifeval' | 'ast_match';
  readonly extraction?: ExtractionSpec;
  readonly normalize?: NormalizeOptions;
  readonly generation?: { readonly max_tokens?: number; readonly until?: readonly string[]; readonly temperature?: number };
  /** pass@k: the program run per sample (template; the item's fields plus `completion`). */
  readonly program?: string;
  /** pass@k: samples per item (default 1) and the k values reported (default [1]). */
  readonly num_samples?: number;
  readonly k?: readonly number[];
  /** pass@k: limits per program run. */
  readonly sandbox?: { readonly timeout_ms?: number; readonly memory_mb?: number };
}

const KEYS = new Set([
  'name', 'output_type', 'dataset', 'split', 'fewshot_split', 'fewshot_match', 'fewshot_samples', 'process', 'description', 'prompt', 'choices', 'gold', 'contexts', 'continuation',
  'target', 'fewshot_target', 'target_delimiter', 'fewshot_delimiter', 'num_fewshot', 'fewshot_seed', 'fewshot_sampler', 'format', 'system', 'gen_prefix', 'metric',
  'extraction', 'normalize', 'generation', 'program', 'num_samples', 'k', 'sandbox', 'answers', 'tools',
]);
const PROCESSES = new Set(['mmlu', 'arc', 'hellaswag', 'winogrande', 'gsm8k', 'ifeval', 'bfcl']);
const EXTRACTIONS = new Set(['gsm8k', 'final_answer', 'best_answer', 'boxed', 'last_number', 'first_line', 'none']);

function fail(where: string, msg: string): never {
  throw new BadArgumentError(`task definition ${where}: ${msg}`);
}

/** Checks a parsed definition; unknown keys are errors (a typo must not silently change a benchmark). */
export function checkTaskDefinition(v: unknown, where = '(inline)'): TaskDefinition {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) fail(where, 'must be an object');
  const o = v as Record<string, unknown>;
  for (const k of Object.keys(o)) if (!KEYS.has(k)) fail(where, `unknown key "${k}"`);
  const str = (k: string, required = false): void => {
    if (o[k] === undefined ? required : typeof o[k] !== 'string') fail(where, `"${k}" must be a string`);
  };
  str('name', true);
  str('prompt', true);
  for (const k of ['dataset', 'split', 'fewshot_split', 'fewshot_match', 'description', 'gold', 'contexts', 'continuation', 'target', 'fewshot_target', 'target_delimiter', 'fewshot_delimiter', 'system', 'gen_prefix', 'answers', 'tools']) str(k);
  if (o.fewshot_samples !== undefined && !(Array.isArray(o.fewshot_samples) && o.fewshot_samples.every((x) => typeof x === 'object' && x !== null && !Array.isArray(x)))) {
    fail(where, '"fewshot_samples" must be a list of objects');
  }
  if (o.output_type !== 'multiple_choice' && o.output_type !== 'generate_until') fail(where, '"output_type" is multiple_choice or generate_until');
  if (o.process !== undefined && !PROCESSES.has(o.process as string)) fail(where, `"process" is one of ${[...PROCESSES].join(', ')}`);
  if (o.format !== undefined && o.format !== 'plain' && o.format !== 'chat') fail(where, '"format" is plain or chat');
  if (o.fewshot_sampler !== undefined && o.fewshot_sampler !== 'random' && o.fewshot_sampler !== 'first_n') fail(where, '"fewshot_sampler" is random or first_n');
  for (const k of ['num_fewshot', 'fewshot_seed']) {
    if (o[k] !== undefined && (!Number.isInteger(o[k]) || (o[k] as number) < 0)) fail(where, `"${k}" must be a non-negative integer`);
  }
  if (o.output_type === 'multiple_choice') {
    if (o.format === 'chat') fail(where, 'multiple_choice tasks score plain text (use generate_until with format chat)');
    if (o.gold === undefined) fail(where, 'multiple_choice needs "gold"');
    const hasChoices = typeof o.choices === 'string' || (Array.isArray(o.choices) && o.choices.every((c) => typeof c === 'string'));
    if (o.contexts !== undefined) {
      if (o.continuation === undefined) fail(where, '"contexts" needs "continuation"');
    } else if (!hasChoices) fail(where, 'multiple_choice needs "choices" (a list of templates or a field name) or "contexts"');
    if (o.metric !== undefined && o.metric !== 'acc' && o.metric !== 'acc_norm') fail(where, 'multiple_choice metrics are acc and acc_norm');
  } else {
    if (o.metric === 'pass@k') {
      if (typeof o.program !== 'string') fail(where, 'pass@k needs "program" (a template using {{completion}})');
      const n = (o.num_samples as number | undefined) ?? 1;
      if (!Number.isInteger(n) || n < 1) fail(where, '"num_samples" must be a positive integer');
      const ks = (o.k as unknown[] | undefined) ?? [1];
      if (!Array.isArray(ks) || !ks.every((k) => Number.isInteger(k) && (k as number) >= 1 && (k as number) <= n)) fail(where, '"k" must list integers in [1, num_samples]');
      if (n > 1 && !(((o.generation as { temperature?: number } | undefined)?.temperature ?? 0) > 0)) fail(where, 'several samples need generation.temperature > 0');
    } else if (o.metric === 'ifeval') {
      if (o.process !== 'ifeval') fail(where, 'metric ifeval needs process ifeval');
    } else if (o.metric === 'ast_match') {
      if (o.process !== 'bfcl') fail(where, 'metric ast_match needs process bfcl');
      if (o.format !== 'chat' || o.tools === undefined) fail(where, 'metric ast_match needs format chat and "tools"');
    } else {
      if (o.target === undefined) fail(where, 'generate_until needs "target"');
      if (o.metric !== undefined && o.metric !== 'exact_match') fail(where, 'generate_until scores exact_match, pass@k, ifeval or ast_match');
    }
    const x = o.extraction;
    if (x !== undefined && !(typeof x === 'string' ? EXTRACTIONS.has(x) : typeof x === 'object' && x !== null && typeof (x as { regex?: unknown }).regex === 'string')) {
      fail(where, `"extraction" is one of ${[...EXTRACTIONS].join(', ')} or { regex, group?, select?, flags?, fallback? }`);
    }
    const g = o.generation as Record<string, unknown> | undefined;
    if (g !== undefined) {
      if (typeof g !== 'object' || g === null) fail(where, '"generation" must be an object');
      if (g.max_tokens !== undefined && (!Number.isInteger(g.max_tokens) || (g.max_tokens as number) < 1)) fail(where, '"generation.max_tokens" must be a positive integer');
      if (g.until !== undefined && !(Array.isArray(g.until) && g.until.every((s) => typeof s === 'string'))) fail(where, '"generation.until" must be a list of strings');
    }
  }
  return o as unknown as TaskDefinition;
}

/** Reads a definition file (.json, .yaml, .yml); a relative `dataset` is resolved against its folder. */
export function loadTaskDefinition(path: string): TaskDefinition {
  const text = readText(path);
  let v: unknown;
  try {
    v = path.endsWith('.json') ? JSON.parse(text) : parseYaml(text);
  } catch (e) {
    throw new BadArgumentError(`${path}: cannot parse (${(e as Error).message})`);
  }
  const def = checkTaskDefinition(v, path);
  if (def.dataset !== undefined && !isAbsolute(def.dataset)) return { ...def, dataset: resolve(dirname(path), def.dataset) };
  return def;
}
