/**
 * Dataset files for task definitions: JSONL (one item per line) or Parquet (as the Hugging Face
 * hub ships releases; read with hyparquet). A folder stands for its <split>.jsonl / .parquet.
 */
import { existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { BadArgumentError, FileNotFoundError } from '../errors/errors.js';
import { readJsonl } from './jsonl.js';
import { readParquet } from './parquet.js';

export type Row = Record<string, unknown>;

export async function readRows(path: string): Promise<Row[]> {
  if (!existsSync(path)) throw new FileNotFoundError(path);
  if (path.endsWith('.parquet')) return readParquet(path);
  return readJsonl(path);
}

/** The file for `split` in a folder: <split>.jsonl, <split>.parquet, or <split>-*.parquet (hub naming). */
export function splitFile(folder: string, split: string): string | undefined {
  for (const name of [`${split}.jsonl`, `${split}.parquet`]) {
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
