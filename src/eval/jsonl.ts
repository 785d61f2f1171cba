/** JSONL datasets: one JSON object per non-blank line; errors name the file and line. */
import { readFileSync } from 'node:fs';
import { BadArgumentError, FileNotFoundError } from '../errors/errors.js';

export function readText(path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') throw new FileNotFoundError(path);
    throw e;
  }
}

export function parseJsonl(text: string, source = 'JSONL'): Record<string, unknown>[] {
  const out: Record<string, unknown>[] = [];
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!.trim();
    if (line === '') continue;
    let v: unknown;
    try {
      v = JSON.parse(line);
    } catch (e) {
      throw new BadArgumentError(`${source} line ${i + 1}: not JSON (${(e as Error).message})`);
    }
    if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new BadArgumentError(`${source} line ${i + 1}: expected a JSON object`);
    out.push(v as Record<string, unknown>);
  }
  return out;
}

export function readJsonl(path: string): Record<string, unknown>[] {
  return parseJsonl(readText(path), path);
}
