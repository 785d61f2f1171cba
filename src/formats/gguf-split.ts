/**
 * Split GGUF models as llama.cpp's gguf-split writes them: `<stem>-00001-of-0000N.gguf` …, each a
 * complete GGUF file holding some of the tensors and the keys `split.no` (0-based), `split.count`
 * and `split.tensors.count`; the first shard also holds the model's metadata. Opening the first
 * shard opens them all and presents one GGUFFile whose tensor records read from their own shard.
 */
import { existsSync } from 'node:fs';
import { FileNotFoundError, NotAModelError } from '../errors/errors.js';
import { readGGUF, ggufNumber, type GGUFFile } from './gguf.js';

const SHARD = /-(\d{5})-of-(\d{5})\.gguf$/i;

/** The paths of every shard of a split GGUF named like `path`, or undefined for an unsplit name. */
export function ggufShardPaths(path: string): string[] | undefined {
  const m = SHARD.exec(path);
  if (!m) return undefined;
  const stem = path.slice(0, m.index);
  const n = Number(m[2]);
  return Array.from({ length: n }, (_, i) => `${stem}-${String(i + 1).padStart(5, '0')}-of-${m[2]}.gguf`);
}

/** Opens a GGUF model: one file, or (given its first shard) all shards of a split one. */
export function readGGUFModel(path: string): GGUFFile {
  const first = readGGUF(path);
  const count = ggufNumber(first.metadata, 'split.count') ?? 1;
  if (count <= 1) return first;
  const opened: GGUFFile[] = [first];
  try {
    const no = ggufNumber(first.metadata, 'split.no') ?? 0;
    const paths = ggufShardPaths(path);
    if (no !== 0 || !paths) throw new NotAModelError(path, `shard ${no + 1} of a ${count}-file split GGUF; open the first shard, named …-00001-of-${String(count).padStart(5, '0')}.gguf`);
    if (paths.length !== count) throw new NotAModelError(path, `split.count is ${count} but the file name says ${paths.length} shards`);
    for (let i = 1; i < count; i++) {
      const p = paths[i]!;
      if (!existsSync(p)) throw new FileNotFoundError(p);
      const f = readGGUF(p);
      opened.push(f);
      const fNo = ggufNumber(f.metadata, 'split.no');
      const fCount = ggufNumber(f.metadata, 'split.count');
      if (fNo !== i || fCount !== count) throw new NotAModelError(p, `expected shard ${i + 1} of ${count}, its split.no/split.count say ${fNo === undefined ? '?' : fNo + 1} of ${fCount ?? '?'}`);
    }
    const tensors = opened.flatMap((f) => f.tensors);
    const names = new Set<string>();
    for (const t of tensors) {
      if (names.has(t.name)) throw new NotAModelError(path, `tensor ${t.name} appears in two shards`);
      names.add(t.name);
    }
    const expected = ggufNumber(first.metadata, 'split.tensors.count');
    if (expected !== undefined && expected !== tensors.length) throw new NotAModelError(path, `split.tensors.count is ${expected} but the ${count} shards hold ${tensors.length} tensors`);
    return {
      ...first,
      tensors,
      fileSize: opened.reduce((a, f) => a + f.fileSize, 0),
      close: () => opened.forEach((f) => f.close()),
    };
  } catch (e) {
    opened.forEach((f) => f.close());
    throw e;
  }
}
