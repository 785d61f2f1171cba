import type { DecodeOptions, Tokenizer } from './types.js';

/** What a tokenizer offers when its decoding is more than concatenated bytes (SentencePiece). */
interface HasDecodeStream {
  createDecodeStream(options?: DecodeOptions): { push(id: number): string; flush(): string };
}

function hasDecodeStream(tok: Tokenizer): tok is Tokenizer & HasDecodeStream {
  return typeof (tok as Partial<HasDecodeStream>).createDecodeStream === 'function';
}

const lossy = new TextDecoder('utf-8', { ignoreBOM: true });

/**
 * Length of the longest prefix of buf[0..n) that does not end inside a UTF-8 sequence which the
 * next bytes could still complete. Invalid bytes count as complete: they decode to U+FFFD now,
 * exactly as they would at the end.
 */
export function completeUtf8Prefix(buf: Uint8Array, n: number): number {
  // A sequence is at most 4 bytes: only the last 3 can be an unfinished one.
  for (let back = 1; back <= Math.min(3, n); back++) {
    const b = buf[n - back]!;
    if (b < 0x80) return n; // ASCII: everything before it is settled
    if (b >= 0xc0) {
      // Lead byte `back` bytes from the end: how long should its sequence be?
      const need = b >= 0xf0 ? 4 : b >= 0xe0 ? 3 : 2;
      if (b >= 0xf5 || b === 0xc0 || b === 0xc1) return n; // never valid: decodes to U+FFFD now
      if (back >= need) return n;
      // A truncated but so-far-valid sequence: check the second byte's range (e.g. E0 needs A0..BF).
      if (back >= 2) {
        const c = buf[n - back + 1]!;
        const lo = b === 0xe0 ? 0xa0 : b === 0xf0 ? 0x90 : 0x80;
        const hi = b === 0xed ? 0x9f : b === 0xf4 ? 0x8f : 0xbf;
        if (c < lo || c > hi) return n;
      }
      return n - back;
    }
    // Continuation byte: keep looking for its lead.
  }
  return n;
}

/**
 * Turns a stream of token ids into text that only ever contains whole characters: a character
 * split across tokens (byte-level BPE pieces, SentencePiece <0xNN> byte tokens) is held back until
 * it is complete. The concatenation of everything push() and flush() return equals
 * `tokenizer.decode(ids)` for the same ids and options.
 */
export class StreamDecoder {
  private readonly inner: { push(id: number): string; flush(): string } | undefined;
  private buf = new Uint8Array(64);
  private used = 0;

  constructor(
    private readonly tokenizer: Tokenizer,
    private readonly options: DecodeOptions = {},
  ) {
    this.inner = hasDecodeStream(tokenizer) ? tokenizer.createDecodeStream(options) : undefined;
  }

  /** Text completed by this token (possibly empty). */
  push(id: number): string {
    if (this.inner) return this.inner.push(id);
    if (this.options.skipSpecial && this.tokenizer.isSpecial(id)) return '';
    const bytes = this.tokenizer.tokenBytes(id);
    if (this.used + bytes.length > this.buf.length) {
      const grown = new Uint8Array(Math.max(this.buf.length * 2, this.used + bytes.length));
      grown.set(this.buf.subarray(0, this.used));
      this.buf = grown;
    }
    this.buf.set(bytes, this.used);
    this.used += bytes.length;
    const ready = completeUtf8Prefix(this.buf, this.used);
    if (ready === 0) return '';
    const text = lossy.decode(this.buf.subarray(0, ready));
    this.buf.copyWithin(0, ready, this.used);
    this.used -= ready;
    return text;
  }

  /** Whatever is still held (an unfinished character becomes U+FFFD, as decode() would give). */
  flush(): string {
    if (this.inner) return this.inner.flush();
    const text = this.used > 0 ? lossy.decode(this.buf.subarray(0, this.used)) : '';
    this.used = 0;
    return text;
  }
}
