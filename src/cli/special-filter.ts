/**
 * What the CLI prints of a generated stream: the text without special tokens
 * (`<|reserved_special_token_228|>`, `<|eot_id|>`, …), which are control symbols, not words.
 *
 * Without stop strings every token's text is decoded here with skipSpecial. With stop strings the
 * generator's own chunk text must be used (it is cut at the stop string and held back while a
 * stop may be forming), so the special tokens' texts are removed from it in order as they appear.
 */
import type { GenerateChunk } from '../generate/options.js';
import { StreamDecoder } from '../tokenizer/stream.js';
import type { Tokenizer } from '../tokenizer/types.js';

const utf8 = new TextDecoder();

export class SpecialFilter {
  private readonly decoder: StreamDecoder | undefined;
  private readonly pending: string[] = [];
  private carry = '';

  constructor(
    private readonly tok: Tokenizer,
    useChunkText: boolean,
  ) {
    this.decoder = useChunkText ? undefined : new StreamDecoder(tok, { skipSpecial: true });
  }

  /** The printable text this chunk completes. */
  push(chunk: GenerateChunk): string {
    if (this.decoder) return this.decoder.push(chunk.id);
    if (this.tok.isSpecial(chunk.id)) this.pending.push(utf8.decode(this.tok.tokenBytes(chunk.id)));
    let text = this.carry + chunk.text;
    this.carry = '';
    while (this.pending.length > 0) {
      const at = text.indexOf(this.pending[0]!);
      if (at < 0) {
        // The special text has not been released yet: hold what came after the last removal.
        this.carry = text;
        return '';
      }
      text = text.slice(0, at) + text.slice(at + this.pending[0]!.length);
      this.pending.shift();
    }
    return text;
  }

  flush(): string {
    if (this.decoder) return this.decoder.flush();
    let text = this.carry;
    this.carry = '';
    for (const s of this.pending.splice(0)) {
      const at = text.indexOf(s);
      if (at >= 0) text = text.slice(0, at) + text.slice(at + s.length);
    }
    return text;
  }
}
