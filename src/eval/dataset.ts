/**
 * Dataset files for task definitions: JSONL (one item per line) or Parquet (as the Hugging Face
 * hub ships releases; read with hyparquet). A folder stands for its <split>.jsonl / .parquet.
 */
import { existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { BadArgumentError, FileNotFoundError } from '../errors/errors.js';
import { parseJsonl, readJsonl, readText } from './jsonl.js';
import { readParquet } from './parquet.js';

export type Row = Record<string, unknown>;

export async function readRows(path: string): Promise<Row[]> {
  if (!existsSync(path)) throw new FileNotFoundError(path);
  if (path.endsWith('.parquet')) return readParquet(path);
  if (path.endsWith('.json')) return readJsonFile(path);
  return readJsonl(path);
}

/**
 * A .json dataset: JSON lines (BFCL names its JSON-lines files .json) or one array of objects.
 */
function readJsonFile(path: string): Row[] {
  const text = readText(path);
  if (!text.trimStart().startsWith('[')) return parseJsonl(text, path);
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch (e) {
    throw new BadArgumentError(`${path}: not JSON (${(e as Error).message})`);
  }
  if (!Array.isArray(v) || !v.every((x) => typeof x === 'object' && x !== null && !Array.isArray(x))) throw new BadArgumentError(`${path}: expected an array of objects`);
  return v as Row[];
}

/** The file for `split` in a folder: <split>.jsonl, <split>.parquet, or <split>.json (BFCL's JSON lines). */
export function splitFile(folder: string, split: string): string | undefined {
  for (const name of [`${split}.jsonl`, `${split}.parquet`, `${split}.json`]) {
    const p = join(folder, name);
    if (existsSync(p)) return p;
  }
  return undefined;
}

export function isFolder(path: string): boolean {
  return existsSync(path) && statSync(path).isDirectory();
}

export function requireSplit(folder: string, split: string): string {
  const f = splitFile(folder, split);
  if (f === undefined) throw new BadArgumentError(`${folder} has no ${split}.jsonl or ${split}.parquet`);
  return f;
}
