/** The bad inputs mutation fuzzing found (issue #16), each pinned by a deterministic case. */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fixture, skipNoFixtures } from './fixtures.js';
import { LlamaError } from '../src/errors/errors.js';
import { readGGUF, GGUF_MAX_ARRAY_DEPTH } from '../src/formats/gguf.js';
import { writeGGUF } from '../src/formats/gguf-writer.js';
import { readSafetensors } from '../src/formats/safetensors.js';
import { openModelFiles } from '../src/model/load.js';
import { loadTokenizer } from '../src/tokenizer/load.js';
import { checkTensorsFinite } from '../src/quant/check-finite.js';
import { DType } from '../src/quant/dtype.js';
import { GGUFValueType } from '../src/formats/gguf-types.js';

const tmp = mkdtempSync(join(tmpdir(), 'llama-ts-hard-'));
after(() => rmSync(tmp, { recursive: true, force: true }));

function throwsCode(fn: () => unknown, code: string, ...mentions: string[]): void {
  assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof LlamaError, `expected a LlamaError, got ${String(e)}`);
    assert.equal(e.code, code, e.message);
    for (const m of mentions) assert.ok(e.message.includes(m), `"${e.message}" should mention ${m}`);
    return true;
  });
}
async function rejectsCode(p: Promise<unknown>, code: string, ...mentions: string[]): Promise<void> {
  await assert.rejects(p, (e: unknown) => {
    assert.ok(e instanceof LlamaError, `expected a LlamaError, got ${String(e)}`);
    assert.equal(e.code, code, e.message);
    for (const m of mentions) assert.ok(e.message.includes(m), `"${e.message}" should mention ${m}`);
    return true;
  });
}

/** Rewrites the tiny-llama3.1 f32 GGUF with edited metadata / tensors. */
function rewriteGGUF(name: string, edit: { meta?: Record<string, number | string>; tensor?: (t: { name: string; type: number; shape: readonly number[]; data: Uint8Array }) => typeof t }): string {
  const f = readGGUF(fixture('models', 'tiny-llama3.1', 'tiny-llama3.1.f32.gguf'));
  try {
    const metadata = new Map(f.metadata);
    for (const [k, v] of Object.entries(edit.meta ?? {})) metadata.set(k, v);
    const out = join(tmp, name);
    writeGGUF(out, {
      metadata,
      types: f.metadataTypes,
      tensors: f.tensors.map((t) => (edit.tensor ?? ((x) => x))({ name: t.name, type: t.dtype, shape: t.shape, data: t.read() })),
    });
    return out;
  } finally {
    f.close();
  }
}

test('model.safetensors.index.json: null and wrong shapes are NOT_A_MODEL', { skip: skipNoFixtures }, async () => {
  const dir = join(tmp, 'idx');
  mkdirSync(dir);
  const src = fixture('models', 'tiny-llama3.1');
  copyFileSync(join(src, 'config.json'), join(dir, 'config.json'));
  for (const bad of ['null', '[]', '5', '{"weight_map":null}', '{"weight_map":[]}', '{"weight_map":"x"}', '{"weight_map":{"a":null}}', '{"weight_map":{"a":"../x"}}']) {
    writeFileSync(join(dir, 'model.safetensors.index.json'), bad);
    await rejectsCode(openModelFiles(dir), 'NOT_A_MODEL');
  }
});

test('tokenizer.json: ids at or past the vocabulary size are rejected before any table is sized', { skip: skipNoFixtures }, async () => {
  const full = JSON.parse(readFileSync(fixture('tokenizers', 'llama2', 'tokenizer.json'), 'utf8')) as { model: { vocab: Record<string, number> }; added_tokens: { id: number }[] };
  const dir = join(tmp, 'tok');
  mkdirSync(dir);
  const path = join(dir, 'tokenizer.json');
  const heap0 = process.memoryUsage().heapUsed;
  for (const id of [2 ** 31, 1e300, 3e8, 32000 + 3, -1, 1.5]) {
    const j = structuredClone(full);
    j.model.vocab['▁the'] = id;
    writeFileSync(path, JSON.stringify(j));
    await rejectsCode(loadTokenizer(path), 'TOKENIZER_ERROR', 'outside');
    const k = structuredClone(full);
    k.added_tokens[1]!.id = id;
    writeFileSync(path, JSON.stringify(k));
    await rejectsCode(loadTokenizer(path), 'TOKENIZER_ERROR', 'outside');
  }
  assert.ok(process.memoryUsage().heapUsed - heap0 < 512 << 20, 'no giant id table was allocated');
  // Sequence components nested absurdly deep: a typed error, not a stack overflow.
  const j = structuredClone(full) as Record<string, unknown>;
  writeFileSync(path, JSON.stringify(j).replace('"pre_tokenizer":', '"pre_tokenizer":' + '{"type":"Sequence","pretokenizers":['.repeat(20000) + 'null' + ']}'.repeat(20000) + ',"x":'));
  await rejectsCode(loadTokenizer(path), 'TOKENIZER_ERROR', 'nested');
});

test('tokenizer API: decode(null), encode(undefined), encode(5) are BAD_ARGUMENT', { skip: skipNoFixtures }, async () => {
  for (const tok of [await loadTokenizer(fixture('tokenizers', 'llama2', 'tokenizer.json')), await loadTokenizer(fixture('tokenizers', 'llama3.1', 'tokenizer.json'))]) {
    const loose = tok as unknown as { encode(t: unknown, o?: unknown): number[]; decode(ids: unknown, o?: unknown): string };
    throwsCode(() => loose.decode(null), 'BAD_ARGUMENT', 'array');
    throwsCode(() => loose.decode('abc'), 'BAD_ARGUMENT');
    throwsCode(() => loose.decode([1, 2], 'x'), 'BAD_ARGUMENT');
    throwsCode(() => loose.encode(undefined), 'BAD_ARGUMENT', 'string');
    throwsCode(() => loose.encode(5), 'BAD_ARGUMENT', 'number');
    throwsCode(() => loose.encode('hi', null), 'BAD_ARGUMENT');
    // Typed arrays of ids still decode.
    assert.equal(tok.decode(Int32Array.from(tok.encode('hello', { addBos: false })) as unknown as number[]), 'hello');
  }
});

test('GGUF: counts are checked against the tensors present before anything per layer is built', { skip: skipNoFixtures }, async () => {
  await rejectsCode(openModelFiles(rewriteGGUF('layers.gguf', { meta: { 'llama.block_count': 2 ** 31 - 1 } })), 'BAD_CONFIG', '2147483647 layers', '3 layers');
  await rejectsCode(openModelFiles(rewriteGGUF('heads.gguf', { meta: { 'llama.attention.head_count': 2 ** 24, 'llama.attention.head_count_kv': 2 ** 24 } })), 'SHAPE_MISMATCH', 'attn_q');
  await rejectsCode(openModelFiles(rewriteGGUF('ffn.gguf', { meta: { 'llama.feed_forward_length': 2 ** 31 - 1 } })), 'SHAPE_MISMATCH', 'ffn_gate');
  await rejectsCode(openModelFiles(rewriteGGUF('fewer.gguf', { meta: { 'llama.block_count': 2 } })), 'BAD_CONFIG', '2 layers');
});

test('GGUF: metadata arrays nested past the depth limit are NOT_A_MODEL, not a stack overflow', { skip: skipNoFixtures }, () => {
  const src = new Uint8Array(readFileSync(fixture('models', 'tiny-llama3.1', 'tiny-llama3.1.f32.gguf')));
  for (const depth of [GGUF_MAX_ARRAY_DEPTH + 1, 20000]) {
    // key "deep": ARRAY of ARRAY of … of an empty UINT8 array, inserted as the first metadata entry.
    const key = new TextEncoder().encode('deep');
    const parts: number[] = [];
    const u32 = (v: number): void => void parts.push(v & 255, (v >>> 8) & 255, (v >>> 16) & 255, v >>> 24);
    const u64 = (v: number): void => (u32(v), u32(0));
    u64(key.length);
    parts.push(...key);
    u32(GGUFValueType.ARRAY);
    for (let d = 1; d < depth; d++) {
      u32(GGUFValueType.ARRAY);
      u64(1);
    }
    u32(GGUFValueType.UINT8);
    u64(0);
    const out = new Uint8Array(src.length + parts.length);
    out.set(src.subarray(0, 24));
    out.set(parts, 24);
    out.set(src.subarray(24), 24 + parts.length);
    const dv = new DataView(out.buffer);
    dv.setBigUint64(16, dv.getBigUint64(16, true) + 1n, true);
    const p = join(tmp, `deep-${depth}.gguf`);
    writeFileSync(p, out);
    throwsCode(() => readGGUF(p), 'NOT_A_MODEL', 'nested');
  }
});

test('a model of another architecture (GGUF or HF folder): a clear error naming it', { skip: skipNoFixtures }, async () => {
  await rejectsCode(openModelFiles(rewriteGGUF('qwen.gguf', { meta: { 'general.architecture': 'qwen2' } })), 'BAD_CONFIG', '"qwen2"', 'llama');
  const dir = join(tmp, 'mistral');
  mkdirSync(dir);
  const src = fixture('models', 'tiny-llama2');
  const config = JSON.parse(readFileSync(join(src, 'config.json'), 'utf8')) as Record<string, unknown>;
  writeFileSync(join(dir, 'config.json'), JSON.stringify({ ...config, model_type: 'mistral' }));
  copyFileSync(join(src, 'model.safetensors'), join(dir, 'model.safetensors'));
  await rejectsCode(openModelFiles(dir), 'BAD_CONFIG', '"mistral"', 'llama');
});

/** safetensors file from a header object and data. */
function buildST(path: string, header: unknown, data: Uint8Array, raw?: string): void {
  const json = Buffer.from(raw ?? JSON.stringify(header));
  const len = Buffer.alloc(8);
  len.writeBigUInt64LE(BigInt(json.length));
  writeFileSync(path, Buffer.concat([len, json, data]));
}

test('safetensors: overlapping, shifted, holey and trailing ranges and duplicate names are rejected', () => {
  const p = join(tmp, 'ranges.safetensors');
  const e = (a: number, b: number): unknown => ({ dtype: 'F32', shape: [(b - a) / 4], data_offsets: [a, b] });
  buildST(p, { a: e(0, 8), b: e(8, 16) }, new Uint8Array(16));
  readSafetensors(p).close(); // the well-formed baseline
  buildST(p, { a: e(0, 8), b: e(4, 12) }, new Uint8Array(16));
  throwsCode(() => readSafetensors(p), 'NOT_A_MODEL', 'overlaps');
  buildST(p, { a: e(0, 8), b: e(12, 20) }, new Uint8Array(20));
  throwsCode(() => readSafetensors(p), 'NOT_A_MODEL', 'gap');
  buildST(p, { a: e(4, 12), b: e(12, 20) }, new Uint8Array(20));
  throwsCode(() => readSafetensors(p), 'NOT_A_MODEL', 'gap');
  buildST(p, { a: e(0, 8), b: e(8, 16) }, new Uint8Array(24));
  throwsCode(() => readSafetensors(p), 'NOT_A_MODEL', '16 data bytes');
  buildST(p, undefined, new Uint8Array(16), '{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"a":{"dtype":"F32","shape":[2],"data_offsets":[8,16]}}');
  throwsCode(() => readSafetensors(p), 'NOT_A_MODEL', '"a" twice');
  // Keys inside entries or __metadata__ that repeat across entries are not duplicates.
  buildST(p, { __metadata__: { dtype: 'x' }, a: e(0, 8), b: e(8, 16) }, new Uint8Array(16));
  readSafetensors(p).close();
});

test('checkTensorsFinite names a tensor whose data is garbage; clean fixtures pass', { skip: skipNoFixtures }, async () => {
  const bad = rewriteGGUF('nan.gguf', {
    tensor: (t) => (t.name === 'blk.1.attn_k.weight' ? { ...t, type: DType.F16, data: new Uint8Array(t.data.length / 2).fill(0xff) } : t),
  });
  const m = await openModelFiles(bad);
  try {
    throwsCode(() => checkTensorsFinite(m.tensors), 'NON_FINITE_TENSOR', 'blk.1.attn_k.weight');
  } finally {
    m.close();
  }
  for (const path of [fixture('models', 'tiny-llama3.1', 'tiny-llama3.1.q8_0.gguf'), fixture('models', 'small-llama3.1-kq', 'small-llama3.1-kq.q4_k_m.gguf'), fixture('models', 'tiny-llama2')]) {
    const ok = await openModelFiles(path);
    try {
      let calls = 0;
      checkTensorsFinite(ok.tensors, (done, total) => {
        calls++;
        assert.ok(done <= total);
      });
      assert.equal(calls, ok.tensors.size);
    } finally {
      ok.close();
    }
  }
});
