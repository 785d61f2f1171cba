/**
 * Peer measurement: llama.cpp's grammars through node-llama-cpp's `LlamaJsonSchemaGrammar` (its
 * JSON-schema → GBNF converter and llama.cpp's grammar sampler) on the same MaskBench schemas,
 * instances and Llama 3.1 tokens as run.ts. node-llama-cpp is never a dependency: it is installed into
 * a temporary folder (bench/peers/llamacpp.ts). It needs a model with the same vocabulary to build a
 * grammar state; the fixture tiny-llama3-chat GGUF carries the real 128,256-token Llama 3 vocabulary.
 *
 *   node --import tsx bench/structured/peer-llamacpp.ts [--cache /tmp/llama-ts-bench]
 *
 * Mask time per token = sampling one row with the grammar minus the same sampling without it (the
 * median of 200 plain samples), i.e. the grammar sampler applied to all 128,256 candidates.
 */
import { cpus, tmpdir } from 'node:os';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadTokenizer } from '../../src/tokenizer/load.js';
import { ensureLlamaCpp } from '../peers/llamacpp.js';
import { loadMaskBench, summarize, type CaseResult } from './maskbench.js';

const args = process.argv.slice(2);
const cacheDir = args.includes('--cache') ? args[args.indexOf('--cache') + 1]! : '/tmp/llama-ts-bench';
const SHARED = resolve(process.cwd(), '../shared/fixtures');
const tok = await loadTokenizer(resolve(SHARED, 'tokenizers/llama3.1'));
const cases = loadMaskBench(resolve(SHARED, 'structured/maskbench')).map((c) => ({
  file: c.file,
  category: c.category,
  schema: c.schema,
  eos: tok.eosIds[0]!,
  // node-llama-cpp's JSON grammars end with four newlines (its stop trigger) before the end of text.
  tail: tok.encode('\n\n\n\n', { addBos: false }),
  tests: c.tests.map((t) => ({ valid: t.valid, ids: tok.encode(JSON.stringify(t.data), { addBos: false }) })),
}));
const work = mkdtempSync(join(tmpdir(), 'llama-ts-grammar-'));
const casesFile = join(work, 'cases.json');
writeFileSync(casesFile, JSON.stringify(cases));
const script = fileURLToPath(new URL('./llamacpp-grammar.mjs', import.meta.url)).replace(/\/dist\/bench\//, '/bench/');
const dir = ensureLlamaCpp(cacheDir, [script]);
const modelPath = resolve(SHARED, 'models/tiny-llama3-chat/tiny-llama3-chat.q8_0.gguf');
const raw = execFileSync(process.execPath, [join(dir, 'llamacpp-grammar.mjs'), casesFile, modelPath], { maxBuffer: 1 << 30, stdio: ['ignore', 'pipe', 'inherit'] }).toString();
const r = JSON.parse(raw.slice(raw.lastIndexOf('\n{') + 1)) as { results: CaseResult[]; rawUs: number[]; baseUs: number; compileMs: number[] };
const mask = r.rawUs.map((x) => Math.max(0, x - r.baseUs));
const pct = (xs: number[], p: number): number => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor((p / 100) * xs.length))]!;
const mean = (xs: number[]): number => xs.reduce((a, b) => a + b, 0) / xs.length;
const r3 = (x: number): number => Math.round(x * 1000) / 1000;
console.log(JSON.stringify({
  engine: 'llama.cpp grammar (node-llama-cpp 3.22.1 LlamaJsonSchemaGrammar)',
  cpu: cpus()[0]?.model ?? 'unknown',
  results: summarize(r.results),
  samplingWithoutGrammarUs: r3(r.baseUs),
  maskUs: { n: mask.length, mean: r3(mean(mask)), p50: r3(pct(mask, 50)), p99: r3(pct(mask, 99)), p999: r3(pct(mask, 99.9)) },
  compileMs: { n: r.compileMs.length, mean: r3(mean(r.compileMs)), p50: r3(pct(r.compileMs, 50)), p99: r3(pct(r.compileMs, 99)) },
}, null, 1));
