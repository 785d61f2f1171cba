import { existsSync } from 'node:fs';
import { open, readFile, readdir, stat } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import type { Tokenizer } from './types.js';
import { FileNotFoundError, NotAModelError } from '../errors/errors.js';
import { readGGUF } from '../formats/gguf.js';
import { tokenizerFromHFJson } from './hf-json.js';
import { tokenizerFromGGUFMetadata } from './gguf-vocab.js';
import { looksLikeTiktoken, tiktokenLlama3 } from './tiktoken.js';
import { sentencePieceFromModelProto } from './spm-model.js';
import { llama2cTokenizer } from './llama2c.js';
import { TokenizerError } from './errors.js';

export { tokenizerFromGGUFMetadata } from './gguf-vocab.js';
export { tokenizerFromHFJson } from './hf-json.js';

const MAX_TOKENIZER_BYTES = 256 << 20;

/** What a folder may hold, in order of preference. */
const FOLDER_FILES = ['tokenizer.json', 'tokenizer.model', 'tokenizer.bin'];

async function readJsonIfPresent(path: string): Promise<Record<string, unknown> | undefined> {
  if (!existsSync(path)) return undefined;
  try {
    const v: unknown = JSON.parse(await readFile(path, 'utf8'));
    return typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Record<string, unknown>) : undefined;
  } catch (cause) {
    throw new TokenizerError(`${path} is not valid JSON`, { cause });
  }
}

/** tokenizer.json plus the tokenizer_config.json / generation_config.json beside it. */
async function loadHFJson(path: string, text: string): Promise<Tokenizer> {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (cause) {
    throw new TokenizerError(`${path} is not valid JSON`, { cause });
  }
  const dir = dirname(path);
  const config = await readJsonIfPresent(join(dir, 'tokenizer_config.json'));
  const generation = await readJsonIfPresent(join(dir, 'generation_config.json'));
  return tokenizerFromHFJson(json, { config, generationEos: generation?.['eos_token_id'] });
}

async function loadFile(path: string): Promise<Tokenizer> {
  const buf = await readFileHead(path);
  const name = basename(path);
  if (buf.length >= 4 && buf[0] === 0x47 && buf[1] === 0x47 && buf[2] === 0x55 && buf[3] === 0x46) {
    const file = readGGUF(path);
    try {
      return tokenizerFromGGUFMetadata(file.metadata);
    } finally {
      file.close();
    }
  }
  // Tokenizer files are tens of MB at most; do not slurp a weights file given by mistake.
  const size = (await stat(path)).size;
  if (size > MAX_TOKENIZER_BYTES) throw new NotAModelError(path, `${size} bytes is too large for a tokenizer file (and it is not GGUF)`);
  const data = new Uint8Array(await readFile(path));
  let first = 0;
  while (first < data.length && (data[first] === 0x20 || data[first] === 0x0a || data[first] === 0x0d || data[first] === 0x09)) first++;
  if (data[first] === 0x7b) {
    const text = new TextDecoder().decode(data);
    if (name === 'tokenizer_config.json' || name === 'config.json' || name === 'generation_config.json') {
      const beside = join(dirname(path), 'tokenizer.json');
      if (existsSync(beside)) return loadHFJson(beside, await readFile(beside, 'utf8'));
      throw new NotAModelError(path, 'a config file, with no tokenizer.json beside it');
    }
    return loadHFJson(path, text);
  }
  if (looksLikeTiktoken(data)) return tiktokenLlama3(new TextDecoder().decode(data));
  // A SentencePiece ModelProto starts with its first piece: field 1, length-delimited (0x0a).
  // llama2.c's tokenizer.bin has no magic (it starts with max_token_length, which may be 10 too),
  // so whichever parse fails hands over to the other.
  const reasons: string[] = [];
  let protoError: unknown;
  if (data[0] === 0x0a) {
    try {
      return sentencePieceFromModelProto(data);
    } catch (e) {
      protoError = e;
      reasons.push(e instanceof Error ? e.message : String(e));
    }
  }
  try {
    return llama2cTokenizer(data, path);
  } catch (e) {
    reasons.push(e instanceof Error ? e.message : String(e));
  }
  // A well-formed SentencePiece model with a feature we do not support: say that, not "not a model".
  if (protoError instanceof TokenizerError && protoError.message.startsWith('tokenizer.model:') && !protoError.message.includes('no pieces')) throw protoError;
  throw new NotAModelError(path, `not a tokenizer.json, GGUF, tiktoken or SentencePiece tokenizer.model, or llama2.c tokenizer.bin (${reasons.join('; ')})`);
}

async function readFileHead(path: string): Promise<Uint8Array> {
  const fh = await open(path, 'r');
  try {
    const head = new Uint8Array(8);
    const { bytesRead } = await fh.read(head, 0, 8, 0);
    return head.subarray(0, bytesRead);
  } finally {
    await fh.close();
  }
}

/**
 * A tokenizer from whatever `path` is: a Hugging Face `tokenizer.json` (with tokenizer_config.json
 * and generation_config.json beside it), a folder holding one (or tokenizer.model / tokenizer.bin /
 * a single .gguf), a GGUF model (its `tokenizer.ggml.*` metadata), Meta's Llama 3 tiktoken
 * `tokenizer.model`, Llama 2's SentencePiece `tokenizer.model`, or llama2.c's `tokenizer.bin`.
 * The kind is decided by content, not by file name.
 */
export async function loadTokenizer(path: string): Promise<Tokenizer> {
  if (!existsSync(path)) throw new FileNotFoundError(path);
  if ((await stat(path)).isDirectory()) {
    for (const f of FOLDER_FILES) {
      if (existsSync(join(path, f))) return loadFile(join(path, f));
    }
    const ggufs = (await readdir(path)).filter((f) => f.toLowerCase().endsWith('.gguf')).sort();
    if (ggufs.length > 0) return loadFile(join(path, ggufs[0]!));
    throw new NotAModelError(path, `no ${FOLDER_FILES.join(', ')} or .gguf file in this folder`);
  }
  return loadFile(path);
}
