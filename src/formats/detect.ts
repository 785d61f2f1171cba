/**
 * Which container a path holds, decided from its contents (magic bytes, header shape), never from
 * its name: a folder is an HF model, "GGUF" magic is GGUF, a u64 length followed by '{' is
 * safetensors, and anything else is tried as a llama2.c checkpoint (which has no magic).
 */
import { closeSync, existsSync, openSync, readSync, statSync } from 'node:fs';
import { FileNotFoundError } from '../errors/errors.js';
import { GGUF_MAGIC } from './gguf-types.js';

export type ModelFormat = 'gguf' | 'safetensors' | 'hf-folder' | 'llama2c';

export function detectFormat(path: string): ModelFormat {
  if (!existsSync(path)) throw new FileNotFoundError(path);
  if (statSync(path).isDirectory()) return 'hf-folder';
  const head = new Uint8Array(9);
  const fd = openSync(path, 'r');
  let n: number;
  try {
    n = readSync(fd, head, 0, 9, 0);
  } finally {
    closeSync(fd);
  }
  const v = new DataView(head.buffer);
  if (n >= 4 && v.getUint32(0, true) === GGUF_MAGIC) return 'gguf';
  if (n === 9 && head[8] === 0x7b && v.getBigUint64(0, true) < 100_000_000n) return 'safetensors';
  return 'llama2c';
}
