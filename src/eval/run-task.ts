/**
 * Runs a task definition: reads the split (and the few-shot pool), preprocesses items, builds
 * prompts, scores them on the backend, and aggregates. Multiple choice reports acc and acc_norm;
 * generative tasks report exact_match after extraction, pass@k after running the code, IFEval's
 * four accuracies (ifeval/), or BFCL's AST-match accuracy (bfcl/).
 */
import { basename, dirname, isAbsolute, join } from 'node:path';
import { BadArgumentError } from '../errors/errors.js';
import { exactMatch, extractAnswer } from './extract.js';
import { buildPrompt, fewshotDocs, type GenPrompt, type McPrompt } from './prompt.js';
import { processDoc, type Doc } from './process.js';
import { isFolder, readRows, requireSplit, splitFile } from './dataset.js';
import { scoreMc } from './mc.js';
import { mapBounded } from './pool.js';
import { renderTemplate } from './template.js';
import { passAtK, runPython } from './sandbox.js';
import type { TaskDefinition } from './taskdef.js';
import type { EvalBackend, EvalRecord } from './types.js';
import { joinById } from './bfcl/data.js';
import { aggregateIfeval, scoreIfevalItem, type IfevalItem, type IfevalItemScore } from './ifeval/score.js';
import { matchSimpleCall, type BfclAnswer } from './bfcl/ast-match.js';
import type { BfclFunction } from './bfcl/functions.js';
import { floatLiteralArgs } from './bfcl/literals.js';
import { parseAssistantMessage } from '../chat/tools.js';

export interface TaskResult {
  readonly task: string;
  readonly n: number;
  readonly acc?: number;
  readonly acc_norm?: number;
  readonly exact_match?: number;
  /** IFEval (metric ifeval). */
  readonly prompt_level_strict_acc?: number;
  readonly inst_level_strict_acc?: number;
  readonly prompt_level_loose_acc?: number;
  readonly inst_level_loose_acc?: number;
  readonly ifeval_average?: number;
  /** BFCL (metric ast_match): the share of calls matching a possible answer. */
  readonly accuracy?: number;
  /** Items left out because they use checks this harness does not have, and which (id → items). */
  readonly skipped?: number;
  readonly skipped_instructions?: Readonly<Record<string, number>>;
  /** pass@k tasks: one entry per reported k. */
  readonly [passAt: `pass@${number}`]: number | undefined;
}

export interface RunTaskOptions {
  /** Dataset file or folder (overrides the definition's). */
  readonly data?: string;
  /** Few-shot pool file (overrides fewshot_split). */
  readonly fewshotData?: string;
  readonly limit?: number;
  /** Override num_fewshot. */
  readonly numFewshot?: number;
  readonly onRecord?: (r: EvalRecord) => void;
  readonly onProgress?: (done: number, total: number) => void;
  /** Renders a generation prompt as text for the records (the local backend's promptText). */
  readonly promptText?: (p: GenPrompt['prompt']) => string;
}

export interface LoadedTask {
  readonly docs: Doc[];
  readonly pool: { readonly docs: Doc[]; readonly sameAsEval: boolean };
}

/** Reads the evaluated split and the few-shot pool, preprocessed. */
export async function loadTaskData(def: TaskDefinition, o: Pick<RunTaskOptions, 'data' | 'fewshotData'> = {}): Promise<LoadedTask> {
  const where = o.data ?? def.dataset;
  if (where === undefined) throw new BadArgumentError(`task ${def.name} needs --data <file or folder>`);
  const split = def.split ?? 'test';
  const evalFile = isFolder(where) ? requireSplit(where, split) : where;
  const process = (rows: Record<string, unknown>[], file: string): Doc[] => rows.map((r, i) => (def.process ? processDoc(def.process, r, `${file} record ${i + 1}`) : r));
  let rows = await readRows(evalFile);
  if (def.answers !== undefined) {
    const rel = def.answers.split('{name}').join(basename(evalFile));
    const answersFile = isAbsolute(rel) ? rel : join(dirname(evalFile), rel);
    rows = joinById(rows, await readRows(answersFile), answersFile);
  }
  const docs = process(rows, evalFile);
  if (def.fewshot_samples !== undefined && o.fewshotData === undefined) return { docs, pool: { docs: def.fewshot_samples.map((x) => ({ ...x })), sameAsEval: false } };
  let poolFile: string | undefined = o.fewshotData;
  if (poolFile === undefined && def.fewshot_split !== undefined && (def.num_fewshot ?? 0) > 0) {
    poolFile = splitFile(isFolder(where) ? where : dirname(evalFile), def.fewshot_split);
  }
  if (poolFile === undefined || poolFile === evalFile) return { docs, pool: { docs, sameAsEval: true } };
  return { docs, pool: { docs: process(await readRows(poolFile), poolFile), sameAsEval: false } };
}

/** The prompt of item `index` (few-shot chosen by seed): what the format tests pin down. */
export function itemPrompt(def: TaskDefinition, data: LoadedTask, index: number): McPrompt | GenPrompt {
  const doc = data.docs[index];
  if (doc === undefined) throw new BadArgumentError(`task ${def.name} has no item ${index}`);
  return buildPrompt(def, doc, fewshotDocs(def, data.pool, doc, index));
}

export async function runTask(backend: EvalBackend, def: TaskDefinition, o: RunTaskOptions = {}): Promise<TaskResult> {
  if (o.numFewshot !== undefined) def = { ...def, num_fewshot: o.numFewshot };
  const data = await loadTaskData(def, o);
  if (def.metric === 'ifeval') return runIfeval(backend, def, data, o);
  const n = Math.min(data.docs.length, o.limit ?? Infinity);
  if (n === 0) throw new BadArgumentError(`task ${def.name}: no items`);
  const prompts = Array.from({ length: n }, (_, i) => itemPrompt(def, data, i));
  let done = 0;
  const tick = (): void => o.onProgress?.(++done, n);
  if (def.output_type === 'multiple_choice') {
    const r = await scoreMc(backend, prompts as McPrompt[], o.onRecord, tick);
    return { task: def.name, n: r.n, acc: r.acc, acc_norm: r.acc_norm };
  }
  const gens = prompts as GenPrompt[];
  const gen = def.generation ?? {};
  if (def.metric === 'pass@k') return runCode(backend, def, data.docs.slice(0, n), gens, o, tick);
  const outputs = await backend.generate(
    gens.map((g) => ({ prompt: g.prompt, maxTokens: gen.max_tokens ?? 256, stop: gen.until ?? [] })),
    tick,
  );
  if (def.metric === 'ast_match') return scoreAst(def, data.docs.slice(0, n), gens, outputs, o);
  let sum = 0;
  outputs.forEach((out, i) => {
    const g = gens[i]!;
    const full = (def.gen_prefix ?? '') + out;
    const extracted = extractAnswer(def.gen_prefix !== undefined ? full : out, def.extraction ?? 'none');
    const score = exactMatch(extracted, g.target, def.normalize);
    sum += score;
    o.onRecord?.({
      index: i,
      prompt: o.promptText ? o.promptText(g.prompt) : typeof g.prompt === 'string' ? g.prompt : JSON.stringify(g.prompt),
      target: g.target,
      output: out,
      extracted: extracted ?? '[invalid]',
      scores: { exact_match: score },
    });
  });
  return { task: def.name, n, exact_match: sum / n };
}

/**
 * pass@k: num_samples completions per item (greedy for one; sampled with per-sample seeds
 * otherwise), each run as `program` in the sandbox; the unbiased estimator per item, averaged.
 */
async function runCode(backend: EvalBackend, def: TaskDefinition, docs: readonly Doc[], gens: readonly GenPrompt[], o: RunTaskOptions, tick: () => void): Promise<TaskResult> {
  const samples = def.num_samples ?? 1;
  const ks = def.k ?? [1];
  const gen = def.generation ?? {};
  const seed = def.fewshot_seed ?? 1234;
  const reqs = gens.flatMap((g) =>
    Array.from({ length: samples }, (_, s) => ({
      prompt: g.prompt,
      maxTokens: gen.max_tokens ?? 512,
      stop: gen.until ?? [],
      ...(samples > 1 ? { temperature: gen.temperature ?? 0.8, seed: seed + s } : {}),
    })),
  );
  const left = gens.map(() => samples);
  const outputs = await backend.generate(reqs, (j) => {
    if (--left[Math.floor(j / samples)]! === 0) tick();
  });
  const limits = { timeoutMs: def.sandbox?.timeout_ms ?? 10_000, memoryBytes: (def.sandbox?.memory_mb ?? 1024) * 2 ** 20 };
  // Two programs at a time: they are CPU-bound and the engine may still be busy.
  const runs = await mapBounded(outputs, 2, (completion, j) => runPython(renderTemplate(def.program!, { ...docs[Math.floor(j / samples)]!, completion }, 'program'), limits));
  const sums = ks.map(() => 0);
  gens.forEach((g, i) => {
    const mine = runs.slice(i * samples, (i + 1) * samples);
    const c = mine.filter((r) => r.status === 'passed').length;
    const scores: Record<string, number> = {};
    ks.forEach((k, x) => {
      const p = passAtK(samples, c, k);
      sums[x]! += p;
      scores[`pass@${k}`] = p;
    });
    o.onRecord?.({
      index: i,
      prompt: o.promptText ? o.promptText(g.prompt) : typeof g.prompt === 'string' ? g.prompt : JSON.stringify(g.prompt),
      target: g.target,
      output: outputs[i * samples]!,
      extracted: mine.map((r) => r.status).join(','),
      scores,
    });
  });
  const out: Record<string, number | string> = { task: def.name, n: gens.length };
  ks.forEach((k, x) => (out[`pass@${k}`] = sums[x]! / gens.length));
  return out as unknown as TaskResult;
}

const recordPrompt = (o: RunTaskOptions, g: GenPrompt): string => (o.promptText ? o.promptText(g.prompt) : typeof g.prompt === 'string' ? g.prompt : JSON.stringify(g.prompt));

/**
 * IFEval: items whose instructions include one this harness cannot check are left out before
 * generating, counted in `skipped` and named in `skipped_instructions`; the rest are scored
 * strict and loose, at prompt and instruction level.
 */
async function runIfeval(backend: EvalBackend, def: TaskDefinition, data: LoadedTask, o: RunTaskOptions): Promise<TaskResult> {
  const rows = data.docs.slice(0, o.limit ?? Infinity);
  const skippedIds: Record<string, number> = {};
  const kept: Doc[] = [];
  for (const d of rows) {
    const u = d.ifeval_unsupported as string[] | undefined;
    if (u === undefined) kept.push(d);
    else for (const id of new Set(u)) skippedIds[id] = (skippedIds[id] ?? 0) + 1;
  }
  const skipped = rows.length - kept.length;
  if (kept.length === 0) throw new BadArgumentError(`task ${def.name}: no items left to score (${skipped} use unsupported instructions: ${Object.keys(skippedIds).join(', ')})`);
  const view: LoadedTask = { docs: kept, pool: { docs: [], sameAsEval: false } };
  const gens = kept.map((_, i) => itemPrompt({ ...def, num_fewshot: 0 }, view, i) as GenPrompt);
  let done = 0;
  const gen = def.generation ?? {};
  const outputs = await backend.generate(
    gens.map((g) => ({ prompt: g.prompt, maxTokens: gen.max_tokens ?? 1280, stop: gen.until ?? [] })),
    () => o.onProgress?.(++done, kept.length),
  );
  const scores: IfevalItemScore[] = outputs.map((out, i) => {
    const item = kept[i]!.ifeval as IfevalItem;
    const s = scoreIfevalItem(item, out);
    o.onRecord?.({
      index: i,
      prompt: recordPrompt(o, gens[i]!),
      target: item.instructions.map((x) => x.id).join(','),
      output: out,
      extracted: item.instructions.map((x, k) => `${x.id}:${s.strict[k] ? 'strict' : s.loose[k] ? 'loose' : 'fail'}`).join(','),
      scores: { prompt_level_strict_acc: s.strict.every(Boolean) ? 1 : 0, prompt_level_loose_acc: s.loose.every(Boolean) ? 1 : 0 },
    });
    return s;
  });
  return { task: def.name, n: kept.length, ...aggregateIfeval(scores), skipped, ...(skipped > 0 ? { skipped_instructions: skippedIds } : {}) };
}

/** BFCL simple: the reply's tool calls (Llama 3.1 formats, via the tool-call parser) against the possible answers. */
function scoreAst(def: TaskDefinition, docs: readonly Doc[], gens: readonly GenPrompt[], outputs: readonly string[], o: RunTaskOptions): TaskResult {
  let sum = 0;
  outputs.forEach((out, i) => {
    const d = docs[i]!;
    const answer = d.answer as BfclAnswer;
    const expected = Object.keys(answer)[0]!;
    const fn = (d.functions as BfclFunction[]).find((f) => f.name === expected)!;
    const parsed = parseAssistantMessage(out);
    const m = matchSimpleCall(parsed.toolCalls.map((c) => ({ name: c.name, arguments: c.arguments, floatLiterals: floatLiteralArgs(c.raw ?? '') })), fn, answer);
    if (m.valid) sum++;
    o.onRecord?.({
      index: i,
      prompt: recordPrompt(o, gens[i]!),
      target: JSON.stringify(answer),
      output: out,
      extracted: m.valid ? JSON.stringify(parsed.toolCalls.map((c) => ({ name: c.name, arguments: c.arguments }))) : m.error,
      scores: { accuracy: m.valid ? 1 : 0 },
    });
  });
  return { task: def.name, n: outputs.length, accuracy: sum / outputs.length };
}
