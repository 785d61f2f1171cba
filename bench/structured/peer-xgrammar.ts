/**
 * Peer measurement: @mlc-ai/web-xgrammar (XGrammar compiled to WebAssembly) on the same MaskBench
 * schemas, instances and tokenizer as run.ts. XGrammar is never a dependency: install it into a
 * temporary folder and pass that folder (the script writes a .cjs copy of its bundle there):
 *
 *   (mkdir -p /tmp/peers && cd /tmp/peers && npm install --no-save @mlc-ai/web-xgrammar)
 *   node --import tsx bench/structured/peer-xgrammar.ts /tmp/peers
 *
 * Prints one JSON object like run.ts (outcomes by category, mask and compile times).
 */
import { cpus } from 'node:os';
import { join, resolve, dirname } from 'node:path';
import { createRequire } from 'node:module';
import { existsSync, copyFileSync } from 'node:fs';
import { loadTokenizer } from '../../src/tokenizer/load.js';
import { loadMaskBench, summarize, type CaseResult, type Outcome } from './maskbench.js';

interface Matcher { getNextTokenBitmask(): Promise<Int32Array>; acceptToken(id: number): boolean; isTerminated(): boolean; dispose(): void }
interface Compiled { dispose(): void }
interface Compiler { compileJSONSchema(schema: string, anyWhitespace?: boolean): Promise<Compiled> }
interface XG {
  TokenizerInfo: { createTokenizerInfo(vocab: string[], type: string, prepend: boolean, size: number, stop: number[]): Promise<unknown> };
  GrammarCompiler: { createGrammarCompiler(info: unknown): Promise<Compiler> };
  GrammarMatcher: { createGrammarMatcher(c: Compiled): Promise<Matcher> };
}

const dir = process.argv[2] ?? '/tmp/peers';
const entry = join(dir, 'node_modules/@mlc-ai/web-xgrammar/lib/index.js');
if (!existsSync(entry)) {
  console.log(JSON.stringify({ engine: 'web-xgrammar', skipped: `not installed under ${dir}` }));
  process.exit(0);
}
// The package ships a UMD bundle inside a "type": "module" package: load a .cjs copy of it.
const cjs = join(dirname(entry), 'index.cjs');
if (!existsSync(cjs)) copyFileSync(entry, cjs);
const req = createRequire(cjs);
/** A fresh module instance: after a WebAssembly abort() the old one is unusable. */
function loadXg(): XG {
  delete req.cache[req.resolve(cjs)];
  return req(cjs) as XG;
}
let xg = loadXg();
const SHARED = resolve(process.cwd(), '../shared/fixtures');
const tok = await loadTokenizer(resolve(SHARED, 'tokenizers/llama3.1'));
const vocab = Array.from({ length: tok.vocabSize }, (_, i) => tok.idToPiece(i));
async function makeCompiler(): Promise<Compiler> {
  const info = await xg.TokenizerInfo.createTokenizerInfo(vocab, 'BYTE_LEVEL', false, tok.vocabSize, [...tok.eosIds]);
  return xg.GrammarCompiler.createGrammarCompiler(info);
}
let compiler = await makeCompiler();
const cases = loadMaskBench(resolve(SHARED, 'structured/maskbench'));
const results: CaseResult[] = [];
const mask: number[] = [];
const compile: number[] = [];
const eos = tok.eosIds[0]!;
for (const c of cases) {
  const base = { file: c.file, category: c.category };
  let compiled: Compiled;
  const t0 = process.hrtime.bigint();
  try {
    compiled = await compiler.compileJSONSchema(JSON.stringify(c.schema), true);
  } catch (e) {
    // XGrammar reports unsupported input with a C++ check failure that aborts the whole module.
    const aborted = /abort/i.test(String(e));
    results.push({ ...base, outcome: aborted ? 'crash' : 'compile_error', detail: String(e).slice(0, 200) });
    process.stderr.write(`${c.file}: ${aborted ? 'crash' : 'compile_error'}\n`);
    if (aborted) {
      xg = loadXg();
      compiler = await makeCompiler();
    }
    continue;
  }
  compile.push(Number(process.hrtime.bigint() - t0) / 1e6);
  let outcome: Outcome = 'pass';
  for (const t of c.tests) {
    const m = await xg.GrammarMatcher.createGrammarMatcher(compiled);
    let ok = true;
    for (const id of tok.encode(JSON.stringify(t.data), { addBos: false })) {
      const s = process.hrtime.bigint();
      await m.getNextTokenBitmask();
      if (t.valid) mask.push(Number(process.hrtime.bigint() - s) / 1000);
      if (!m.acceptToken(id)) {
        ok = false;
        break;
      }
    }
    if (ok) ok = m.acceptToken(eos);
    m.dispose();
    if (t.valid && !ok && outcome === 'pass') outcome = 'validation_error';
    if (!t.valid && ok) outcome = 'invalidation_error';
  }
  compiled.dispose();
  results.push({ ...base, outcome });
  process.stderr.write(`${c.file}: ${outcome}\n`);
}
const pct = (xs: number[], p: number): number => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor((p / 100) * xs.length))]!;
const mean = (xs: number[]): number => xs.reduce((a, b) => a + b, 0) / xs.length;
const r3 = (x: number): number => Math.round(x * 1000) / 1000;
console.log(JSON.stringify({
  engine: 'web-xgrammar',
  cpu: cpus()[0]?.model ?? 'unknown',
  results: summarize(results),
  maskUs: { n: mask.length, mean: r3(mean(mask)), p50: r3(pct(mask, 50)), p99: r3(pct(mask, 99)), p999: r3(pct(mask, 99.9)) },
  compileMs: { n: compile.length, mean: r3(mean(compile)), p50: r3(pct(compile, 50)), p99: r3(pct(compile, 99)) },
}, null, 1));
