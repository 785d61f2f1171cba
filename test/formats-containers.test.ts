/** The same weights through every container: HF safetensors (sharded or not, F32/BF16), GGUF, llama2.c. */
import assert from 'node:assert/strict';
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { FileNotFoundError, MissingTensorError, NotAModelError, TruncatedFileError } from '../src/errors/errors.js';
import type { FileTensorRecord } from '../src/formats/file-reader.js';
import { readGGUF } from '../src/formats/gguf.js';
import { readHFModel } from '../src/formats/hf-folder.js';
import { readLlama2c } from '../src/formats/llama2c.js';
import { permuteRowsHFToInterleaved, permuteRowsInterleavedToHF } from '../src/formats/qk-permute.js';
import { dequantizeTensor } from '../src/quant/dequant.js';
import { DType } from '../src/quant/dtype.js';
import { fixture, skipNoFixtures } from './fixtures.js';

const tmp = mkdtempSync(join(tmpdir(), 'llama-ts-hf-'));
after(() => rmSync(tmp, { recursive: true, force: true }));

function ggufName(hf: string): string {
  const m = /^model\.layers\.(\d+)\.(.+)$/.exec(hf);
  if (!m) return ({ 'model.embed_tokens.weight': 'token_embd.weight', 'model.norm.weight': 'output_norm.weight', 'lm_head.weight': 'output.weight' } as Record<string, string>)[hf]!;
  const part = ({
    'self_attn.q_proj.weight': 'attn_q.weight', 'self_attn.k_proj.weight': 'attn_k.weight', 'self_attn.v_proj.weight': 'attn_v.weight',
    'self_attn.o_proj.weight': 'attn_output.weight', 'mlp.gate_proj.weight': 'ffn_gate.weight', 'mlp.up_proj.weight': 'ffn_up.weight',
    'mlp.down_proj.weight': 'ffn_down.weight', 'input_layernorm.weight': 'attn_norm.weight', 'post_attention_layernorm.weight': 'ffn_norm.weight',
  } as Record<string, string>)[m[2]!]!;
  return `blk.${m[1]}.${part}`;
}

/** HF weight as it appears in interleaved-RoPE containers. */
function hfInterleaved(t: FileTensorRecord, heads: number, kvHeads: number): Float32Array {
  const v = dequantizeTensor(t);
  const [rows, cols] = t.shape as [number, number];
  if (t.name.endsWith('q_proj.weight')) return permuteRowsHFToInterleaved(v, DType.F32, rows, cols, heads);
  if (t.name.endsWith('k_proj.weight')) return permuteRowsHFToInterleaved(v, DType.F32, rows, cols, kvHeads);
  return v;
}

function maxAbsDiff(a: Float32Array, b: Float32Array): number {
  assert.equal(a.length, b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
}

const CASES: Array<[string, string, number]> = [
  ['tiny-llama3.1', 'tiny-llama3.1.f32.gguf', 0],
  ['tiny-llama3.1', 'tiny-llama3.1.f16.gguf', 3e-8], // a few bf16 subnormals do not fit f16
  ['tiny-llama3.1', 'tiny-llama3.1.q8_0.gguf', 0.0016],
  ['tiny-llama3.2-tied', 'tiny-llama3.2-tied.f32.gguf', 0],
  ['tiny-llama2', 'tiny-llama2.f32.gguf', 0],
];

for (const [model, file, tol] of CASES) {
  test(`${model} HF safetensors == ${file} after the q/k row permutation (max diff ≤ ${tol})`, { skip: skipNoFixtures }, () => {
    const hf = readHFModel(fixture('models', model));
    const g = readGGUF(fixture('models', model, file));
    try {
      const gguf = new Map(g.tensors.map((t) => [t.name, t]));
      assert.equal(hf.tensors.size, gguf.size - (gguf.has('rope_freqs.weight') ? 1 : 0));
      let worst = 0;
      let permutedDiffers = false;
      for (const t of hf.tensors.values()) {
        const gt = gguf.get(ggufName(t.name));
        assert.ok(gt, `${t.name} → ${ggufName(t.name)} missing`);
        assert.deepEqual(gt.shape, t.shape, t.name);
        const want = hfInterleaved(t, hf.config.numHeads, hf.config.numKVHeads);
        const got = dequantizeTensor(gt);
        worst = Math.max(worst, maxAbsDiff(want, got));
        if (/[qk]_proj/.test(t.name) && maxAbsDiff(dequantizeTensor(t), got) > 0) permutedDiffers = true;
      }
      assert.ok(worst <= tol, `max diff ${worst}`);
      assert.ok(permutedDiffers, 'without the permutation q/k would differ');
    } finally {
      hf.close();
      g.close();
    }
  });
}

test('tiny-llama3.1 sharded folder: weight_map routes tensors to 4 shards; BF16 single file agrees', { skip: skipNoFixtures }, () => {
  const hf = readHFModel(fixture('models', 'tiny-llama3.1'));
  const bf = readHFModel(fixture('models', 'tiny-llama3.1', 'model.bf16.safetensors'));
  try {
    assert.equal(hf.files.length, 4);
    assert.equal(hf.tensors.size, 1 + 3 * 9 + 2);
    const shards = new Set<string>();
    for (const [n, t] of hf.tensors) if (n.startsWith('model.layers.0.')) shards.add(t.file);
    assert.equal(shards.size, 2, 'layer 0 is split across two shards');
    assert.equal(bf.tensors.size, hf.tensors.size);
    for (const [n, t] of hf.tensors) {
      assert.equal(bf.tensors.get(n)!.dtype, DType.BF16);
      assert.deepEqual(dequantizeTensor(bf.tensors.get(n)!), dequantizeTensor(t), n);
    }
    assert.deepEqual(bf.config, hf.config);
    assert.equal(hf.chatTemplate, undefined);
  } finally {
    hf.close();
    bf.close();
  }
});

test('HF folder: tokenizer_config chat template, generation_config EOS ids, missing pieces', { skip: skipNoFixtures }, () => {
  const dir = join(tmp, 'folder');
  mkdirSync(dir, { recursive: true });
  const src = fixture('models', 'tiny-llama3.2-tied');
  copyFileSync(join(src, 'config.json'), join(dir, 'config.json'));
  assert.throws(() => readHFModel(dir), NotAModelError); // no weights yet
  copyFileSync(join(src, 'model.safetensors'), join(dir, 'model.safetensors'));
  writeFileSync(join(dir, 'tokenizer_config.json'), JSON.stringify({ chat_template: '{{ bos_token }}hi' }));
  writeFileSync(join(dir, 'generation_config.json'), JSON.stringify({ eos_token_id: [2, 7, 9] }));
  const m = readHFModel(dir);
  try {
    assert.equal(m.chatTemplate, '{{ bos_token }}hi');
    assert.deepEqual(m.config.eosTokenIds, [2, 7, 9]);
    assert.equal(m.config.tiedEmbeddings, true);
    assert.ok(!m.tensors.has('lm_head.weight'));
  } finally {
    m.close();
  }
  // An index that names a tensor its shard lacks.
  writeFileSync(join(dir, 'model.safetensors.index.json'), JSON.stringify({ weight_map: { 'model.norm.weight': 'model.safetensors', 'lm_head.weight': 'model.safetensors' } }));
  assert.throws(() => readHFModel(dir), (e: unknown) => e instanceof MissingTensorError && /lm_head/.test(e.message));
  writeFileSync(join(dir, 'model.safetensors.index.json'), JSON.stringify({ weight_map: { 'model.norm.weight': 'model-00002.safetensors' } }));
  assert.throws(() => readHFModel(dir), FileNotFoundError);
  assert.throws(() => readHFModel(join(tmp, 'no-such-folder')), FileNotFoundError);
});

test('llama2.c tiny-llama2: weights equal the HF checkpoint (q/k interleaved, w1/w2/w3 = gate/down/up)', { skip: skipNoFixtures }, () => {
  const l = readLlama2c(fixture('models', 'tiny-llama2', 'tiny-llama2.llama2c.bin'));
  const hf = readHFModel(fixture('models', 'tiny-llama2'));
  try {
    assert.equal(l.config.rmsNormEps, 1e-6, 'eps from the config.json beside the .bin');
    assert.equal(l.header.sharedClassifier, false);
    const map: Record<string, string> = {
      tok_embeddings: 'model.embed_tokens.weight', rms_final: 'model.norm.weight', wcls: 'lm_head.weight',
    };
    for (let i = 0; i < 2; i++) {
      const p = `model.layers.${i}.`;
      Object.assign(map, {
        [`layers.${i}.rms_att`]: p + 'input_layernorm.weight', [`layers.${i}.rms_ffn`]: p + 'post_attention_layernorm.weight',
        [`layers.${i}.wq`]: p + 'self_attn.q_proj.weight', [`layers.${i}.wk`]: p + 'self_attn.k_proj.weight',
        [`layers.${i}.wv`]: p + 'self_attn.v_proj.weight', [`layers.${i}.wo`]: p + 'self_attn.o_proj.weight',
        [`layers.${i}.w1`]: p + 'mlp.gate_proj.weight', [`layers.${i}.w2`]: p + 'mlp.down_proj.weight', [`layers.${i}.w3`]: p + 'mlp.up_proj.weight',
      });
    }
    assert.equal(l.tensors.size, Object.keys(map).length + 2);
    for (const [ln, hn] of Object.entries(map)) {
      const a = l.tensors.get(ln)!;
      const b = hf.tensors.get(hn)!;
      assert.deepEqual(a.shape, b.shape, ln);
      assert.equal(maxAbsDiff(dequantizeTensor(a), hfInterleaved(b, 4, 4)), 0, ln);
    }
    const re = dequantizeTensor(l.tensors.get('freq_cis_real')!);
    const im = dequantizeTensor(l.tensors.get('freq_cis_imag')!);
    assert.deepEqual(l.tensors.get('freq_cis_real')!.shape, [4096, 8]);
    const p = 37;
    const i = 3;
    const ang = p * Math.pow(10000, -(2 * i) / 16);
    assert.ok(Math.abs(re[p * 8 + i]! - Math.cos(ang)) < 1e-5 && Math.abs(im[p * 8 + i]! - Math.sin(ang)) < 1e-5);
  } finally {
    l.close();
    hf.close();
  }
});

test('llama2.c: defaults without config.json, options, truncation and garbage', { skip: skipNoFixtures }, () => {
  const dir = join(tmp, 'l2c');
  mkdirSync(dir, { recursive: true });
  const bin = join(dir, 'm.bin');
  copyFileSync(fixture('models', 'tiny-llama2', 'tiny-llama2.llama2c.bin'), bin);
  const a = readLlama2c(bin);
  assert.equal(a.config.rmsNormEps, 1e-5);
  assert.equal(a.config.ropeTheta, 10000);
  a.close();
  const b = readLlama2c(bin, { rmsNormEps: 1e-6, ropeTheta: 5e5 });
  assert.equal(b.config.rmsNormEps, 1e-6);
  assert.equal(b.config.ropeTheta, 5e5);
  b.close();
  truncateSync(bin, 28 + 1024 * 64 * 4 + 100);
  assert.throws(() => readLlama2c(bin), (e: unknown) => e instanceof TruncatedFileError && /layers\.0\.rms_att|layers\.1\.rms_att/.test(e.message));
  writeFileSync(bin, Buffer.from('GGUF\x03\x00\x00\x00 definitely not llama2.c weights'));
  assert.throws(() => readLlama2c(bin), NotAModelError);
});

test('qk permutation: inverse, any dtype with whole rows, matches the README formula', () => {
  const heads = 2;
  const d = 4;
  const cols = 32;
  const rows = heads * d;
  // Q8_0 rows (34 bytes each), row r filled with byte r.
  const q = new Uint8Array(rows * 34);
  for (let r = 0; r < rows; r++) q.fill(r, r * 34, r * 34 + 34);
  const il = permuteRowsHFToInterleaved(q, DType.Q8_0, rows, cols, heads);
  // interleaved row 2i ← HF row i, 2i+1 ← HF row i + d/2, per head.
  assert.deepEqual(Array.from({ length: rows }, (_, r) => il[r * 34]), [0, 2, 1, 3, 4, 6, 5, 7]);
  assert.deepEqual(permuteRowsInterleavedToHF(il, DType.Q8_0, rows, cols, heads), q);
  const f = Float32Array.from({ length: rows * 3 }, (_, i) => i);
  const back = permuteRowsInterleavedToHF(permuteRowsHFToInterleaved(f, DType.F32, rows, 3, heads), DType.F32, rows, 3, heads);
  assert.ok(back instanceof Float32Array);
  assert.deepEqual(back, f);
  assert.throws(() => permuteRowsHFToInterleaved(f, DType.F32, rows, 3, 3));
});
