import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fixture, skipNoFixtures } from './fixtures.js';
import { loadModel } from '../src/index.js';

test('the event loop keeps running while a 4,096-token prompt is prefilled', { skip: skipNoFixtures, timeout: 120_000 }, async () => {
  const m = await loadModel(fixture('models', 'tiny-llama3.1', 'tiny-llama3.1.f32.gguf'), { backend: 'wasm', threads: 2, contextSize: 4200 });
  try {
    const s = m.session({ contextSize: 4200 });
    await s.eval([1, 2, 3], { logits: 'none' }); // warm-up (kernels compiled)
    s.reset();
    const ids = Array.from({ length: 4096 }, (_, i) => 3 + ((i * 7) % 1000));
    let last = performance.now();
    let maxGap = 0;
    let ticks = 0;
    const timer = setInterval(() => {
      const now = performance.now();
      maxGap = Math.max(maxGap, now - last);
      last = now;
      ticks++;
    }, 10);
    const t0 = performance.now();
    const logits = await s.eval(ids, { logits: 'last' });
    const ms = performance.now() - t0;
    clearInterval(timer);
    assert.equal(logits.length, m.config.vocabSize);
    assert.ok(ms > 100, `prefill took only ${ms.toFixed(0)} ms: too short to show anything`);
    assert.ok(ticks >= ms / 10 / 3, `${ticks} timer ticks in ${ms.toFixed(0)} ms`);
    assert.ok(maxGap < 50, `the event loop stalled for ${maxGap.toFixed(1)} ms`);
    s.dispose();
  } finally {
    await m.dispose();
  }
});
