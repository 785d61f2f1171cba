import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { FILE_TYPES, type FileTypeName } from '../src/convert/ftype.js';
import { convertHFToGGUF } from '../src/convert/hf-to-gguf.js';
import { requantizeGGUF } from '../src/convert/requantize.js';
import { readGGUF } from '../src/formats/gguf.js';
import { loadModel } from '../src/model/load.js';
import { dtypeName } from '../src/quant/dtype.js';
import { dequantizeTensor } from '../src/quant/dequant.js';
import { quantizeRows } from '../src/quant/quantize.js';
import { fixture, skipNoFixtures } from './fixtures.js';
import { f32, i32, maxAbsDiff, readReference, rowArgmax } from './helpers/reference.js';

const dir = mkdtempSync(join(tmpdir(), 'llama-ts-convert-'));
after(() => rmSync(dir, { recursive: true, force: true }));

const MODELS = ['tiny-llama3.1', 'tiny-llama3.2-tied', 'tiny-llama2'] as const;
const TYPES = Object.keys(FILE_TYPES) as FileTypeName[];
const UNQUANTIZED = new Set<FileTypeName>(['f32', 'f16', 'bf16']);

/** Converted with the vocabulary of the fixture's own GGUF (the HF folders have no tokenizer). */
async function convert(model: string, type: FileTypeName, threads = 1): Promise<string> {
  const out = join(dir, `${model}.${type}.gguf`);
  await convertHFToGGUF(fixture('models', model), out, { type: FILE_TYPES[type], threads, tokenizer: fixture('models', model, `${model}.f32.gguf`) });
  return out;
}

async function logitsOf(path: string, ids: number[]): Promise<Float32Array> {
  const m = await loadModel(path, { backend: 'ref' });
  try {
    return await m.logits(ids);
  } finally {
    await m.dispose();
  }
}

for (const model of MODELS) {
  for (const type of TYPES) {
    test(`convert ${model} → ${type}: loads and matches the reference within the type's tolerance`, { skip: skipNoFixtures }, async () => {
      const ref = readReference(fixture('models', model, 'reference.safetensors'));
      const ids = i32(ref, 'input_ids');
      const want = f32(ref, 'logits');
      const out = await convert(model, type);
      const got = await logitsOf(out, ids);
      const d = maxAbsDiff(got, want);
      if (UNQUANTIZED.has(type)) {
        // Every fixture weight is exactly bf16 (and f16 but for a few subnormals): F32 bounds apply (README §2).
        assert.ok(d <= 1e-3, `${model} ${type}: max |Δ| ${d}`);
        assert.deepEqual(rowArgmax(got, 1024), rowArgmax(want, 1024));
        return;
      }
      // The dequantized reference: the same file widened to F32 (ggml-exact dequantization), run in f32.
      const deq = join(dir, `${model}.${type}.deq.gguf`);
      await requantizeGGUF(out, deq, { type: FILE_TYPES.f32 });
      const dq = maxAbsDiff(got, await logitsOf(deq, ids));
      assert.ok(dq <= 1e-4, `${model} ${type}: vs dequantized reference ${dq}`);
      // And a sanity bound against the unquantized float64 reference: Q8_0 per README §2 (measured 0.07–0.14),
      // 4/5-bit types much looser on these rounding-sensitive random networks (measured 0.5–1.9).
      const bound = type === 'q8_0' || type === 'q6_k' ? 0.3 : 3;
      assert.ok(d <= bound, `${model} ${type}: vs unquantized reference ${d} > ${bound}`);
    });
  }
}

test('convert tiny-llama3.1 to f32, f16 and q8_0 reproduces the fixture GGUFs byte for byte', { skip: skipNoFixtures }, async () => {
  for (const type of ['f32', 'f16', 'q8_0'] as const) {
    const mine = readFileSync(await convert('tiny-llama3.1', type));
    const theirs = readFileSync(fixture('models', 'tiny-llama3.1', `tiny-llama3.1.${type}.gguf`));
    assert.ok(mine.equals(theirs), `tiny-llama3.1.${type}.gguf differs`);
  }
  for (const model of ['tiny-llama3.2-tied', 'tiny-llama2']) {
    assert.ok(readFileSync(await convert(model, 'f32')).equals(readFileSync(fixture('models', model, `${model}.f32.gguf`))), `${model}.f32.gguf differs`);
  }
});

test('quantized tensors equal the quantizer applied to the fixture F32 GGUF (independently permuted q/k)', { skip: skipNoFixtures }, async () => {
  const base = readGGUF(fixture('models', 'tiny-llama3.1', 'tiny-llama3.1.f32.gguf'));
  try {
    const src = new Map(base.tensors.map((t) => [t.name, t]));
    for (const type of ['q4_0', 'q4_k_m', 'q5_k_m', 'q6_k'] as const) {
      const f = readGGUF(await convert('tiny-llama3.1', type));
      try {
        for (const t of f.tensors) {
          const s = src.get(t.name)!;
          const cols = t.shape[t.shape.length - 1]!;
          const want = quantizeRows(t.dtype, dequantizeTensor(s), s.byteLength / 4 / cols, cols);
          assert.ok(Buffer.from(t.read()).equals(Buffer.from(want)), `${type} ${t.name} (${dtypeName(t.dtype)})`);
        }
      } finally {
        f.close();
      }
    }
  } finally {
    base.close();
  }
});

test('K-quant mixes on rows that are not whole super-blocks fall back as llama.cpp does', { skip: skipNoFixtures }, async () => {
  const types = (path: string): Record<string, string> => {
    const f = readGGUF(path);
    try {
      return Object.fromEntries(f.tensors.map((t) => [t.name, dtypeName(t.dtype)]));
    } finally {
      f.close();
    }
  };
  // tiny-llama3.1: 3 layers (use_more_bits picks blk.2), rows of 128 and 352: Q4_K → Q5_0, Q6_K → Q8_0.
  const q4 = types(await convert('tiny-llama3.1', 'q4_k_m'));
  assert.equal(q4['output.weight'], 'Q8_0');
  assert.equal(q4['blk.2.attn_v.weight'], 'Q8_0');
  assert.equal(q4['blk.2.ffn_down.weight'], 'Q8_0');
  assert.equal(q4['blk.1.attn_v.weight'], 'Q5_0');
  assert.equal(q4['token_embd.weight'], 'Q5_0');
  assert.equal(q4['blk.0.attn_norm.weight'], 'F32');
  assert.equal(types(await convert('tiny-llama3.1', 'q5_k_m'))['blk.0.ffn_up.weight'], 'Q5_1');
  // tied: token_embd is the output head; ffn_down rows of 256 do take Q4_K / Q6_K.
  const tied = types(await convert('tiny-llama3.2-tied', 'q4_k_m'));
  assert.equal(tied['token_embd.weight'], 'Q8_0');
  assert.equal(tied['blk.0.ffn_down.weight'], 'Q4_K');
  assert.equal(tied['blk.1.ffn_down.weight'], 'Q6_K');
  // tiny-llama2's ffn_down rows of 176 fit no 32-block: F16.
  assert.equal(types(await convert('tiny-llama2', 'q8_0'))['blk.0.ffn_down.weight'], 'F16');
});

test('quantize picks the tensor types llama.cpp picked for small-llama3.1-kq', { skip: skipNoFixtures }, async () => {
  const dirKq = fixture('models', 'small-llama3.1-kq');
  const ref = JSON.parse(readFileSync(join(dirKq, 'reference.json'), 'utf8')) as { quant: Record<string, { tensor_types: Record<string, string> }> };
  for (const q of ['q4_k_m', 'q5_k_m', 'q6_k', 'q4_0', 'q8_0'] as const) {
    const out = join(dir, `kq.${q}.gguf`);
    await requantizeGGUF(join(dirKq, 'small-llama3.1-kq.q8_0.gguf'), out, { type: FILE_TYPES[q] });
    const f = readGGUF(out);
    try {
      assert.deepEqual(Object.fromEntries(f.tensors.map((t) => [t.name, dtypeName(t.dtype)])), ref.quant[q]!.tensor_types, q);
      assert.equal(f.metadata.get('general.file_type'), FILE_TYPES[q].id);
    } finally {
      f.close();
    }
  }
});

test('quantize keeps tensors already in the wanted type byte for byte', { skip: skipNoFixtures }, async () => {
  const src = fixture('models', 'small-llama3.1-kq', 'small-llama3.1-kq.q6_k.gguf');
  const out = join(dir, 'kq.q6_k.copy.gguf');
  await requantizeGGUF(src, out, { type: FILE_TYPES.q6_k });
  const a = readGGUF(src);
  const b = readGGUF(out);
  try {
    assert.equal(a.tensors.length, b.tensors.length);
    a.tensors.forEach((t, i) => {
      assert.equal(b.tensors[i]!.name, t.name);
      assert.equal(b.tensors[i]!.dtype, t.dtype);
      assert.ok(Buffer.from(b.tensors[i]!.read()).equals(Buffer.from(t.read())), t.name);
    });
  } finally {
    a.close();
    b.close();
  }
});

test('quantizing on worker threads writes the same bytes as one thread', { skip: skipNoFixtures }, async () => {
  const src = fixture('models', 'small-llama3.1-kq', 'small-llama3.1-kq.q8_0.gguf');
  const one = join(dir, 'kq.t1.gguf');
  const three = join(dir, 'kq.t3.gguf');
  await requantizeGGUF(src, one, { type: FILE_TYPES.q4_k_m, threads: 1 });
  await requantizeGGUF(src, three, { type: FILE_TYPES.q4_k_m, threads: 3 });
  assert.ok(readFileSync(one).equals(readFileSync(three)));
  const a = await convert('tiny-llama3.2-tied', 'q5_k_m', 1);
  const b = readFileSync(a);
  assert.ok(b.equals(readFileSync(await convert('tiny-llama3.2-tied', 'q5_k_m', 2))));
});
