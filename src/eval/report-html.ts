/**
 * A self-contained HTML report: one inline SVG bar chart per task (every rate metric as a bar;
 * Meta's published Llama 3.1 figures as extra bars beside the headline metric when given), and a
 * table of the same numbers. No scripts, fonts or other files: it opens offline and can be mailed.
 */
import type { PublishedRow } from './published.js';
import type { TaskResult } from './run-task.js';

export interface ReportEntry {
  /** A task's result, or the generic tasks' result objects (perplexity, mc). */
  readonly result: Readonly<Record<string, unknown>> & { readonly task?: string };
  /** Task name when the result does not carry one (the generic tasks). */
  readonly task?: string;
  /** The metric the published figure compares with (default: the first rate metric). */
  readonly headline?: string;
  /** Meta's row for this task (`--compare published`); null: compared, none exists. */
  readonly published?: PublishedRow | null;
}

export interface HtmlReportOptions {
  readonly title?: string;
  /** The model or endpoint evaluated (shown in the header). */
  readonly model?: string;
  /** Extra lines under the header (time per item, date…). */
  readonly notes?: readonly string[];
}

/** Counts and sizes rather than rates: shown in the table, not as bars. */
const NOT_RATES = new Set(['n', 'skipped', 'tokens', 'ppl', 'nll']);

const esc = (s: string): string => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

/** The metrics of a result that are rates in [0, 1] (drawn as percentages). */
export function rateMetrics(r: Readonly<Record<string, unknown>>): [string, number][] {
  return Object.entries(r).filter((e): e is [string, number] => typeof e[1] === 'number' && !NOT_RATES.has(e[0]) && e[1] >= 0 && e[1] <= 1);
}

interface Bar {
  readonly label: string;
  readonly percent: number;
  readonly published: boolean;
}

const BAR_H = 18;
const GAP = 6;
const LABEL_W = 230;
const PLOT_W = 420;

function chart(task: string, bars: readonly Bar[]): string {
  const h = bars.length * (BAR_H + GAP) + 28;
  const rows = bars.map((b, i) => {
    const y = 8 + i * (BAR_H + GAP);
    const w = Math.max(0, Math.min(100, b.percent)) * (PLOT_W / 100);
    const fill = b.published ? '#b0b7c3' : '#2f6fdf';
    return (
      `<text x="${LABEL_W - 8}" y="${y + BAR_H - 5}" text-anchor="end">${esc(b.label)}</text>` +
      `<rect class="${b.published ? 'published' : 'measured'}" x="${LABEL_W}" y="${y}" width="${w.toFixed(1)}" height="${BAR_H}" fill="${fill}"><title>${esc(b.label)}: ${b.percent.toFixed(2)} %</title></rect>` +
      `<text x="${(LABEL_W + w + 6).toFixed(1)}" y="${y + BAR_H - 5}">${b.percent.toFixed(2)}</text>`
    );
  });
  const axisY = h - 18;
  const ticks = [0, 25, 50, 75, 100].map((t) => {
    const x = LABEL_W + (t * PLOT_W) / 100;
    return `<line x1="${x}" y1="4" x2="${x}" y2="${axisY}" stroke="#e3e6eb"/><text x="${x}" y="${axisY + 14}" text-anchor="middle" class="tick">${t}</text>`;
  });
  return (
    `<svg xmlns="http://www.w3.org/2000/svg" role="img" aria-label="${esc(task)} results" width="${LABEL_W + PLOT_W + 70}" height="${h}" font-family="sans-serif" font-size="12">` +
    ticks.join('') +
    rows.join('') +
    `</svg>`
  );
}

function barsOf(e: ReportEntry): Bar[] {
  const rates = rateMetrics(e.result);
  const bars: Bar[] = [];
  const headline = e.headline ?? rates[0]?.[0];
  for (const [k, v] of rates) {
    bars.push({ label: k, percent: v * 100, published: false });
    if (k === headline && e.published) {
      const p = e.published;
      for (const size of ['8B', '70B', '405B'] as const) bars.push({ label: `Llama 3.1 ${size} ${p.models} (published)`, percent: p[size], published: true });
    }
  }
  return bars;
}

function tableOf(e: ReportEntry): string {
  const cells = Object.entries(e.result)
    .filter(([k]) => k !== 'task')
    .map(([k, v]) => {
      const shown = typeof v === 'number' ? (NOT_RATES.has(k) || v < 0 || v > 1 ? String(v) : `${(v * 100).toFixed(2)} %`) : esc(JSON.stringify(v));
      return `<tr><td>${esc(k)}</td><td>${shown}</td></tr>`;
    });
  if (e.published === null) cells.push('<tr><td>published</td><td>none for this task</td></tr>');
  else if (e.published) {
    const p = e.published;
    cells.push(`<tr><td>published</td><td>Llama 3.1 ${p.models} ${esc(p.benchmark)} (${esc(p.setting)}): 8B ${p['8B']}, 70B ${p['70B']}, 405B ${p['405B']}</td></tr>`);
  }
  return `<table>${cells.join('')}</table>`;
}

export function htmlReport(entries: readonly ReportEntry[], o: HtmlReportOptions = {}): string {
  const title = o.title ?? 'llama-ts eval report';
  const sections = entries.map((e) => {
    const task = e.result.task ?? e.task ?? 'task';
    const bars = barsOf(e);
    return `<section><h2>${esc(String(task))}</h2>${bars.length > 0 ? chart(String(task), bars) : '<p>No rate metrics to chart.</p>'}${tableOf(e)}</section>`;
  });
  const head = [o.model !== undefined ? `<p>Model: <code>${esc(o.model)}</code></p>` : '', ...(o.notes ?? []).map((n) => `<p>${esc(n)}</p>`)].join('');
  return (
    `<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8"><title>${esc(title)}</title>` +
    `<style>body{font-family:sans-serif;margin:2em;color:#1d2330}table{border-collapse:collapse;margin:.5em 0 2em}td{border:1px solid #d5d9e0;padding:.25em .6em}svg text.tick{fill:#667}</style>` +
    `</head><body><h1>${esc(title)}</h1>${head}${sections.join('')}` +
    `<p>Bars: measured (blue) in percent; grey bars are Meta's published Llama 3.1 figures for the comparable setting.</p></body></html>\n`
  );
}

/** The metric a task's published figure compares with. */
export function headlineMetric(metric: string | undefined, result: Partial<TaskResult>): string | undefined {
  if (metric === 'pass@k') return 'pass@1' in result ? 'pass@1' : undefined;
  if (metric === 'ifeval') return 'ifeval_average';
  if (metric === 'ast_match') return 'accuracy';
  return metric ?? ('acc' in result ? 'acc' : undefined);
}
