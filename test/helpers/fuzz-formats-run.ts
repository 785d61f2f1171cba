/**
 * Seeded mutation fuzzing of every container and tokenizer parser, run as a child process by
 * test/fuzz-formats.test.ts so that a hang (the parent's timeout) or an out-of-memory abort (the
 * child's --max-old-space-size) fails the test instead of taking the suite down with it.
 *
 * Each case writes one mutated file (made from the tiny fixtures) into a temp folder and opens it
 * the way a user would (openModelFiles / loadTokenizer), never loading weights except for a small
 * sample on the 'ref' backend. The only acceptable outcomes are a successful open and a LlamaError
 * with a code. Output: one JSON line per case on stdout before it runs ("case"), then one summary
 * line per format ("summary"), so the parent can name the case that hung.
 *
 * Usage: node dist/test/helpers/fuzz-formats-run.js SEED CASES_PER_FORMAT
 */
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LlamaError } from '../../src/errors/errors.js';
import { readGGUF } from '../../src/formats/gguf.js';
import { writeGGUF, type GGUFWriteTensor } from '../../src/formats/gguf-writer.js';
import { GGUFValueType, type GGUFType } from '../../src/formats/gguf-types.js';
import type { GGUFValue } from '../../src/formats/types.js';
import { openModelFiles, loadModel } from '../../src/model/load.js';
import { loadTokenizer } from '../../src/tokenizer/load.js';
import { checkTensorsFinite } from '../../src/quant/check-finite.js';
import { BLOCK, DType } from '../../src/quant/dtype.js';
import { fixture } from '../fixtures.js';
import { rng } from '../wasm-util.js';

const seed = Number(process.argv[2] ?? 1);
const perFormat = Number(process.argv[3] ?? 200);

const rand = rng(seed);
const int = (n: number): number => Math.floor(rand() * n);
const pick = <T>(xs: readonly T[]): T => xs[int(xs.length)]!;

const U32 = [0, 1, 2, 3, 7, 0x7f, 0x80, 0xff, 0x7fff, 0xffff, 0x7fffffff, 0x80000000, 0xfffffffe, 0xffffffff];
const U64 = [0n, 1n, 24n, 2n ** 31n - 1n, 2n ** 32n, 2n ** 53n, 2n ** 53n + 1n, 2n ** 63n, 2n ** 64n - 1n];

// ---- binary mutations --------------------------------------------------------------------------

/** One random byte-level mutation, mostly inside [0, hot) (the header), sometimes anywhere. */
function mutateBytes(src: Uint8Array, hot: number): { bytes: Uint8Array; what: string } {
  const span = rand() < 0.85 ? Math.max(1, Math.min(hot, src.length)) : src.length;
  const b = new Uint8Array(src);
  const dv = new DataView(b.buffer);
  const at = (w: number): number => int(Math.max(1, span - w));
  switch (int(7)) {
    case 0: {
      const k = 1 + int(8);
      for (let i = 0; i < k; i++) b[at(1)]! ^= 1 << int(8);
      return { bytes: b, what: `flip ${k} bits` };
    }
    case 1: {
      const p = at(4);
      const v = pick(U32);
      if (p + 4 <= b.length) dv.setUint32(p, v, true);
      return { bytes: b, what: `u32 ${v} at ${p}` };
    }
    case 2: {
      const p = at(8);
      const v = pick(U64);
      if (p + 8 <= b.length) dv.setBigUint64(p, v, true);
      return { bytes: b, what: `u64 ${v} at ${p}` };
    }
    case 3: {
      const n = int(src.length);
      return { bytes: src.subarray(0, n), what: `truncate at ${n}` };
    }
    case 4: {
      const p = at(1);
      const n = 1 + int(16);
      return { bytes: concat(src.subarray(0, p), src.subarray(Math.min(src.length, p + n))), what: `delete ${n} at ${p}` };
    }
    case 5: {
      const p = at(1);
      const ins = Uint8Array.from({ length: 1 + int(16) }, () => int(256));
      return { bytes: concat(src.subarray(0, p), ins, src.subarray(p)), what: `insert ${ins.length} at ${p}` };
    }
    default: {
      const from = at(16);
      const to = at(16);
      const n = 1 + int(16);
      b.copyWithin(to, from, Math.min(from + n, b.length));
      return { bytes: b, what: `copy ${n} from ${from} to ${to}` };
    }
  }
}

function concat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((a, p) => a + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

// ---- JSON mutations ----------------------------------------------------------------------------

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };
const JSON_VALUES: Json[] = [null, -1, 0, 1, 1.5, 2 ** 31, 2 ** 32, 3e8, 1e300, -1e300, '', 'x', 'BPE', [], {}, true, [null], { id: null }];

/** Paths to nodes; sampling `cap` children keeps containers with more than `cap` children from crowding out the rest. */
function paths(v: Json, cap = 64, prefix: (string | number)[] = [], out: (string | number)[][] = []): (string | number)[][] {
  out.push(prefix);
  if (Array.isArray(v)) {
    const n = v.length;
    for (let i = 0; i < Math.min(n, cap); i++) {
      const k = n > cap ? int(n) : i;
      paths(v[k]!, cap, [...prefix, k], out);
    }
  } else if (v !== null && typeof v === 'object') {
    const keys = Object.keys(v);
    for (let i = 0; i < Math.min(keys.length, cap); i++) {
      const k = keys.length > cap ? keys[int(keys.length)]! : keys[i]!;
      paths(v[k]!, cap, [...prefix, k], out);
    }
  }
  return out;
}

const NEST = '\u0000nest\u0000';

/** One structural mutation; returns the mutated document as JSON text (deep nesting is spliced in as text: JSON.stringify would overflow). */
function mutateJson(root: Json): { text: string; what: string } {
  const copy = structuredClone(root);
  const ps = paths(copy);
  const path = pick(ps);
  const where = path.join('.') || '(root)';
  if (path.length === 0) return { text: JSON.stringify(pick(JSON_VALUES)), what: 'replace root' };
  const parent = path.slice(0, -1).reduce<Json>((o, k) => (o as Record<string | number, Json>)[k]!, copy) as Record<string | number, Json>;
  const key = path[path.length - 1]!;
  switch (int(4)) {
    case 0:
      if (Array.isArray(parent)) parent.splice(key as number, 1);
      else delete parent[key];
      return { text: JSON.stringify(copy), what: `delete ${where}` };
    case 1: {
      // Nest the node deep (stack-depth probes), as arrays or as Sequence components.
      const inner = JSON.stringify(parent[key]!);
      const depth = pick([2, 40, 20000]);
      const seq = rand() < 0.5;
      parent[key] = NEST;
      const open = seq ? '{"type":"Sequence","pretokenizers":[' : '[';
      const close = seq ? ']}' : ']';
      const text = JSON.stringify(copy).replace(JSON.stringify(NEST), () => open.repeat(depth) + inner + close.repeat(depth));
      return { text, what: `nest ${where} ${depth} deep${seq ? ' as Sequence' : ''}` };
    }
    default: {
      const v = pick(JSON_VALUES);
      parent[key] = structuredClone(v);
      return { text: JSON.stringify(copy), what: `set ${where} = ${JSON.stringify(v)}` };
    }
  }
}

/** Raw text mutations of a JSON file (mostly produce invalid JSON). */
function mutateJsonText(text: string): { text: string; what: string } {
  const { bytes, what } = mutateBytes(new TextEncoder().encode(text), text.length);
  return { text: new TextDecoder().decode(bytes), what: `text: ${what}` };
}

// ---- harness -----------------------------------------------------------------------------------

export interface Summary {
  format: string;
  cases: number;
  opened: number;
  codes: Record<string, number>;
  bad: { what: string; error: string }[];
  loads: number;
  ms: number;
}

function summary(format: string): Summary {
  return { format, cases: 0, opened: 0, codes: {}, bad: [], loads: 0, ms: 0 };
}

async function runCase(s: Summary, what: string, open: () => Promise<boolean | void>): Promise<void> {
  s.cases++;
  process.stdout.write(JSON.stringify({ case: s.format, what }) + '\n');
  try {
    if ((await open()) !== false) s.opened++;
  } catch (e) {
    if (e instanceof LlamaError && typeof e.code === 'string' && e.code.length > 0) {
      s.codes[e.code] = (s.codes[e.code] ?? 0) + 1;
    } else {
      s.bad.push({ what, error: e instanceof Error ? `${e.name}: ${e.message}`.slice(0, 300) : String(e) });
    }
  }
}

/**
 * Opens a model path; every `loadEvery`-th open also scans its weights (checkTensorsFinite) and
 * loads it on 'ref' to evaluate 3 tokens.
 */
function opener(s: Summary, loadEvery: number): (path: string) => Promise<void> {
  return async (path: string) => {
    const m = await openModelFiles(path);
    const sample = (s.opened + 1) % loadEvery === 0;
    try {
      if (sample) checkTensorsFinite(m.tensors);
    } finally {
      m.close();
    }
    if (!sample) return;
    s.loads++;
    const model = await loadModel(path, { backend: 'ref' });
    try {
      await model.logits([1, 2, 3]);
    } finally {
      await model.dispose();
    }
  };
}

const tmp = mkdtempSync(join(tmpdir(), 'llama-ts-fuzz-'));
const results: Summary[] = [];
try {
  results.push(await fuzzGGUF());
  results.push(await fuzzSafetensors());
  results.push(await fuzzIndexAndConfig());
  results.push(await fuzzTokenizerJson('llama2'));
  results.push(await fuzzTokenizerJson('llama3.1'));
  results.push(await fuzzLlama2c());
} finally {
  rmSync(tmp, { recursive: true, force: true });
}
for (const r of results) process.stdout.write(JSON.stringify({ summary: r }) + '\n');

// ---- GGUF --------------------------------------------------------------------------------------

async function fuzzGGUF(): Promise<Summary> {
  const s = summary('gguf');
  const t0 = performance.now();
  const srcPath = fixture('models', 'tiny-llama3.1', 'tiny-llama3.1.q8_0.gguf');
  const src = new Uint8Array(readFileSync(srcPath));
  const g = readGGUF(srcPath);
  const hot = g.tensorDataOffset;
  const meta = g.metadata;
  const types = g.metadataTypes;
  const tensors: GGUFWriteTensor[] = g.tensors.map((t) => ({ name: t.name, type: t.dtype, shape: t.shape, data: t.read() }));
  g.close();
  const out = join(tmp, 'm.gguf');
  const open = opener(s, 25);
  for (let i = 0; i < perFormat; i++) {
    if (rand() < 0.55) {
      const m = mutateBytes(src, hot);
      writeFileSync(out, m.bytes);
      await runCase(s, m.what, () => open(out));
      continue;
    }
    const what = structuredGGUF(meta, types, tensors, out);
    await runCase(s, what, () => open(out));
  }
  s.ms = performance.now() - t0;
  return s;
}

function numericFor(t: GGUFType): GGUFValue[] {
  switch (t.type) {
    case GGUFValueType.UINT32: return [0, 1, 2, 0x7fffffff, 0xffffffff];
    case GGUFValueType.INT32: return [-1, 0, 0x7fffffff, -0x80000000];
    case GGUFValueType.FLOAT32: case GGUFValueType.FLOAT64: return [NaN, Infinity, -1, 0, 1e30];
    case GGUFValueType.UINT64: return [0n, 2n ** 31n - 1n, 2n ** 63n];
    case GGUFValueType.INT64: return [-1n, 0n, 2n ** 62n];
    case GGUFValueType.UINT8: return [0, 255];
    case GGUFValueType.BOOL: return [true, false];
    case GGUFValueType.STRING: return ['', 'qwen2', 'x'.repeat(300)];
    default: return [];
  }
}

/** A mutation that keeps the file well-formed GGUF but changes what it says. */
function structuredGGUF(meta: Map<string, GGUFValue>, types: Map<string, GGUFType>, tensors: GGUFWriteTensor[], out: string): string {
  const m = new Map(meta);
  const ty = new Map(types);
  let ts = tensors.map((t) => ({ ...t }));
  let what: string;
  const op = int(6);
  if (op === 0) {
    const key = pick([...m.keys()]);
    const t = ty.get(key)!;
    if (t.type === GGUFValueType.ARRAY) {
      const arr = m.get(key) as GGUFValue[];
      m.set(key, arr.slice(0, int(arr.length)));
      what = `truncate array ${key}`;
    } else {
      const v = pick(numericFor(t).length ? numericFor(t) : [0]);
      m.set(key, v);
      what = `set ${key} = ${String(v)}`;
    }
  } else if (op === 1) {
    const key = pick(['llama.block_count', 'llama.attention.head_count', 'llama.attention.head_count_kv', 'llama.embedding_length', 'llama.feed_forward_length', 'llama.vocab_size', 'llama.rope.dimension_count', 'llama.context_length']);
    const v = pick([0, 1, 7, 0x7fffffff, 0xffffffff]);
    m.set(key, v);
    ty.set(key, { type: GGUFValueType.UINT32 });
    what = `count ${key} = ${v}`;
  } else if (op === 2) {
    // Another valid type with garbage (or reinterpreted) data of the right size.
    const i = int(ts.length);
    const t = ts[i]!;
    const cols = t.shape[t.shape.length - 1]!;
    const options = [DType.F32, DType.F16, DType.BF16, DType.Q8_0, DType.Q4_0, DType.Q4_K, DType.Q6_K].filter((d) => cols % BLOCK[d]!.blockElems === 0);
    const type = pick(options);
    const rows = t.shape.slice(0, -1).reduce((a, b) => a * b, 1);
    const bytes = (cols / BLOCK[type]!.blockElems) * BLOCK[type]!.blockBytes * rows;
    const data = new Uint8Array(bytes);
    for (let k = 0; k < bytes; k++) data[k] = rand() < 0.5 ? t.data[k % t.data.length]! : int(256);
    ts[i] = { ...t, type, data };
    what = `tensor ${t.name} retyped to ${DType[type]}`;
  } else if (op === 3) {
    const i = int(ts.length);
    const t = ts[i]!;
    ts[i] = { ...t, shape: [...t.shape].reverse() };
    what = `tensor ${t.name} shape reversed`;
    if (BLOCK[t.type as DType]!.blockElems > 1 && t.shape[0]! % BLOCK[t.type as DType]!.blockElems !== 0) {
      ts[i] = t;
      what = 'no-op';
    }
  } else if (op === 4) {
    const i = int(ts.length);
    const j = int(ts.length);
    ts = ts.map((t, k) => (k === i ? { ...t, name: ts[j]!.name } : t));
    what = `tensor ${i} renamed to ${ts[j]!.name}`;
  } else {
    const i = int(ts.length);
    what = `tensor ${ts[i]!.name} dropped`;
    ts.splice(i, 1);
  }
  try {
    writeGGUF(out, { metadata: m, types: ty, tensors: ts });
  } catch {
    writeGGUF(out, { metadata: meta, types, tensors });
    what = 'unmutated (writer refused the mutation)';
  }
  return what;
}

// ---- safetensors -------------------------------------------------------------------------------

async function fuzzSafetensors(): Promise<Summary> {
  const s = summary('safetensors');
  const t0 = performance.now();
  const dir = join(tmp, 'st');
  mkdirSync(dir);
  const srcDir = fixture('models', 'tiny-llama2');
  copyFileSync(join(srcDir, 'config.json'), join(dir, 'config.json'));
  const src = new Uint8Array(readFileSync(join(srcDir, 'model.safetensors')));
  const headerLen = Number(new DataView(src.buffer, src.byteOffset).getBigUint64(0, true));
  const header = JSON.parse(new TextDecoder().decode(src.subarray(8, 8 + headerLen))) as Record<string, Json>;
  const data = src.subarray(8 + headerLen);
  const out = join(dir, 'model.safetensors');
  const open = opener(s, 25);
  const write = (h: string, d: Uint8Array): void => {
    const hb = new TextEncoder().encode(h);
    const len = new Uint8Array(8);
    new DataView(len.buffer).setBigUint64(0, BigInt(hb.length), true);
    writeFileSync(out, concat(len, hb, d));
  };
  const names = Object.keys(header).filter((k) => k !== '__metadata__');
  for (let i = 0; i < perFormat; i++) {
    const op = int(6);
    let what: string;
    if (op === 0) {
      const m = mutateBytes(src, 8 + headerLen);
      writeFileSync(out, m.bytes);
      what = m.what;
    } else if (op === 1) {
      const m = mutateJson(header);
      write(m.text, data);
      what = m.what;
    } else if (op === 2) {
      // Shift, overlap or open a hole in one tensor's range.
      const h = structuredClone(header) as Record<string, { data_offsets: [number, number] }>;
      const name = pick(names);
      const d = pick([-8, -4, -1, 1, 4, 8, 64]);
      const e = h[name]!;
      const shiftEnd = rand() < 0.5;
      e.data_offsets = [e.data_offsets[0] + d, e.data_offsets[1] + (shiftEnd ? d : 0)];
      write(JSON.stringify(h), data);
      what = `offsets of ${name} shifted by ${d}${shiftEnd ? '' : ' (start only)'}`;
    } else if (op === 3) {
      // A duplicated name (JSON.parse would silently keep the last one).
      const name = pick(names);
      const text = JSON.stringify(header);
      const entry = `${JSON.stringify(name)}:${JSON.stringify(header[name])}`;
      write(text.replace(/^\{/, `{${entry},`), data);
      what = `duplicate ${name}`;
    } else if (op === 4) {
      // A hole: extra bytes inside the data with later offsets moved past them.
      const h = structuredClone(header) as Record<string, { data_offsets: [number, number] }>;
      const at = h[pick(names)]!.data_offsets[0];
      for (const n of names) {
        const e = h[n]!;
        if (e.data_offsets[0] >= at) e.data_offsets = [e.data_offsets[0] + 16, e.data_offsets[1] + 16];
      }
      write(JSON.stringify(h), concat(data.subarray(0, at), new Uint8Array(16), data.subarray(at)));
      what = `16-byte hole at ${at}`;
    } else {
      write(JSON.stringify(header), concat(data, new Uint8Array(1 + int(64))));
      what = 'trailing bytes';
    }
    await runCase(s, what, () => open(dir));
  }
  s.ms = performance.now() - t0;
  return s;
}

async function fuzzIndexAndConfig(): Promise<Summary> {
  const s = summary('hf-index+config');
  const t0 = performance.now();
  const dir = join(tmp, 'sharded');
  mkdirSync(dir);
  const srcDir = fixture('models', 'tiny-llama3.1');
  for (let k = 1; k <= 4; k++) copyFileSync(join(srcDir, `model-0000${k}-of-00004.safetensors`), join(dir, `model-0000${k}-of-00004.safetensors`));
  const indexText = readFileSync(join(srcDir, 'model.safetensors.index.json'), 'utf8');
  const configText = readFileSync(join(srcDir, 'config.json'), 'utf8');
  const index = JSON.parse(indexText) as Json;
  const config = JSON.parse(configText) as Json;
  const open = opener(s, 25);
  for (let i = 0; i < perFormat; i++) {
    const onIndex = rand() < 0.6;
    const base = onIndex ? index : config;
    let text: string;
    let what: string;
    if (rand() < 0.25) {
      const m = mutateJsonText(onIndex ? indexText : configText);
      text = m.text;
      what = m.what;
    } else {
      const m = mutateJson(base);
      text = m.text;
      what = m.what;
    }
    writeFileSync(join(dir, 'model.safetensors.index.json'), onIndex ? text : indexText);
    writeFileSync(join(dir, 'config.json'), onIndex ? configText : text);
    await runCase(s, `${onIndex ? 'index' : 'config'}: ${what}`, () => open(dir));
  }
  s.ms = performance.now() - t0;
  return s;
}

// ---- tokenizer.json ----------------------------------------------------------------------------

/** A small but complete tokenizer.json cut from a real one: the first `n` vocab entries, the merges among them, added tokens renumbered after them. */
function trimTokenizer(full: Record<string, Json>, n: number): Record<string, Json> {
  const model = full['model'] as Record<string, Json>;
  const vocab = model['vocab'] as Record<string, number>;
  const kept: Record<string, number> = {};
  for (const [p, id] of Object.entries(vocab)) if (id < n) kept[p] = id;
  const merges = (model['merges'] as Json[]).filter((m) => {
    const [a, b] = Array.isArray(m) ? (m as string[]) : (m as string).split(' ');
    return a !== undefined && b !== undefined && Object.hasOwn(kept, a + b) && Object.hasOwn(kept, a) && Object.hasOwn(kept, b);
  });
  const added = (full['added_tokens'] as Record<string, Json>[]).slice(0, 16).map((t, k) => ({ ...t, id: (t['id'] as number) < n ? t['id'] : n + k }));
  return { ...full, added_tokens: added, model: { ...model, vocab: kept, merges } };
}

async function fuzzTokenizerJson(which: 'llama2' | 'llama3.1'): Promise<Summary> {
  const s = summary(`tokenizer.json (${which})`);
  const t0 = performance.now();
  const dir = join(tmp, `tok-${which}`);
  mkdirSync(dir);
  const srcDir = fixture('tokenizers', which);
  const full = JSON.parse(readFileSync(join(srcDir, 'tokenizer.json'), 'utf8')) as Record<string, Json>;
  const small = trimTokenizer(full, 1500);
  const smallText = JSON.stringify(small);
  const out = join(dir, 'tokenizer.json');
  const n = Math.ceil(perFormat / 2);
  for (let i = 0; i < n; i++) {
    let text: string;
    let what: string;
    if (rand() < 0.2) {
      const m = mutateJsonText(smallText);
      text = m.text;
      what = m.what;
    } else {
      const m = mutateJson(small);
      text = m.text;
      what = m.what;
    }
    writeFileSync(out, text);
    await runCase(s, what, async () => {
      const tok = await loadTokenizer(out);
      // A tokenizer that loads must also encode and decode (or refuse with a typed error).
      tok.decode(tok.encode('Hello wörld 123 <s>'));
    });
  }
  s.ms = performance.now() - t0;
  return s;
}

// ---- llama2.c ----------------------------------------------------------------------------------

async function fuzzLlama2c(): Promise<Summary> {
  const s = summary('llama2.c');
  const t0 = performance.now();
  const dir = join(tmp, 'l2c');
  mkdirSync(dir);
  const srcDir = fixture('models', 'tiny-llama2');
  copyFileSync(join(srcDir, 'config.json'), join(dir, 'config.json'));
  const src = new Uint8Array(readFileSync(join(srcDir, 'tiny-llama2.llama2c.bin')));
  const out = join(dir, 'model.bin');
  const open = opener(s, 25);
  for (let i = 0; i < perFormat; i++) {
    let bytes: Uint8Array;
    let what: string;
    if (rand() < 0.6) {
      // One header int32 set to an interesting value.
      bytes = new Uint8Array(src);
      const field = int(7);
      const v = pick([0, 1, -1, 2, 3, 4, 16, 17, 1 << 19, (1 << 20) - 1, 0x7fffffff, -0x80000000, -1024]);
      new DataView(bytes.buffer).setInt32(field * 4, v, true);
      what = `header field ${field} = ${v}`;
    } else {
      const m = mutateBytes(src, 28);
      bytes = m.bytes;
      what = m.what;
    }
    writeFileSync(out, bytes);
    await runCase(s, what, () => open(out));
  }
  s.ms = performance.now() - t0;
  return s;
}
