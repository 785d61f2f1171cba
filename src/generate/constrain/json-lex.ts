/**
 * Terminals of JSON as byte DFAs: strings (with length, pattern, format and "not one of these
 * keys"), numbers and integers with bounds, multipleOf for integers, literals and whitespace.
 * Built DFAs are memoised by a key that describes them, so every constraint of a process shares
 * one automaton (and the token walks cached under its key) for, e.g., "any string".
 */
import { Dfa, rxToDfa, product, union, literalDfa, literalsDfa, trim, trimFlat } from './dfa.js';
import { type Rx, INF, ANY, set, cat, alt, rep, lit, patternToRx, parseRegex } from './regex.js';

const memo = new Map<string, Dfa>();
export function memoDfa(key: string, make: () => Dfa): Dfa {
  let d = memo.get(key);
  if (!d) {
    if (memo.size > 100000) for (const k of [...memo.keys()].slice(0, 50000)) memo.delete(k);
    d = make();
    memo.set(key, d);
  }
  return d;
}

const enc = new TextEncoder();
export function literal(text: string): Dfa {
  return memoDfa(`lit:${text}`, () => literalDfa(enc.encode(text), `lit:${text}`));
}

/** Whitespace between JSON tokens: 1..max bytes (the empty case is an alternative in the grammar). */
export function wsDfa(max: number): Dfa {
  return memoDfa(`ws:${max}`, () => rxToDfa(rep(set([[9, 10], [13, 13], [32, 32]]), 1, max), 'raw', `ws:${max}`));
}

/** A copy of d's table shifted by `shift` states, with `extra` empty states after it. */
function shifted(d: Dfa, shift: number, extra: number): Int32Array {
  const n = d.size;
  const out = new Int32Array((n + shift + extra) * 256).fill(-1);
  const t = d.trans;
  for (let i = 0; i < n * 256; i++) if (t[i]! >= 0) out[i + shift * 256] = t[i]! + shift;
  return out;
}

/** Put `"` around a content DFA (content never holds a raw quote: it is always escaped). */
function quoted(d: Dfa, key: string): Dfa {
  if (d.isEmpty()) return d;
  const n = d.size;
  const fin = n + 1;
  const flat = shifted(d, 1, 1);
  flat[0x22] = 1;
  const acc = new Uint8Array(n + 2);
  for (let q = 0; q < n; q++) if (d.accept[q]) flat[(q + 1) * 256 + 0x22] = fin;
  acc[fin] = 1;
  return trimFlat(flat, acc, key);
}

function prefixByte(d: Dfa, byte: number, key: string): Dfa {
  if (d.isEmpty()) return d;
  const flat = shifted(d, 1, 0);
  flat[byte] = 1;
  const acc = new Uint8Array(d.size + 1);
  acc.set(d.accept, 1);
  return trimFlat(flat, acc, key);
}

// Calendar dates exactly: month lengths, and 29 February only in leap years.
const LEAP = String.raw`(\d\d(0[48]|[2468][048]|[13579][26])|([02468][048]|[13579][26])00)`;
const DATE = String.raw`(\d{4}-(0[13578]|1[02])-(0[1-9]|[12]\d|3[01])|\d{4}-(0[469]|11)-(0[1-9]|[12]\d|30)|\d{4}-02-(0[1-9]|1\d|2[0-8])|` + LEAP + String.raw`-02-29)`;

// Formats asserted as the strict spellings (a subset of what ajv-formats and Python accept).
const FORMATS: Record<string, string> = {
  date: DATE,
  time: String.raw`([01]\d|2[0-3]):[0-5]\d:([0-5]\d|60)(\.\d{1,9})?(Z|[+-]([01]\d|2[0-3]):[0-5]\d)`,
  'date-time': DATE + String.raw`T([01]\d|2[0-3]):[0-5]\d:([0-5]\d|60)(\.\d{1,9})?(Z|[+-]([01]\d|2[0-3]):[0-5]\d)`,
  uuid: String.raw`[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}`,
  email: String.raw`[A-Za-z0-9_%+-]+(\.[A-Za-z0-9_%+-]+)*@([A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?`,
  ipv4: String.raw`((25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)\.){3}(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)`,
  uri: String.raw`[A-Za-z][A-Za-z0-9+.\-]*:([A-Za-z0-9\-._~:/?@!$&'()*+,;=]|%[0-9A-Fa-f]{2})*(#([A-Za-z0-9\-._~:/?@!$&'()*+,;=]|%[0-9A-Fa-f]{2})*)?`,
};
export const KNOWN_FORMATS = new Set(Object.keys(FORMATS));

export interface StringSpec {
  readonly minLength?: number;
  readonly maxLength?: number;
  readonly patterns?: readonly string[];
  readonly format?: string;
  /** Exact values excluded (declared property names, for "other" keys). */
  readonly notIn?: readonly string[];
  /** Patterns whose matches are excluded (keys handled by patternProperties). */
  readonly notPatterns?: readonly string[];
}

export function stringDfa(spec: StringSpec): Dfa {
  const key = `str:${JSON.stringify(spec)}`;
  // "Any key but these names" is certainly non-empty and starts with a quote: build it when used.
  const lazy = (spec.notIn?.length ?? 0) > 0 && !spec.notPatterns?.length && !spec.patterns?.length && spec.format === undefined && spec.minLength === undefined && spec.maxLength === undefined;
  if (lazy) return memoDfa(key, () => Dfa.lazy(key, () => buildString(spec, key)));
  return memoDfa(key, () => buildString(spec, key));
}

function buildString(spec: StringSpec, key: string): Dfa {
  {
    const min = spec.minLength ?? 0;
    const max = spec.maxLength ?? INF;
    let d = memoDfa(`strbody:${min}:${max}`, () => rxToDfa(rep(set(ANY), min, max), 'json', `strbody:${min}:${max}`));
    for (const p of spec.patterns ?? []) d = product(d, patternDfa(p), false, `${d.key}&p:${p}`);
    if (spec.format !== undefined) {
      const f = FORMATS[spec.format];
      if (f !== undefined) d = product(d, memoDfa(`fmt:${spec.format}`, () => rxToDfa(parseRegex(f), 'json', `fmt:${spec.format}`)), false, `${d.key}&f:${spec.format}`);
    }
    if (spec.notIn && spec.notIn.length > 0) {
      const names = literalsDfa(spec.notIn.map((n) => enc.encode(JSON.stringify(n).slice(1, -1))), `names:${JSON.stringify(spec.notIn)}`);
      d = product(d, names, true, `${d.key}-names`);
    }
    for (const p of spec.notPatterns ?? []) d = product(d, patternDfa(p), true, `${d.key}-p:${p}`);
    return quoted(d, key);
  }
}

function patternDfa(p: string): Dfa {
  return memoDfa(`pat:${p}`, () => rxToDfa(patternToRx(p), 'json', `pat:${p}`));
}

/** Is the JSON string content of `s` matched by the pattern (as our automaton reads it)? */
export function patternMatches(p: string, s: string): boolean {
  return patternDfa(p).matches(enc.encode(JSON.stringify(s).slice(1, -1)));
}

const D: Rx = set([[0x30, 0x39]]);
const digitSet = (a: number, b: number): Rx => set([[0x30 + a, 0x30 + b]]);

function sameLen(lo: string, hi: string): Rx {
  const n = lo.length;
  if (n === 1) return digitSet(+lo, +hi);
  if (lo[0] === hi[0]) return cat(lit(lo[0]!), sameLen(lo.slice(1), hi.slice(1)));
  const parts: Rx[] = [cat(lit(lo[0]!), sameLen(lo.slice(1), '9'.repeat(n - 1)))];
  if (+hi[0]! - +lo[0]! >= 2) parts.push(cat(digitSet(+lo[0]! + 1, +hi[0]! - 1), rep(D, n - 1, n - 1)));
  parts.push(cat(lit(hi[0]!), sameLen('0'.repeat(n - 1), hi.slice(1))));
  return alt(...parts);
}

/** Decimal spellings (no leading zeros) of the integers in [a, b]; b undefined = unbounded. */
export function nonnegRange(a: bigint, b: bigint | undefined): Rx | undefined {
  if (a < 0n) a = 0n;
  if (b !== undefined && b < a) return undefined;
  const la = a.toString().length;
  const parts: Rx[] = [];
  const lb = b === undefined ? la : b.toString().length;
  for (let len = la; len <= lb; len++) {
    const lo = len === la ? a : 10n ** BigInt(len - 1);
    const top = 10n ** BigInt(len) - 1n;
    const hi = b === undefined || top < b ? top : b;
    parts.push(sameLen(lo.toString(), hi.toString()));
  }
  if (b === undefined) parts.push(cat(digitSet(1, 9), rep(D, la, INF)));
  return alt(...parts);
}

/** Integers in [lo, hi] (either side open when undefined). */
export function integerRx(lo: bigint | undefined, hi: bigint | undefined): Rx | undefined {
  if (lo !== undefined && hi !== undefined && lo > hi) return undefined;
  const parts: Rx[] = [];
  if (hi === undefined || hi >= 0n) {
    const r = nonnegRange(lo !== undefined && lo > 0n ? lo : 0n, hi);
    if (r) parts.push(r);
  }
  if (lo === undefined || lo < 0n) {
    const top = hi !== undefined && hi < -1n ? hi : -1n;
    const r = nonnegRange(-top, lo === undefined ? undefined : -lo);
    if (r) parts.push(cat(lit('-'), r));
  }
  return parts.length ? alt(...parts) : undefined;
}

export function integerDfa(lo: bigint | undefined, hi: bigint | undefined, multipleOf?: bigint): Dfa {
  const key = `int:${lo}:${hi}:${multipleOf}`;
  return memoDfa(key, () => {
    const rx = integerRx(lo, hi);
    let d = rx ? rxToDfa(rx, 'raw', `${key}:r`) : new Dfa(new Int32Array(0), new Uint8Array(0), key);
    if (multipleOf !== undefined && multipleOf !== 1n) d = product(d, modDfa(Number(multipleOf)), false, key);
    return d;
  });
}

/** Integers (any sign) divisible by k, read digit by digit as a residue. */
function modDfa(k: number): Dfa {
  // states: 0 start, 1 after '-', 2 the literal "0", 3 + r residue r
  const n = 3 + k;
  const rows = Array.from({ length: n }, () => new Array<number>(256).fill(-1));
  rows[0]![0x2d] = 1;
  rows[0]![0x30] = 2;
  for (let dg = 1; dg <= 9; dg++) {
    rows[0]![0x30 + dg] = 3 + (dg % k);
    rows[1]![0x30 + dg] = 3 + (dg % k);
  }
  for (let r = 0; r < k; r++) for (let dg = 0; dg <= 9; dg++) rows[3 + r]![0x30 + dg] = 3 + ((r * 10 + dg) % k);
  const acc = new Array<number>(n).fill(0);
  acc[2] = 1;
  acc[3] = 1;
  return trim(rows, acc, `mod:${k}`);
}

const FRAC_ANY: Rx = rep(cat(lit('.'), rep(D, 1, INF)), 0, 1);
const FRAC_ZERO: Rx = rep(cat(lit('.'), rep(lit('0'), 1, INF)), 0, 1);
const FRAC_NONZERO: Rx = cat(lit('.'), rep(lit('0'), 0, INF), digitSet(1, 9), rep(D, 0, INF));
const EXP: Rx = rep(cat(set([[0x45, 0x45], [0x65, 0x65]]), rep(set([[0x2b, 0x2b], [0x2d, 0x2d]]), 0, 1), rep(D, 1, INF)), 0, 1);
const INT: Rx = alt(lit('0'), cat(digitSet(1, 9), rep(D, 0, INF)));

export function numberDfa(): Dfa {
  return memoDfa('num', () => rxToDfa(cat(rep(lit('-'), 0, 1), INT, FRAC_ANY, EXP), 'raw', 'num'));
}

type Side = Rx | undefined | 'all';
const mag = (a: bigint, b: bigint | undefined, frac: Rx): Rx | undefined => {
  const r = nonnegRange(a, b);
  return r ? cat(r, frac) : undefined;
};
const alts = (...xs: (Rx | undefined)[]): Rx | undefined => {
  const ys = xs.filter((x): x is Rx => x !== undefined);
  return ys.length ? alt(...ys) : undefined;
};

/** x ≥ L (or x > L): allowed magnitudes for non-negative and for negative spellings. */
function lowerBound(L: bigint, excl: boolean): { pos: Side; neg: Side } {
  if (!excl) {
    if (L <= 0n) {
      const M = -L;
      return { pos: 'all', neg: alts(M >= 1n ? mag(0n, M - 1n, FRAC_ANY) : undefined, mag(M, M, FRAC_ZERO)) };
    }
    return { pos: mag(L, undefined, FRAC_ANY), neg: undefined };
  }
  if (L >= 0n) return { pos: alts(mag(L + 1n, undefined, FRAC_ANY), mag(L, L, FRAC_NONZERO)), neg: undefined };
  return { pos: 'all', neg: mag(0n, -L - 1n, FRAC_ANY) };
}

function sideDfa(a: Side, b: Side, key: string): Dfa | undefined {
  const all: Rx = cat(INT, FRAC_ANY);
  if (a === undefined || b === undefined) return undefined;
  const da = rxToDfa(a === 'all' ? all : a, 'raw', `${key}:a`);
  if (b === 'all') return da;
  return product(da, rxToDfa(b, 'raw', `${key}:b`), false, key);
}

/** Decimal numbers (no exponent) within integer-valued bounds. */
export function boundedNumberDfa(min?: { v: bigint; excl: boolean }, max?: { v: bigint; excl: boolean }): Dfa {
  const key = `bnum:${min?.v}:${min?.excl}:${max?.v}:${max?.excl}`;
  return memoDfa(key, () => {
    const lo = min ? lowerBound(min.v, min.excl) : { pos: 'all' as Side, neg: 'all' as Side };
    const up = max ? lowerBound(-max.v, max.excl) : { pos: 'all' as Side, neg: 'all' as Side };
    // x ≤ U  ⇔  -x ≥ -U: the roles of the signs swap.
    const pos = sideDfa(lo.pos, up.neg, `${key}:p`);
    const neg = sideDfa(lo.neg, up.pos, `${key}:n`);
    const negD = neg ? prefixByte(neg, 0x2d, `${key}:-`) : undefined;
    const empty = new Dfa(new Int32Array(0), new Uint8Array(0), key);
    return union(pos ?? empty, negD ?? empty, key);
  });
}

/** Exactly these JSON texts. */
export function literalsOf(texts: readonly string[]): Dfa {
  const key = `enum:${JSON.stringify(texts)}`;
  return memoDfa(key, () => literalsDfa(texts.map((t) => enc.encode(t)), key));
}
