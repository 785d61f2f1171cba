/**
 * Converted GGUFs in llama.cpp: converts every fixture HF model (../shared/fixtures/models) to F16
 * and Q8_0 with `convertHFToGGUF`, loads each file in llama.cpp (node-llama-cpp 3.22.1 installed
 * into a temporary folder, never a dependency) and in llama-ts, and compares 32 greedy tokens from
 * the fixture's greedy prompt, against each other and against the float64 reference.
 *
 *   node --import tsx bench/convert-vs-llamacpp.ts [--types f16,q8_0] [--keep] [--backend ref|wasm]
 *
 * The fixture HF folders carry no tokenizer, so the vocabulary is taken from the fixture's own
 * F32 GGUF (`--tokenizer` in the CLI); generation works on token ids only. The tokenizer side is
 * checked on two random-weight folders with the real Llama 3 (tokenizer.json) and Llama 2
 * (tokenizer.model) vocabularies: llama.cpp's tokenization of the golden corpus from the
 * converted GGUF against the golden ids and llama-ts.
 */
import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ensureLlamaCpp } from './peers/llamacpp.js';
import { parseArgs } from 'node:util';
import { FILE_TYPES, parseFileType } from '../src/convert/ftype.js';
import { convertHFToGGUF } from '../src/convert/hf-to-gguf.js';
import { loadModel, type BackendName } from '../src/model/load.js';
import { i32, readReference } from '../test/helpers/reference.js';
import { writeSynthHF } from './synth-hf.js';

const { values } = parseArgs({
  options: { keep: { type: 'boolean', default: false }, backend: { type: 'string', default: 'ref' }, types: { type: 'string', default: 'f16,q8_0' } },
});
const types = values.types!.split(',').map((t) => parseFileType(t).name);
const here = dirname(fileURLToPath(import.meta.url));
const shared = resolve(process.env.LLAMA_TS_SHARED ?? join(here, '..', '..', 'shared'), 'fixtures');
const fixtures = join(shared, 'models');
const work = mkdtempSync(join(tmpdir(), 'llama-ts-convert-vs-llamacpp-'));

function installLlamaCpp(): string {
  return ensureLlamaCpp(work, [join(here, 'convert-greedy-llamacpp.mjs')]);
}

function firstDivergence(a: readonly number[], b: readonly number[]): number | null {
  for (let i = 0; i < Math.max(a.length, b.length); i++) if (a[i] !== b[i]) return i;
  return null;
}

interface Row {
  model: string;
  type: string;
  file: string;
  prompt: number[];
  reference: number[];
  llamaTs: number[];
  llamaCpp?: number[];
}

try {
  const rows: Row[] = [];
  for (const model of ['tiny-llama3.1', 'tiny-llama3.2-tied', 'tiny-llama2']) {
    const ref = readReference(join(fixtures, model, 'reference.safetensors'));
    const prompt = i32(ref, 'greedy_prompt');
    for (const type of types) {
      const file = join(work, `${model}.${type}.gguf`);
      await convertHFToGGUF(join(fixtures, model), file, { type: FILE_TYPES[type], tokenizer: join(fixtures, model, `${model}.f32.gguf`) });
      const m = await loadModel(file, { backend: values.backend as BackendName });
      const ids: number[] = [];
      try {
        for await (const c of m.generate(prompt, { maxTokens: 32, ignoreEos: true })) ids.push(c.id);
      } finally {
        await m.dispose();
      }
      rows.push({ model, type, file, prompt, reference: i32(ref, 'greedy_ids'), llamaTs: ids });
    }
  }
  // Real vocabularies: random weights, converted with the tokenizer files in the folder.
  const vocabs = [
    { name: 'llama3.1', vocab: 128256, files: ['tokenizer.json', 'tokenizer_config.json'] },
    { name: 'llama2', vocab: 32000, files: ['tokenizer.model', 'tokenizer.json', 'tokenizer_config.json'] },
  ];
  const tokRows: Array<{ name: string; file: string; texts: string[]; golden: number[][]; llamaTs: number[][]; llamaCpp?: number[][] }> = [];
  for (const v of vocabs) {
    const folder = join(work, `synth-${v.name}`);
    writeSynthHF(folder, { vocab: v.vocab, hidden: 64, inter: 128, layers: 1, heads: 4, kvHeads: 2 });
    for (const f of v.files) copyFileSync(join(shared, 'tokenizers', v.name, f), join(folder, f));
    const file = join(work, `synth-${v.name}.q8_0.gguf`);
    await convertHFToGGUF(folder, file, { type: FILE_TYPES.q8_0 });
    const golden = (JSON.parse(readFileSync(join(shared, 'tokenizers', `${v.name}.golden.json`), 'utf8')) as { cases: Array<{ text: string; ids: number[] }> }).cases;
    const m = await loadModel(file, { backend: 'ref' });
    const llamaTs = golden.map((c) => m.tokenizer.encode(c.text, { addBos: false, specials: 'parse' }));
    await m.dispose();
    tokRows.push({ name: v.name, file, texts: golden.map((c) => c.text), golden: golden.map((c) => c.ids), llamaTs });
  }

  const nlc = installLlamaCpp();
  const jobs = [
    ...rows.map((r) => ({ path: r.file, prompt: r.prompt, n: 32 })),
    ...tokRows.map((t) => ({ path: t.file, prompt: [], n: 0, texts: t.texts })),
  ];
  const out = execFileSync('node', [join(nlc, 'convert-greedy-llamacpp.mjs'), JSON.stringify(jobs)], {
    cwd: nlc,
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'inherit'],
    maxBuffer: 1 << 24,
  });
  const lines = out.trim().split('\n');
  const cpp = JSON.parse(lines[lines.length - 1]!) as Array<{ path: string; ids: number[]; tokens: number[][] }>;
  for (const r of rows) r.llamaCpp = cpp.find((c) => c.path === r.file)?.ids;
  for (const t of tokRows) t.llamaCpp = cpp.find((c) => c.path === t.file)?.tokens;

  console.log('| model | type | llama-ts = llama.cpp | first divergence | llama-ts = reference | llama.cpp = reference (first divergence) |');
  console.log('|---|---|---|---|---|---|');
  const summary = rows.map((r) => {
    const d = firstDivergence(r.llamaTs, r.llamaCpp ?? []);
    const dRef = firstDivergence(r.llamaCpp ?? [], r.reference);
    console.log(`| ${r.model} | ${r.type} | ${d === null ? 'identical (32/32)' : 'no'} | ${d ?? '–'} | ${firstDivergence(r.llamaTs, r.reference) === null ? 'yes' : 'no'} | ${dRef === null ? 'yes' : `no (${dRef})`} |`);
    return { model: r.model, type: r.type, llama_ts: r.llamaTs, llama_cpp: r.llamaCpp, reference: r.reference, first_divergence: d };
  });
  console.log('');
  console.log('| vocabulary | texts | llama.cpp = golden | llama-ts = golden | llama.cpp = llama-ts |');
  console.log('|---|---|---|---|---|');
  const same = (a: number[] | undefined, b: number[] | undefined): boolean => a !== undefined && b !== undefined && a.length === b.length && a.every((x, i) => x === b[i]);
  const tokenizers = tokRows.map((t) => {
    const n = t.texts.length;
    const cppGolden = t.texts.filter((_, i) => same(t.llamaCpp?.[i], t.golden[i])).length;
    const tsGolden = t.texts.filter((_, i) => same(t.llamaTs[i], t.golden[i])).length;
    const cppTs = t.texts.filter((_, i) => same(t.llamaCpp?.[i], t.llamaTs[i])).length;
    console.log(`| ${t.name} | ${n} | ${cppGolden}/${n} | ${tsGolden}/${n} | ${cppTs}/${n} |`);
    const mismatches = t.texts.flatMap((text, i) => (same(t.llamaCpp?.[i], t.golden[i]) ? [] : [{ text, golden: t.golden[i], llama_cpp: t.llamaCpp?.[i] }]));
    return { vocabulary: t.name, texts: n, llama_cpp_equals_golden: cppGolden, llama_ts_equals_golden: tsGolden, llama_cpp_equals_llama_ts: cppTs, mismatches: mismatches.slice(0, 3) };
  });
  console.log(JSON.stringify({ backend: values.backend, kv_cache: { 'llama-ts': 'f32', 'llama.cpp': 'f16 (default)' }, results: summary, tokenizers }));
} finally {
  if (values.keep) console.error(`kept ${work}`);
  else rmSync(work, { recursive: true, force: true });
}
