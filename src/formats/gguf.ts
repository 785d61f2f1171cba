/**
 * GGUF reader (v2 and v3; both use 64-bit counts and lengths). The header is parsed through a
 * window that grows on demand, tensor bytes are read lazily and positionally, so files larger
 * than 2 GiB work and opening a model costs only its header.
 *
 * Value mapping: integers and floats become `number`, except UINT64/INT64 which become `bigint`
 * (they may exceed 2^53); BOOL → boolean; STRING → string (UTF-8); ARRAY → GGUFValue[] (nested
 * arrays allowed). `metadataTypes` keeps every key's on-disk type so a file can be rewritten faithfully.
 */
import { BadConfigError, NotAModelError, TruncatedFileError, UnsupportedTensorTypeError } from '../errors/errors.js';
import { showValue } from '../errors/show.js';
import { BLOCK, DType } from '../quant/dtype.js';
import { FileReader, openAndParse, fileTensor, type FileTensorRecord } from './file-reader.js';
import { GGUF_DEFAULT_ALIGNMENT, GGUF_MAGIC, GGUFValueType, ggmlTypeName, type GGUFType } from './gguf-types.js';
import type { GGUFValue } from './types.js';

export interface GGUFFile {
  readonly path: string;
  readonly version: number;
  readonly alignment: number;
  readonly metadata: Map<string, GGUFValue>;
  /** On-disk type of each metadata key. */
  readonly metadataTypes: Map<string, GGUFType>;
  /** In file order. */
  readonly tensors: FileTensorRecord[];
  /** Absolute offset where the tensor data section starts (tensor offsets are relative to it). */
  readonly tensorDataOffset: number;
  /** Size of the file in bytes. */
  readonly fileSize: number;
  close(): void;
}

const WINDOW = 1 << 20;
const utf8 = new TextDecoder('utf-8');

/** Sequential little-endian reader over the file header, refilling a window from disk. */
class HeaderCursor {
  private buf: Uint8Array = new Uint8Array(0);
  private view = new DataView(this.buf.buffer);
  private bufStart = 0;
  pos = 0;
  /** Names what is being parsed, for truncation messages. */
  context = 'the header';

  constructor(private readonly file: FileReader) {}

  private ensure(n: number): number {
    const rel = this.pos - this.bufStart;
    if (rel + n <= this.buf.length) return rel;
    if (this.pos + n > this.file.size) {
      throw new TruncatedFileError(
        this.file.path,
        `${this.context} needs bytes ${this.pos}..${this.pos + n} but the file ends at ${this.file.size}`,
      );
    }
    const len = Math.min(Math.max(n, WINDOW), this.file.size - this.pos);
    this.buf = this.file.read(this.pos, len, this.context);
    this.view = new DataView(this.buf.buffer, this.buf.byteOffset, this.buf.byteLength);
    this.bufStart = this.pos;
    return 0;
  }

  u8(): number { const r = this.ensure(1); this.pos += 1; return this.buf[r]!; }
  i8(): number { const r = this.ensure(1); this.pos += 1; return this.view.getInt8(r); }
  u16(): number { const r = this.ensure(2); this.pos += 2; return this.view.getUint16(r, true); }
  i16(): number { const r = this.ensure(2); this.pos += 2; return this.view.getInt16(r, true); }
  u32(): number { const r = this.ensure(4); this.pos += 4; return this.view.getUint32(r, true); }
  i32(): number { const r = this.ensure(4); this.pos += 4; return this.view.getInt32(r, true); }
  f32(): number { const r = this.ensure(4); this.pos += 4; return this.view.getFloat32(r, true); }
  f64(): number { const r = this.ensure(8); this.pos += 8; return this.view.getFloat64(r, true); }
  u64(): bigint { const r = this.ensure(8); this.pos += 8; return this.view.getBigUint64(r, true); }
  i64(): bigint { const r = this.ensure(8); this.pos += 8; return this.view.getBigInt64(r, true); }

  /** A u64 used as a count, length or offset: must fit a JS number and, if `maxBytesEach` is given, the rest of the file. */
  size(what: string, maxBytesEach = 0): number {
    const v = this.u64();
    if (v > BigInt(Number.MAX_SAFE_INTEGER)) throw new NotAModelError(this.file.path, `${what} ${v} is out of range`);
    const n = Number(v);
    if (maxBytesEach > 0 && n * maxBytesEach > this.file.size - this.pos) {
      throw new TruncatedFileError(this.file.path, `${what} is ${n} but only ${this.file.size - this.pos} bytes remain (${this.context})`);
    }
    return n;
  }

  str(): string {
    const len = this.size('string length', 1);
    const r = this.ensure(len);
    this.pos += len;
    return utf8.decode(this.buf.subarray(r, r + len));
  }
}

/**
 * Arrays may nest, but no model writes more than a level or two; a bound keeps a hostile file
 * from exhausting the call stack (each level is one recursive call).
 */
export const GGUF_MAX_ARRAY_DEPTH = 16;

function readValue(c: HeaderCursor, type: GGUFValueType, path: string, depth = 0): [GGUFValue, GGUFType] {
  switch (type) {
    case GGUFValueType.UINT8: return [c.u8(), { type }];
    case GGUFValueType.INT8: return [c.i8(), { type }];
    case GGUFValueType.UINT16: return [c.u16(), { type }];
    case GGUFValueType.INT16: return [c.i16(), { type }];
    case GGUFValueType.UINT32: return [c.u32(), { type }];
    case GGUFValueType.INT32: return [c.i32(), { type }];
    case GGUFValueType.FLOAT32: return [c.f32(), { type }];
    case GGUFValueType.FLOAT64: return [c.f64(), { type }];
    case GGUFValueType.UINT64: return [c.u64(), { type }];
    case GGUFValueType.INT64: return [c.i64(), { type }];
    case GGUFValueType.BOOL: {
      const b = c.u8();
      if (b > 1) throw new NotAModelError(path, `bool value ${b} in ${c.context}`);
      return [b === 1, { type }];
    }
    case GGUFValueType.STRING: return [c.str(), { type }];
    case GGUFValueType.ARRAY: {
      if (depth >= GGUF_MAX_ARRAY_DEPTH) {
        throw new NotAModelError(path, `metadata arrays nested more than ${GGUF_MAX_ARRAY_DEPTH} deep in ${c.context}`);
      }
      const itemType = c.u32() as GGUFValueType;
      if (!(itemType in GGUFValueType)) throw new NotAModelError(path, `unknown array element type ${itemType} in ${c.context}`);
      // Every element takes at least one byte (an empty nested array takes 12), so a count larger than the rest of the file is truncation.
      const n = c.size('array length', 1);
      const out: GGUFValue[] = new Array<GGUFValue>(n);
      let items: GGUFType = { type: itemType };
      for (let i = 0; i < n; i++) {
        const [v, t] = readValue(c, itemType, path, depth + 1);
        out[i] = v;
        if (i === 0) items = t;
      }
      return [out, { type, items }];
    }
    default:
      throw new NotAModelError(path, `unknown metadata value type ${type as number} in ${c.context}`);
  }
}

/** Opens a GGUF file and parses its header; tensor bytes stay on disk until read. */
export function readGGUF(path: string): GGUFFile {
  return openAndParse(path, parse);
}

function parse(file: FileReader): GGUFFile {
  const path = file.path;
  if (file.size < 4) throw new NotAModelError(path, `only ${file.size} bytes, no GGUF magic`);
  const c = new HeaderCursor(file);
  const magic = c.u32();
  if (magic !== GGUF_MAGIC) {
    const shown = Array.from(file.read(0, 4, 'magic'), (b) => b.toString(16).padStart(2, '0')).join(' ');
    throw new NotAModelError(path, `bad magic ${shown} (expected "GGUF")`);
  }
  c.context = 'the GGUF version';
  const version = c.u32();
  if (version !== 2 && version !== 3) {
    const hint = version > 0xffff ? ' (a big-endian GGUF?)' : '';
    throw new NotAModelError(path, `unsupported GGUF version ${version}${hint}; versions 2 and 3 are supported`);
  }
  c.context = 'the tensor count';
  // A tensor info takes at least 24 bytes, a key/value pair at least 13.
  const nTensors = c.size('tensor count', 24);
  c.context = 'the metadata count';
  const nKV = c.size('metadata count', 13);

  const metadata = new Map<string, GGUFValue>();
  const metadataTypes = new Map<string, GGUFType>();
  for (let i = 0; i < nKV; i++) {
    c.context = `metadata entry ${i}`;
    const key = c.str();
    c.context = `metadata key '${key}'`;
    const type = c.u32() as GGUFValueType;
    const [value, t] = readValue(c, type, path);
    if (metadata.has(key)) throw new NotAModelError(path, `duplicate metadata key '${key}'`);
    metadata.set(key, value);
    metadataTypes.set(key, t);
  }

  let alignment = GGUF_DEFAULT_ALIGNMENT;
  const a = metadata.get('general.alignment');
  if (a !== undefined) {
    if (typeof a !== 'number' || !Number.isInteger(a) || a <= 0 || (a & (a - 1)) !== 0) {
      throw new NotAModelError(path, `general.alignment must be a power of two, got ${showValue(a)}`);
    }
    alignment = a;
  }

  interface Info { name: string; ne: number[]; typeId: number; rel: number }
  const infos: Info[] = [];
  for (let i = 0; i < nTensors; i++) {
    c.context = `tensor info ${i}`;
    const name = c.str();
    c.context = `tensor info of ${name}`;
    const nDims = c.u32();
    if (nDims < 1 || nDims > 4) throw new NotAModelError(path, `tensor ${name} has ${nDims} dimensions (GGML allows 1..4)`);
    const ne: number[] = [];
    for (let d = 0; d < nDims; d++) ne.push(c.size(`dimension ${d} of tensor ${name}`));
    const typeId = c.u32();
    const rel = c.size(`data offset of tensor ${name}`);
    infos.push({ name, ne, typeId, rel });
  }
  const tensorDataOffset = Math.ceil(c.pos / alignment) * alignment;

  const seen = new Set<string>();
  const tensors: FileTensorRecord[] = [];
  for (const { name, ne, typeId, rel } of infos) {
    if (seen.has(name)) throw new NotAModelError(path, `duplicate tensor name ${name}`);
    seen.add(name);
    const layout = typeId in DType ? BLOCK[typeId as DType] : undefined;
    if (!layout) throw new UnsupportedTensorTypeError(name, ggmlTypeName(typeId));
    const dtype = typeId as DType;
    if (ne[0]! % layout.blockElems !== 0) {
      throw new NotAModelError(path, `tensor ${name}: row length ${ne[0]} is not a multiple of the ${ggmlTypeName(typeId)} block size ${layout.blockElems}`);
    }
    if (rel % alignment !== 0) throw new NotAModelError(path, `tensor ${name}: data offset ${rel} is not aligned to ${alignment}`);
    let rows = 1;
    for (let d = 1; d < ne.length; d++) rows *= ne[d]!;
    const byteLength = (ne[0]! / layout.blockElems) * layout.blockBytes * rows;
    const offset = tensorDataOffset + rel;
    if (offset + byteLength > file.size) {
      throw new TruncatedFileError(path, `tensor ${name} needs bytes ${offset}..${offset + byteLength} but the file ends at ${file.size}`);
    }
    // GGUF lists ne innermost-first; TensorRecord shapes are outermost-first.
    tensors.push(fileTensor(file, name, dtype, [...ne].reverse(), offset, byteLength));
  }

  return {
    path,
    version,
    alignment,
    metadata,
    metadataTypes,
    tensors,
    tensorDataOffset,
    fileSize: file.size,
    close: () => file.close(),
  };
}

/** Typed metadata accessors that throw BadConfigError naming the key when the type is wrong. */
export function ggufNumber(meta: ReadonlyMap<string, GGUFValue>, key: string): number | undefined {
  const v = meta.get(key);
  if (v === undefined) return undefined;
  if (typeof v === 'number') return v;
  if (typeof v === 'bigint' && v <= BigInt(Number.MAX_SAFE_INTEGER) && v >= BigInt(Number.MIN_SAFE_INTEGER)) return Number(v);
  throw new BadConfigError(`GGUF metadata ${key} is ${typeof v}, expected a number`);
}

export function ggufString(meta: ReadonlyMap<string, GGUFValue>, key: string): string | undefined {
  const v = meta.get(key);
  if (v === undefined) return undefined;
  if (typeof v === 'string') return v;
  throw new BadConfigError(`GGUF metadata ${key} is ${Array.isArray(v) ? 'an array' : typeof v}, expected a string`);
}
