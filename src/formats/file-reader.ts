/**
 * Positional, synchronous reads from a file kept open. Containers never load a whole model file
 * into one Buffer: headers are read through a growing window and tensor bytes on demand, with
 * offsets kept as plain numbers (exact up to 2^53, far beyond any model file).
 */
import { closeSync, fstatSync, openSync, readSync, statSync } from 'node:fs';
import { BadArgumentError, FileNotFoundError, LlamaError, NotAModelError, TruncatedFileError } from '../errors/errors.js';
import type { DType } from '../quant/dtype.js';
import type { TensorRecord } from './types.js';

/** readSync moves at most ~2 GiB per call; stay well below. */
const MAX_READ = 1 << 30;

export class FileReader {
  readonly path: string;
  readonly size: number;
  private fd: number | undefined;

  constructor(path: string) {
    this.path = path;
    try {
      if (statSync(path).isDirectory()) throw new NotAModelError(path, 'it is a folder, expected a file');
      this.fd = openSync(path, 'r');
    } catch (e) {
      if (e instanceof LlamaError) throw e;
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') throw new FileNotFoundError(path);
      throw e;
    }
    this.size = fstatSync(this.fd).size;
  }

  get closed(): boolean {
    return this.fd === undefined;
  }

  /** Reads exactly `length` bytes at `position` into `dst[dstOffset..]`; `what` names the read for truncation errors. */
  readInto(dst: Uint8Array, dstOffset: number, position: number, length: number, what: string): void {
    if (this.fd === undefined) throw new BadArgumentError(`${this.path} has been closed`);
    if (position + length > this.size) {
      throw new TruncatedFileError(this.path, `${what} needs bytes ${position}..${position + length} but the file has ${this.size}`);
    }
    let done = 0;
    while (done < length) {
      const chunk = Math.min(MAX_READ, length - done);
      const got = readSync(this.fd, dst, dstOffset + done, chunk, position + done);
      if (got === 0) throw new TruncatedFileError(this.path, `${what}: unexpected end of file at byte ${position + done}`);
      done += got;
    }
  }

  /** A fresh buffer holding bytes [position, position + length). */
  read(position: number, length: number, what: string): Uint8Array {
    const out = new Uint8Array(length);
    this.readInto(out, 0, position, length, what);
    return out;
  }

  close(): void {
    if (this.fd !== undefined) {
      closeSync(this.fd);
      this.fd = undefined;
    }
  }
}

/**
 * A tensor stored contiguously at an absolute file offset. Beyond TensorRecord it exposes the
 * offset and `readInto`, so a backend can copy a slice of rows straight into its own memory.
 */
export interface FileTensorRecord extends TensorRecord {
  /** Absolute byte offset of the tensor's first byte in `file`. */
  readonly offset: number;
  readonly file: string;
  /** Copies bytes [byteOffset, byteOffset + length) of the tensor into dst[dstOffset..]. */
  readInto(dst: Uint8Array, dstOffset?: number, byteOffset?: number, length?: number): void;
}

export function fileTensor(
  reader: FileReader,
  name: string,
  dtype: DType,
  shape: readonly number[],
  offset: number,
  byteLength: number,
): FileTensorRecord {
  const what = `tensor ${name}`;
  return {
    name,
    dtype,
    shape: Object.freeze([...shape]),
    byteLength,
    offset,
    file: reader.path,
    read: () => reader.read(offset, byteLength, what),
    readInto(dst: Uint8Array, dstOffset = 0, byteOffset = 0, length = byteLength - byteOffset): void {
      if (byteOffset < 0 || length < 0 || byteOffset + length > byteLength) {
        throw new BadArgumentError(`${what}: range ${byteOffset}+${length} outside its ${byteLength} bytes`);
      }
      reader.readInto(dst, dstOffset, offset + byteOffset, length, what);
    },
  };
}

/** Opens `path` and runs `parse` on it; the file is closed if parsing throws. */
export function openAndParse<T>(path: string, parse: (file: FileReader) => T): T {
  const file = new FileReader(path);
  try {
    return parse(file);
  } catch (e) {
    file.close();
    throw e;
  }
}
