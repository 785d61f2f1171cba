/** Parquet rows as plain objects (hyparquet: pure JS, snappy built in). */
import { readFileSync } from 'node:fs';
import { parquetReadObjects } from 'hyparquet';
import { BadArgumentError } from '../errors/errors.js';

export async function readParquet(path: string): Promise<Record<string, unknown>[]> {
  const buf = readFileSync(path);
  const file = buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength) as ArrayBuffer;
  try {
    const rows = (await parquetReadObjects({ file })) as Record<string, unknown>[];
    // int64 columns arrive as BigInt; datasets' labels and answers fit a double.
    return rows.map((r) => fromBigInt(r) as Record<string, unknown>);
  } catch (e) {
    throw new BadArgumentError(`${path}: not a readable Parquet file (${(e as Error).message})`);
  }
}

function fromBigInt(v: unknown): unknown {
  if (typeof v === 'bigint') return Number(v);
  if (Array.isArray(v)) return v.map(fromBigInt);
  if (v !== null && typeof v === 'object' && !(v instanceof Uint8Array) && !(v instanceof Date)) {
    return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, fromBigInt(x)]));
  }
  return v;
}
