import { existsSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { Tokenizer } from '../tokenizer/types.js';
import { loadTokenizer } from '../tokenizer/load.js';
import { LlamaError } from '../errors/errors.js';

export interface TokenizeOptions {
  /** Tokenizer file or folder, GGUF model, HF model folder, or a llama2.c checkpoint with tokenizer.bin beside it. */
  readonly model: string;
  readonly text: string;
  /** One `id<TAB>piece<TAB>"text"` line per token instead of the id list. */
  readonly verbose?: boolean;
  /** Parse special-token text ("<|eot_id|>") into its id (default: plain text). */
  readonly specials?: boolean;
  /** Prepend BOS (default: the tokenizer's own setting). */
  readonly bos?: boolean;
}

/** A model file that is not itself a tokenizer (llama2.c checkpoint) may have one beside it. */
async function tokenizerFor(path: string): Promise<Tokenizer> {
  try {
    return await loadTokenizer(path);
  } catch (e) {
    if (!(e instanceof LlamaError) || e.code !== 'NOT_A_MODEL' || !existsSync(path) || statSync(path).isDirectory()) throw e;
    for (const name of ['tokenizer.json', 'tokenizer.model', 'tokenizer.bin']) {
      const beside = join(dirname(path), name);
      if (existsSync(beside)) return loadTokenizer(beside);
    }
    throw e;
  }
}

/** `llama-ts tokenize`: the ids of a text (`[id, …]`), or with verbose one `id\tpiece` line each. */
export async function tokenizeCommand(opts: TokenizeOptions, out: (s: string) => void): Promise<void> {
  const tok = await tokenizerFor(opts.model);
  const ids = tok.encode(opts.text, { addBos: opts.bos, specials: opts.specials ? 'parse' : 'plain' });
  if (!opts.verbose) {
    out(`[${ids.join(', ')}]\n`);
    return;
  }
  out(ids.map((id) => `${id}\t${tok.idToPiece(id)}\t${readable(tok, id)}`).join('\n') + (ids.length > 0 ? '\n' : ''));
}

const strictUtf8 = new TextDecoder('utf-8', { fatal: true });

/**
 * The text a token stands for, quoted so spaces and newlines show ("Ġthe" → " the", "<0x0A>" →
 * "\n"); a token that is part of a multi-byte character shows its bytes (<0xE2>).
 */
export function readable(tok: Tokenizer, id: number): string {
  const bytes = tok.tokenBytes(id);
  try {
    return JSON.stringify(strictUtf8.decode(bytes));
  } catch {
    return Array.from(bytes, (b) => `<0x${b.toString(16).toUpperCase().padStart(2, '0')}>`).join('');
  }
}
