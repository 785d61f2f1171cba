/**
 * Minimal GGUF v3 writer: metadata plus tensors laid out back to back at the file's alignment.
 * Used by tests to build odd files and by conversion. `GGUFStreamWriter` takes each tensor's
 * type and shape up front (the header needs every offset) and then its bytes in pieces, so a
 * converter never holds more than one chunk of one tensor.
 *
 * Metadata value types come from `types` when given (e.g. a reader's `metadataTypes`), else from
 * a few well-known keys (llama.cpp insists that rope.freq_base and epsilons be FLOAT32), else are
 * inferred: boolean → BOOL, string → STRING, bigint → UINT64/INT64, integer → UINT32/INT32,
 * other numbers → FLOAT32; arrays use one element type fitting all elements.
 */
import { closeSync, openSync, writeSync } from 'node:fs';
import { BadArgumentError } from '../errors/errors.js';
import { BLOCK, type DType } from '../quant/dtype.js';
import { GGUF_DEFAULT_ALIGNMENT, GGUF_MAGIC, GGUFValueType, type GGUFType } from './gguf-types.js';
import type { GGUFValue } from './types.js';

export interface GGUFTensorInfo {
  readonly name: string;
  /** A DType, or any raw ggml type id (tests use unknown ids on purpose). */
  readonly type: DType | number;
  /** Outermost-first, as TensorRecord.shape; written reversed as GGUF ne. */
  readonly shape: readonly number[];
  /** Data size; required for unknown type ids, else computed from type and shape. */
  readonly byteLength?: number;
}

export interface GGUFWriteTensor extends GGUFTensorInfo {
  readonly data: Uint8Array;
}

interface GGUFHeaderInput {
  readonly metadata: ReadonlyMap<string, GGUFValue> | Readonly<Record<string, GGUFValue>>;
  readonly types?: ReadonlyMap<string, GGUFType>;
  /** Defaults to general.alignment from metadata, else 32. */
  readonly alignment?: number;
  /** 3 (default) or 2: both have the same layout. */
  readonly version?: 2 | 3;
}

export interface GGUFWriteInput extends GGUFHeaderInput {
  readonly tensors: readonly GGUFWriteTensor[];
}

export interface GGUFStreamInput extends GGUFHeaderInput {
  readonly tensors: readonly GGUFTensorInfo[];
}

const KNOWN_TYPES: ReadonlyArray<[RegExp, GGUFType]> = [
  [/\.rope\.freq_base$|\.layer_norm_rms_epsilon$|\.layer_norm_epsilon$|\.rope\.scaling\.factor$/, { type: GGUFValueType.FLOAT32 }],
  [/^tokenizer\.ggml\.scores$/, { type: GGUFValueType.ARRAY, items: { type: GGUFValueType.FLOAT32 } }],
  [/^tokenizer\.ggml\.token_type$/, { type: GGUFValueType.ARRAY, items: { type: GGUFValueType.INT32 } }],
  [/^general\.alignment$/, { type: GGUFValueType.UINT32 }],
];

function inferType(v: GGUFValue): GGUFType {
  if (typeof v === 'boolean') return { type: GGUFValueType.BOOL };
  if (typeof v === 'string') return { type: GGUFValueType.STRING };
  if (typeof v === 'bigint') return { type: v < 0n ? GGUFValueType.INT64 : GGUFValueType.UINT64 };
  if (typeof v === 'number') {
    if (Number.isInteger(v) && v >= 0 && v <= 0xffffffff) return { type: GGUFValueType.UINT32 };
    if (Number.isInteger(v) && v >= -0x80000000 && v < 0) return { type: GGUFValueType.INT32 };
    return { type: GGUFValueType.FLOAT32 };
  }
  return { type: GGUFValueType.ARRAY, items: inferItems(v) };
}

function inferItems(arr: readonly GGUFValue[]): GGUFType {
  if (arr.length === 0) return { type: GGUFValueType.INT32 };
  const first = arr[0]!;
  if (typeof first === 'string') return { type: GGUFValueType.STRING };
  if (typeof first === 'boolean') return { type: GGUFValueType.BOOL };
  if (Array.isArray(first)) return { type: GGUFValueType.ARRAY, items: inferItems(first) };
  if (typeof first === 'bigint') return { type: arr.some((x) => typeof x === 'bigint' && x < 0n) ? GGUFValueType.INT64 : GGUFValueType.UINT64 };
  const nums = arr as readonly number[];
  if (nums.every((x) => Number.isInteger(x) && x >= -0x80000000 && x <= 0x7fffffff)) return { type: GGUFValueType.INT32 };
  if (nums.every((x) => Number.isInteger(x) && x >= 0 && x <= 0xffffffff)) return { type: GGUFValueType.UINT32 };
  return { type: GGUFValueType.FLOAT32 };
}

/** Growable little-endian byte buffer for the header. */
class Bytes {
  private buf = new Uint8Array(1 << 16);
  private view = new DataView(this.buf.buffer);
  length = 0;
  private static enc = new TextEncoder();

  /** Reserves n bytes and returns their offset; may replace buf and view. */
  private grow(n: number): number {
    if (this.length + n > this.buf.length) {
      const next = new Uint8Array(Math.max(this.buf.length * 2, this.length + n));
      next.set(this.buf.subarray(0, this.length));
      this.buf = next;
      this.view = new DataView(next.buffer);
    }
    const at = this.length;
    this.length += n;
    return at;
  }
  /** grow() first, then the (possibly new) view: never `this.view.set…(this.grow(n))`. */
  private put(n: number, set: (view: DataView, at: number) => void): void {
    const at = this.grow(n);
    set(this.view, at);
  }
  u8(v: number): void { this.put(1, (d, at) => d.setUint8(at, v)); }
  i8(v: number): void { this.put(1, (d, at) => d.setInt8(at, v)); }
  u16(v: number): void { this.put(2, (d, at) => d.setUint16(at, v, true)); }
  i16(v: number): void { this.put(2, (d, at) => d.setInt16(at, v, true)); }
  u32(v: number): void { this.put(4, (d, at) => d.setUint32(at, v, true)); }
  i32(v: number): void { this.put(4, (d, at) => d.setInt32(at, v, true)); }
  f32(v: number): void { this.put(4, (d, at) => d.setFloat32(at, v, true)); }
  f64(v: number): void { this.put(8, (d, at) => d.setFloat64(at, v, true)); }
  u64(v: bigint | number): void { this.put(8, (d, at) => d.setBigUint64(at, BigInt(v), true)); }
  i64(v: bigint | number): void { this.put(8, (d, at) => d.setBigInt64(at, BigInt(v), true)); }
  str(s: string): void {
    const b = Bytes.enc.encode(s);
    this.u64(b.length);
    const at = this.grow(b.length);
    this.buf.set(b, at);
  }
  bytes(): Uint8Array { return this.buf.subarray(0, this.length); }
}

function writeValue(out: Bytes, key: string, v: GGUFValue, t: GGUFType): void {
  const bad = (): never => {
    throw new BadArgumentError(`GGUF metadata ${key}: value ${String(v)} does not fit type ${GGUFValueType[t.type]}`);
  };
  const num = (): number => (typeof v === 'number' ? v : typeof v === 'bigint' ? Number(v) : bad());
  const int = (lo: number, hi: number): number => {
    const n = num();
    return Number.isInteger(n) && n >= lo && n <= hi ? n : bad();
  };
  const big = (): bigint => (typeof v === 'bigint' ? v : typeof v === 'number' && Number.isInteger(v) ? BigInt(v) : bad());
  switch (t.type) {
    case GGUFValueType.UINT8: return out.u8(int(0, 0xff));
    case GGUFValueType.INT8: return out.i8(int(-0x80, 0x7f));
    case GGUFValueType.UINT16: return out.u16(int(0, 0xffff));
    case GGUFValueType.INT16: return out.i16(int(-0x8000, 0x7fff));
    case GGUFValueType.UINT32: return out.u32(int(0, 0xffffffff));
    case GGUFValueType.INT32: return out.i32(int(-0x80000000, 0x7fffffff));
    case GGUFValueType.FLOAT32: return out.f32(num());
    case GGUFValueType.FLOAT64: return out.f64(num());
    case GGUFValueType.UINT64: return out.u64(big());
    case GGUFValueType.INT64: return out.i64(big());
    case GGUFValueType.BOOL: return typeof v === 'boolean' ? out.u8(v ? 1 : 0) : bad();
    case GGUFValueType.STRING: return typeof v === 'string' ? out.str(v) : bad();
    case GGUFValueType.ARRAY: {
      if (!Array.isArray(v)) return bad();
      const items = t.items ?? inferItems(v);
      out.u32(items.type);
      out.u64(v.length);
      for (const x of v) {
        // Nested arrays each carry their own element type header.
        writeValue(out, key, x, items.type === GGUFValueType.ARRAY && Array.isArray(x) ? { type: items.type, items: inferItems(x) } : items);
      }
      return;
    }
    default:
      throw new BadArgumentError(`GGUF metadata ${key}: unknown value type ${t.type as number}`);
  }
}

function typeFor(key: string, v: GGUFValue, types: ReadonlyMap<string, GGUFType> | undefined): GGUFType {
  const given = types?.get(key);
  if (given) return given;
  for (const [re, t] of KNOWN_TYPES) if (re.test(key)) return t;
  return inferType(v);
}

function expectedBytes(t: GGUFTensorInfo): number | undefined {
  const layout = BLOCK[t.type as DType];
  if (!layout) return undefined;
  const cols = t.shape[t.shape.length - 1] ?? 1;
  if (cols % layout.blockElems !== 0) return undefined;
  let rows = 1;
  for (let i = 0; i < t.shape.length - 1; i++) rows *= t.shape[i]!;
  return (cols / layout.blockElems) * layout.blockBytes * rows;
}

function tensorBytes(t: GGUFTensorInfo): number {
  const want = expectedBytes(t);
  if (want !== undefined && t.byteLength !== undefined && want !== t.byteLength) {
    throw new BadArgumentError(`tensor ${t.name}: shape [${t.shape.join(', ')}] needs ${want} bytes, got ${t.byteLength}`);
  }
  const n = want ?? t.byteLength;
  if (n === undefined) throw new BadArgumentError(`tensor ${t.name}: size of type ${t.type} with shape [${t.shape.join(', ')}] is unknown`);
  return n;
}

/**
 * Writes a GGUF file piece by piece: the constructor writes the header (metadata and tensor
 * table), then `write` appends bytes to the tensors in table order; a tensor's padding is added
 * as soon as it is complete. `finish` checks that every tensor got exactly its size and closes the
 * file; `abort` just closes it.
 */
export class GGUFStreamWriter {
  private fd: number | undefined;
  private readonly sizes: number[];
  private readonly names: string[];
  private readonly alignment: number;
  private readonly zeros: Uint8Array;
  private pos: number;
  private current = 0;
  private done = 0;

  constructor(readonly path: string, input: GGUFStreamInput) {
    const entries: Array<[string, GGUFValue]> =
      input.metadata instanceof Map ? [...input.metadata] : Object.entries(input.metadata as Record<string, GGUFValue>);
    const metaAlign = entries.find(([k]) => k === 'general.alignment')?.[1];
    const alignment = input.alignment ?? (typeof metaAlign === 'number' ? metaAlign : GGUF_DEFAULT_ALIGNMENT);
    if (!Number.isInteger(alignment) || alignment <= 0 || (alignment & (alignment - 1)) !== 0) {
      throw new BadArgumentError(`GGUF alignment must be a power of two, got ${alignment}`);
    }
    if (alignment !== GGUF_DEFAULT_ALIGNMENT && metaAlign === undefined) entries.push(['general.alignment', alignment]);
    else if (metaAlign !== undefined && metaAlign !== alignment) {
      throw new BadArgumentError(`alignment ${alignment} contradicts general.alignment ${String(metaAlign)}`);
    }

    const h = new Bytes();
    h.u32(GGUF_MAGIC);
    h.u32(input.version ?? 3);
    h.u64(input.tensors.length);
    h.u64(entries.length);
    for (const [k, v] of entries) {
      const t = typeFor(k, v, input.types);
      h.str(k);
      h.u32(t.type);
      writeValue(h, k, v, t);
    }
    let rel = 0;
    this.sizes = [];
    this.names = [];
    for (const t of input.tensors) {
      const n = tensorBytes(t);
      if (t.shape.length < 1 || t.shape.length > 4) throw new BadArgumentError(`tensor ${t.name}: ${t.shape.length} dimensions`);
      h.str(t.name);
      h.u32(t.shape.length);
      for (let i = t.shape.length - 1; i >= 0; i--) h.u64(t.shape[i]!);
      h.u32(t.type);
      h.u64(rel);
      this.sizes.push(n);
      this.names.push(t.name);
      rel += Math.ceil(n / alignment) * alignment;
    }
    this.alignment = alignment;
    this.zeros = new Uint8Array(alignment);
    this.fd = openSync(path, 'w');
    const header = h.bytes();
    this.pos = 0;
    this.put(header);
    this.pad();
    this.skipEmpty();
  }

  private put(b: Uint8Array): void {
    let done = 0;
    while (done < b.length) done += writeSync(this.fd!, b, done, Math.min(b.length - done, 1 << 30), this.pos + done);
    this.pos += b.length;
  }

  private pad(): void {
    const end = Math.ceil(this.pos / this.alignment) * this.alignment;
    if (end > this.pos) this.put(this.zeros.subarray(0, end - this.pos));
  }

  /** Moves past completed (and zero-size) tensors, padding each. */
  private skipEmpty(): void {
    while (this.current < this.sizes.length && this.done === this.sizes[this.current]) {
      this.pad();
      this.current++;
      this.done = 0;
    }
  }

  /** Appends bytes to the tensor being written (never across a tensor's end). */
  write(bytes: Uint8Array): void {
    if (this.fd === undefined) throw new BadArgumentError(`${this.path}: writer is closed`);
    if (this.current >= this.sizes.length) throw new BadArgumentError(`${this.path}: all tensors are complete`);
    const left = this.sizes[this.current]! - this.done;
    if (bytes.length > left) {
      throw new BadArgumentError(`tensor ${this.names[this.current]}: ${bytes.length} bytes given, only ${left} left of its ${this.sizes[this.current]}`);
    }
    this.put(bytes);
    this.done += bytes.length;
    this.skipEmpty();
  }

  finish(): void {
    if (this.fd === undefined) return;
    const incomplete = this.current < this.sizes.length;
    const msg = incomplete ? `tensor ${this.names[this.current]}: ${this.done} of ${this.sizes[this.current]} bytes written` : '';
    this.abort();
    if (incomplete) throw new BadArgumentError(`${this.path}: ${msg}`);
  }

  abort(): void {
    if (this.fd !== undefined) closeSync(this.fd);
    this.fd = undefined;
  }
}

/** Writes a GGUF file whose tensor bytes are all in memory. Known tensor types are checked against shape; unknown type ids are written as given. */
export function writeGGUF(path: string, input: GGUFWriteInput): void {
  const w = new GGUFStreamWriter(path, {
    ...input,
    tensors: input.tensors.map((t) => ({ name: t.name, type: t.type, shape: t.shape, byteLength: t.data.length })),
  });
  try {
    for (const t of input.tensors) w.write(t.data);
    w.finish();
  } catch (e) {
    w.abort();
    throw e;
  }
}
