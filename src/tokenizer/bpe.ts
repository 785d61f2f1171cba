import type { DecodeOptions } from './types.js';
import { BaseTokenizer, cleanUpTokenizationSpaces, utf8, type CommonSpec } from './vocab.js';
import { BYTE_TO_CHAR, byteOfChar } from './byte-level.js';
import { PairTable } from './pair-table.js';
import { mergeSymbols } from './merge.js';
import { llama3Scanner, regexPreTokenizer, LLAMA3_PATTERN, type PreTokenizer } from './scanner.js';
import { compileRegex } from './regex.js';
import { TokenizerError } from './errors.js';
import { WordCache } from './word-cache.js';

export interface ByteLevelBPESpec extends CommonSpec {
  /** Merges as (left id, right id, merged id), in rank order (or with explicit ranks). */
  readonly pairs: PairTable;
  /** Pre-tokenizer pattern (HF Split regex); null = the whole text is one word. */
  readonly pattern: string | null;
  /** ByteLevel add_prefix_space: a space is put before text that does not start with one. */
  readonly addPrefixSpace?: boolean;
  /** A word that is itself a vocabulary entry is that token, merges or not (HF ignore_merges). */
  readonly ignoreMerges: boolean;
}

/** Longer words are not cached: they rarely repeat. */
const CACHE_MAX_WORD = 48;

const lossyUtf8 = new TextDecoder('utf-8', { ignoreBOM: true });
const LONE_SURROGATE = /\p{Cs}/u;
const LONE_SURROGATE_ALL = /\p{Cs}/gu;

/**
 * Byte-level BPE (GPT-2 / tiktoken / Llama 3): pre-tokenize with the model's regex, spell each
 * word's UTF-8 bytes as byte tokens, merge by rank.
 *
 * Speed comes from never re-running the merge loop for a word already seen (bounded cache),
 * looking whole words up by their text (most words are one token), a hand-written scanner for
 * the Llama 3 pattern, and a typed-array pair table.
 */
export class ByteLevelBPETokenizer extends BaseTokenizer {
  readonly kind = 'bpe' as const;
  private readonly pairs: PairTable;
  private readonly pre: PreTokenizer | undefined;
  private readonly addPrefixSpace: boolean;
  private readonly ignoreMerges: boolean;
  private readonly bytes: Uint8Array;
  private readonly offsets: Int32Array;
  private readonly byteIds = new Int32Array(256);
  /** Text of every token whose bytes are valid UTF-8 → id. */
  private readonly byText = new Map<string, number>();
  private readonly cache = new WordCache();
  private scratchBytes = new Uint8Array(256);
  private scratchSym = new Int32Array(256);

  constructor(spec: ByteLevelBPESpec) {
    super(spec);
    this.pairs = spec.pairs;
    this.ignoreMerges = spec.ignoreMerges;
    this.addPrefixSpace = spec.addPrefixSpace ?? false;
    if (spec.pattern === null) this.pre = undefined;
    else this.pre = spec.pattern === LLAMA3_PATTERN ? llama3Scanner : regexPreTokenizer(compileRegex(spec.pattern));

    // Every token's bytes in one buffer (offsets[id] .. offsets[id + 1]): 128k small typed
    // arrays would cost more to allocate than the rest of loading.
    const n = this.vocabSize;
    const offsets = new Int32Array(n + 1);
    let total = 0;
    for (let id = 0; id < n; id++) total += this.pieces[id]!.length * 3;
    let bytes = new Uint8Array(total);
    let at = 0;
    this.byteIds.fill(-1);
    for (let id = 0; id < n; id++) {
      offsets[id] = at;
      const piece = this.pieces[id]!;
      const kind = this.kinds[id];
      const start = at;
      const byteLevel = kind !== 'control' && kind !== 'user' && kind !== 'unknown' && writeByteLevel(piece, bytes, at);
      if (byteLevel) at += piece.length;
      else at += utf8.encodeInto(piece, bytes.subarray(at)).written;
      if (!byteLevel || kind === 'unused') continue;
      if (at - start === 1 && this.byteIds[bytes[start]!] === -1) this.byteIds[bytes[start]!] = id;
      const text = strictUtf8(bytes, start, at);
      if (text !== undefined && !this.byText.has(text)) this.byText.set(text, id);
    }
    offsets[n] = at;
    if (at < bytes.length / 2) bytes = bytes.slice(0, at);
    this.bytes = bytes;
    this.offsets = offsets;
    for (let b = 0; b < 256; b++) {
      if (this.byteIds[b] === -1) {
        throw new TokenizerError(`byte-level vocabulary lacks the token for byte 0x${b.toString(16)} (${BYTE_TO_CHAR[b]})`);
      }
    }
  }

  /** The id of a token by its decoded text (valid UTF-8 tokens only). */
  textToId(text: string): number | undefined {
    return this.byText.get(text);
  }

  protected encodeText(text: string, out: number[]): void {
    if (this.addPrefixSpace && !text.startsWith(' ')) text = ' ' + text;
    const pre = this.pre;
    if (pre === undefined) {
      this.encodeWord(text, 0, text.length, out);
      return;
    }
    const n = text.length;
    let i = 0;
    while (i < n) {
      const e = pre.next(text, i);
      this.encodeWord(text, i, e, out);
      i = e;
    }
  }

  /** Appends the ids of the word text[start..end). */
  private encodeWord(text: string, start: number, end: number, out: number[]): void {
    const cache = this.cache;
    const cacheable = end - start <= CACHE_MAX_WORD;
    let h = 0;
    if (cacheable) {
      h = WordCache.hash(text, start, end);
      const slot = cache.find(text, start, end, h);
      if (slot >= 0) {
        cache.emit(slot, out);
        return;
      }
    }
    const word = text.slice(start, end);
    if (this.ignoreMerges) {
      const id = this.byText.get(word);
      if (id !== undefined) {
        if (cacheable) cache.insert(word, h, Int32Array.of(id), 1);
        out.push(id);
        return;
      }
    }
    const n = this.mergeWord(word);
    const sym = this.scratchSym;
    if (cacheable) cache.insert(word, h, sym, n);
    for (let k = 0; k < n; k++) out.push(sym[k]!);
  }

  /** Merges the word's bytes into scratchSym; returns the number of ids. */
  private mergeWord(word: string): number {
    // Lone surrogates become U+FFFD, as TextEncoder (and HF) encode them.
    if (LONE_SURROGATE.test(word)) {
      word = word.replace(LONE_SURROGATE_ALL, '\uFFFD');
      const id = this.ignoreMerges ? this.byText.get(word) : undefined;
      if (id !== undefined) {
        this.scratchSym[0] = id;
        return 1;
      }
    }
    const max = word.length * 3;
    if (this.scratchBytes.length < max) {
      this.scratchBytes = new Uint8Array(max * 2);
      this.scratchSym = new Int32Array(max * 2);
    }
    const { written } = utf8.encodeInto(word, this.scratchBytes);
    const sym = this.scratchSym;
    for (let k = 0; k < written; k++) sym[k] = this.byteIds[this.scratchBytes[k]!]!;
    return mergeSymbols(this.pairs, sym, written);
  }

  tokenBytes(id: number): Uint8Array {
    this.checkId(id);
    return this.bytes.subarray(this.offsets[id], this.offsets[id + 1]);
  }

  decode(ids: readonly number[], options: DecodeOptions = {}): string {
    this.checkDecodeArgs(ids, options);
    const skip = options.skipSpecial ?? false;
    const offsets = this.offsets;
    let total = 0;
    for (const id of ids) {
      this.checkId(id);
      if (!(skip && this.isSpecial(id))) total += offsets[id + 1]! - offsets[id]!;
    }
    const buf = new Uint8Array(total);
    let at = 0;
    for (const id of ids) {
      if (skip && this.isSpecial(id)) continue;
      const a = offsets[id]!;
      const b = offsets[id + 1]!;
      for (let k = a; k < b; k++) buf[at++] = this.bytes[k]!;
    }
    const text = lossyUtf8.decode(buf);
    return options.cleanUpSpaces ? cleanUpTokenizationSpaces(text) : text;
  }
}

/** Writes a byte-level piece's bytes at out[at..]; false if the piece is not byte-level. */
function writeByteLevel(piece: string, out: Uint8Array, at: number): boolean {
  for (let i = 0; i < piece.length; i++) {
    const b = byteOfChar(piece.charCodeAt(i));
    if (b < 0) return false;
    out[at + i] = b;
  }
  return true;
}

/**
 * bytes[start..end) as a string if they are valid UTF-8, else undefined. Hand-written: TextDecoder
 * with fatal:true throws on the thousands of partial-character tokens, and exceptions are slow.
 */
function strictUtf8(bytes: Uint8Array, start: number, end: number): string | undefined {
  const units: number[] = [];
  for (let i = start; i < end; ) {
    const b = bytes[i]!;
    let cp: number;
    let need: number;
    let min: number;
    if (b < 0x80) {
      units.push(b);
      i++;
      continue;
    } else if (b >= 0xc2 && b < 0xe0) [cp, need, min] = [b & 0x1f, 1, 0x80];
    else if (b >= 0xe0 && b < 0xf0) [cp, need, min] = [b & 0x0f, 2, 0x800];
    else if (b >= 0xf0 && b < 0xf5) [cp, need, min] = [b & 0x07, 3, 0x10000];
    else return undefined;
    if (i + need >= end) return undefined;
    for (let k = 1; k <= need; k++) {
      const c = bytes[i + k]!;
      if ((c & 0xc0) !== 0x80) return undefined;
      cp = (cp << 6) | (c & 0x3f);
    }
    if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return undefined;
    if (cp >= 0x10000) units.push(0xd800 + ((cp - 0x10000) >> 10), 0xdc00 + ((cp - 0x10000) & 0x3ff));
    else units.push(cp);
    i += need + 1;
  }
  return String.fromCharCode(...units);
}
