import { BMP, L, N, NL, S, astralClass } from './char-class.js';

/**
 * The Llama 3 pre-tokenizer pattern, exactly as its tokenizer.json (and llama.cpp's `llama-bpe`)
 * spells it. When a tokenizer's pattern is this string, the hand-written scanner below replaces
 * the RegExp: same pieces (tested against the RegExp on the corpus and random strings), no regex
 * engine on the hot path.
 */
export const LLAMA3_PATTERN =
  "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";

/** GPT-2's pattern (ByteLevel pre-tokenizer with use_regex). */
export const GPT2_PATTERN = "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)|\\s+";

/** Finds pieces one at a time: `next(text, i)` is the end of the piece that starts at i. */
export interface PreTokenizer {
  next(text: string, i: number): number;
}

function isHigh(c: number): boolean {
  return (c & 0xfc00) === 0xd800;
}
function isLow(c: number): boolean {
  return (c & 0xfc00) === 0xdc00;
}

/** End of the run of code points at i whose class has `bit`. */
function runOf(s: string, i: number, n: number, bit: number): number {
  while (i < n) {
    const c = s.charCodeAt(i);
    if (isHigh(c) && i + 1 < n && isLow(s.charCodeAt(i + 1))) {
      if (!(astralClass(((c - 0xd800) << 10) + (s.charCodeAt(i + 1) - 0xdc00) + 0x10000) & bit)) return i;
      i += 2;
    } else {
      if (!(BMP[c]! & bit)) return i;
      i++;
    }
  }
  return i;
}

/** End of the run of "other" code points (not L, N or whitespace) at i. */
function runOfOther(s: string, i: number, n: number): number {
  while (i < n) {
    const c = s.charCodeAt(i);
    if (isHigh(c) && i + 1 < n && isLow(s.charCodeAt(i + 1))) {
      if (astralClass(((c - 0xd800) << 10) + (s.charCodeAt(i + 1) - 0xdc00) + 0x10000) & (L | N | S)) return i;
      i += 2;
    } else {
      if (BMP[c]! & (L | N | S)) return i;
      i++;
    }
  }
  return i;
}

/**
 * The Llama 3 pattern as a scanner. The alternatives are tried in the pattern's order, each with
 * the backtracking the regex would do:
 * 1 `'s|'t|'re|'ve|'m|'ll|'d` (ASCII case-insensitive)  2 `[^\r\n\p{L}\p{N}]?\p{L}+`
 * 3 `\p{N}{1,3}`  4 ` ?[^\s\p{L}\p{N}]+[\r\n]*`  5 `\s*[\r\n]+`  6 `\s+(?!\S)`  7 `\s+`.
 */
export const llama3Scanner: PreTokenizer = {
  next(s: string, i: number): number {
    const n = s.length;
    const c = s.charCodeAt(i);
    // 1: contractions.
    if (c === 0x27 && i + 1 < n) {
      const c1 = s.charCodeAt(i + 1) | 0x20;
      if (c1 === 0x73 || c1 === 0x74 || c1 === 0x6d || c1 === 0x64) return i + 2; // s t m d
      if (i + 2 < n) {
        const c2 = s.charCodeAt(i + 2) | 0x20;
        if ((c1 === 0x72 || c1 === 0x76) && c2 === 0x65) return i + 3; // re ve
        if (c1 === 0x6c && c2 === 0x6c) return i + 3; // ll
      }
    }
    let k: number;
    let w = 1;
    if (isHigh(c) && i + 1 < n && isLow(s.charCodeAt(i + 1))) {
      k = astralClass(((c - 0xd800) << 10) + (s.charCodeAt(i + 1) - 0xdc00) + 0x10000);
      w = 2;
    } else {
      k = BMP[c]!;
    }
    // 2: letters, optionally led by one character that is not \r, \n, a letter or a digit.
    if (k & L) return runOf(s, i + w, n, L);
    if (!(k & (N | NL)) && i + w < n) {
      const e = runOf(s, i + w, n, L);
      if (e > i + w) return e;
    }
    // 3: one to three digits.
    if (k & N) {
      let j = i + w;
      for (let count = 1; count < 3 && j < n; count++) {
        const d = s.charCodeAt(j);
        if (isHigh(d) && j + 1 < n && isLow(s.charCodeAt(j + 1))) {
          if (!(astralClass(((d - 0xd800) << 10) + (s.charCodeAt(j + 1) - 0xdc00) + 0x10000) & N)) break;
          j += 2;
        } else {
          if (!(BMP[d]! & N)) break;
          j++;
        }
      }
      return j;
    }
    // 4: punctuation/symbols, optionally led by one space, then any \r\n.
    {
      const j = c === 0x20 ? i + 1 : i;
      const e = runOfOther(s, j, n);
      if (e > j) {
        let t = e;
        while (t < n && (s.charCodeAt(t) === 0x0a || s.charCodeAt(t) === 0x0d)) t++;
        return t;
      }
    }
    // Here s[i] is whitespace (every whitespace character is in the BMP).
    let e = i;
    let lastNl = -1;
    while (e < n) {
      const b = BMP[s.charCodeAt(e)]!;
      if (!(b & S)) break;
      if (b & NL) lastNl = e;
      e++;
    }
    if (lastNl >= 0) return lastNl + 1; // 5
    if (e === n) return e; // 6, at the end of the text
    if (e - 1 > i) return e - 1; // 6, leaving the last space to lead the next piece
    return e; // 7
  },
};

/**
 * Any pattern through a RegExp, with Split's "Isolated" behaviour: matches and the gaps between
 * them are both pieces.
 */
export function regexPreTokenizer(re: RegExp): PreTokenizer {
  return {
    next(s: string, i: number): number {
      let from = i;
      for (;;) {
        re.lastIndex = from;
        const m = re.exec(s);
        if (m === null) return s.length;
        if (m.index > i) return m.index;
        if (m[0].length > 0) return i + m[0].length;
        // An empty match yields no piece: look for the next non-empty one.
        from = m.index + (isHigh(s.charCodeAt(m.index)) ? 2 : 1);
        if (from >= s.length) return s.length;
      }
    },
  };
}
