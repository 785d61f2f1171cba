import { BMP, S } from './char-class.js';

/** A token matched as a whole in the raw text before the model sees it (HF "added tokens"). */
export interface AddedToken {
  readonly id: number;
  readonly content: string;
  /** Control tokens (BOS, <|eot_id|> …): matched only when specials are parsed. */
  readonly special: boolean;
  /** Swallow the whitespace on its left / right (HF `lstrip` / `rstrip`). */
  readonly lstrip?: boolean;
  readonly rstrip?: boolean;
  /** Match only as a whole word (HF `single_word`). */
  readonly singleWord?: boolean;
}

function escapeRegex(s: string): string {
  return s.replace(/[\\^$.*+?()[\]{}|/-]/g, '\\$&');
}

function isSpace(s: string, i: number): boolean {
  return i >= 0 && i < s.length && (BMP[s.charCodeAt(i)]! & S) !== 0;
}

const WORD = /[\p{L}\p{N}_\p{M}]/u;

function isWordAt(s: string, i: number): boolean {
  if (i < 0 || i >= s.length) return false;
  return WORD.test(String.fromCodePoint(s.codePointAt(i)!)) || WORD.test(s[i]!);
}

/**
 * Splits text on added-token occurrences, leftmost first and the longest token at a position
 * (HF's LeftmostLongest Aho-Corasick), honouring lstrip / rstrip / single_word.
 */
export class AddedTokenSplitter {
  private readonly re: RegExp | undefined;
  private readonly byContent = new Map<string, AddedToken>();

  constructor(tokens: readonly AddedToken[]) {
    const usable = tokens.filter((t) => t.content.length > 0);
    for (const t of usable) if (!this.byContent.has(t.content)) this.byContent.set(t.content, t);
    const alternatives = [...this.byContent.keys()].sort((a, b) => b.length - a.length).map(escapeRegex);
    this.re = alternatives.length > 0 ? new RegExp(alternatives.join('|'), 'gu') : undefined;
  }

  get empty(): boolean {
    return this.re === undefined;
  }

  split(text: string, onText: (start: number, end: number) => void, onToken: (id: number) => void): void {
    const re = this.re;
    if (re === undefined) {
      if (text.length > 0) onText(0, text.length);
      return;
    }
    let cursor = 0;
    re.lastIndex = 0;
    for (let m = re.exec(text); m !== null; m = re.exec(text)) {
      const tok = this.byContent.get(m[0])!;
      let start = m.index;
      let end = start + m[0].length;
      if (tok.singleWord && (isWordAt(text, start - 1) || isWordAt(text, end))) {
        re.lastIndex = start + 1;
        continue;
      }
      if (tok.lstrip) while (start > cursor && isSpace(text, start - 1)) start--;
      if (tok.rstrip) while (isSpace(text, end)) end++;
      if (start > cursor) onText(cursor, start);
      onToken(tok.id);
      cursor = end;
      re.lastIndex = end;
    }
    if (cursor < text.length) onText(cursor, text.length);
  }
}
