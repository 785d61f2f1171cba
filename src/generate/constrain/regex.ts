/**
 * ECMAScript regular expressions (the JSON Schema `pattern` dialect) parsed to a small code-point
 * AST. Only what a finite automaton can express is accepted: lookaround, backreferences and word
 * boundaries are refused, never approximated.
 */
import { type CpRange, negateRanges, normalizeRanges } from './utf8.js';

export type Rx =
  | { readonly t: 'set'; readonly r: readonly CpRange[] }
  | { readonly t: 'cat'; readonly xs: readonly Rx[] }
  | { readonly t: 'alt'; readonly xs: readonly Rx[] }
  | { readonly t: 'rep'; readonly x: Rx; readonly min: number; readonly max: number }
  | { readonly t: 'bol' }
  | { readonly t: 'eol' };

export const INF = -1;
export const ANY: CpRange[] = [[0, 0x10ffff]];
export const EMPTY_RX: Rx = { t: 'cat', xs: [] };

export const set = (r: readonly CpRange[]): Rx => ({ t: 'set', r });
export const cat = (...xs: Rx[]): Rx => (xs.length === 1 ? xs[0]! : { t: 'cat', xs });
export const alt = (...xs: Rx[]): Rx => (xs.length === 1 ? xs[0]! : { t: 'alt', xs });
export const rep = (x: Rx, min: number, max: number): Rx => ({ t: 'rep', x, min, max });
export const lit = (s: string): Rx => cat(...[...s].map((c) => set([[c.codePointAt(0)!, c.codePointAt(0)!]])));

/** Thrown by the parser; callers wrap it in the error code of their own surface. */
export class RegexUnsupported extends Error {}

const DIGIT: CpRange[] = [[0x30, 0x39]];
const WORD: CpRange[] = [[0x30, 0x39], [0x41, 0x5a], [0x5f, 0x5f], [0x61, 0x7a]];
// ECMAScript WhiteSpace + LineTerminator.
const SPACE: CpRange[] = normalizeRanges([
  [9, 13], [0x20, 0x20], [0xa0, 0xa0], [0x1680, 0x1680], [0x2000, 0x200a], [0x2028, 0x2029],
  [0x202f, 0x202f], [0x205f, 0x205f], [0x3000, 0x3000], [0xfeff, 0xfeff],
]);
const DOT: CpRange[] = negateRanges([[0x0a, 0x0a], [0x0d, 0x0d], [0x2028, 0x2029]]);

class Parser {
  i = 0;
  constructor(readonly s: string) {}

  fail(what: string): never {
    throw new RegexUnsupported(`${what} at offset ${this.i} in /${this.s}/`);
  }

  parse(): Rx {
    const r = this.alternation();
    if (this.i < this.s.length) this.fail(`unexpected '${this.s[this.i]}'`);
    return r;
  }

  alternation(): Rx {
    const xs = [this.sequence()];
    while (this.s[this.i] === '|') {
      this.i++;
      xs.push(this.sequence());
    }
    return alt(...xs);
  }

  sequence(): Rx {
    const xs: Rx[] = [];
    while (this.i < this.s.length && this.s[this.i] !== '|' && this.s[this.i] !== ')') {
      const a = this.atom();
      xs.push(this.quantified(a));
    }
    return { t: 'cat', xs };
  }

  quantified(a: Rx): Rx {
    for (;;) {
      const c = this.s[this.i];
      let min: number;
      let max: number;
      if (c === '*') [min, max] = [0, INF];
      else if (c === '+') [min, max] = [1, INF];
      else if (c === '?') [min, max] = [0, 1];
      else if (c === '{') {
        const m = /^\{(\d+)(,(\d*))?\}/.exec(this.s.slice(this.i));
        if (!m) return a; // a lone '{' is a literal outside unicode mode
        min = Number(m[1]);
        max = m[2] === undefined ? min : m[3] === '' ? INF : Number(m[3]);
        if (max !== INF && max < min) this.fail('quantifier range out of order');
        this.i += m[0].length - 1;
      } else return a;
      this.i++;
      if (this.s[this.i] === '?') this.i++; // lazy: same language
      if (a.t === 'bol' || a.t === 'eol') this.fail('quantified anchor');
      a = rep(a, min, max);
    }
  }

  atom(): Rx {
    const c = this.s[this.i]!;
    if (c === '(') {
      this.i++;
      if (this.s[this.i] === '?') {
        const nx = this.s[this.i + 1];
        if (nx === ':') this.i += 2;
        else if (nx === '<' && this.s[this.i + 2] !== '=' && this.s[this.i + 2] !== '!') {
          const close = this.s.indexOf('>', this.i);
          if (close < 0) this.fail('unterminated group name');
          this.i = close + 1;
        } else this.fail('lookaround');
      }
      const r = this.alternation();
      if (this.s[this.i] !== ')') this.fail('missing )');
      this.i++;
      return r;
    }
    this.i++;
    if (c === '^') return { t: 'bol' };
    if (c === '$') return { t: 'eol' };
    if (c === '.') return set(DOT);
    if (c === '[') return set(this.classBody());
    if (c === '\\') return set(this.escape(false));
    if (c === ')' || c === '*' || c === '+' || c === '?') this.fail(`unexpected '${c}'`);
    const cp = this.s.codePointAt(this.i - 1)!;
    if (cp > 0xffff) this.i++;
    return set([[cp, cp]]);
  }

  classBody(): CpRange[] {
    let neg = false;
    if (this.s[this.i] === '^') {
      neg = true;
      this.i++;
    }
    const out: CpRange[] = [];
    let first = true;
    while (this.i < this.s.length && (this.s[this.i] !== ']' || (first && false))) {
      first = false;
      const lo = this.classAtom();
      if (this.s[this.i] === '-' && this.s[this.i + 1] !== ']' && this.i + 1 < this.s.length && lo.length === 1 && lo[0]![0] === lo[0]![1]) {
        this.i++;
        const hi = this.classAtom();
        if (hi.length !== 1 || hi[0]![0] !== hi[0]![1]) this.fail('class range with a class escape');
        if (hi[0]![0] < lo[0]![0]) this.fail('class range out of order');
        out.push([lo[0]![0], hi[0]![0]]);
      } else out.push(...lo);
    }
    if (this.s[this.i] !== ']') this.fail('unterminated class');
    this.i++;
    return neg ? negateRanges(out) : normalizeRanges(out);
  }

  classAtom(): CpRange[] {
    const c = this.s[this.i]!;
    this.i++;
    if (c === '\\') return this.escape(true);
    const cp = this.s.codePointAt(this.i - 1)!;
    if (cp > 0xffff) this.i++;
    return [[cp, cp]];
  }

  escape(inClass: boolean): CpRange[] {
    const c = this.s[this.i];
    if (c === undefined) this.fail('trailing backslash');
    this.i++;
    const one = (cp: number): CpRange[] => [[cp, cp]];
    switch (c) {
      case 'd': return DIGIT;
      case 'D': return negateRanges(DIGIT);
      case 'w': return WORD;
      case 'W': return negateRanges(WORD);
      case 's': return SPACE;
      case 'S': return negateRanges(SPACE);
      case 'n': return one(10);
      case 'r': return one(13);
      case 't': return one(9);
      case 'v': return one(11);
      case 'f': return one(12);
      case '0': return one(0);
      case 'b':
        if (inClass) return one(8);
        return this.fail('word boundary \\b');
      case 'B': return this.fail('word boundary \\B');
      case 'k': return this.fail('named backreference');
      case 'p': case 'P': return this.fail('unicode property escape');
      case 'c': {
        const l = this.s.charCodeAt(this.i);
        if (!((l >= 65 && l <= 90) || (l >= 97 && l <= 122))) this.fail('bad \\c escape');
        this.i++;
        return one(l % 32);
      }
      case 'x': {
        const m = /^[0-9a-fA-F]{2}/.exec(this.s.slice(this.i));
        if (!m) this.fail('bad \\x escape');
        this.i += 2;
        return one(parseInt(m[0], 16));
      }
      case 'u': {
        if (this.s[this.i] === '{') {
          const m = /^\{([0-9a-fA-F]{1,6})\}/.exec(this.s.slice(this.i));
          if (!m) this.fail('bad \\u{} escape');
          this.i += m[0].length;
          return one(parseInt(m[1]!, 16));
        }
        const m = /^[0-9a-fA-F]{4}/.exec(this.s.slice(this.i));
        if (!m) this.fail('bad \\u escape');
        this.i += 4;
        let cp = parseInt(m[0], 16);
        // A surrogate pair spelled as two \u escapes is one code point.
        if (cp >= 0xd800 && cp <= 0xdbff) {
          const m2 = /^\\u(d[c-f][0-9a-f]{2})/i.exec(this.s.slice(this.i));
          if (m2) {
            this.i += 6;
            cp = 0x10000 + ((cp - 0xd800) << 10) + (parseInt(m2[1]!, 16) - 0xdc00);
          }
        }
        return one(cp);
      }
      default:
        if (c >= '1' && c <= '9') return this.fail('backreference');
        return one(c.codePointAt(0)!);
    }
  }
}

export function parseRegex(source: string): Rx {
  return new Parser(source).parse();
}

/**
 * JSON Schema `pattern` matches anywhere in the string: wrap each top-level branch in `.*` unless it
 * is anchored. Anchors anywhere else are refused.
 */
export function patternToRx(source: string): Rx {
  const r = parseRegex(source);
  const branches = r.t === 'alt' ? r.xs : [r];
  const out: Rx[] = [];
  for (const b0 of branches) {
    let xs: Rx[] = b0.t === 'cat' ? [...b0.xs] : [b0];
    // `^(a|b)$`-style: a single group holding anchored branches is flattened by the parser already.
    const anchoredStart = xs[0]?.t === 'bol';
    if (anchoredStart) xs = xs.slice(1);
    const anchoredEnd = xs[xs.length - 1]?.t === 'eol';
    if (anchoredEnd) xs = xs.slice(0, -1);
    checkNoAnchors(cat(...xs), source);
    if (!anchoredStart) xs.unshift(rep(set(ANY), 0, INF));
    if (!anchoredEnd) xs.push(rep(set(ANY), 0, INF));
    out.push({ t: 'cat', xs });
  }
  return alt(...out);
}

function checkNoAnchors(r: Rx, source: string): void {
  switch (r.t) {
    case 'bol': case 'eol': throw new RegexUnsupported(`anchor inside /${source}/`);
    case 'cat': case 'alt': for (const x of r.xs) checkNoAnchors(x, source); return;
    case 'rep': checkNoAnchors(r.x, source); return;
    default:
  }
}
