/**
 * safetensors reader: u64 LE header length, a JSON header naming each tensor's dtype, shape and
 * [begin, end) byte range relative to the end of the header, then the raw little-endian data.
 * Only the header is read at open; tensor bytes are read positionally when asked for.
 */
import { NotAModelError, TruncatedFileError, UnsupportedTensorTypeError } from '../errors/errors.js';
import { DType } from '../quant/dtype.js';
import { FileReader, openAndParse, fileTensor, type FileTensorRecord } from './file-reader.js';

export interface SafetensorsFile {
  readonly path: string;
  /** The header's `__metadata__` string map (empty when absent). */
  readonly metadata: Readonly<Record<string, string>>;
  /** In data order (ascending offset). */
  readonly tensors: FileTensorRecord[];
  close(): void;
}

const DTYPES: Readonly<Record<string, DType>> = { F32: DType.F32, F16: DType.F16, BF16: DType.BF16 };
const BYTES: Readonly<Record<string, number>> = { F32: 4, F16: 2, BF16: 2 };
/** The reference implementation refuses headers over 100 MB; anything larger is not a safetensors file. */
const MAX_HEADER = 100_000_000;

interface HeaderEntry {
  dtype: string;
  shape: number[];
  data_offsets: [number, number];
}

function isEntry(v: unknown): v is HeaderEntry {
  if (typeof v !== 'object' || v === null) return false;
  const e = v as Record<string, unknown>;
  return (
    typeof e['dtype'] === 'string' &&
    Array.isArray(e['shape']) && e['shape'].every((d) => Number.isSafeInteger(d) && (d as number) >= 0) &&
    Array.isArray(e['data_offsets']) && e['data_offsets'].length === 2 &&
    e['data_offsets'].every((d) => Number.isSafeInteger(d) && (d as number) >= 0)
  );
}

export function readSafetensors(path: string): SafetensorsFile {
  return openAndParse(path, parse);
}

function parse(file: FileReader): SafetensorsFile {
  const path = file.path;
  if (file.size < 8) throw new NotAModelError(path, `only ${file.size} bytes, too short for a safetensors header`);
  const lenBytes = file.read(0, 8, 'the header length');
  const headerLen = Number(new DataView(lenBytes.buffer).getBigUint64(0, true));
  if (headerLen < 2 || headerLen > MAX_HEADER) throw new NotAModelError(path, `implausible safetensors header length ${headerLen}`);
  if (8 + headerLen > file.size) {
    throw new TruncatedFileError(path, `the JSON header needs bytes 8..${8 + headerLen} but the file ends at ${file.size}`);
  }
  const headerBytes = file.read(8, headerLen, 'the JSON header');
  if (headerBytes[0] !== 0x7b /* { */) throw new NotAModelError(path, 'the safetensors header is not a JSON object');
  let header: unknown;
  try {
    header = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(headerBytes));
  } catch (e) {
    throw new NotAModelError(path, `the safetensors header is not valid JSON (${(e as Error).message})`);
  }
  if (typeof header !== 'object' || header === null || Array.isArray(header)) {
    throw new NotAModelError(path, 'the safetensors header is not a JSON object');
  }
  const dup = firstDuplicateKey(headerBytes);
  if (dup !== undefined) throw new NotAModelError(path, `the safetensors header names ${JSON.stringify(dup)} twice`);
  const dataStart = 8 + headerLen;
  const metadata: Record<string, string> = {};
  const tensors: FileTensorRecord[] = [];
  for (const [name, v] of Object.entries(header as Record<string, unknown>)) {
    if (name === '__metadata__') {
      if (typeof v === 'object' && v !== null) {
        for (const [k, s] of Object.entries(v as Record<string, unknown>)) if (typeof s === 'string') metadata[k] = s;
      }
      continue;
    }
    if (!isEntry(v)) throw new NotAModelError(path, `malformed header entry for tensor ${name}`);
    const dtype = DTYPES[v.dtype];
    if (dtype === undefined) throw new UnsupportedTensorTypeError(name, `${v.dtype} (safetensors)`);
    const [begin, end] = v.data_offsets;
    let numel = 1;
    for (const d of v.shape) numel *= d;
    if (end - begin !== numel * BYTES[v.dtype]!) {
      throw new NotAModelError(path, `tensor ${name}: data_offsets [${begin}, ${end}) hold ${end - begin} bytes, shape [${v.shape.join(', ')}] ${v.dtype} needs ${numel * BYTES[v.dtype]!}`);
    }
    if (dataStart + end > file.size) {
      throw new TruncatedFileError(path, `tensor ${name} needs bytes ${dataStart + begin}..${dataStart + end} but the file ends at ${file.size}`);
    }
    tensors.push(fileTensor(file, name, dtype, v.shape, dataStart + begin, end - begin));
  }
  tensors.sort((a, b) => a.offset - b.offset || a.byteLength - b.byteLength);
  // As the reference implementation (safetensors' Metadata::validate) requires: sorted by offset,
  // the data ranges tile the byte buffer exactly: no overlap, no gap, nothing after the last one.
  let expected = dataStart;
  for (const t of tensors) {
    if (t.offset !== expected) {
      const what = t.offset < expected ? 'overlaps the tensor before it' : `leaves a gap of ${t.offset - expected} bytes before it`;
      throw new NotAModelError(path, `tensor ${t.name}: data_offsets start at ${t.offset - dataStart}, which ${what} (ranges must be contiguous)`);
    }
    expected = t.offset + t.byteLength;
  }
  if (expected !== file.size) {
    throw new NotAModelError(path, `the tensors cover ${expected - dataStart} data bytes but the file holds ${file.size - dataStart} after the header`);
  }
  return { path, metadata, tensors, close: () => file.close() };
}

/**
 * JSON.parse keeps the last of two equal keys silently; a header naming one tensor twice is
 * ambiguous, so scan the (already valid) JSON's top-level object for a repeated key.
 */
function firstDuplicateKey(json: Uint8Array): string | undefined {
  const text = new TextDecoder('utf-8').decode(json);
  const seen = new Set<string>();
  let depth = 0;
  let expectKey = false;
  for (let i = 0; i < text.length; i++) {
    const ch = text.charCodeAt(i);
    if (ch === 0x22 /* " */) {
      let j = i + 1;
      while (text.charCodeAt(j) !== 0x22) j += text.charCodeAt(j) === 0x5c /* \ */ ? 2 : 1;
      if (depth === 1 && expectKey) {
        const key = JSON.parse(text.slice(i, j + 1)) as string;
        if (seen.has(key)) return key;
        seen.add(key);
        expectKey = false;
      }
      i = j;
    } else if (ch === 0x7b /* { */ || ch === 0x5b /* [ */) {
      depth++;
      if (depth === 1) expectKey = true;
    } else if (ch === 0x7d /* } */ || ch === 0x5d /* ] */) {
      depth--;
    } else if (ch === 0x2c /* , */ && depth === 1) {
      expectKey = true;
    }
  }
  return undefined;
}
