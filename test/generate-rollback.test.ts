/** Multi-token accept and rollback (speculative decoding's hook): state after a rollback equals never having taken the tokens. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fixture, skipNoFixtures } from './fixtures.js';
import { loadTokenizer, Sampler } from '../src/index.js';
import { Generation } from '../src/generate/generation.js';
import type { GenerateChunk } from '../src/index.js';

test('sampler checkpoint/restore replays the same draws and penalties', () => {
  const logits = Float32Array.from({ length: 50 }, (_, i) => Math.sin(i) * 3);
  const s = new Sampler({ temperature: 1, seed: 42, repetitionPenalty: 1.3, penaltyLastN: -1 });
  s.accept([1, 2, 3]);
  const cp = s.checkpoint();
  const first = [0, 1, 2, 3].map(() => {
    const r = s.sample(logits);
    s.accept(r.id);
    return r.id;
  });
  s.restore(cp);
  const again = [0, 1, 2, 3].map(() => {
    const r = s.sample(logits);
    s.accept(r.id);
    return r.id;
  });
  assert.deepEqual(again, first);
  assert.throws(() => s.restore({ history: 999, rng: cp.rng }), /forward/);
});

test('Generation.rollback takes back unreleased tokens: text, stop matcher, decoder, processors, penalties', { skip: skipNoFixtures }, async () => {
  const tok = await loadTokenizer(fixture('tokenizers', 'llama3.1'));
  const head = tok.encode(' the cat sat on', { addBos: false });
  const spec = tok.encode(' the mat', { addBos: false }); // held back: it may begin the stop string "the mat X"
  const real = tok.encode(' the dog and the mat X then', { addBos: false });
  const seen: number[] = [];
  const proc = { process: () => {}, accept: (id: number) => seen.push(id), rollback: (n: number) => void (seen.length -= n) };
  const opts = { stop: ['the mat X'], maxTokens: 100, temperature: 0 };
  const g = new Generation(tok, [], [1], { ...opts, logitsProcessors: [proc] });
  const shown: string[] = [];
  for (const id of head) for (const c of g.push(id, -1)) shown.push(c.text);
  const n0 = g.ids.length;
  for (const id of spec) for (const c of g.push(id, -1)) shown.push(c.text);
  assert.equal(shown.join('').trimEnd(), ' the cat sat on', 'the speculative tokens are held back');
  const k = g.unreleased;
  assert.ok(k >= 1, 'the end of the speculative text is held back');
  assert.throws(() => g.rollback(k + 1), /unreleased/);
  g.rollback(k);
  const kept = [...head, ...spec].slice(0, n0 + spec.length - k);
  assert.deepEqual(g.ids, kept);
  assert.deepEqual(seen, kept);
  for (const id of real) {
    if (g.done) break;
    for (const c of g.push(id, -1)) shown.push(c.text);
  }
  // The same as a generation that never saw the rolled-back tokens.
  const ref = new Generation(tok, [], [1], opts);
  const refShown: string[] = [];
  for (const id of [...kept, ...real]) {
    if (ref.done) break;
    for (const c of ref.push(id, -1)) refShown.push(c.text);
  }
  assert.equal(g.text, ref.text);
  assert.equal(shown.join(''), refShown.join(''));
  assert.equal(g.finishReason, 'stop');
  assert.equal(g.stoppedBy, 'the mat X');
  assert.ok(!g.text.includes('the mat X'));
});
