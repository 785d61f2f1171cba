import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fixture, skipNoFixtures, REPO_ROOT } from './fixtures.js';
import { headlineMetric, htmlReport, rateMetrics } from '../src/eval/report-html.js';
import { PUBLISHED, publishedFor } from '../src/eval/published.js';

const rects = (html: string): { cls: string; width: number; label: string }[] =>
  [...html.matchAll(/<rect class="(\w+)" x="\d+" y="\d+" width="([\d.]+)" height="\d+" fill="[^"]+"><title>([^<]*)<\/title><\/rect>/g)].map((m) => ({ cls: m[1]!, width: Number(m[2]), label: m[3]! }));

test('HTML report: one SVG bar per rate metric with its number, published bars beside the headline metric, counts only in the table', () => {
  const html = htmlReport(
    [
      { result: { task: 'ifeval_llama', n: 3, prompt_level_strict_acc: 1 / 3, inst_level_strict_acc: 0.5, prompt_level_loose_acc: 2 / 3, inst_level_loose_acc: 0.75, ifeval_average: 0.5625, skipped: 1 }, headline: 'ifeval_average', published: publishedFor('ifeval_llama')! },
      { result: { ppl: 12.5, nll: 2.52, tokens: 40 }, task: 'perplexity' },
      { result: { task: 'hellaswag', n: 2, acc: 0.5, acc_norm: 1 }, published: null },
    ],
    { model: 'tiny<model>.gguf', notes: ['3 items in 1.00 s'] },
  );
  assert.match(html, /^<!DOCTYPE html>/);
  assert.ok(!/<script|https?:\/\/(?!www\.w3\.org\/2000\/svg)/.test(html), 'self-contained: no scripts, no links out');
  assert.equal((html.match(/<svg /g) ?? []).length, 2); // perplexity has no rate metric to chart
  const bars = rects(html);
  assert.deepEqual(
    bars.map((b) => b.label),
    [
      'prompt_level_strict_acc: 33.33 %',
      'inst_level_strict_acc: 50.00 %',
      'prompt_level_loose_acc: 66.67 %',
      'inst_level_loose_acc: 75.00 %',
      'ifeval_average: 56.25 %',
      'Llama 3.1 8B instruct (published): 80.40 %',
      'Llama 3.1 70B instruct (published): 87.50 %',
      'Llama 3.1 405B instruct (published): 88.60 %',
      'acc: 50.00 %',
      'acc_norm: 100.00 %',
    ],
  );
  // Bar lengths are proportional to the value (420 px = 100 %).
  assert.equal(bars[1]!.width, 210);
  assert.equal(bars[5]!.width, Number((0.804 * 420).toFixed(1)));
  assert.equal(bars.filter((b) => b.cls === 'published').length, 3);
  assert.match(html, />56\.25<\/text>/);
  assert.match(html, /<td>skipped<\/td><td>1<\/td>/);
  assert.match(html, /<td>ppl<\/td><td>12\.5<\/td>/);
  assert.match(html, /<td>published<\/td><td>none for this task<\/td>/);
  assert.match(html, /tiny&lt;model&gt;\.gguf/);
  assert.deepEqual(rateMetrics({ n: 5, acc: 0.2, skipped: 0, note: 'x' }), [['acc', 0.2]]);
  assert.equal(headlineMetric('pass@k', { 'pass@1': 0.5 }), 'pass@1');
  assert.equal(headlineMetric('ast_match', {}), 'accuracy');
  assert.equal(headlineMetric(undefined, { acc: 1 }), 'acc');
});

test('published figures are the Llama 3.1 model card\'s (8B / 70B / 405B), IFEval and BFCL included', () => {
  const row = (t: string): [number, number, number] => {
    const r = PUBLISHED[t]!;
    return [r['8B'], r['70B'], r['405B']];
  };
  assert.deepEqual(row('mmlu'), [66.7, 79.3, 85.2]);
  assert.deepEqual(row('mmlu_llama'), [69.4, 83.6, 87.3]);
  assert.deepEqual(row('arc_challenge'), [79.7, 92.9, 96.1]);
  assert.deepEqual(row('arc_challenge_llama'), [83.4, 94.8, 96.9]);
  assert.deepEqual(row('winogrande_llama'), [60.5, 83.3, 86.7]);
  assert.deepEqual(row('gsm8k_llama'), [84.5, 95.1, 96.8]);
  assert.deepEqual(row('humaneval'), [72.6, 80.5, 89.0]);
  assert.deepEqual(row('mbpp'), [72.8, 86.0, 88.6]);
  assert.deepEqual(row('ifeval_llama'), [80.4, 87.5, 88.6]);
  assert.deepEqual(row('bfcl-simple'), [76.1, 84.8, 88.5]);
});

const BIN = join(REPO_ROOT, 'bin', 'llama-ts.js');
const built = existsSync(join(REPO_ROOT, 'dist', 'src', 'cli', 'main.js'));
const skip = skipNoFixtures || (built ? false : 'CLI not built (npm run build)');

test('llama-ts eval --html writes the report for a task, with published bars under --compare published', { skip }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'eval-report-'));
  try {
    const data = join(dir, 'arc.jsonl');
    writeFileSync(data, JSON.stringify({ id: 'x', question: 'Which is a gas?', choices: { text: ['ice', 'steam'], label: ['A', 'B'] }, answerKey: 'B' }) + '\n');
    const html = join(dir, 'report.html');
    const model = fixture('models', 'tiny-llama3-chat', 'tiny-llama3-chat.q8_0.gguf');
    const r = await new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
      execFile(process.execPath, [BIN, 'eval', '-m', model, '--task', 'arc_challenge', '--data', data, '--json', '--compare', 'published', '--html', html, '--no-progress'], { timeout: 120_000 }, (err, stdout, stderr) =>
        resolve({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, stdout, stderr }),
      );
    });
    assert.equal(r.code, 0, r.stderr);
    const result = JSON.parse(r.stdout) as { acc: number; acc_norm: number };
    const page = readFileSync(html, 'utf8');
    const bars = rects(page);
    assert.deepEqual(
      bars.map((b) => b.label),
      [`acc: ${(result.acc * 100).toFixed(2)} %`, `acc_norm: ${(result.acc_norm * 100).toFixed(2)} %`, 'Llama 3.1 8B pretrained (published): 79.70 %', 'Llama 3.1 70B pretrained (published): 92.90 %', 'Llama 3.1 405B pretrained (published): 96.10 %'],
    );
    assert.match(page, /ms\/item/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
