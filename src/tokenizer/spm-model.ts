import type { Tokenizer } from './types.js';
import type { TokenKind } from './vocab.js';
import type { AddedToken } from './added-tokens.js';
import { SentencePieceTokenizer } from './spm.js';
import { PairTable } from './pair-table.js';
import { pbFields, pbFloat, pbInt32 } from './protobuf.js';
import { TokenizerError } from './errors.js';

/** SentencePiece piece types (ModelProto.SentencePiece.Type) — the same numbers GGUF uses. */
export const SPM_KINDS: Readonly<Record<number, TokenKind>> = { 1: 'normal', 2: 'unknown', 3: 'control', 4: 'user', 5: 'unused', 6: 'byte' };

export interface SpmVocabSpec {
  readonly pieces: readonly string[];
  readonly scores: ArrayLike<number>;
  readonly kinds: readonly TokenKind[];
  readonly unkId: number | undefined;
  readonly bosId: number | undefined;
  readonly eosIds: readonly number[];
  readonly addBos: boolean;
  readonly byteFallback: boolean;
  readonly addDummyPrefix: boolean;
  readonly removeExtraWhitespaces: boolean;
  readonly chatTemplate?: string | undefined;
}

/**
 * Merges implied by piece scores, as SentencePiece's BPE applies them: any two adjacent symbols
 * whose concatenation is a piece may merge, the highest-scoring result first. Every split of
 * every piece into two symbols is a pair; its rank is the merged piece's score rank (equal scores
 * share a rank, so ties go to the leftmost pair, as in SentencePiece).
 *
 * A symbol is a piece or a single character. A character that occurs inside pieces without being
 * one itself (a vocabulary with "▁a" but no "▁") still merges in SentencePiece and llama.cpp, so
 * it gets a virtual id above the vocabulary; whatever stays unmerged falls back to bytes.
 */
export function pairsFromScores(
  pieces: readonly string[],
  scores: ArrayLike<number>,
  kinds: readonly TokenKind[],
): { pairs: PairTable; virtualChars: Map<string, number> } {
  const ids = new Map<string, number>();
  for (let id = 0; id < pieces.length; id++) {
    const k = kinds[id];
    if ((k === 'normal' || k === 'user' || k === 'unused') && !ids.has(pieces[id]!)) ids.set(pieces[id]!, id);
  }
  const order = [...ids.values()].filter((id) => kinds[id] === 'normal').sort((a, b) => scores[b]! - scores[a]!);
  const rank = new Map<number, number>();
  let r = -1;
  let last = NaN;
  for (const id of order) {
    if (scores[id] !== last) {
      r++;
      last = scores[id]!;
    }
    rank.set(id, r);
  }
  const virtualChars = new Map<string, number>();
  const symbol = (s: string): number | undefined => {
    const id = ids.get(s);
    if (id !== undefined || s.length > 2 || [...s].length !== 1) return id;
    let v = virtualChars.get(s);
    if (v === undefined) virtualChars.set(s, (v = pieces.length + virtualChars.size));
    return v;
  };
  const found: number[] = [];
  for (const [piece, id] of ids) {
    if (kinds[id] !== 'normal') continue;
    const chars = [...piece];
    let cut = 0;
    for (let k = 0; k + 1 < chars.length; k++) {
      cut += chars[k]!.length;
      const a = symbol(piece.slice(0, cut));
      const b = symbol(piece.slice(cut));
      if (a !== undefined && b !== undefined) found.push(a, b, rank.get(id)!, id);
    }
  }
  const pairs = new PairTable(found.length / 4);
  for (let k = 0; k < found.length; k += 4) pairs.set(found[k]!, found[k + 1]!, found[k + 2]!, found[k + 3]!);
  return { pairs, virtualChars };
}

/** A SentencePiece tokenizer from vocabulary-level data (tokenizer.model, GGUF `llama`, llama2.c). */
export function sentencePieceFromVocab(spec: SpmVocabSpec): Tokenizer {
  const added: AddedToken[] = [];
  spec.pieces.forEach((content, id) => {
    const k = spec.kinds[id];
    if (k === 'control' || k === 'user' || k === 'unknown') added.push({ id, content, special: k !== 'user' });
  });
  return new SentencePieceTokenizer({
    pieces: spec.pieces,
    kinds: spec.kinds,
    added,
    bosId: spec.bosId,
    eosIds: spec.eosIds,
    addBos: spec.addBos,
    chatTemplate: spec.chatTemplate,
    ...pairsFromScores(spec.pieces, spec.scores, spec.kinds),
    unkId: spec.unkId,
    byteFallback: spec.byteFallback,
    fuseUnk: true,
    addDummyPrefix: spec.addDummyPrefix,
    removeExtraWhitespaces: spec.removeExtraWhitespaces,
    stripLeadingSpace: spec.addDummyPrefix,
  });
}

const utf8 = new TextDecoder('utf-8', { ignoreBOM: true });

/** Parses a SentencePiece ModelProto (Llama 2's `tokenizer.model`). */
export function sentencePieceFromModelProto(buf: Uint8Array): Tokenizer {
  const pieces: string[] = [];
  const scores: number[] = [];
  const kinds: TokenKind[] = [];
  let modelType = 1;
  let byteFallback = false;
  let unkId = 0;
  let bosId = 1;
  let eosId = 2;
  let addDummyPrefix = true;
  let removeExtraWhitespaces = true;
  let escapeWhitespaces = true;
  let treatWhitespaceAsSuffix = false;
  let charsmap = 0;
  let normName = 'identity';
  for (const f of pbFields(buf)) {
    if (f.field === 1 && f.wire === 2) {
      let piece = '';
      let score = 0;
      let type = 1;
      for (const g of pbFields(f.bytes)) {
        if (g.field === 1 && g.wire === 2) piece = utf8.decode(g.bytes);
        else if (g.field === 2 && g.wire === 5) score = pbFloat(g.bytes);
        else if (g.field === 3 && g.wire === 0) type = g.varint;
      }
      const kind = SPM_KINDS[type];
      if (kind === undefined) throw new TokenizerError(`tokenizer.model: piece ${pieces.length} has unknown type ${type}`);
      pieces.push(piece);
      scores.push(score);
      kinds.push(kind);
    } else if (f.field === 2 && f.wire === 2) {
      for (const g of pbFields(f.bytes)) {
        if (g.wire !== 0) continue;
        if (g.field === 3) modelType = g.varint;
        else if (g.field === 24) treatWhitespaceAsSuffix = g.varint !== 0;
        else if (g.field === 35) byteFallback = g.varint !== 0;
        else if (g.field === 40) unkId = pbInt32(g.varint);
        else if (g.field === 41) bosId = pbInt32(g.varint);
        else if (g.field === 42) eosId = pbInt32(g.varint);
      }
    } else if (f.field === 3 && f.wire === 2) {
      for (const g of pbFields(f.bytes)) {
        if (g.field === 1 && g.wire === 2) normName = utf8.decode(g.bytes);
        else if (g.field === 2 && g.wire === 2) charsmap = g.bytes.length;
        else if (g.field === 3 && g.wire === 0) addDummyPrefix = g.varint !== 0;
        else if (g.field === 4 && g.wire === 0) removeExtraWhitespaces = g.varint !== 0;
        else if (g.field === 5 && g.wire === 0) escapeWhitespaces = g.varint !== 0;
      }
    }
  }
  if (pieces.length === 0) throw new TokenizerError('tokenizer.model: no pieces (not a SentencePiece model)');
  if (modelType !== 2) {
    throw new TokenizerError(`tokenizer.model: SentencePiece model type ${modelType} is not supported (only BPE, type 2, as in Llama 2)`);
  }
  if (charsmap > 0 || (normName !== 'identity' && normName !== '')) {
    throw new TokenizerError(`tokenizer.model: normalization rule "${normName}" is not supported (only identity, as in Llama 2)`);
  }
  if (!escapeWhitespaces || treatWhitespaceAsSuffix) {
    throw new TokenizerError('tokenizer.model: only the standard whitespace escaping (▁ prefix) is supported');
  }
  const inRange = (id: number): number | undefined => (id >= 0 && id < pieces.length ? id : undefined);
  const bos = inRange(bosId);
  const eos = inRange(eosId);
  return sentencePieceFromVocab({
    pieces,
    scores,
    kinds,
    unkId: inRange(unkId),
    bosId: bos,
    eosIds: eos === undefined ? [] : [eos],
    addBos: bos !== undefined,
    byteFallback,
    addDummyPrefix,
    removeExtraWhitespaces,
  });
}
