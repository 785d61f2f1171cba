import { test } from 'node:test';
import assert from 'node:assert/strict';
import { benchCommand } from '../src/cli/bench.js';
import { fixture, skipNoFixtures } from './fixtures.js';

test('bench --json reports pp/tg medians and minima, threads, model size and bandwidth', { skip: skipNoFixtures }, async () => {
  let printed = '';
  const res = await benchCommand(
    { model: fixture('models', 'tiny-llama3.1', 'tiny-llama3.1.q8_0.gguf'), p: 16, n: 4, threads: 2, reps: 2, json: true },
    (s) => (printed += s),
  );
  const j = JSON.parse(printed) as Record<string, unknown>;
  for (const k of ['pp_tps', 'tg_tps', 'pp_tps_min', 'tg_tps_min', 'threads', 'model_bytes']) assert.ok(k in j, `missing ${k}`);
  assert.equal(j['threads'], 2);
  assert.equal(res.pp_runs.length, 2);
  assert.ok(res.pp_tps! > 0 && res.tg_tps! > 0 && res.pp_tps_min! <= res.pp_tps!);
  assert.ok(res.model_bytes > 0 && res.bytes_per_token > 0 && res.bytes_per_token <= res.model_bytes);
  assert.ok(res.mem_read_gbps! > 0.1, `bandwidth ${res.mem_read_gbps}`);
});

test('bench prints a llama-bench-like table', { skip: skipNoFixtures }, async () => {
  let printed = '';
  await benchCommand({ model: fixture('models', 'tiny-llama3.1', 'tiny-llama3.1.f32.gguf'), p: 8, n: 2, reps: 1, json: false, threads: 1 }, (s) => (printed += s));
  assert.match(printed, /\| pp8 \|/);
  assert.match(printed, /\| tg2 \|/);
  assert.match(printed, /GB\/s/);
});
