/**
 * Structured-output benchmark: MaskBench schemas from ../shared with the Llama 3.1 tokenizer
 * (128,256 tokens), single thread. Prints one JSON object: pass/fail counts by category, per-token
 * mask time (mean, p50, p99, p99.9 µs) over the valid instances, and compile time (mean, p50, p99
 * ms) per schema, plus the CPU model. The tokenizer index (the vocabulary trie) is built once
 * before timing and reported separately.
 *
 *   node --import tsx bench/structured/run.ts [--json-only]
 */
import { cpus } from 'node:os';
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { loadTokenizer } from '../../src/tokenizer/load.js';
import { tokenIndexFor } from '../../src/generate/constrain/token-index.js';
import { loadMaskBench, runCase, summarize, type CaseResult } from './maskbench.js';

const SHARED = resolve(process.cwd(), '../shared/fixtures');
const dir = resolve(SHARED, 'structured/maskbench');
const tokDir = resolve(SHARED, 'tokenizers/llama3.1');
if (!existsSync(dir) || !existsSync(tokDir)) {
  console.error(`fixtures not found under ${SHARED}`);
  process.exit(2);
}

function pct(xs: number[], p: number): number {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))]!;
}
const mean = (xs: number[]): number => xs.reduce((a, b) => a + b, 0) / xs.length;
const r3 = (x: number): number => Math.round(x * 1000) / 1000;

const tok = await loadTokenizer(tokDir);
const t0 = process.hrtime.bigint();
tokenIndexFor(tok);
const indexMs = Number(process.hrtime.bigint() - t0) / 1e6;
const cases = loadMaskBench(dir);
const results: CaseResult[] = [];
for (const c of cases) results.push(runCase(tok, c, { timing: true }));
const mask = results.flatMap((r) => (r.outcome === 'pass' || r.outcome === 'validation_error' ? r.maskUs ?? [] : []));
const compile = results.flatMap((r) => (r.compileMs !== undefined ? [r.compileMs] : []));
const out = {
  engine: 'llama-ts constrain',
  cpu: cpus()[0]?.model ?? 'unknown',
  node: process.version,
  vocab: tok.vocabSize,
  schemas: cases.length,
  tokenizerIndexMs: r3(indexMs),
  results: summarize(results),
  maskUs: { n: mask.length, mean: r3(mean(mask)), p50: r3(pct(mask, 50)), p99: r3(pct(mask, 99)), p999: r3(pct(mask, 99.9)), max: r3(Math.max(...mask)) },
  compileMs: { n: compile.length, mean: r3(mean(compile)), p50: r3(pct(compile, 50)), p99: r3(pct(compile, 99)) },
  failures: results.filter((r) => r.outcome !== 'pass').map((r) => ({ file: r.file, outcome: r.outcome, detail: r.detail?.slice(0, 240) })),
};
console.log(JSON.stringify(out, null, 1));
