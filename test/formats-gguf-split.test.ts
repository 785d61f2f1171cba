import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readGGUF } from '../src/formats/gguf.js';
import { writeGGUF } from '../src/formats/gguf-writer.js';
import { readGGUFModel, ggufShardPaths } from '../src/formats/gguf-split.js';
import { configFromGGUF } from '../src/config/from-gguf.js';
import { GGUFValueType } from '../src/formats/gguf-types.js';
import { LlamaError } from '../src/errors/errors.js';
import { fixture, skipNoFixtures } from './fixtures.js';

/** Writes `src` as an n-way split the way gguf-split does (metadata in shard 1, split.* in each). */
function split(src: string, dir: string, n: number): string[] {
  const f = readGGUF(src);
  try {
    const paths = ggufShardPaths(join(dir, `model-00001-of-${String(n).padStart(5, '0')}.gguf`))!;
    const per = Math.ceil(f.tensors.length / n);
    paths.forEach((p, i) => {
      const meta = new Map(i === 0 ? f.metadata : []);
      const types = new Map(i === 0 ? f.metadataTypes : []);
      meta.set('split.no', i);
      types.set('split.no', { type: GGUFValueType.UINT16 });
      meta.set('split.count', n);
      types.set('split.count', { type: GGUFValueType.UINT16 });
      meta.set('split.tensors.count', f.tensors.length);
      types.set('split.tensors.count', { type: GGUFValueType.INT32 });
      const tensors = f.tensors.slice(i * per, (i + 1) * per).map((t) => ({ name: t.name, type: t.dtype, shape: t.shape, data: t.read() }));
      writeGGUF(p, { metadata: meta, types, tensors, alignment: f.alignment });
    });
    return paths;
  } finally {
    f.close();
  }
}

test('split GGUF: the first shard opens all; tensors and config as in the unsplit file', { skip: skipNoFixtures }, () => {
  const dir = mkdtempSync(join(tmpdir(), 'llama-ts-split-'));
  try {
    const src = fixture('models', 'tiny-llama3.1', 'tiny-llama3.1.q8_0.gguf');
    const paths = split(src, dir, 3);
    const whole = readGGUF(src);
    const merged = readGGUFModel(paths[0]!);
    try {
      assert.deepEqual(merged.tensors.map((t) => t.name), whole.tensors.map((t) => t.name));
      for (const [i, t] of merged.tensors.entries()) assert.deepEqual(t.read(), whole.tensors[i]!.read(), t.name);
      const tmap = (f: typeof merged) => new Map(f.tensors.map((t) => [t.name, t]));
      assert.deepEqual(configFromGGUF(merged.metadata, tmap(merged)), configFromGGUF(whole.metadata, tmap(whole)));
    } finally {
      merged.close();
      whole.close();
    }
    assert.throws(() => readGGUFModel(paths[1]!), (e: unknown) => e instanceof LlamaError && e.code === 'NOT_A_MODEL' && /shard 2 of a 3-file split GGUF; open the first shard/.test(e.message));
    rmSync(paths[2]!);
    assert.throws(() => readGGUFModel(paths[0]!), (e: unknown) => e instanceof LlamaError && e.code === 'FILE_NOT_FOUND' && e.message.includes('model-00003-of-00003.gguf'));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('an unsplit GGUF opens as itself', { skip: skipNoFixtures }, () => {
  const f = readGGUFModel(fixture('models', 'tiny-llama3.1', 'tiny-llama3.1.f16.gguf'));
  try {
    assert.ok(f.tensors.length > 20);
  } finally {
    f.close();
  }
});
