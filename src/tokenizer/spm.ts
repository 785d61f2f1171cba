import type { DecodeOptions } from './types.js';
import { BaseTokenizer, cleanUpTokenizationSpaces, utf8, type CommonSpec } from './vocab.js';
import type { PairTable } from './pair-table.js';
import { mergeSymbols } from './merge.js';
import { TokenizerError } from './errors.js';

export interface SentencePieceSpec extends CommonSpec {
  /** Merges (left, right) → (rank, merged): piece-score order, or tokenizer.json merge order. */
  readonly pairs: PairTable;
  readonly unkId: number | undefined;
  /** Characters missing from the vocabulary become their UTF-8 bytes as <0xNN> tokens. */
  readonly byteFallback: boolean;
  /** Runs of unknown characters become one <unk> (HF fuse_unk; SentencePiece does this too). */
  readonly fuseUnk: boolean;
  /** "▁" is put before the text (SentencePiece add_dummy_prefix / HF Prepend normalizer). */
  readonly addDummyPrefix: boolean;
  /** Leading, trailing and repeated spaces are removed first (SentencePiece normalizer option). */
  readonly removeExtraWhitespaces: boolean;
  /** decode() drops one leading space (HF Strip decoder; SentencePiece drops the dummy prefix). */
  readonly stripLeadingSpace: boolean;
  /** Characters that are not pieces but merge into pieces → their virtual ids (≥ vocabSize). */
  readonly virtualChars?: ReadonlyMap<string, number>;
}

export const SPACE = '\u2581';
const BYTE_PIECE = /^<0x([0-9A-Fa-f]{2})>$/;
const fatalUtf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });
const CACHE_LIMIT = 1 << 16;
const CACHE_MAX_WORD = 48;

/** Incremental decoding that never emits part of a character (see stream.ts). */
export interface DecodeStream {
  push(id: number): string;
  flush(): string;
}

/**
 * SentencePiece BPE (Llama 2): "▁" marks spaces, the text gets a dummy "▁" prefix, characters
 * merge by piece score (or merge rank), and characters outside the vocabulary fall back to bytes.
 */
export class SentencePieceTokenizer extends BaseTokenizer {
  readonly kind = 'spm' as const;
  private readonly spec: SentencePieceSpec;
  private readonly charIds = new Map<string, number>();
  private readonly byteIds = new Int32Array(256).fill(-1);
  /** For byte tokens: the byte; otherwise -1. */
  private readonly byteOf: Int16Array;
  /**
   * True when no piece holds "▁" after another character: then no merge crosses the start of a
   * "▁…" word, so words can be merged (and cached) one at a time.
   */
  private readonly splitWords: boolean;
  private cache = new Map<string, Int32Array>();
  private sym = new Int32Array(256);

  constructor(spec: SentencePieceSpec) {
    super(spec);
    this.spec = spec;
    this.byteOf = new Int16Array(this.vocabSize).fill(-1);
    let split = true;
    for (let id = 0; id < this.vocabSize; id++) {
      const piece = this.pieces[id]!;
      const kind = this.kinds[id];
      const m = kind === 'byte' ? BYTE_PIECE.exec(piece) : null;
      if (m) {
        const b = parseInt(m[1]!, 16);
        this.byteOf[id] = b;
        if (this.byteIds[b] === -1) this.byteIds[b] = id;
        continue;
      }
      if (kind !== 'normal' && kind !== 'user') continue;
      if (piece.length > 0 && [...piece].length === 1 && !this.charIds.has(piece)) this.charIds.set(piece, id);
      if (split && /[^\u2581]\u2581/.test(piece)) split = false;
    }
    this.splitWords = split;
  }

  protected encodeText(text: string, out: number[]): void {
    const spec = this.spec;
    if (spec.removeExtraWhitespaces) text = text.replace(/ +/g, ' ').replace(/^ | $/g, '');
    if (text.length === 0) return;
    const s = (spec.addDummyPrefix ? SPACE : '') + text.replaceAll(' ', SPACE);
    if (!this.splitWords) {
      this.encodeWord(s, out);
      return;
    }
    let start = 0;
    for (let i = 1; i < s.length; i++) {
      if (s.charCodeAt(i) === 0x2581 && s.charCodeAt(i - 1) !== 0x2581) {
        this.encodeWord(s.slice(start, i), out);
        start = i;
      }
    }
    this.encodeWord(s.slice(start), out);
  }

  private encodeWord(word: string, out: number[]): void {
    let ids = this.cache.get(word);
    if (ids === undefined) {
      ids = this.mergeWord(word);
      if (word.length <= CACHE_MAX_WORD) {
        if (this.cache.size >= CACHE_LIMIT) this.cache = new Map();
        this.cache.set(word, ids);
      }
    }
    for (let k = 0; k < ids.length; k++) out.push(ids[k]!);
  }

  private mergeWord(word: string): Int32Array {
    const spec = this.spec;
    const virtual = spec.virtualChars;
    if (this.sym.length < word.length * 4) this.sym = new Int32Array(word.length * 8);
    const sym = this.sym;
    let n = 0;
    for (const ch of word) {
      const id = this.charIds.get(ch) ?? virtual?.get(ch);
      if (id !== undefined) sym[n++] = id;
      else n = this.pushUnknown(ch, sym, n);
    }
    n = mergeSymbols(spec.pairs, sym, n);
    if (virtual === undefined || virtual.size === 0) return sym.slice(0, n);
    // Virtual characters left unmerged fall back to bytes (or <unk>).
    const out = new Int32Array(n * 4);
    let m = 0;
    for (let k = 0; k < n; k++) {
      const id = sym[k]!;
      if (id < this.vocabSize) out[m++] = id;
      else m = this.pushUnknown(this.virtualText(id), out, m);
    }
    return out.slice(0, m);
  }

  private virtualText(id: number): string {
    for (const [ch, v] of this.spec.virtualChars!) if (v === id) return ch;
    throw new Error(`unknown virtual symbol ${id}`);
  }

  /** A character outside the vocabulary: its bytes as <0xNN> tokens, or <unk> (runs fused). */
  private pushUnknown(ch: string, out: Int32Array, n: number): number {
    const spec = this.spec;
    const bytes = utf8.encode(ch);
    if (spec.byteFallback && bytes.every((b) => this.byteIds[b] !== -1)) {
      for (const b of bytes) out[n++] = this.byteIds[b]!;
      return n;
    }
    if (spec.unkId === undefined) throw new TokenizerError(`character ${JSON.stringify(ch)} is not in the vocabulary and there is no <unk> or byte fallback`);
    if (!(spec.fuseUnk && n > 0 && out[n - 1] === spec.unkId)) out[n++] = spec.unkId;
    return n;
  }

  tokenBytes(id: number): Uint8Array {
    this.checkId(id);
    const b = this.byteOf[id]!;
    if (b >= 0) return Uint8Array.of(b);
    return utf8.encode(this.pieces[id]!.replaceAll(SPACE, ' '));
  }

  decode(ids: readonly number[], options: DecodeOptions = {}): string {
    this.checkDecodeArgs(ids, options);
    const stream = this.createDecodeStream(options);
    let text = '';
    for (const id of ids) text += stream.push(id);
    text += stream.flush();
    return options.cleanUpSpaces ? cleanUpTokenizationSpaces(text) : text;
  }

  /**
   * Hugging Face's decoder chain for these tokenizers, incrementally: "▁" → " ", each run of
   * byte tokens decoded as UTF-8 (an invalid run becomes one U+FFFD per byte), then one leading
   * space stripped. A byte run is held until it ends, since its validity decides its text.
   */
  createDecodeStream(options: DecodeOptions = {}): DecodeStream {
    const skip = options.skipSpecial ?? false;
    let run: number[] = [];
    let started = !this.spec.stripLeadingSpace;
    const emit = (text: string): string => {
      if (started || text.length === 0) return text;
      started = true;
      return text.charCodeAt(0) === 0x20 ? text.slice(1) : text;
    };
    const endRun = (): string => {
      if (run.length === 0) return '';
      const bytes = Uint8Array.from(run);
      let text: string;
      try {
        text = fatalUtf8.decode(bytes);
      } catch {
        text = '\uFFFD'.repeat(bytes.length);
      }
      run = [];
      return text;
    };
    return {
      push: (id: number): string => {
        this.checkId(id);
        if (skip && this.isSpecial(id)) return '';
        const b = this.byteOf[id]!;
        if (b >= 0) {
          run.push(b);
          return '';
        }
        return emit(endRun() + this.pieces[id]!.replaceAll(SPACE, ' '));
      },
      flush: (): string => emit(endRun()),
    };
  }
}
