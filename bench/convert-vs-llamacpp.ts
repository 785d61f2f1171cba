/**
 * Converted GGUFs in llama.cpp: converts every fixture HF model (../shared/fixtures/models) to F16
 * and Q8_0 with `convertHFToGGUF`, loads each file in llama.cpp (node-llama-cpp 3.22.1 installed
 * into a temporary folder, never a dependency) and in llama-ts, and compares 32 greedy tokens from
 * the fixture's greedy prompt, against each other and against the float64 reference.
 *
 *   node --import tsx bench/convert-vs-llamacpp.ts [--types f16,q8_0] [--keep] [--backend ref|wasm]
 *
 * The fixture HF folders carry no tokenizer, so the vocabulary is taken from the fixture's own
 * F32 GGUF (`--tokenizer` in the CLI); generation works on token ids only.
 */
import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { FILE_TYPES, parseFileType } from '../src/convert/ftype.js';
import { convertHFToGGUF } from '../src/convert/hf-to-gguf.js';
import { loadModel, type BackendName } from '../src/model/load.js';
import { i32, readReference } from '../test/helpers/reference.js';

const { values } = parseArgs({
  options: { keep: { type: 'boolean', default: false }, backend: { type: 'string', default: 'ref' }, types: { type: 'string', default: 'f16,q8_0' } },
});
const types = values.types!.split(',').map((t) => parseFileType(t).name);
const here = dirname(fileURLToPath(import.meta.url));
const fixtures = resolve(process.env.LLAMA_TS_SHARED ?? join(here, '..', '..', 'shared'), 'fixtures', 'models');
const work = mkdtempSync(join(tmpdir(), 'llama-ts-convert-vs-llamacpp-'));

function installLlamaCpp(): string {
  const dir = join(work, 'nlc');
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: 'nlc', private: true, type: 'module' }));
  console.error(`installing node-llama-cpp 3.22.1 (CPU prebuilt) into ${dir} …`);
  execFileSync('npm', ['install', '--omit=optional', '--no-audit', '--no-fund', 'node-llama-cpp@3.22.1', '@node-llama-cpp/linux-x64@3.22.1'], {
    cwd: dir,
    stdio: ['ignore', 'ignore', 'inherit'],
    env: { ...process.env, NODE_LLAMA_CPP_SKIP_DOWNLOAD: 'true' },
  });
  copyFileSync(join(here, 'convert-greedy-llamacpp.mjs'), join(dir, 'greedy.mjs'));
  return dir;
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
  const nlc = installLlamaCpp();
  const out = execFileSync('node', [join(nlc, 'greedy.mjs'), JSON.stringify(rows.map((r) => ({ path: r.file, prompt: r.prompt, n: 32 })))], {
    cwd: nlc,
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'inherit'],
    maxBuffer: 1 << 24,
  });
  const lines = out.trim().split('\n');
  const cpp = JSON.parse(lines[lines.length - 1]!) as Array<{ path: string; ids: number[] }>;
  for (const r of rows) r.llamaCpp = cpp.find((c) => c.path === r.file)?.ids;

  console.log('| model | type | llama-ts = llama.cpp | first divergence | llama-ts = reference | llama.cpp = reference (first divergence) |');
  console.log('|---|---|---|---|---|---|');
  const summary = rows.map((r) => {
    const d = firstDivergence(r.llamaTs, r.llamaCpp ?? []);
    const dRef = firstDivergence(r.llamaCpp ?? [], r.reference);
    console.log(`| ${r.model} | ${r.type} | ${d === null ? 'identical (32/32)' : 'no'} | ${d ?? '–'} | ${firstDivergence(r.llamaTs, r.reference) === null ? 'yes' : 'no'} | ${dRef === null ? 'yes' : `no (${dRef})`} |`);
    return { model: r.model, type: r.type, llama_ts: r.llamaTs, llama_cpp: r.llamaCpp, reference: r.reference, first_divergence: d };
  });
  console.log(JSON.stringify({ backend: values.backend, kv_cache: { 'llama-ts': 'f32', 'llama.cpp': 'f16 (default)' }, results: summary }));
} finally {
  if (values.keep) console.error(`kept ${work}`);
  else rmSync(work, { recursive: true, force: true });
}
