/**
 * llama.cpp's GBNF grammar format: `name ::= alternatives`, string literals, character classes
 * (negation, ranges, escapes), `.`, grouping, `* + ?` and `{m}`, `{m,}`, `{m,n}`, `#` comments.
 * The start rule is `root`. A rule ends where the next `name ::=` begins.
 */
import { GrammarBuilder, type Expr, type FlatGrammar, ref, seq, alts, GrammarError } from './grammar.js';
import { INF, ANY, set, lit, RegexUnsupported } from './regex.js';
import { type CpRange, negateRanges, normalizeRanges } from './utf8.js';
import { InvalidGrammarError } from './errors.js';

class GbnfParser {
  i = 0;
  constructor(readonly s: string) {}

  fail(msg: string): never {
    const line = this.s.slice(0, this.i).split('\n').length;
    throw new InvalidGrammarError(`${msg} (line ${line})`);
  }

  space(): void {
    for (;;) {
      const c = this.s[this.i];
      if (c === ' ' || c === '\t' || c === '\n' || c === '\r') this.i++;
      else if (c === '#') {
        while (this.i < this.s.length && this.s[this.i] !== '\n') this.i++;
      } else return;
    }
  }

  name(): string | undefined {
    const m = /^[a-zA-Z0-9_-]+/.exec(this.s.slice(this.i, this.i + 256));
    if (!m) return undefined;
    this.i += m[0].length;
    return m[0];
  }

  /** Does a rule definition (`name ::=`) start here? */
  atRuleStart(): boolean {
    const m = /^[a-zA-Z0-9_-]+[ \t]*::=/.exec(this.s.slice(this.i, this.i + 300));
    return m !== null;
  }

  parse(b: GrammarBuilder): void {
    this.space();
    while (this.i < this.s.length) {
      const n = this.name();
      if (n === undefined) this.fail('expected a rule name');
      this.space();
      if (this.s.slice(this.i, this.i + 3) !== '::=') this.fail(`expected '::=' after '${n}'`);
      this.i += 3;
      this.space();
      const body = this.alternatives(0);
      if (b.has(n)) this.fail(`rule '${n}' defined twice`);
      b.define(n, body);
      this.space();
    }
  }

  alternatives(depth: number): Expr {
    const xs = [this.sequence(depth)];
    while (this.s[this.i] === '|') {
      this.i++;
      this.space();
      xs.push(this.sequence(depth));
    }
    return alts(...xs);
  }

  sequence(depth: number): Expr {
    const xs: Expr[] = [];
    for (;;) {
      this.space();
      const c = this.s[this.i];
      if (c === undefined || c === '|' || c === ')') break;
      if (depth === 0 && this.atRuleStart()) break;
      let e = this.primary(depth);
      for (;;) {
        const q = this.s[this.i];
        if (q === '*') e = { k: 'rep', x: e, min: 0, max: INF };
        else if (q === '+') e = { k: 'rep', x: e, min: 1, max: INF };
        else if (q === '?') e = { k: 'rep', x: e, min: 0, max: 1 };
        else if (q === '{') {
          const m = /^\{\s*(\d+)\s*(,\s*(\d*)\s*)?\}/.exec(this.s.slice(this.i, this.i + 64));
          if (!m) this.fail('bad repetition');
          const min = Number(m[1]);
          const max = m[2] === undefined ? min : m[3] === '' ? INF : Number(m[3]);
          if (max !== INF && max < min) this.fail('repetition range out of order');
          e = { k: 'rep', x: e, min, max };
          this.i += m[0].length - 1;
        } else break;
        this.i++;
      }
      xs.push(e);
    }
    return xs.length === 0 ? { k: 'seq', xs: [] } : seq(...xs);
  }

  primary(depth: number): Expr {
    const c = this.s[this.i]!;
    if (c === '"') {
      this.i++;
      const cps: number[] = [];
      while (this.s[this.i] !== '"') {
        if (this.i >= this.s.length) this.fail('unterminated string');
        cps.push(this.char());
      }
      this.i++;
      return { k: 'rx', rx: lit(String.fromCodePoint(...cps)) };
    }
    if (c === '[') {
      this.i++;
      let neg = false;
      if (this.s[this.i] === '^') {
        neg = true;
        this.i++;
      }
      const r: CpRange[] = [];
      while (this.s[this.i] !== ']') {
        if (this.i >= this.s.length) this.fail('unterminated character class');
        const lo = this.char();
        if (this.s[this.i] === '-' && this.s[this.i + 1] !== ']') {
          this.i++;
          const hi = this.char();
          if (hi < lo) this.fail('class range out of order');
          r.push([lo, hi]);
        } else r.push([lo, lo]);
      }
      this.i++;
      return { k: 'rx', rx: set(neg ? negateRanges(r) : normalizeRanges(r)) };
    }
    if (c === '.') {
      this.i++;
      return { k: 'rx', rx: set(ANY) };
    }
    if (c === '(') {
      this.i++;
      this.space();
      const e = this.alternatives(depth + 1);
      this.space();
      if (this.s[this.i] !== ')') this.fail("expected ')'");
      this.i++;
      return e;
    }
    const n = this.name();
    if (n === undefined) this.fail(`unexpected '${c}'`);
    return ref(n);
  }

  /** One (possibly escaped) character of a literal or class. */
  char(): number {
    const c = this.s.codePointAt(this.i)!;
    if (c !== 0x5c) {
      this.i += c > 0xffff ? 2 : 1;
      return c;
    }
    const e = this.s[this.i + 1];
    this.i += 2;
    const hex = (n: number): number => {
      const h = this.s.slice(this.i, this.i + n);
      if (!new RegExp(`^[0-9a-fA-F]{${n}}$`).test(h)) this.fail('bad escape');
      this.i += n;
      return parseInt(h, 16);
    };
    switch (e) {
      case 'n': return 10;
      case 'r': return 13;
      case 't': return 9;
      case 'x': return hex(2);
      case 'u': return hex(4);
      case 'U': return hex(8);
      case '\\': case '"': case '[': case ']': case '-': case '^': case '/': return e.charCodeAt(0);
      default: return this.fail(`unknown escape '\\${e ?? ''}'`);
    }
  }
}

export function gbnfGrammar(text: string): FlatGrammar {
  const b = new GrammarBuilder('gbnf');
  new GbnfParser(text).parse(b);
  try {
    return b.build('root');
  } catch (e) {
    if (e instanceof GrammarError || e instanceof RegexUnsupported) throw new InvalidGrammarError(e.message);
    throw e;
  }
}
