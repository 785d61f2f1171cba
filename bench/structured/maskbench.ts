/**
 * The MaskBench check (shared by the unit test and the benchmark): compile each schema, walk every
 * test instance's Llama 3.1 tokens through a fresh state, and classify the schema.
 */
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Tokenizer } from '../../src/tokenizer/types.js';
import { compileJsonSchema, type Constraint } from '../../src/generate/constrain/index.js';
import { LlamaError } from '../../src/errors/errors.js';

export interface MaskBenchCase {
  readonly file: string;
  readonly category: string;
  readonly schema: unknown;
  readonly tests: ReadonlyArray<{ valid: boolean; data: unknown; description?: string }>;
}

export function loadMaskBench(dir: string): MaskBenchCase[] {
  const index = JSON.parse(readFileSync(join(dir, 'index.json'), 'utf8')) as { cases: { file: string; category: string }[] };
  const cats = new Map(index.cases.map((c) => [c.file, c.category]));
  return readdirSync(dir).filter((f) => f !== 'index.json' && f.endsWith('.json')).sort().map((file) => {
    const j = JSON.parse(readFileSync(join(dir, file), 'utf8')) as { schema: unknown; tests?: MaskBenchCase['tests'] };
    return { file, category: cats.get(file) ?? 'unknown', schema: j.schema, tests: j.tests ?? [] };
  });
}

export type Outcome = 'pass' | 'compile_error' | 'validation_error' | 'invalidation_error' | 'crash';

export interface CaseResult {
  readonly file: string;
  readonly category: string;
  readonly outcome: Outcome;
  readonly detail?: string;
  readonly compileMs?: number;
  /** Per-token mask times (µs) over valid instances, when asked. */
  readonly maskUs?: number[];
}

/** Walk tokens; returns the index of the first refused token, tokens.length if not finishable, -1 if accepted. */
export function walk(c: Constraint, tokens: readonly number[], timing?: number[]): number {
  const st = c.start();
  for (let i = 0; i < tokens.length; i++) {
    if (timing) {
      const t0 = process.hrtime.bigint();
      st.maskView();
      timing.push(Number(process.hrtime.bigint() - t0) / 1000);
    }
    if (!st.allows(tokens[i]!)) return i;
    st.advance(tokens[i]!);
  }
  if (timing) {
    const t0 = process.hrtime.bigint();
    st.mask();
    timing.push(Number(process.hrtime.bigint() - t0) / 1000);
  }
  return st.canFinish() ? -1 : tokens.length;
}

export function runCase(tok: Tokenizer, c: MaskBenchCase, opts: { timing?: boolean } = {}): CaseResult {
  const base = { file: c.file, category: c.category };
  let constraint: Constraint;
  const t0 = process.hrtime.bigint();
  try {
    constraint = compileJsonSchema(c.schema, tok);
  } catch (e) {
    if (e instanceof LlamaError && e.code === 'UNSUPPORTED_SCHEMA') return { ...base, outcome: 'compile_error', detail: e.message };
    return { ...base, outcome: 'crash', detail: String((e as Error).stack ?? e) };
  }
  const compileMs = Number(process.hrtime.bigint() - t0) / 1e6;
  const maskUs: number[] | undefined = opts.timing ? [] : undefined;
  let validationError: string | undefined;
  try {
    for (const t of c.tests) {
      const ids = tok.encode(JSON.stringify(t.data), { addBos: false });
      const r = walk(constraint, ids, t.valid ? maskUs : undefined);
      if (t.valid && r >= 0 && !validationError) validationError = `valid instance refused at token ${r}/${ids.length}: ${JSON.stringify(t.data).slice(0, 200)}`;
      if (!t.valid && r < 0) return { ...base, outcome: 'invalidation_error', detail: `invalid instance accepted: ${JSON.stringify(t.data).slice(0, 300)} (${t.description ?? ''})`, compileMs, maskUs };
    }
  } catch (e) {
    return { ...base, outcome: 'crash', detail: String((e as Error).stack ?? e), compileMs };
  }
  if (validationError) return { ...base, outcome: 'validation_error', detail: validationError, compileMs, maskUs };
  return { ...base, outcome: 'pass', compileMs, maskUs };
}

export function summarize(results: readonly CaseResult[]): Record<string, Record<Outcome | 'total', number>> {
  const out: Record<string, Record<Outcome | 'total', number>> = {};
  const add = (k: string, o: Outcome): void => {
    out[k] ??= { total: 0, pass: 0, compile_error: 0, validation_error: 0, invalidation_error: 0, crash: 0 };
    out[k]![o]++;
    out[k]!.total++;
  };
  for (const r of results) {
    add(r.category, r.outcome);
    add('ALL', r.outcome);
  }
  return out;
}
