import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fixture, skipNoFixtures } from './fixtures.js';
import { readReference, f32, i32, maxAbsDiff } from './helpers/reference.js';
import { loadModel } from '../src/model/load.js';
import { CONTAINERS, KQ_QUANTS, checkContainer, checkQuantized } from './helpers/model-checks.js';

for (const c of CONTAINERS) {
  test(`ref backend: ${c.model} ${c.file || 'HF folder'} matches the float64 reference`, { skip: skipNoFixtures }, async () => {
    const r = await checkContainer(c, { backend: 'ref' });
    if (process.env.LLAMA_TS_REPORT) console.log(JSON.stringify(r));
  });
}

for (const q of KQ_QUANTS) {
  test(`ref backend: llama.cpp-quantized ${q} matches the dequantized reference`, { skip: skipNoFixtures }, async () => {
    const r = await checkQuantized(q, { backend: 'ref' }, 1e-4, true);
    if (process.env.LLAMA_TS_REPORT) console.log(JSON.stringify(r));
  });
}

test('ref backend: an f16 KV cache stays within the README tolerance (1e-2)', { skip: skipNoFixtures }, async () => {
  const dir = fixture('models', 'tiny-llama3.1');
  const ref = readReference(`${dir}/reference.safetensors`);
  const model = await loadModel(`${dir}/tiny-llama3.1.f32.gguf`, { backend: 'ref', kvDType: 'f16' });
  try {
    const ids = i32(ref, 'input_ids');
    const d = maxAbsDiff(await model.logits(ids), f32(ref, 'logits'));
    assert.ok(d > 0 && d <= 1e-2, `f16 KV max |Δ| ${d}`);
  } finally {
    await model.dispose();
  }
});
