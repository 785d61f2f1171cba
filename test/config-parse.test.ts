import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import type { LlamaConfig } from '../src/config/config.js';
import { configFromGGUF } from '../src/config/from-gguf.js';
import { configFromHF } from '../src/config/from-hf.js';
import { configFromLlama2c } from '../src/config/from-llama2c.js';
import { BadConfigError, ShapeMismatchError } from '../src/errors/errors.js';
import { readGGUF } from '../src/formats/gguf.js';
import type { GGUFValue, TensorRecord } from '../src/formats/types.js';
import { readLlama2c } from '../src/formats/llama2c.js';
import { fixture, skipNoFixtures } from './fixtures.js';

function hfConfig(model: string): LlamaConfig {
  return configFromHF(JSON.parse(readFileSync(fixture('models', model, 'config.json'), 'utf8')));
}

function ggufConfig(model: string, file: string): LlamaConfig {
  const g = readGGUF(fixture('models', model, file));
  try {
    return configFromGGUF(g.metadata, g.tensors);
  } finally {
    g.close();
  }
}

/** Everything but RoPE scaling, with eps rounded to f32 as GGUF stores it. */
function comparable(c: LlamaConfig): Omit<LlamaConfig, 'ropeScaling'> {
  const { ropeScaling: _r, ...rest } = c;
  return { ...rest, rmsNormEps: Math.fround(c.rmsNormEps) };
}

/** llama.cpp's converter (float32 arithmetic) for the llama3 rope_freqs divisors. */
function llama3Divisors(c: LlamaConfig): number[] {
  const rs = c.ropeScaling;
  assert.equal(rs.type, 'llama3');
  if (rs.type !== 'llama3') return [];
  const f = Math.fround;
  const out: number[] = [];
  const lowWav = rs.originalMaxPositionEmbeddings / rs.lowFreqFactor;
  const highWav = rs.originalMaxPositionEmbeddings / rs.highFreqFactor;
  for (let i = 0; i < c.headDim / 2; i++) {
    const inv = f(1 / f(Math.pow(c.ropeTheta, f((2 * i) / c.headDim))));
    const wav = f(f(2 * Math.PI) / inv);
    if (wav < highWav) out.push(1);
    else if (wav > lowWav) out.push(rs.factor);
    else {
      const s = (rs.originalMaxPositionEmbeddings / wav - rs.lowFreqFactor) / (rs.highFreqFactor - rs.lowFreqFactor);
      out.push(1 / ((1 - s) / rs.factor + s));
    }
  }
  return out;
}

const MODELS: Array<[string, string[]]> = [
  ['tiny-llama3.1', ['tiny-llama3.1.f32.gguf', 'tiny-llama3.1.f16.gguf', 'tiny-llama3.1.q8_0.gguf']],
  ['tiny-llama3.2-tied', ['tiny-llama3.2-tied.f32.gguf']],
  ['tiny-llama2', ['tiny-llama2.f32.gguf']],
  ['small-llama3.1-kq', ['small-llama3.1-kq.q4_k_m.gguf', 'small-llama3.1-kq.q8_0.gguf']],
];

for (const [model, ggufs] of MODELS) {
  test(`${model}: config.json and GGUF metadata agree`, { skip: skipNoFixtures }, () => {
    const hf = hfConfig(model);
    for (const file of ggufs) {
      const gg = ggufConfig(model, file);
      assert.deepEqual(comparable(gg), comparable(hf), file);
      if (hf.ropeScaling.type === 'none') {
        assert.deepEqual(gg.ropeScaling, { type: 'none' });
        continue;
      }
      const rs = gg.ropeScaling;
      assert.equal(rs.type, 'freqs');
      const got = rs.type === 'freqs' ? Array.from(rs.divisors) : [];
      const want = llama3Divisors(hf);
      assert.equal(got.length, want.length);
      want.forEach((w, i) => assert.ok(Math.abs(got[i]! - w) <= 1e-6 * w, `${file} divisor ${i}: ${got[i]} vs ${w}`));
    }
  });
}

test('fixture configs: head_dim fallback, tied embeddings, llama3 scaling', { skip: skipNoFixtures }, () => {
  const a = hfConfig('tiny-llama3.1');
  assert.equal(a.headDim, 16);
  assert.equal(a.numKVHeads, 2);
  assert.deepEqual(a.ropeScaling, { type: 'llama3', factor: 8, lowFreqFactor: 1, highFreqFactor: 4, originalMaxPositionEmbeddings: 8192 });
  assert.equal(a.tiedEmbeddings, false);
  const b = hfConfig('tiny-llama3.2-tied');
  assert.equal(b.tiedEmbeddings, true);
  assert.equal(b.headDim, 16);
  const c = hfConfig('tiny-llama2');
  assert.equal(c.rmsNormEps, 1e-6);
  assert.deepEqual(c.ropeScaling, { type: 'none' });
  assert.equal(c.contextLength, 4096);
});

test('tiny-llama2: llama2.c header + sibling config.json agrees with config.json and GGUF', { skip: skipNoFixtures }, () => {
  const l = readLlama2c(fixture('models', 'tiny-llama2', 'tiny-llama2.llama2c.bin'));
  l.close();
  assert.deepEqual(l.config, hfConfig('tiny-llama2'));
  assert.deepEqual(comparable(l.config), comparable(ggufConfig('tiny-llama2', 'tiny-llama2.f32.gguf')));
  const bare = configFromLlama2c(l.header);
  assert.equal(bare.rmsNormEps, 1e-5);
  assert.equal(bare.tiedEmbeddings, false);
  assert.deepEqual(configFromLlama2c({ ...l.header, sharedClassifier: true }).tiedEmbeddings, true);
});

test('tiny-llama3-chat GGUF: Llama 3 vocabulary, BOS and the end-of-generation set', { skip: skipNoFixtures }, () => {
  const c = ggufConfig('tiny-llama3-chat', 'tiny-llama3-chat.q8_0.gguf');
  assert.equal(c.vocabSize, 128256);
  assert.equal(c.bosTokenId, 128000);
  assert.equal(c.eosTokenIds[0], 128009);
  assert.deepEqual([...c.eosTokenIds].sort(), [128001, 128008, 128009]);
  assert.equal(c.tiedEmbeddings, true);
  assert.equal(c.headDim, 16);
});

const BASE = {
  model_type: 'llama', vocab_size: 100, hidden_size: 64, intermediate_size: 128, num_hidden_layers: 2,
  num_attention_heads: 8, num_key_value_heads: 2, rms_norm_eps: 1e-5, max_position_embeddings: 512,
};

test('configFromHF: eos forms, generation_config merge, rope scaling kinds, defaults', () => {
  const c = configFromHF({ ...BASE, bos_token_id: 1, eos_token_id: [2, 3] }, { eos_token_id: [3, 4], bos_token_id: 9 });
  assert.deepEqual(c.eosTokenIds, [2, 3, 4]);
  assert.equal(c.bosTokenId, 1);
  assert.equal(c.headDim, 8);
  assert.equal(c.ropeTheta, 10000);
  assert.deepEqual(configFromHF({ ...BASE, eos_token_id: 5 }).eosTokenIds, [5]);
  assert.deepEqual(configFromHF({ ...BASE, eos_token_id: null }, { eos_token_id: 7 }).eosTokenIds, [7]);
  assert.equal(configFromHF(BASE, { bos_token_id: 9 }).bosTokenId, 9);
  assert.equal(configFromHF({ ...BASE, num_key_value_heads: undefined }).numKVHeads, 8);
  assert.equal(configFromHF({ ...BASE, head_dim: 32 }).headDim, 32);
  assert.deepEqual(configFromHF({ ...BASE, rope_scaling: { type: 'linear', factor: 4 } }).ropeScaling, { type: 'linear', factor: 4 });
  assert.deepEqual(configFromHF({ ...BASE, rope_scaling: { rope_type: 'default' } }).ropeScaling, { type: 'none' });
  assert.equal(configFromHF({ ...BASE, tie_word_embeddings: true }).tiedEmbeddings, true);
});

test('configFromHF rejects bad configs with BadConfigError', () => {
  const bad: unknown[] = [
    null, [], { ...BASE, num_key_value_heads: 3 }, { ...BASE, hidden_size: undefined }, { ...BASE, vocab_size: '100' },
    { ...BASE, model_type: 'mistral' }, { ...BASE, rope_scaling: { rope_type: 'yarn', factor: 4 } },
    { ...BASE, rope_scaling: { rope_type: 'llama3', factor: 8 } }, { ...BASE, eos_token_id: 'x' },
    { ...BASE, eos_token_id: 100 }, { ...BASE, num_hidden_layers: 0 }, { ...BASE, hidden_size: 60 },
  ];
  for (const b of bad) assert.throws(() => configFromHF(b), BadConfigError, JSON.stringify(b));
});

test('configFromGGUF: fallbacks and validation', () => {
  const meta = (extra: Record<string, GGUFValue>): Map<string, GGUFValue> =>
    new Map<string, GGUFValue>(Object.entries({
      'general.architecture': 'llama', 'llama.embedding_length': 64, 'llama.feed_forward_length': 128, 'llama.block_count': 2,
      'llama.attention.head_count': 8, 'llama.attention.head_count_kv': 2, 'llama.context_length': 512, ...extra,
    }));
  const t = (name: string, shape: number[]): TensorRecord => ({ name, dtype: 0, shape, byteLength: 0, read: () => new Uint8Array(0) });
  // block_count is checked against the layers present: two blocks of norms.
  const blocks = [t('blk.0.attn_norm.weight', [64]), t('blk.1.attn_norm.weight', [64])];
  // vocab from token_embd when neither vocab_size nor tokens exist; tied without output.weight.
  const a = configFromGGUF(meta({}), [t('token_embd.weight', [50, 64]), ...blocks]);
  assert.equal(a.vocabSize, 50);
  assert.equal(a.tiedEmbeddings, true);
  assert.equal(a.headDim, 8);
  assert.equal(a.rmsNormEps, 1e-5);
  assert.deepEqual(a.eosTokenIds, []);
  // vocab from tokens; eot/eom join eos; key_length gives head_dim.
  const b = configFromGGUF(
    meta({
      'tokenizer.ggml.tokens': ['a', 'b', 'c', 'd'], 'tokenizer.ggml.eos_token_id': 1, 'tokenizer.ggml.eot_token_id': 3,
      'tokenizer.ggml.eom_token_id': 1, 'llama.attention.key_length': 16, 'llama.rope.scaling.type': 'linear', 'llama.rope.scaling.factor': 2,
    }),
    [t('output.weight', [4, 64]), ...blocks],
  );
  assert.equal(b.vocabSize, 4);
  assert.deepEqual(b.eosTokenIds, [1, 3]);
  assert.equal(b.headDim, 16);
  assert.equal(b.tiedEmbeddings, false);
  assert.deepEqual(b.ropeScaling, { type: 'linear', factor: 2 });
  assert.throws(() => configFromGGUF(meta({ 'general.architecture': 'qwen2' }), []), BadConfigError);
  assert.throws(() => configFromGGUF(meta({ 'llama.attention.head_count_kv': 3, 'llama.vocab_size': 10 }), []), BadConfigError);
  assert.throws(() => configFromGGUF(meta({ 'llama.block_count': 'two' }), [t('token_embd.weight', [5, 64])]), BadConfigError);
  assert.throws(() => configFromGGUF(meta({}), []), BadConfigError); // no vocabulary size anywhere
  // Counts the file's tensors cannot back are rejected before anything is sized by them.
  const embd = t('token_embd.weight', [50, 64]);
  assert.throws(() => configFromGGUF(meta({ 'llama.block_count': 2 ** 31 - 1 }), [embd, ...blocks]), (e: unknown) =>
    e instanceof BadConfigError && /2147483647 layers/.test(e.message) && /2 layers/.test(e.message));
  assert.throws(() => configFromGGUF(meta({}), [embd, t('blk.0.attn_norm.weight', [64]), t('blk.5.attn_norm.weight', [64])]), BadConfigError);
  assert.throws(() => configFromGGUF(meta({ 'llama.attention.head_count': 2 ** 20, 'llama.rope.dimension_count': 8 }), [embd, ...blocks, t('blk.0.attn_q.weight', [64, 64])]),
    (e: unknown) => e instanceof ShapeMismatchError && /attn_q/.test(e.message));
  assert.throws(() => configFromGGUF(meta({ 'llama.feed_forward_length': 2 ** 30 }), [embd, ...blocks, t('blk.0.ffn_gate.weight', [128, 64])]), ShapeMismatchError);
  assert.throws(() => configFromGGUF(meta({ 'llama.vocab_size': 1e9 }), [embd, ...blocks]), ShapeMismatchError);
});

test('configFromGGUF accepts a name → record map as well as the list', { skip: skipNoFixtures }, () => {
  const g = readGGUF(fixture('models', 'tiny-llama3.2-tied', 'tiny-llama3.2-tied.f32.gguf'));
  try {
    assert.deepEqual(configFromGGUF(g.metadata, new Map(g.tensors.map((t) => [t.name, t]))), configFromGGUF(g.metadata, g.tensors));
  } finally {
    g.close();
  }
});
