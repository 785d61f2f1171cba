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

function isSpace(s: string, i: number): boolean {
  return i >= 0 && i < s.length && (BMP[s.charCodeAt(i)]! & S) !== 0;
}

const WORD = /[\p{L}\p{N}_\p{M}]/u;

function isWordAt(s: string, i: number): boolean {
  if (i < 0 || i >= s.length) return false;
  return WORD.test(String.fromCodePoint(s.codePointAt(i)!)) || WORD.test(s[i]!);
}

/** Tokens that start with the same character. */
interface Group {
  /** Longest common prefix of the group: a cheap first test at a candidate position. */
  readonly prefix: string;
  /** Distinct token lengths, longest first (leftmost-longest matching). */
  readonly lengths: readonly number[];
}

/**
 * Splits text on added-token occurrences, leftmost first and the longest token at a position
 * (HF's LeftmostLongest Aho-Corasick), honouring lstrip / rstrip / single_word. Candidates are
 * found with indexOf on the tokens' first characters (Llama 3's 256 specials all start "<|"), so
 * ordinary text costs one native scan.
 */
export class AddedTokenSplitter {
  private readonly byContent = new Map<string, AddedToken>();
  private readonly groups = new Map<string, Group>();

  constructor(tokens: readonly AddedToken[]) {
    for (const t of tokens) if (t.content.length > 0 && !this.byContent.has(t.content)) this.byContent.set(t.content, t);
    const byFirst = new Map<string, string[]>();
    for (const c of this.byContent.keys()) {
      const list = byFirst.get(c[0]!) ?? [];
      list.push(c);
      byFirst.set(c[0]!, list);
    }
    for (const [first, list] of byFirst) {
      let prefix = list[0]!;
      for (const c of list) while (!c.startsWith(prefix)) prefix = prefix.slice(0, -1);
      const lengths = [...new Set(list.map((c) => c.length))].sort((a, b) => b - a);
      this.groups.set(first, { prefix: prefix.length > 0 ? prefix : first, lengths });
    }
  }

  get empty(): boolean {
    return this.byContent.size === 0;
  }

  /** The longest token starting at text[i], if any. */
  private matchAt(text: string, i: number): AddedToken | undefined {
    const g = this.groups.get(text[i]!);
    if (g === undefined || !text.startsWith(g.prefix, i)) return undefined;
    for (const len of g.lengths) {
      if (i + len > text.length) continue;
      const t = this.byContent.get(text.slice(i, i + len));
      if (t !== undefined) return t;
    }
    return undefined;
  }

  /** The next position ≥ from where some token's first character occurs, or -1. */
  private nextCandidate(text: string, from: number, next: Map<string, number>): number {
    let best = -1;
    for (const [c, at] of next) {
      let p = at;
      if (p !== -1 && p < from) {
        p = text.indexOf(c, from);
        next.set(c, p);
      }
      if (p !== -1 && (best === -1 || p < best)) best = p;
    }
    return best;
  }

  split(text: string, onText: (start: number, end: number) => void, onToken: (id: number) => void): void {
    // Per first character: its next occurrence (-1: none left). Start before the text.
    const next = new Map<string, number>();
    for (const c of this.groups.keys()) next.set(c, -2);
    let cursor = 0;
    let pos = 0;
    for (;;) {
      const i = this.nextCandidate(text, pos, next);
      if (i < 0) break;
      const tok = this.matchAt(text, i);
      if (tok === undefined || (tok.singleWord && (isWordAt(text, i - 1) || isWordAt(text, i + tok.content.length)))) {
        pos = i + 1;
        continue;
      }
      let start = i;
      let end = i + tok.content.length;
      if (tok.lstrip) while (start > cursor && isSpace(text, start - 1)) start--;
      if (tok.rstrip) while (isSpace(text, end)) end++;
      if (start > cursor) onText(cursor, start);
      onToken(tok.id);
      cursor = end;
      pos = end;
    }
    if (cursor < text.length) onText(cursor, text.length);
  }
}
