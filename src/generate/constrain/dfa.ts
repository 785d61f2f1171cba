/**
 * Byte-level automata. Every terminal of a grammar is a DFA over bytes: dense transition rows
 * (256 entries, -1 = dead) so the mask engine can step it with one array read per byte.
 * DFAs built here are trimmed: every live state can still reach an accepting one, which is what
 * lets "the parser is not dead" mean "the output can still be completed".
 */
import { type Rx, INF, RegexUnsupported } from './regex.js';
import { type CpRange, type ByteSeq, utf8Sequences, intersectRanges, subtractRanges } from './utf8.js';

export class Dfa {
  private t: Int32Array | undefined;
  private a: Uint8Array | undefined;
  private make: (() => Dfa) | undefined;
  /** transitions: trans[q * 256 + byte] = next state or -1. Start state is 0. */
  constructor(trans: Int32Array, accept: Uint8Array, readonly key: string) {
    this.t = trans;
    this.a = accept;
  }
  /**
   * An automaton built on first use (e.g. "any key but the declared ones" of an object the model
   * may never give an extra key to). The caller vouches that it is non-empty and non-nullable.
   */
  static lazy(key: string, make: () => Dfa): Dfa {
    const d = new Dfa(new Int32Array(0), new Uint8Array(0), key);
    d.t = undefined;
    d.a = undefined;
    d.make = make;
    return d;
  }
  get isLazy(): boolean {
    return this.make !== undefined || this.t === undefined;
  }
  private force(): void {
    const d = this.make!();
    this.make = undefined;
    this.t = d.trans;
    this.a = d.accept;
  }
  get trans(): Int32Array {
    if (this.t === undefined) this.force();
    return this.t!;
  }
  get accept(): Uint8Array {
    if (this.a === undefined) this.force();
    return this.a!;
  }
  get size(): number {
    return this.accept.length;
  }
  isEmpty(): boolean {
    return this.accept.length === 0;
  }
  /** Whether the DFA accepts exactly these bytes. */
  matches(bytes: Uint8Array): boolean {
    if (this.isEmpty()) return false;
    let q = 0;
    for (const b of bytes) {
      q = this.trans[q * 256 + b]!;
      if (q < 0) return false;
    }
    return this.accept[q] === 1;
  }
}

/** Refuse automata that would not fit a sensible budget (huge counted repetitions). */
export const MAX_DFA_STATES = 12000;
const MAX_NFA_STATES = 400000;

/** How a code point set is written as bytes: plain UTF-8, or inside a JSON string literal. */
export type Encoding = 'raw' | 'json';

class Nfa {
  edges: number[][] = []; // flattened triples lo, hi, to
  eps: number[][] = [];
  add(): number {
    if (this.edges.length >= MAX_NFA_STATES) throw new RegexUnsupported('automaton too large');
    this.edges.push([]);
    this.eps.push([]);
    return this.edges.length - 1;
  }
}

const HEX = '0123456789abcdef';

/**
 * JSON's canonical spelling of each character (the one JSON.stringify produces): raw UTF-8, except
 * `"` and `\` and control characters, which are escaped. One spelling per string keeps set
 * complement (keys that are not any declared name) exact.
 */
function jsonSeqs(r: readonly CpRange[]): ByteSeq[] {
  const raw = subtractRanges(r, [[0, 0x1f], [0x22, 0x22], [0x5c, 0x5c]]);
  const out = utf8Sequences(raw);
  const esc = (s: string): ByteSeq => [...s].map((c) => [c.charCodeAt(0), c.charCodeAt(0)] as [number, number]);
  for (const [a, b] of intersectRanges(r, [[0, 0x1f], [0x22, 0x22], [0x5c, 0x5c]])) {
    for (let cp = a; cp <= b; cp++) {
      const short: Record<number, string> = { 8: '\\b', 9: '\\t', 10: '\\n', 12: '\\f', 13: '\\r', 0x22: '\\"', 0x5c: '\\\\' };
      out.push(esc(short[cp] ?? `\\u00${HEX[cp >> 4]}${HEX[cp & 15]}`));
    }
  }
  return out;
}

function build(nfa: Nfa, r: Rx, enc: Encoding, from: number): number {
  switch (r.t) {
    case 'set': {
      const to = nfa.add();
      for (const seq of enc === 'raw' ? utf8Sequences(r.r) : jsonSeqs(r.r)) {
        let cur = from;
        for (let k = 0; k < seq.length; k++) {
          const nx = k === seq.length - 1 ? to : nfa.add();
          nfa.edges[cur]!.push(seq[k]![0], seq[k]![1], nx);
          cur = nx;
        }
      }
      return to;
    }
    case 'cat': {
      let cur = from;
      for (const x of r.xs) cur = build(nfa, x, enc, cur);
      return cur;
    }
    case 'alt': {
      const to = nfa.add();
      for (const x of r.xs) nfa.eps[build(nfa, x, enc, from)]!.push(to);
      return to;
    }
    case 'rep': {
      let cur = from;
      for (let k = 0; k < r.min; k++) cur = build(nfa, r.x, enc, cur);
      if (r.max === INF) {
        const loop = nfa.add();
        nfa.eps[cur]!.push(loop);
        const end = build(nfa, r.x, enc, loop);
        nfa.eps[end]!.push(loop);
        return loop;
      }
      const to = nfa.add();
      nfa.eps[cur]!.push(to);
      for (let k = r.min; k < r.max; k++) {
        cur = build(nfa, r.x, enc, cur);
        nfa.eps[cur]!.push(to);
      }
      return to;
    }
    case 'bol':
    case 'eol':
      throw new RegexUnsupported('anchor in the middle of a pattern');
  }
}

function closure(nfa: Nfa, states: number[]): number[] {
  const seen = new Set<number>(states);
  const stack = [...states];
  while (stack.length) {
    const s = stack.pop()!;
    for (const t of nfa.eps[s]!) if (!seen.has(t)) {
      seen.add(t);
      stack.push(t);
    }
  }
  return [...seen].sort((a, b) => a - b);
}

/** Regex AST → trimmed DFA (subset construction over byte intervals). */
export function rxToDfa(r: Rx, enc: Encoding, key: string): Dfa {
  const nfa = new Nfa();
  const start = nfa.add();
  const fin = build(nfa, r, enc, start);
  const ids = new Map<string, number>();
  const sets: number[][] = [];
  const rows: number[][] = [];
  const acc: number[] = [];
  const intern = (s: number[]): number => {
    const k = s.join(',');
    let id = ids.get(k);
    if (id === undefined) {
      id = sets.length;
      if (id >= MAX_DFA_STATES * 4) throw new RegexUnsupported('automaton too large');
      ids.set(k, id);
      sets.push(s);
      acc.push(s.includes(fin) ? 1 : 0);
    }
    return id;
  };
  intern(closure(nfa, [start]));
  for (let d = 0; d < sets.length; d++) {
    // Partition the byte axis at every edge boundary, then move each interval once.
    const cuts = new Set<number>([0, 256]);
    for (const s of sets[d]!) {
      const e = nfa.edges[s]!;
      for (let k = 0; k < e.length; k += 3) {
        cuts.add(e[k]!);
        cuts.add(e[k + 1]! + 1);
      }
    }
    const bounds = [...cuts].sort((a, b) => a - b);
    const row = new Array<number>(256).fill(-1);
    for (let k = 0; k + 1 < bounds.length; k++) {
      const lo = bounds[k]!;
      const hi = bounds[k + 1]! - 1;
      const tgt: number[] = [];
      for (const s of sets[d]!) {
        const e = nfa.edges[s]!;
        for (let j = 0; j < e.length; j += 3) if (e[j]! <= lo && hi <= e[j + 1]!) tgt.push(e[j + 2]!);
      }
      if (tgt.length === 0) continue;
      const id = intern(closure(nfa, tgt));
      for (let b = lo; b <= hi; b++) row[b] = id;
    }
    rows.push(row);
  }
  return trim(rows, acc, key);
}

/** Drop states that cannot reach acceptance; renumber with the start at 0. */
export function trim(rows: ArrayLike<number>[], acc: ArrayLike<number>, key: string): Dfa {
  const n = acc.length;
  const flat = new Int32Array(n * 256);
  for (let q = 0; q < n; q++) {
    const r = rows[q]!;
    for (let b = 0; b < 256; b++) flat[q * 256 + b] = r[b]!;
  }
  return trimFlat(flat, acc, key);
}

/** trim() over a flat transition table (trans[q * 256 + b]). */
export function trimFlat(flat: Int32Array, acc: ArrayLike<number>, key: string): Dfa {
  const n = acc.length;
  if (n === 0) return new Dfa(new Int32Array(0), new Uint8Array(0), key);
  // Reverse edges in CSR form (one entry per distinct q→t is enough, duplicates are harmless).
  const deg = new Int32Array(n + 1);
  for (let i = 0; i < n * 256; i++) {
    const t = flat[i]!;
    if (t >= 0) deg[t + 1]!++;
  }
  for (let q = 0; q < n; q++) deg[q + 1]! += deg[q]!;
  const fill = deg.slice(0, n);
  const src = new Int32Array(deg[n]!);
  for (let i = 0; i < n * 256; i++) {
    const t = flat[i]!;
    if (t >= 0) src[fill[t]!++] = (i / 256) | 0;
  }
  const live = new Uint8Array(n);
  const stack: number[] = [];
  for (let q = 0; q < n; q++) if (acc[q]) {
    live[q] = 1;
    stack.push(q);
  }
  while (stack.length) {
    const t = stack.pop()!;
    for (let k = deg[t]!; k < deg[t + 1]!; k++) {
      const p = src[k]!;
      if (!live[p]) {
        live[p] = 1;
        stack.push(p);
      }
    }
  }
  if (!live[0]) return new Dfa(new Int32Array(0), new Uint8Array(0), key);
  const map = new Int32Array(n).fill(-1);
  const order = [0];
  map[0] = 0;
  for (let k = 0; k < order.length; k++) {
    const q = order[k]!;
    for (let b = 0; b < 256; b++) {
      const t = flat[q * 256 + b]!;
      if (t >= 0 && live[t] && map[t]! < 0) {
        map[t] = order.length;
        order.push(t);
      }
    }
  }
  if (order.length > MAX_DFA_STATES) throw new RegexUnsupported(`automaton too large (${order.length} states)`);
  const trans = new Int32Array(order.length * 256).fill(-1);
  const accept = new Uint8Array(order.length);
  for (let i = 0; i < order.length; i++) {
    const q = order[i]!;
    accept[i] = acc[q] ? 1 : 0;
    for (let b = 0; b < 256; b++) {
      const t = flat[q * 256 + b]!;
      if (t >= 0 && live[t]) trans[i * 256 + b] = map[t]!;
    }
  }
  return new Dfa(trans, accept, key);
}

/** A growable flat transition table for product constructions. */
class FlatBuilder {
  trans = new Int32Array(256 * 64);
  acc: number[] = [];
  row(q: number): number {
    if ((q + 1) * 256 > this.trans.length) {
      const t = new Int32Array(this.trans.length * 2);
      t.set(this.trans);
      this.trans = t;
    }
    this.trans.fill(-1, q * 256, q * 256 + 256);
    return q * 256;
  }
}

function rowsOf(d: Dfa): Int32Array[] {
  const rows: Int32Array[] = [];
  for (let q = 0; q < d.size; q++) rows.push(d.trans.subarray(q * 256, q * 256 + 256));
  return rows;
}

/** L(a) ∩ L(b), or L(a) \ L(b) when `minus`. */
export function product(a: Dfa, b: Dfa, minus: boolean, key: string): Dfa {
  if (a.isEmpty()) return a;
  const ids = new Map<number, number>();
  const pairs: number[] = [];
  const nb = b.size + 1; // b's state -1 (dead) is the sink, only meaningful for `minus`
  const intern = (x: number, y: number): number => {
    const k = x * nb + (y + 1);
    let id = ids.get(k);
    if (id === undefined) {
      id = pairs.length / 2;
      if (id > MAX_DFA_STATES * 4) throw new RegexUnsupported('automaton too large');
      ids.set(k, id);
      pairs.push(x, y);
    }
    return id;
  };
  intern(0, b.isEmpty() ? -1 : 0);
  const fb = new FlatBuilder();
  const at = a.trans;
  const bt = b.trans;
  for (let k = 0; k * 2 < pairs.length; k++) {
    const x = pairs[k * 2]!;
    const y = pairs[k * 2 + 1]!;
    const base = fb.row(k);
    for (let c = 0; c < 256; c++) {
      const tx = at[x * 256 + c]!;
      if (tx < 0) continue;
      const ty = y < 0 ? -1 : bt[y * 256 + c]!;
      if (ty < 0 && !minus) continue;
      const id = intern(tx, ty);
      fb.trans[base + c] = id;
    }
    const inB = y >= 0 && b.accept[y] === 1;
    fb.acc.push(a.accept[x] === 1 && (minus ? !inB : inB) ? 1 : 0);
  }
  return trimFlat(fb.trans.subarray(0, fb.acc.length * 256), fb.acc, key);
}

/** L(a) ∪ L(b). */
export function union(a: Dfa, b: Dfa, key: string): Dfa {
  if (a.isEmpty()) return b;
  if (b.isEmpty()) return a;
  const ids = new Map<number, number>();
  const pairs: number[] = [];
  const nb = b.size + 1;
  const intern = (x: number, y: number): number => {
    const k = (x + 1) * nb + (y + 1);
    let id = ids.get(k);
    if (id === undefined) {
      id = pairs.length / 2;
      if (id > MAX_DFA_STATES * 4) throw new RegexUnsupported('automaton too large');
      ids.set(k, id);
      pairs.push(x, y);
    }
    return id;
  };
  intern(0, 0);
  const fb = new FlatBuilder();
  for (let k = 0; k * 2 < pairs.length; k++) {
    const x = pairs[k * 2]!;
    const y = pairs[k * 2 + 1]!;
    const base = fb.row(k);
    for (let c = 0; c < 256; c++) {
      const tx = x < 0 ? -1 : a.trans[x * 256 + c]!;
      const ty = y < 0 ? -1 : b.trans[y * 256 + c]!;
      if (tx >= 0 || ty >= 0) fb.trans[base + c] = intern(tx, ty);
    }
    fb.acc.push((x >= 0 && a.accept[x] === 1) || (y >= 0 && b.accept[y] === 1) ? 1 : 0);
  }
  return trimFlat(fb.trans.subarray(0, fb.acc.length * 256), fb.acc, key);
}

/** A DFA accepting exactly these byte strings (a trie; every state leads to acceptance). */
export function literalsDfa(words: readonly Uint8Array[], key: string): Dfa {
  const fb = new FlatBuilder();
  fb.row(0);
  fb.acc.push(0);
  for (const w of words) {
    let q = 0;
    for (const byte of w) {
      let t = fb.trans[q * 256 + byte]!;
      if (t < 0) {
        t = fb.acc.length;
        fb.row(t);
        fb.acc.push(0);
        fb.trans[q * 256 + byte] = t;
      }
      q = t;
    }
    fb.acc[q] = 1;
  }
  return new Dfa(fb.trans.slice(0, fb.acc.length * 256), Uint8Array.from(fb.acc), key);
}

/** Same language without the empty string; reports whether the empty string was in it. */
export function withoutEmpty(d: Dfa): { dfa: Dfa; nullable: boolean } {
  if (d.isEmpty() || d.accept[0] === 0) return { dfa: d, nullable: false };
  const rows = rowsOf(d).map((r) => Array.from(r, (t) => (t >= 0 ? t + 1 : -1)));
  const acc = [0, ...Array.from(d.accept)];
  rows.unshift([...rows[0]!]);
  return { dfa: trim(rows, acc, `${d.key}\u0001ne`), nullable: true };
}

/** A DFA for one exact byte string. */
export function literalDfa(bytes: Uint8Array, key: string): Dfa {
  const n = bytes.length + 1;
  const trans = new Int32Array(n * 256).fill(-1);
  for (let i = 0; i < bytes.length; i++) trans[i * 256 + bytes[i]!] = i + 1;
  const accept = new Uint8Array(n);
  accept[bytes.length] = 1;
  return new Dfa(trans, accept, key);
}

export { rowsOf };
