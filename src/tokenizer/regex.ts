import { TokenizerError } from './errors.js';

/**
 * Pre-tokenizer patterns come from Rust, where Hugging Face's tokenizers run them with Oniguruma.
 * JavaScript's RegExp with the `u` flag reads most of them as they are; this translates the rest
 * to Oniguruma's meaning (which is also what transformers.js does):
 * - `\s` / `\S` are Unicode White_Space (JavaScript's `\s` adds U+FEFF and lacks U+0085);
 *   `\d` is \p{Nd}, `\w` Unicode word characters, `\h` a hex digit;
 * - `(?i:…)` scoped case-insensitivity (absent from Node 20's RegExp) becomes explicit case classes
 *   for ASCII letters: `(?i:'s)` → `(?:'[sS])` (so `s` does not also match `ſ`);
 * - `.` excludes only \n; `^` / `$` are line anchors; `\A` / `\z` / `\Z` are text anchors;
 * - identity escapes of punctuation that `u` mode rejects (`\#`, `\'`) lose the backslash.
 * Constructs with no faithful translation (possessive quantifiers, atomic groups, other inline
 * flags) raise a TokenizerError instead of being approximated.
 */

const SYNTAX = new Set('^$\\.*+?()[]{}|/-');

function caseVariants(ch: string): string[] {
  const out = new Set<string>([ch]);
  for (const v of [ch.toLowerCase(), ch.toUpperCase()]) {
    if ([...v].length === 1) out.add(v);
  }
  return [...out];
}

function escapeClassChar(ch: string): string {
  return SYNTAX.has(ch) ? '\\' + ch : ch;
}

const WORD_CHARS = '\\p{Alphabetic}\\p{M}\\p{Nd}\\p{Pc}';

/** Shorthand classes in Oniguruma's Unicode meaning: [outside a class, inside a class]. */
const SHORTHANDS: Readonly<Record<string, readonly [string, string | undefined]>> = {
  s: ['\\p{White_Space}', '\\p{White_Space}'],
  S: ['\\P{White_Space}', '\\P{White_Space}'],
  d: ['\\p{Nd}', '\\p{Nd}'],
  D: ['\\P{Nd}', '\\P{Nd}'],
  w: [`[${WORD_CHARS}]`, WORD_CHARS],
  W: [`[^${WORD_CHARS}]`, undefined],
  h: ['[0-9A-Fa-f]', '0-9A-Fa-f'],
  H: ['[^0-9A-Fa-f]', undefined],
};

/** Reads one escape at src[i] === '\\'; returns [text, next index]. */
function readEscape(src: string, i: number, inClass: boolean): [string, number] {
  const c = src[i + 1];
  if (c === undefined) throw new TokenizerError(`pre-tokenizer regex ends with a lone backslash: ${src}`);
  if ((c === 'p' || c === 'P') && src[i + 2] === '{') {
    const close = src.indexOf('}', i + 3);
    if (close < 0) throw new TokenizerError(`unterminated \\${c}{ in pre-tokenizer regex: ${src}`);
    return [src.slice(i, close + 1), close + 1];
  }
  if (c === 'x' && src[i + 2] === '{') {
    const close = src.indexOf('}', i + 3);
    if (close < 0) throw new TokenizerError(`unterminated \\x{ in pre-tokenizer regex: ${src}`);
    return ['\\u{' + src.slice(i + 3, close) + '}', close + 1];
  }
  const short = SHORTHANDS[c];
  if (short !== undefined) {
    const text = inClass ? short[1] : short[0];
    if (text === undefined) throw new TokenizerError(`\\${c} inside a character class is unsupported in pre-tokenizer regex: ${src}`);
    return [text, i + 2];
  }
  if (!inClass) {
    if (c === 'A') return ['(?<![\\s\\S])', i + 2];
    if (c === 'z') return ['(?![\\s\\S])', i + 2];
    if (c === 'Z') return ['(?=\\n?(?![\\s\\S]))', i + 2];
  }
  if (c === 'a') return ['\\x07', i + 2];
  if (c === 'e') return ['\\x1B', i + 2];
  if (c === 'G' || c === 'K' || c === 'R' || c === 'X') {
    throw new TokenizerError(`pre-tokenizer regex uses \\${c}, which has no JavaScript equivalent: ${src}`);
  }
  if (/[0-9A-Za-z]/.test(c)) return [src.slice(i, i + 2), i + 2];
  // Punctuation: keep the escape only where `u` mode allows it.
  return [SYNTAX.has(c) ? '\\' + c : c, i + 2];
}

/** Translates src[start..end) (no surrounding group); `fold` expands letters to both cases. */
function translate(src: string, start: number, end: number, fold: boolean): string {
  let out = '';
  let i = start;
  while (i < end) {
    const ch = src[i]!;
    if (ch === '\\') {
      const [text, next] = readEscape(src, i, false);
      out += fold && text.length === 1 ? foldLiteral(text) : text;
      i = next;
    } else if (ch === '[') {
      const [text, next] = translateClass(src, i, fold);
      out += text;
      i = next;
    } else if (ch === '(') {
      if (src.startsWith('(?i:', i)) {
        const close = findGroupEnd(src, i);
        out += '(?:' + translate(src, i + 4, close, true) + ')';
        i = close + 1;
      } else if (src.startsWith('(?>', i)) {
        throw new TokenizerError(`pre-tokenizer regex uses an atomic group (?>…), unsupported: ${src}`);
      } else if (/^\(\?[a-zA-Z-]+[:)]/.test(src.slice(i, i + 12))) {
        throw new TokenizerError(`pre-tokenizer regex uses inline flags ${src.slice(i, i + 6)}…, unsupported: ${src}`);
      } else {
        out += ch;
        i++;
      }
    } else if (ch === '.') {
      out += '[^\\n]';
      i++;
    } else if (ch === '^') {
      out += '(?:(?<![\\s\\S])|(?<=\\n))';
      i++;
    } else if (ch === '$') {
      out += '(?:(?=\\n)|(?![\\s\\S]))';
      i++;
    } else if ((ch === '+' || ch === '*' || ch === '?' || ch === '}') && src[i + 1] === '+') {
      throw new TokenizerError(`pre-tokenizer regex uses a possessive quantifier ${ch}+, unsupported: ${src}`);
    } else {
      const cp = src.codePointAt(i)!;
      const lit = String.fromCodePoint(cp);
      out += fold ? foldLiteral(lit) : lit;
      i += lit.length;
    }
  }
  return out;
}

function foldLiteral(ch: string): string {
  const v = caseVariants(ch);
  return v.length === 1 ? ch : '[' + v.map(escapeClassChar).join('') + ']';
}

/** Index of the ')' closing the group that opens at src[open]. */
function findGroupEnd(src: string, open: number): number {
  let depth = 0;
  for (let i = open; i < src.length; i++) {
    const ch = src[i];
    if (ch === '\\') i++;
    else if (ch === '[') i = translateClass(src, i, false)[1] - 1;
    else if (ch === '(') depth++;
    else if (ch === ')' && --depth === 0) return i;
  }
  throw new TokenizerError(`unbalanced parenthesis in pre-tokenizer regex: ${src}`);
}

/** Translates the character class at src[open] === '['; returns [text, index after ']']. */
function translateClass(src: string, open: number, fold: boolean): [string, number] {
  let i = open + 1;
  let out = '[';
  if (src[i] === '^') {
    out += '^';
    i++;
  }
  let first = true;
  while (i < src.length) {
    const ch = src[i]!;
    if (ch === ']' && !first) return [out + ']', i + 1];
    first = false;
    if (ch === '[') throw new TokenizerError(`nested character classes are unsupported in pre-tokenizer regex: ${src}`);
    if (ch === '\\') {
      const [text, next] = readEscape(src, i, true);
      out += text.length === 1 ? escapeClassChar(text) : text;
      i = next;
      continue;
    }
    const lit = String.fromCodePoint(src.codePointAt(i)!);
    if (src[i + lit.length] === '-' && src[i + lit.length + 1] !== ']' && src[i + lit.length + 1] !== undefined) {
      // A range a-b: with folding, add the other case of purely ASCII-letter ranges.
      const hiStart = i + lit.length + 1;
      const hi = String.fromCodePoint(src.codePointAt(hiStart)!);
      out += escapeClassChar(lit) + '-' + escapeClassChar(hi);
      if (fold && /^[a-z]$/.test(lit) && /^[a-z]$/.test(hi)) out += lit.toUpperCase() + '-' + hi.toUpperCase();
      else if (fold && /^[A-Z]$/.test(lit) && /^[A-Z]$/.test(hi)) out += lit.toLowerCase() + '-' + hi.toLowerCase();
      else if (fold && (/\p{L}/u.test(lit) || /\p{L}/u.test(hi))) {
        throw new TokenizerError(`case-insensitive non-ASCII range ${lit}-${hi} in pre-tokenizer regex is unsupported: ${src}`);
      }
      i = hiStart + hi.length;
      continue;
    }
    out += fold ? caseVariants(lit).map(escapeClassChar).join('') : escapeClassChar(lit);
    i += lit.length;
  }
  throw new TokenizerError(`unterminated character class in pre-tokenizer regex: ${src}`);
}

/** The JavaScript source equivalent to a Hugging Face / Oniguruma pre-tokenizer pattern. */
export function translateRegex(pattern: string): string {
  return translate(pattern, 0, pattern.length, false);
}

/** A global, unicode-aware RegExp for a Hugging Face pre-tokenizer pattern. */
export function compileRegex(pattern: string): RegExp {
  const source = translateRegex(pattern);
  try {
    return new RegExp(source, 'gu');
  } catch (cause) {
    throw new TokenizerError(`pre-tokenizer regex ${JSON.stringify(pattern)} does not compile in JavaScript (as ${source})`, { cause });
  }
}
