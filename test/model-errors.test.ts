import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fixture, skipNoFixtures } from './fixtures.js';
import { loadModel } from '../src/model/load.js';
import { readGGUF } from '../src/formats/gguf.js';
import { writeGGUF } from '../src/formats/gguf-writer.js';
import { LlamaError } from '../src/errors/errors.js';

const GGUF = (): string => fixture('models', 'tiny-llama3.1', 'tiny-llama3.1.f32.gguf');
const tmp = mkdtempSync(join(tmpdir(), 'llama-ts-errors-'));
process.on('exit', () => rmSync(tmp, { recursive: true, force: true }));

async function rejectsWith(p: Promise<unknown>, code: string, ...mentions: string[]): Promise<void> {
  await assert.rejects(p, (e: unknown) => {
    assert.ok(e instanceof LlamaError, `expected a LlamaError, got ${String(e)}`);
    assert.equal(e.code, code, e.message);
    for (const m of mentions) assert.ok(e.message.includes(m), `message "${e.message}" should mention ${m}`);
    return true;
  });
}

/** Rewrites the fixture GGUF with `edit` applied to its tensor list. */
function rewrite(name: string, edit: (t: { name: string; type: number; shape: readonly number[]; data: Uint8Array }) => typeof t): string {
  const f = readGGUF(GGUF());
  try {
    const out = join(tmp, name);
    writeGGUF(out, {
      metadata: f.metadata,
      types: f.metadataTypes,
      tensors: f.tensors.map((t) => edit({ name: t.name, type: t.dtype, shape: t.shape, data: t.read() })),
    });
    return out;
  } finally {
    f.close();
  }
}

test('missing file', async () => {
  await rejectsWith(loadModel(join(tmp, 'nope.gguf'), { backend: 'ref' }), 'FILE_NOT_FOUND', 'nope.gguf');
});

test('not a model', async () => {
  const p = join(tmp, 'notes.txt');
  writeFileSync(p, 'just some text, not weights\n');
  await rejectsWith(loadModel(p, { backend: 'ref' }), 'NOT_A_MODEL');
  await rejectsWith(loadModel(tmp, { backend: 'ref' }), 'NOT_A_MODEL');
});

test('truncated GGUF (header and tensor data)', { skip: skipNoFixtures }, async () => {
  const bytes = readFileSync(GGUF());
  const cut = join(tmp, 'cut.gguf');
  writeFileSync(cut, bytes.subarray(0, Math.floor(bytes.length * 0.6)));
  await rejectsWith(loadModel(cut, { backend: 'ref' }), 'TRUNCATED_FILE');
  const head = join(tmp, 'head.gguf');
  writeFileSync(head, bytes.subarray(0, 100));
  await rejectsWith(loadModel(head, { backend: 'ref' }), 'TRUNCATED_FILE');
});

test('unsupported tensor type names the tensor', { skip: skipNoFixtures }, async () => {
  const p = rewrite('badtype.gguf', (t) => (t.name === 'blk.1.ffn_up.weight' ? { ...t, type: 99 } : t));
  await rejectsWith(loadModel(p, { backend: 'ref' }), 'UNSUPPORTED_TENSOR_TYPE', 'blk.1.ffn_up.weight');
});

test('shape mismatch names the tensor and both shapes', { skip: skipNoFixtures }, async () => {
  const p = rewrite('badshape.gguf', (t) => (t.name === 'blk.0.ffn_gate.weight' ? { ...t, shape: [128, 352] } : t));
  await rejectsWith(loadModel(p, { backend: 'ref' }), 'SHAPE_MISMATCH', 'blk.0.ffn_gate.weight', '[352, 128]', '[128, 352]');
});

test('a prompt longer than the context is an error, never truncated', { skip: skipNoFixtures }, async () => {
  const model = await loadModel(GGUF(), { backend: 'ref' });
  try {
    const s = model.session({ contextSize: 8 });
    await rejectsWith(s.eval([1, 2, 3, 4, 5, 6, 7, 8, 9]), 'CONTEXT_OVERFLOW', '9', '8');
    assert.equal(s.length, 0, 'nothing was cached');
    await s.eval([1, 2, 3, 4, 5]);
    await rejectsWith(s.eval([6, 7, 8, 9]), 'CONTEXT_OVERFLOW');
    assert.equal(s.length, 5);
    const gen = model.generate([1, 5, 6, 7, 8, 9, 10, 11, 12], { session: model.session({ contextSize: 4 }) });
    await rejectsWith(gen.next(), 'CONTEXT_OVERFLOW');
    await rejectsWith(model.logits([1, 5000]), 'BAD_ARGUMENT', '5000');
    await rejectsWith(s.eval([1], { startPos: 2 }), 'BAD_ARGUMENT', 'startPos');
  } finally {
    await model.dispose();
  }
});
