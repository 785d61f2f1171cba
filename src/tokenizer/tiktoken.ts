import type { Tokenizer } from './types.js';
import type { TokenKind } from './vocab.js';
import type { AddedToken } from './added-tokens.js';
import { ByteLevelBPETokenizer } from './bpe.js';
import { bytesToByteLevel } from './byte-level.js';
import { PairTable } from './pair-table.js';
import { LLAMA3_PATTERN } from './scanner.js';
import { TokenizerError } from './errors.js';

/** Meta's names for the Llama 3.1 special tokens that are not reserved, by offset from the base vocabulary. */
const NAMED_SPECIALS: Readonly<Record<number, string>> = {
  0: '<|begin_of_text|>',
  1: '<|end_of_text|>',
  4: '<|finetune_right_pad_id|>',
  6: '<|start_header_id|>',
  7: '<|end_header_id|>',
  8: '<|eom_id|>',
  9: '<|eot_id|>',
  10: '<|python_tag|>',
};
export const LLAMA3_NUM_SPECIALS = 256;

/** The 256 special-token names, reserved ones numbered in order (0, 1, then 2 … 247). */
export function llama3SpecialNames(): string[] {
  const names: string[] = [];
  let reserved = 0;
  for (let k = 0; k < LLAMA3_NUM_SPECIALS; k++) names.push(NAMED_SPECIALS[k] ?? `<|reserved_special_token_${reserved++}|>`);
  return names;
}

/** Does the file start like a tiktoken ranks file ("<base64> <rank>" lines)? */
export function looksLikeTiktoken(head: Uint8Array): boolean {
  const text = new TextDecoder('latin1').decode(head.subarray(0, 256));
  return /^[A-Za-z0-9+/]+=* \d+\r?\n/.test(text);
}

/**
 * Meta's Llama 3 `tokenizer.model`: tiktoken mergeable ranks, one "<base64 bytes> <rank>" per
 * line, plus 256 special tokens after them. tiktoken merges the adjacent pair whose concatenation
 * has the lowest rank, so every split of a token into two tokens is a pair ranked by the token.
 */
export function tiktokenLlama3(text: string): Tokenizer {
  const lines = text.split('\n');
  const byRank: string[] = [];
  for (let ln = 0; ln < lines.length; ln++) {
    const line = lines[ln]!.trim();
    if (line.length === 0) continue;
    const sp = line.indexOf(' ');
    const rank = Number(line.slice(sp + 1));
    if (sp <= 0 || !Number.isInteger(rank) || rank < 0) throw new TokenizerError(`tiktoken file: line ${ln + 1} is not "<base64> <rank>"`);
    if (byRank[rank] !== undefined) throw new TokenizerError(`tiktoken file: rank ${rank} appears twice`);
    byRank[rank] = bytesToByteLevel(Buffer.from(line.slice(0, sp), 'base64'));
  }
  const base = byRank.length;
  for (let r = 0; r < base; r++) if (byRank[r] === undefined) throw new TokenizerError(`tiktoken file: rank ${r} is missing`);

  const ids = new Map<string, number>();
  for (let r = 0; r < base; r++) ids.set(byRank[r]!, r);
  const found: number[] = [];
  for (let r = 0; r < base; r++) {
    const piece = byRank[r]!;
    for (let k = 1; k < piece.length; k++) {
      const a = ids.get(piece.slice(0, k));
      if (a === undefined) continue;
      const b = ids.get(piece.slice(k));
      if (b !== undefined) found.push(a, b, r);
    }
  }
  const pairs = new PairTable(found.length / 3);
  for (let k = 0; k < found.length; k += 3) pairs.set(found[k]!, found[k + 1]!, found[k + 2]!, found[k + 2]!);

  const names = llama3SpecialNames();
  const pieces = [...byRank, ...names];
  const kinds: TokenKind[] = [...new Array<TokenKind>(base).fill('normal'), ...new Array<TokenKind>(names.length).fill('control')];
  const added: AddedToken[] = names.map((content, k) => ({ id: base + k, content, special: true }));
  return new ByteLevelBPETokenizer({
    pieces,
    kinds,
    added,
    bosId: base,
    // end_of_text, eom_id and eot_id all end a generation (Meta's stop tokens).
    eosIds: [base + 1, base + 8, base + 9],
    addBos: true,
    pairs,
    pattern: LLAMA3_PATTERN,
    ignoreMerges: true,
  });
}
