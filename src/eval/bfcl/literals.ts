/**
 * Which arguments of a tool call were written as float literals ("5.0", "1e3"). JSON parsing
 * turns 5.0 into 5, but BFCL (parsing Python) tells them apart: a float literal is a type error
 * for an integer parameter. This reads the call's raw text again, keeping each number's spelling.
 */

type Tagged = { readonly num: number; readonly float: boolean } | string | boolean | null | Tagged[] | { readonly obj: Map<string, Tagged> };

class Scanner {
  i = 0;
  constructor(private readonly s: string) {}

  private ws(): void {
    while (this.i < this.s.length && ' \t\n\r'.includes(this.s[this.i]!)) this.i++;
  }

  value(): Tagged {
    this.ws();
    const c = this.s[this.i];
    if (c === '{') {
      this.i++;
      const obj = new Map<string, Tagged>();
      this.ws();
      if (this.s[this.i] === '}') {
        this.i++;
        return { obj };
      }
      for (;;) {
        this.ws();
        const k = this.value();
        if (typeof k !== 'string') throw new Error('key');
        this.ws();
        if (this.s[this.i++] !== ':') throw new Error(':');
        obj.set(k, this.value());
        this.ws();
        const d = this.s[this.i++];
        if (d === '}') return { obj };
        if (d !== ',') throw new Error(',');
      }
    }
    if (c === '[') {
      this.i++;
      const arr: Tagged[] = [];
      this.ws();
      if (this.s[this.i] === ']') {
        this.i++;
        return arr;
      }
      for (;;) {
        arr.push(this.value());
        this.ws();
        const d = this.s[this.i++];
        if (d === ']') return arr;
        if (d !== ',') throw new Error(',');
      }
    }
    if (c === '"') {
      const m = /^"(?:[^"\\]|\\.)*"/s.exec(this.s.slice(this.i));
      if (!m) throw new Error('string');
      this.i += m[0].length;
      return JSON.parse(m[0]) as string;
    }
    const lit = /^(?:true|false|null|-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?)/.exec(this.s.slice(this.i));
    if (!lit) throw new Error('value');
    this.i += lit[0].length;
    if (lit[0] === 'true' || lit[0] === 'false') return lit[0] === 'true';
    if (lit[0] === 'null') return null;
    return { num: Number(lit[0]), float: /[.eE]/.test(lit[0]) };
  }
}

const isObj = (t: Tagged | undefined): t is { readonly obj: Map<string, Tagged> } => typeof t === 'object' && t !== null && 'obj' in t;
const isFloatNum = (t: Tagged | undefined): boolean => typeof t === 'object' && t !== null && 'num' in t && t.float;

/**
 * Top-level argument names whose value is a float literal, from a call as the tool-call parser
 * keeps it (`raw`): `{"name", "parameters"|"arguments"}` JSON, `<function=f>{…}</function>`, or
 * `f.call(k=v, …)`. Unreadable text gives an empty set (the parsed values are used as they are).
 */
export function floatLiteralArgs(raw: string): Set<string> {
  const out = new Set<string>();
  const brace = raw.indexOf('{');
  const call = /^(?:<\|python_tag\|>)?\s*[A-Za-z_][\w.]*\.call\(([\s\S]*)\)\s*;?\s*$/.exec(raw);
  if (call && (brace < 0 || raw.indexOf('(') < brace)) {
    for (const m of call[1]!.matchAll(/(?:^|,)\s*([A-Za-z_]\w*)\s*=\s*(-?\d+(?:\.\d*)?(?:[eE][+-]?\d+)?)(?=\s*(?:,|$))/g)) if (/[.eE]/.test(m[2]!)) out.add(m[1]!);
    return out;
  }
  if (brace < 0) return out;
  let top: Tagged;
  try {
    top = new Scanner(raw.slice(brace)).value();
  } catch {
    return out;
  }
  if (!isObj(top)) return out;
  const inner = top.obj.get('parameters') ?? top.obj.get('arguments');
  const args = typeof top.obj.get('name') === 'string' && isObj(inner) ? inner : top;
  for (const [k, v] of args.obj) if (isFloatNum(v)) out.add(k);
  return out;
}
