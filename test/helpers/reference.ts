import { readFileSync } from 'node:fs';

/** Reads a fixture's reference.safetensors (F32 and I32 tensors) into typed arrays by name. */
export function readReference(path: string): Map<string, { shape: number[]; data: Float32Array | Int32Array }> {
  const buf = readFileSync(path);
  const n = Number(buf.readBigUInt64LE(0));
  const header = JSON.parse(buf.subarray(8, 8 + n).toString('utf8')) as Record<string, { dtype: string; shape: number[]; data_offsets: [number, number] }>;
  const base = 8 + n;
  const out = new Map<string, { shape: number[]; data: Float32Array | Int32Array }>();
  for (const [name, t] of Object.entries(header)) {
    if (name === '__metadata__') continue;
    const [a, b] = t.data_offsets;
    const bytes = buf.buffer.slice(buf.byteOffset + base + a, buf.byteOffset + base + b);
    if (t.dtype === 'F32') out.set(name, { shape: t.shape, data: new Float32Array(bytes) });
    else if (t.dtype === 'I32') out.set(name, { shape: t.shape, data: new Int32Array(bytes) });
    else throw new Error(`unexpected dtype ${t.dtype} for ${name}`);
  }
  return out;
}

export function f32(ref: ReturnType<typeof readReference>, name: string): Float32Array {
  const t = ref.get(name);
  if (!t || !(t.data instanceof Float32Array)) throw new Error(`reference has no F32 tensor ${name}`);
  return t.data;
}

export function i32(ref: ReturnType<typeof readReference>, name: string): number[] {
  const t = ref.get(name);
  if (!t || !(t.data instanceof Int32Array)) throw new Error(`reference has no I32 tensor ${name}`);
  return Array.from(t.data);
}

export function maxAbsDiff(a: Float32Array, b: Float32Array): number {
  if (a.length !== b.length) throw new Error(`length ${a.length} vs ${b.length}`);
  let m = 0;
  for (let i = 0; i < a.length; i++) {
    const d = Math.abs(a[i]! - b[i]!);
    if (!(d <= m)) m = d; // NaN propagates as a failure
  }
  return m;
}

/** Argmax of each row of a [rows × vocab] matrix. */
export function rowArgmax(x: Float32Array, vocab: number): number[] {
  const out: number[] = [];
  for (let r = 0; r * vocab < x.length; r++) {
    let best = 0;
    for (let j = 1; j < vocab; j++) if (x[r * vocab + j]! > x[r * vocab + best]!) best = j;
    out.push(best);
  }
  return out;
}
