/**
 * `evaluate(model, task, options)`: the library face of `llama-ts eval`. The two generic tasks
 * need no definition: 'perplexity' (a text, or a text file / JSONL with a `text` field) and 'mc'
 * (items, or a JSONL file of {context, choices, gold}). Any other task is a built-in definition
 * (builtin.ts) by name, a definition file (.json/.yaml), or a TaskDefinition object.
 */
import type { Model } from '../model/types.js';
import { BadArgumentError } from '../errors/errors.js';
import { LocalBackend } from './local.js';
import { readJsonl, readText } from './jsonl.js';
import { perplexity } from './perplexity.js';
import { checkMcItem, multipleChoice } from './mc.js';
import type { EvalBackend, EvalRecord, GenerateRequest, McItem, McResult, PerplexityResult } from './types.js';
import { checkTaskDefinition, loadTaskDefinition, type TaskDefinition } from './taskdef.js';
import { requireBuiltin } from './builtin.js';
import { runTask, type TaskResult } from './run-task.js';

/** A --task value naming a definition file rather than a built-in task. */
export function isDefinitionFile(task: string): boolean {
  return /\.(json|ya?ml)$/i.test(task);
}

export interface EvaluateOptions {
  /** Dataset file: a text file or JSONL (perplexity), JSONL (mc). */
  readonly data?: string;
  /** perplexity: the text itself instead of a file. */
  readonly text?: string;
  /** mc: the items themselves instead of a file. */
  readonly items?: readonly McItem[];
  /** Items (mc) or windows per document (perplexity) to evaluate at most. */
  readonly limit?: number;
  /** perplexity window and stride in tokens. */
  readonly ctx?: number;
  readonly stride?: number;
  /** perplexity on JSONL: the field holding the text (default "text"). */
  readonly field?: string;
  /** Task definitions: the few-shot pool file, and num_fewshot overridden. */
  readonly fewshotData?: string;
  readonly numFewshot?: number;
  /** Requests in flight at once on a local model (default 16). */
  readonly concurrency?: number;
  /** Called once per scored item with its audit record. */
  readonly onRecord?: (record: EvalRecord) => void;
  /** Called as items (perplexity: windows of the current document) finish: (done, total). */
  readonly onProgress?: (done: number, total: number) => void;
}

export function isBackend(m: Model | EvalBackend): m is EvalBackend {
  return typeof (m as EvalBackend).loglikelihood === 'function';
}

export function backendFor(m: Model | EvalBackend, o: { readonly concurrency?: number } = {}): EvalBackend {
  return isBackend(m) ? m : new LocalBackend(m, o.concurrency !== undefined ? { concurrency: o.concurrency } : {});
}

function checkLimit(limit: number | undefined): void {
  if (limit !== undefined && (!Number.isInteger(limit) || limit < 1)) throw new BadArgumentError(`limit must be a positive integer, got ${limit}`);
}

export async function evaluate(model: Model | EvalBackend, task: 'perplexity', options: EvaluateOptions): Promise<PerplexityResult>;
export async function evaluate(model: Model | EvalBackend, task: 'mc', options: EvaluateOptions): Promise<McResult>;
export async function evaluate(model: Model | EvalBackend, task: string | TaskDefinition, options?: EvaluateOptions): Promise<TaskResult>;
export async function evaluate(model: Model | EvalBackend, task: string | TaskDefinition, options: EvaluateOptions = {}): Promise<PerplexityResult | McResult | TaskResult> {
  checkLimit(options.limit);
  const backend = backendFor(model, options);
  if (typeof task !== 'string' || (task !== 'perplexity' && task !== 'mc')) {
    const def = typeof task !== 'string' ? checkTaskDefinition(task) : isDefinitionFile(task) ? loadTaskDefinition(task) : requireBuiltin(task);
    const text = backend instanceof LocalBackend ? (p: GenerateRequest['prompt']) => backend.promptText({ prompt: p, maxTokens: 1, stop: [] }) : undefined;
    return runTask(backend, def, {
      ...(options.data !== undefined ? { data: options.data } : {}),
      ...(options.fewshotData !== undefined ? { fewshotData: options.fewshotData } : {}),
      ...(options.limit !== undefined ? { limit: options.limit } : {}),
      ...(options.numFewshot !== undefined ? { numFewshot: options.numFewshot } : {}),
      ...(options.onRecord ? { onRecord: options.onRecord } : {}),
      ...(options.onProgress ? { onProgress: options.onProgress } : {}),
      ...(text ? { promptText: text } : {}),
    });
  }
  if (task === 'perplexity') return perplexity(backend, perplexityTexts(options), { ...pick(options), ...(options.onProgress ? { onWindow: options.onProgress } : {}) });
  if (task === 'mc') {
    let items = options.items ? options.items.map((it, i) => checkMcItem(it as unknown as Record<string, unknown>, `item ${i}`)) : mcItemsFromFile(options.data);
    if (options.limit !== undefined) items = items.slice(0, options.limit);
    let done = 0;
    return multipleChoice(backend, items, options.onRecord, () => options.onProgress?.(++done, items.length));
  }
  throw new BadArgumentError(`unknown task ${JSON.stringify(task)}`);
}

function pick(o: EvaluateOptions): { ctx?: number; stride?: number; limit?: number } {
  return { ...(o.ctx !== undefined ? { ctx: o.ctx } : {}), ...(o.stride !== undefined ? { stride: o.stride } : {}), ...(o.limit !== undefined ? { limit: o.limit } : {}) };
}

function perplexityTexts(o: EvaluateOptions): string[] {
  if (o.text !== undefined) return [o.text];
  if (o.data === undefined) throw new BadArgumentError('perplexity needs --data <text file> (or options.text)');
  if (!o.data.endsWith('.jsonl')) return [readText(o.data)];
  const field = o.field ?? 'text';
  return readJsonl(o.data).map((r, i) => {
    const t = r[field];
    if (typeof t !== 'string') throw new BadArgumentError(`${o.data} record ${i + 1}: no string field "${field}"`);
    return t;
  });
}

function mcItemsFromFile(path: string | undefined): McItem[] {
  if (path === undefined) throw new BadArgumentError('mc needs --data <jsonl> (or options.items)');
  return readJsonl(path).map((r, i) => checkMcItem(r, `${path} record ${i + 1}`));
}
