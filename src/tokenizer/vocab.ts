import type { DecodeOptions, EncodeOptions, Tokenizer } from './types.js';
import { AddedTokenSplitter, type AddedToken } from './added-tokens.js';
import { TokenizerError } from './errors.js';
import { BadArgumentError } from '../errors/errors.js';

/** What a vocabulary entry is (GGUF token_type / SentencePiece piece type, in words). */
export type TokenKind = 'normal' | 'control' | 'user' | 'byte' | 'unknown' | 'unused';

/** Settings every tokenizer shares, whatever file it came from. */
export interface CommonSpec {
  /** Piece per id as the vocabulary stores it; added tokens: their text. */
  readonly pieces: readonly string[];
  readonly kinds: readonly TokenKind[];
  /** Tokens matched whole in the text before pre-tokenization. */
  readonly added: readonly AddedToken[];
  readonly bosId: number | undefined;
  readonly eosIds: readonly number[];
  readonly addBos: boolean;
  readonly chatTemplate?: string | undefined;
}

export const utf8 = new TextEncoder();

/** Hugging Face's clean_up_tokenization (the DecodeOptions.cleanUpSpaces rule). */
export function cleanUpTokenizationSpaces(text: string): string {
  return text
    .replace(/ \./g, '.')
    .replace(/ \?/g, '?')
    .replace(/ !/g, '!')
    .replace(/ ,/g, ',')
    .replace(/ ' /g, "'")
    .replace(/ n't/g, "n't")
    .replace(/ 'm/g, "'m")
    .replace(/ 's/g, "'s")
    .replace(/ 've/g, "'ve")
    .replace(/ 're/g, "'re");
}

/**
 * Llama 3's end-of-generation tokens by text. Files usually name one EOS id, yet the model ends a
 * turn with any of these (Meta's generation_config lists all three; llama.cpp matches them by
 * text too). Only control tokens count.
 */
const LLAMA3_EOG_TEXTS: ReadonlySet<string> = new Set(['<|end_of_text|>', '<|eot_id|>', '<|eom_id|>']);

export function llama3EogIds(pieces: readonly string[], kinds: readonly TokenKind[]): number[] {
  const out: number[] = [];
  for (let id = 0; id < pieces.length; id++) if (kinds[id] === 'control' && LLAMA3_EOG_TEXTS.has(pieces[id]!)) out.push(id);
  return out;
}

/** Vocabulary, special tokens and the encode() frame; subclasses supply the model. */
export abstract class BaseTokenizer implements Tokenizer {
  abstract readonly kind: 'bpe' | 'spm';
  readonly vocabSize: number;
  readonly bosId: number | undefined;
  readonly eosIds: readonly number[];
  readonly addBosByDefault: boolean;
  readonly chatTemplate: string | undefined;
  protected readonly pieces: readonly string[];
  protected readonly kinds: readonly TokenKind[];
  /** Built on first use: most callers never look pieces up by text. */
  private pieceIds: Map<string, number> | undefined;
  private readonly specialIds = new Map<string, number>();
  /** Added tokens of every kind (parse mode) and only the non-special ones (plain mode). */
  private readonly splitAll: AddedTokenSplitter;
  private readonly splitPlain: AddedTokenSplitter;

  protected constructor(spec: CommonSpec) {
    if (spec.pieces.length !== spec.kinds.length) {
      throw new TokenizerError(`vocabulary has ${spec.pieces.length} pieces but ${spec.kinds.length} token types`);
    }
    this.vocabSize = spec.pieces.length;
    this.pieces = spec.pieces;
    this.kinds = spec.kinds;
    for (const t of spec.added) if (t.special && !this.specialIds.has(t.content)) this.specialIds.set(t.content, t.id);
    for (let id = 0; id < spec.pieces.length; id++) {
      if (this.isSpecial(id) && !this.specialIds.has(spec.pieces[id]!)) this.specialIds.set(spec.pieces[id]!, id);
    }
    this.splitAll = new AddedTokenSplitter(spec.added);
    this.splitPlain = new AddedTokenSplitter(spec.added.filter((t) => !t.special));
    this.bosId = spec.bosId;
    this.eosIds = [...new Set(spec.eosIds)];
    this.addBosByDefault = spec.addBos && spec.bosId !== undefined;
    this.chatTemplate = spec.chatTemplate;
    for (const id of [spec.bosId, ...spec.eosIds]) {
      if (id !== undefined && (!Number.isInteger(id) || id < 0 || id >= this.vocabSize)) {
        throw new TokenizerError(`special token id ${id} is outside the vocabulary (size ${this.vocabSize})`);
      }
    }
  }

  /** Appends the ids of plain text (no added tokens inside) to out. */
  protected abstract encodeText(text: string, out: number[]): void;

  encode(text: string, options: EncodeOptions = {}): number[] {
    // The public API is called from plain JavaScript too: a non-string would otherwise be
    // coerced or crash deep inside (encode(5) used to return just BOS).
    if (typeof text !== 'string') throw new BadArgumentError(`tokenizer.encode expects a string, got ${describe(text)}`);
    checkOptions(options, 'encode');
    const out: number[] = [];
    if ((options.addBos ?? this.addBosByDefault) && this.bosId !== undefined) out.push(this.bosId);
    const splitter = options.specials === 'parse' ? this.splitAll : this.splitPlain;
    if (splitter.empty) {
      if (text.length > 0) this.encodeText(text, out);
    } else {
      splitter.split(
        text,
        (s, e) => this.encodeText(text.slice(s, e), out),
        (id) => out.push(id),
      );
    }
    return out;
  }

  abstract decode(ids: readonly number[], options?: DecodeOptions): string;
  abstract tokenBytes(id: number): Uint8Array;

  /** Argument checks every decode() runs first (ids: an array or typed array of integers). */
  protected checkDecodeArgs(ids: readonly number[], options: DecodeOptions | undefined): void {
    if (!Array.isArray(ids) && !(ArrayBuffer.isView(ids) && !(ids instanceof DataView))) {
      throw new BadArgumentError(`tokenizer.decode expects an array of token ids, got ${describe(ids)}`);
    }
    checkOptions(options, 'decode');
  }

  protected checkId(id: number): void {
    if (!Number.isInteger(id) || id < 0 || id >= this.vocabSize) {
      throw new TokenizerError(`token id ${id} is outside the vocabulary (size ${this.vocabSize})`);
    }
  }

  idToPiece(id: number): string {
    this.checkId(id);
    return this.pieces[id]!;
  }

  pieceToId(piece: string): number | undefined {
    if (this.pieceIds === undefined) {
      const ids = new Map<string, number>();
      for (let id = 0; id < this.pieces.length; id++) {
        if (this.kinds[id] !== 'unused' && !ids.has(this.pieces[id]!)) ids.set(this.pieces[id]!, id);
      }
      this.pieceIds = ids;
    }
    return this.pieceIds.get(piece);
  }

  isSpecial(id: number): boolean {
    const k = this.kinds[id];
    return k === 'control' || k === 'unknown';
  }

  specialId(text: string): number | undefined {
    return this.specialIds.get(text);
  }
}

function describe(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  return typeof v === 'string' ? 'a string' : typeof v;
}

function checkOptions(options: unknown, fn: string): void {
  if (options !== undefined && (typeof options !== 'object' || options === null || Array.isArray(options))) {
    throw new BadArgumentError(`tokenizer.${fn} options must be an object, got ${describe(options)}`);
  }
}
