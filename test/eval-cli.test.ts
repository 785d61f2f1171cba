import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fixture, skipNoFixtures, REPO_ROOT } from './fixtures.js';
import { loadModel } from '../src/model/load.js';
import { evaluate } from '../src/eval/evaluate.js';

const BIN = join(REPO_ROOT, 'bin', 'llama-ts.js');
const built = existsSync(join(REPO_ROOT, 'dist', 'src', 'cli', 'main.js'));
const skip = skipNoFixtures || (built ? false : 'CLI not built (npm run build)');
const MODEL = (): string => fixture('models', 'tiny-llama3-chat', 'tiny-llama3-chat.q8_0.gguf');

function cli(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [BIN, ...args], { maxBuffer: 16 << 20, timeout: 120_000 }, (err, stdout, stderr) => {
      const code = err ? (typeof err.code === 'number' ? err.code : 1) : 0;
      resolve({ code, stdout, stderr });
    });
  });
}

test('llama-ts eval prints the contract JSON for perplexity and mc, equal to evaluate()', { skip }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'eval-cli-'));
  try {
    const text = join(dir, 'text.txt');
    writeFileSync(text, 'The quick brown fox jumps over the lazy dog.\nIt was the best of times.\n');
    const data = join(dir, 'mc.jsonl');
    const items = [
      { context: 'The capital of France is', choices: [' Paris', ' London'], gold: 0 },
      { context: '2 + 2 =', choices: [' 4', ' five', ' 22'], gold: 0 },
      { context: 'Water is', choices: [' wet', ' dry'], gold: 1 },
    ];
    writeFileSync(data, items.map((x) => JSON.stringify(x)).join('\n') + '\n');

    const p = await cli(['eval', '-m', MODEL(), '--task', 'perplexity', '--data', text, '--ctx', '8', '--stride', '4']);
    assert.equal(p.code, 0, p.stderr);
    const pj = JSON.parse(p.stdout) as Record<string, unknown>;
    assert.deepEqual(Object.keys(pj).sort(), ['nll', 'ppl', 'tokens']);
    assert.ok(typeof pj.ppl === 'number' && typeof pj.nll === 'number' && Number.isInteger(pj.tokens));
    assert.ok(Math.abs((pj.ppl as number) - Math.exp(pj.nll as number)) < 1e-9 * (pj.ppl as number));

    const records = join(dir, 'rec.jsonl');
    const m = await cli(['eval', '-m', MODEL(), '--task', 'mc', '--data', data, '--json', '--limit', '2', '--records', records]);
    assert.equal(m.code, 0, m.stderr);
    const mj = JSON.parse(m.stdout) as Record<string, unknown>;
    assert.deepEqual(Object.keys(mj).sort(), ['acc', 'acc_norm', 'n']);
    assert.equal(mj.n, 2);
    assert.match(m.stderr, /ms\/item/);
    const recs = readFileSync(records, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { logprobs: number[] });
    assert.equal(recs.length, 2);
    assert.equal(recs[1]!.logprobs.length, 3);

    const model = await loadModel(MODEL());
    try {
      const lib = await evaluate(model, 'perplexity', { data: text, ctx: 8, stride: 4 });
      assert.deepEqual(pj, lib);
      assert.deepEqual(mj, await evaluate(model, 'mc', { data, limit: 2 }));
    } finally {
      await model.dispose();
    }

    const bad = await cli(['eval', '-m', MODEL(), '--task', 'mc', '--data', join(dir, 'missing.jsonl')]);
    assert.equal(bad.code, 1);
    assert.match(bad.stderr, /FILE_NOT_FOUND/);
    const badStride = await cli(['eval', '-m', MODEL(), '--task', 'perplexity', '--data', text, '--ctx', '8', '--stride', '8']);
    assert.equal(badStride.code, 1);
    assert.match(badStride.stderr, /BAD_ARGUMENT/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('llama-ts eval on a built-in task: a table by default, JSON with --json, published figures with --compare published', { skip }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'eval-cli-'));
  try {
    const data = join(dir, 'arc.jsonl');
    const rows = [
      { question: 'Which is a gas?', choices: { text: ['ice', 'steam', 'rock', 'wood'], label: ['A', 'B', 'C', 'D'] }, answerKey: 'B' },
      { question: 'What do plants need?', choices: { text: ['light', 'salt', 'sand'], label: ['1', '2', '3'] }, answerKey: '1' },
    ];
    writeFileSync(data, rows.map((x) => JSON.stringify(x)).join('\n') + '\n');
    const t = await cli(['eval', '-m', MODEL(), '--task', 'arc_challenge', '--data', data, '--compare', 'published']);
    assert.equal(t.code, 0, t.stderr);
    assert.match(t.stdout, /^task +arc_challenge\nn +2\nacc +\d+\.\d\d %\nacc_norm +\d+\.\d\d %\npublished +Llama 3\.1 pretrained ARC-Challenge \(25-shot, acc_char\): 8B 79\.7, 70B 92\.9, 405B 96\.1\n$/);
    const j = await cli(['eval', '-m', MODEL(), '--task', 'arc_challenge', '--data', data, '--json', '--compare', 'published']);
    assert.equal(j.code, 0, j.stderr);
    const o = JSON.parse(j.stdout) as { task: string; n: number; acc: number; published: { '8B': number } };
    assert.equal(o.task, 'arc_challenge');
    assert.equal(o.n, 2);
    assert.equal(o.published['8B'], 79.7);
    const bad = await cli(['eval', '-m', MODEL(), '--task', 'nope', '--data', data]);
    assert.equal(bad.code, 1);
    assert.match(bad.stderr, /BAD_ARGUMENT/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
