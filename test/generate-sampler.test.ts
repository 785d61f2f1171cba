import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Sampler } from '../src/generate/sampler.js';
import { StopMatcher } from '../src/generate/stop.js';
import { Rng } from '../src/generate/rng.js';
import { BadArgumentError } from '../src/errors/errors.js';

const logits = Float32Array.from([1, 3, 2, 0.5, 2.9]);

test('greedy picks the argmax and reports its log-probability', () => {
  const s = new Sampler();
  const r = s.sample(logits);
  assert.equal(r.id, 1);
  const z = Math.log(Array.from(logits).reduce((a, x) => a + Math.exp(x), 0));
  assert.ok(Math.abs(r.logprob - (3 - z)) < 1e-6);
});

test('a seed reproduces the same samples; different seeds differ', () => {
  const draw = (seed: number): number[] => {
    const s = new Sampler({ temperature: 1, seed });
    return Array.from({ length: 50 }, () => s.sample(logits).id);
  };
  assert.deepEqual(draw(42), draw(42));
  assert.notDeepEqual(draw(42), draw(43));
});

test('temperature sampling follows the softmax distribution', () => {
  const s = new Sampler({ temperature: 1, seed: 7 });
  const counts = new Array(5).fill(0);
  const N = 20000;
  for (let i = 0; i < N; i++) counts[s.sample(logits).id]++;
  const z = Array.from(logits).reduce((a, x) => a + Math.exp(x), 0);
  for (let i = 0; i < 5; i++) {
    const p = Math.exp(logits[i]!) / z;
    assert.ok(Math.abs(counts[i] / N - p) < 0.015, `token ${i}: ${counts[i] / N} vs ${p}`);
  }
});

test('top-k, top-p and min-p restrict the candidates', () => {
  const only = (o: ConstructorParameters<typeof Sampler>[0]): Set<number> => {
    const s = new Sampler({ temperature: 1, seed: 1, ...o });
    const seen = new Set<number>();
    for (let i = 0; i < 3000; i++) seen.add(s.sample(logits).id);
    return seen;
  };
  assert.deepEqual(only({ topK: 2 }), new Set([1, 4]));
  // softmax: p(1)=0.38, p(4)=0.35, p(2)=0.14 → top-p 0.5 keeps {1, 4}
  assert.deepEqual(only({ topP: 0.5 }), new Set([1, 4]));
  // min-p 0.3: keep p ≥ 0.3·p(1): tokens 1, 4, 2 (e^-1 = 0.37 ≥ 0.3), not 0 (e^-2) or 3
  assert.deepEqual(only({ minP: 0.3 }), new Set([1, 4, 2]));
});

/** The nucleus by definition: rank (logit desc, id asc) the tokens within e^28 (or min-p) of the top, keep the shortest prefix reaching topP of their weight. */
function referenceNucleus(row: Float32Array, topP: number, minP: number): { set: Set<number>; margin: number } {
  let top = -Infinity;
  for (const v of row) top = Math.max(top, v);
  const floor = minP > 0 ? Math.max(top + Math.log(minP), top - 28) : top - 28;
  const ids = [...row.keys()].filter((i) => row[i]! >= floor).sort((a, b) => row[b]! - row[a]! || a - b);
  const w = ids.map((i) => Math.exp(row[i]! - top));
  const total = w.reduce((a, b) => a + b, 0);
  let cum = 0;
  for (let j = 0; j < ids.length; j++) {
    const before = cum;
    cum += w[j]!;
    // margin: how far the cut is from flipping by rounding (a tie of weights is no ambiguity).
    if (cum >= topP * total) return { set: new Set(ids.slice(0, j + 1)), margin: Math.min(cum - topP * total, topP * total - before) / total };
  }
  return { set: new Set(ids), margin: 1 };
}

test('top-p keeps exactly the shortest rank-order prefix reaching p (flat, peaked and tied rows, with min-p)', () => {
  let seed = 11;
  const rnd = (): number => {
    seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
    return seed / 2 ** 32;
  };
  let checked = 0;
  for (const vocab of [7, 1000, 128256]) {
    for (const sd of [0.3, 2, 6]) {
      for (const tied of [false, true]) {
        const row = new Float32Array(vocab);
        for (let i = 0; i < vocab; i++) {
          const g = Math.sqrt(-2 * Math.log(rnd() + 1e-12)) * Math.cos(2 * Math.PI * rnd()) * sd;
          row[i] = tied ? Math.round(g * 2) / 2 : g; // tied: many equal logits, id order decides
        }
        if (vocab > 100) row[vocab - 1] = -Infinity;
        for (const topP of [0.2, 0.9, 0.95]) {
          for (const minP of [0, 0.05]) {
            const ref = referenceNucleus(row, topP, minP);
            if (ref.margin < 1e-9) continue;
            const d = new Sampler({ temperature: 1, topP, minP, seed: 1 }).distribution(row);
            const got = new Set<number>();
            d.probs.forEach((p, i) => p > 0 && got.add(i));
            assert.deepEqual(got, ref.set, `vocab ${vocab} sd ${sd} tied ${tied} topP ${topP} minP ${minP}`);
            const drawn = new Sampler({ temperature: 0.7, topP, minP, seed: 3 }).sample(row).id;
            assert.ok(ref.set.has(drawn), `drawn ${drawn} outside the nucleus`);
            checked++;
          }
        }
      }
    }
  }
  assert.ok(checked > 90, `only ${checked} cases were unambiguous`);
});

test('penalties and logit bias change greedy choices', () => {
  const rep = new Sampler({ repetitionPenalty: 2 });
  rep.accept([1]);
  assert.equal(rep.sample(logits).id, 4); // 3/2 = 1.5 < 2.9
  const freq = new Sampler({ frequencyPenalty: 1 });
  freq.accept([1, 1]);
  assert.equal(freq.sample(logits).id, 4);
  const pres = new Sampler({ presencePenalty: 0.05 });
  pres.accept([1]);
  assert.equal(pres.sample(logits).id, 1); // 3 − 0.05 = 2.95 still beats 2.9
  const pres2 = new Sampler({ presencePenalty: 0.2 });
  pres2.accept([1, 1, 1]);
  assert.equal(pres2.sample(logits).id, 4); // presence counts once: 2.8 < 2.9
});

test('logit bias can force or forbid a token', () => {
  assert.equal(new Sampler({ logitBias: { 3: 10 } }).sample(logits).id, 3);
  assert.equal(new Sampler({ logitBias: { 1: -Infinity } }).sample(logits).id, 4);
});

test('invalid sampling settings are typed errors', () => {
  assert.throws(() => new Sampler({ temperature: -1 }), BadArgumentError);
  assert.throws(() => new Sampler({ topP: 0 }), BadArgumentError);
  assert.throws(() => new Sampler({ topK: 1.5 }), BadArgumentError);
});

test('greedy takes the first of equal maxima', () => {
  assert.equal(new Sampler().sample(Float32Array.from([0, 5, 5, 1])).id, 1);
});

test('rng is uniform enough and deterministic', () => {
  const r = new Rng(123);
  let s = 0;
  for (let i = 0; i < 10000; i++) {
    const x = r.next();
    assert.ok(x >= 0 && x < 1);
    s += x;
  }
  assert.ok(Math.abs(s / 10000 - 0.5) < 0.02);
  assert.equal(new Rng(5).nextU32(), new Rng(5).nextU32());
});

test('stop matcher finds stops and holds back possible prefixes', () => {
  const m = new StopMatcher(['</s>', '\n\n']);
  assert.deepEqual(m.find('hello</s>', 3), { index: 5, stop: '</s>' });
  assert.equal(m.find('hello', 0), undefined);
  assert.equal(m.heldBack('hello</'), 2);
  assert.equal(m.heldBack('hello\n'), 1);
  assert.equal(m.heldBack('hello'), 0);
});
