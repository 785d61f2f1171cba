/**
 * `llama-ts eval -m <model-or-URL> --task <name-or-file> [--data <file>] [--limit N] [--json]`.
 * The result object goes to stdout as one JSON line (the generic tasks always print JSON, as
 * other tools parse it); progress with ETA and the time per item go to stderr.
 */
import { writeFileSync } from 'node:fs';
import cliProgress from 'cli-progress';
import type { BackendName } from '../model/load.js';
import type { EvalBackend, EvalRecord } from '../eval/types.js';
import { LocalBackend } from '../eval/local.js';
import { OpenAIBackend, isEndpoint } from '../eval/openai.js';
import { evaluate, isDefinitionFile, type EvaluateOptions } from '../eval/evaluate.js';
import { builtinTask, requireBuiltin } from '../eval/builtin.js';
import { loadTaskDefinition } from '../eval/taskdef.js';
import { headlineMetric, htmlReport } from '../eval/report-html.js';
import { publishedFor, type PublishedRow } from '../eval/published.js';
import { BadArgumentError } from '../errors/errors.js';
import type { TaskResult } from '../eval/run-task.js';

export interface EvalCommandOptions {
  readonly model: string;
  readonly task: string;
  readonly data?: string;
  readonly limit?: number;
  readonly json: boolean;
  readonly ctx?: number;
  readonly stride?: number;
  readonly field?: string;
  readonly records?: string;
  /** Write a self-contained HTML report (bar chart, published figures with --compare) to this file. */
  readonly html?: string;
  readonly concurrency?: number;
  readonly numFewshot?: number;
  readonly fewshotData?: string;
  /** Endpoint backends: the `model` field and a bearer key. */
  readonly modelName?: string;
  readonly apiKey?: string;
  /** 'published': Meta's Llama 3.1 figure beside the result. */
  readonly compare?: string;
  readonly backend: BackendName;
  readonly threads?: number;
  readonly progress: boolean;
}

export async function evalCommand(o: EvalCommandOptions, out: (s: string) => void): Promise<void> {
  const generic = o.task === 'perplexity' || o.task === 'mc';
  if (o.compare !== undefined && o.compare !== 'published') throw new BadArgumentError(`--compare takes 'published', got ${JSON.stringify(o.compare)}`);
  if (!generic && !isDefinitionFile(o.task)) requireBuiltin(o.task); // a bad name fails before the model loads
  let backend: EvalBackend;
  let dispose = async (): Promise<void> => {};
  if (isEndpoint(o.model)) {
    backend = new OpenAIBackend(o.model, { ...(o.modelName !== undefined ? { model: o.modelName } : {}), ...(o.apiKey !== undefined ? { apiKey: o.apiKey } : {}), ...(o.concurrency !== undefined ? { concurrency: o.concurrency } : {}) });
  } else {
    const { loadModelForCli } = await import('./progress.js');
    const { model } = await loadModelForCli(o.model, { backend: o.backend, progress: o.progress, ...(o.threads !== undefined ? { threads: o.threads } : {}) });
    backend = new LocalBackend(model, o.concurrency !== undefined ? { concurrency: o.concurrency } : {});
    dispose = () => model.dispose();
  }
  const records: EvalRecord[] = [];
  const bar = progressBar(o.progress);
  const t0 = performance.now();
  let items = 0;
  try {
    const opts: EvaluateOptions = {
      ...(o.data !== undefined ? { data: o.data } : {}),
      ...(o.limit !== undefined ? { limit: o.limit } : {}),
      ...(o.ctx !== undefined ? { ctx: o.ctx } : {}),
      ...(o.stride !== undefined ? { stride: o.stride } : {}),
      ...(o.field !== undefined ? { field: o.field } : {}),
      ...(o.numFewshot !== undefined ? { numFewshot: o.numFewshot } : {}),
      ...(o.fewshotData !== undefined ? { fewshotData: o.fewshotData } : {}),
      onRecord: (r) => records.push(r),
      onProgress: (done, total) => {
        items = done;
        bar.update(done, total);
      },
    };
    const result: object = await evaluate(backend, o.task, opts);
    bar.stop();
    const s = (performance.now() - t0) / 1000;
    const perToken = o.task === 'perplexity';
    const n = perToken ? (result as { tokens: number }).tokens : items;
    const unit = perToken ? 'token' : 'item';
    process.stderr.write(`${o.task}: ${n} ${unit}s in ${s.toFixed(2)} s (${((s * 1000) / Math.max(1, n)).toFixed(2)} ms/${unit})\n`);
    if (o.records !== undefined) writeFileSync(o.records, records.map((r) => JSON.stringify(r)).join('\n') + (records.length ? '\n' : ''));
    // The generic tasks always print their JSON (other tools parse it); defined tasks print a table unless --json.
    let shown: object = result;
    if (o.compare !== undefined) {
      const row = publishedFor((result as TaskResult).task ?? o.task);
      shown = { ...result, published: row ?? null };
    }
    if (o.html !== undefined) {
      const taskName = (result as TaskResult).task ?? o.task;
      const metric = generic ? undefined : (isDefinitionFile(o.task) ? loadTaskDefinition(o.task) : builtinTask(o.task))?.metric;
      const headline = generic ? undefined : headlineMetric(metric, result as TaskResult);
      const entry = {
        result: result as unknown as Record<string, unknown>,
        task: taskName,
        ...(headline !== undefined ? { headline } : {}),
        ...(o.compare !== undefined ? { published: publishedFor(taskName) ?? null } : {}),
      };
      writeFileSync(o.html, htmlReport([entry], { model: o.model, notes: [`${n} ${unit}s in ${s.toFixed(2)} s (${((s * 1000) / Math.max(1, n)).toFixed(2)} ms/${unit})`] }));
    }
    out(generic || o.json ? JSON.stringify(shown) + '\n' : table(result as TaskResult, o.compare !== undefined ? publishedFor((result as TaskResult).task) ?? null : undefined));
  } finally {
    bar.stop();
    await dispose();
  }
}

/** A two-column table of a task's metrics. */
export function table(r: TaskResult, published?: PublishedRow | null): string {
  const rows: [string, string][] = [['task', r.task], ['n', String(r.n)]];
  for (const [k, v] of Object.entries(r)) {
    if (k === 'task' || k === 'n') continue;
    if (k === 'skipped' && typeof v === 'number') rows.push([k, String(v)]);
    else if (typeof v === 'number') rows.push([k, `${(v * 100).toFixed(2)} %`]);
    else if (k === 'skipped_instructions' && typeof v === 'object' && v !== null) rows.push([k, Object.entries(v).map(([id, c]) => `${id} (${String(c)})`).join(', ')]);
  }
  if (published === null) rows.push(['published', 'none for this task']);
  else if (published) {
    rows.push(['published', `Llama 3.1 ${published.models} ${published.benchmark} (${published.setting}): 8B ${published['8B']}, 70B ${published['70B']}, 405B ${published['405B']}`]);
  }
  const w = Math.max(...rows.map(([k]) => k.length));
  return rows.map(([k, v]) => `${k.padEnd(w)}  ${v}`).join('\n') + '\n';
}

/** A progress bar with ETA on stderr, only on a terminal. */
function progressBar(enabled: boolean): { update: (done: number, total: number) => void; stop: () => void } {
  if (!enabled || !process.stderr.isTTY) return { update: () => {}, stop: () => {} };
  let bar: cliProgress.SingleBar | undefined;
  return {
    update(done, total) {
      if (!bar) {
        bar = new cliProgress.SingleBar({ stream: process.stderr, format: 'eval [{bar}] {value}/{total} | ETA {eta_formatted}', hideCursor: true, clearOnComplete: true }, cliProgress.Presets.shades_classic);
        bar.start(total, 0);
      }
      bar.update(done);
    },
    stop() {
      bar?.stop();
      bar = undefined;
    },
  };
}
