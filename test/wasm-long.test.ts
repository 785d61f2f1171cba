import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { loadModel } from '../src/model/load.js';
import { fixture, skipNoFixtures } from './fixtures.js';

/**
 * A 20048-token prompt runs entirely in the fast path (tiled attention over the wasm KV cache)
 * and reproduces the float64 reference's logits for the last 48 positions (llama3 RoPE scaling
 * at long range): README tolerance 2e-3 for float32 at positions ~20000, argmax at every position.
 */
test('20048-token prompt: last-48 logits match the reference (f32 KV)', { skip: skipNoFixtures, timeout: 120_000 }, async () => {
  // Plain safetensors parse (the reference file also holds I32/I64 tensors).
  const file = readFileSync(fixture('models', 'tiny-llama3.1', 'reference.safetensors'));
  const hlen = Number(file.readBigUInt64LE(0));
  const header = JSON.parse(file.subarray(8, 8 + hlen).toString('utf8')) as Record<string, { dtype: string; data_offsets: [number, number] }>;
  const bytes = (name: string): Buffer => {
    const e = header[name]!;
    return file.subarray(8 + hlen + e.data_offsets[0], 8 + hlen + e.data_offsets[1]);
  };
  const idsE = header['long_ids']!;
  const raw = bytes('long_ids');
  const ids: number[] = [];
  for (let i = 0; i < raw.length / (idsE.dtype === 'I64' ? 8 : 4); i++) ids.push(idsE.dtype === 'I64' ? Number(raw.readBigInt64LE(i * 8)) : raw.readInt32LE(i * 4));
  assert.equal(header['logits_long_last48']!.dtype, 'F32');
  const expected = new Float32Array(Uint8Array.from(bytes('logits_long_last48')).buffer);
  assert.equal(ids.length, 20048);

  const m = await loadModel(fixture('models', 'tiny-llama3.1', 'tiny-llama3.1.f32.gguf'), { backend: 'wasm', threads: 2 });
  try {
    const s = m.session({ contextSize: ids.length });
    await s.eval(ids.slice(0, ids.length - 48), { logits: 'last' });
    const got = await s.eval(ids.slice(ids.length - 48));
    s.dispose();
    const vocab = m.config.vocabSize;
    let maxd = 0;
    for (let i = 0; i < got.length; i++) maxd = Math.max(maxd, Math.abs(got[i]! - expected[i]!));
    assert.ok(maxd <= 2e-3, `max |Δlogit| ${maxd}`);
    for (let p = 0; p < 48; p++) {
      const row = (x: Float32Array): number[] => Array.from(x.subarray(p * vocab, (p + 1) * vocab));
      const a = row(got);
      const b = row(expected);
      assert.equal(a.indexOf(Math.max(...a)), b.indexOf(Math.max(...b)), `argmax at position ${20000 + p}`);
    }
  } finally {
    await m.dispose();
  }
});
