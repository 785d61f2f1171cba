/**
 * The vocabulary as byte tries laid out in depth-first preorder (flat typed arrays; a subtree is a
 * contiguous index range), plus per-(terminal DFA, state) walk results that do not depend on the
 * parser: which tokens stay inside the terminal, and at which trie nodes the terminal can end
 * with bytes still to go. Built once per tokenizer and shared by every constraint.
 *
 * Slices (after llguidance's "slicer"): fixed token sets such as "tokens that are whole UTF-8
 * characters other than `"`, `\` and controls". When a DFA state provably keeps every token of a
 * slice alive without ending (checked on the product of the slice's automaton and the DFA), the
 * slice's bitmap is taken whole and only the tokens outside it are walked: a string-body state
 * costs a walk over ~6k tokens instead of 128k.
 */
import type { Tokenizer } from '../../tokenizer/types.js';
import { type Dfa, rxToDfa } from './dfa.js';
import { set, rep, INF } from './regex.js';
import { subtractRanges } from './utf8.js';

export interface Inside {
  /** A shared slice bitmap that is part of the answer (not to be modified), if any. */
  readonly base: Uint32Array | undefined;
  /** Tokens whose every byte keeps the terminal alive, beyond `base`: a bitmap when many, else ids. */
  readonly bits: Uint32Array | undefined;
  readonly ids: Int32Array | undefined;
  readonly trie: Trie;
  /** Nodes of `trie` (with children) after which the terminal may end; the rest is the parser's. */
  readonly exits: Int32Array;
  /** What follows the exits, merged into one trie (built on first use). */
  suffixes?: SuffixTrie;
}

/**
 * The bytes after each exit node, merged: tokens `ab",` and `x",` both leave a string at `"` and
 * continue with `,`, so the parser checks `,` once for all of them.
 */
export class SuffixTrie {
  readonly byte: Uint8Array;
  readonly depth: Uint16Array;
  readonly maxDepth: number;
  readonly end: Int32Array;
  /** Tokens whose suffix ends at each node: toks[tokStart[n] .. tokStart[n + 1]). */
  readonly tokStart: Int32Array;
  readonly toks: Int32Array;

  constructor(trie: Trie, exits: Int32Array) {
    // The exits' subtrees merged level by level: a merged node stands for a group of trie nodes
    // reached by the same suffix bytes; its children are their children grouped by byte. Sorting
    // packed (byte, node) keys keeps it to typed arrays: a 128K-node merge takes milliseconds.
    const byte: number[] = [];
    const depth: number[] = [];
    const end: number[] = [];
    const tokStart: number[] = [];
    const toks: number[] = [];
    let maxDepth = 0;
    const pushToks = (n: number): void => {
      if (trie.tok[n]! < 0) return;
      toks.push(trie.tok[n]!);
      const dd = trie.dupTok.get(n);
      if (dd) toks.push(...dd);
    };
    /** A lone node's subtree has nothing to merge: copied as it is (already in preorder). */
    const copy = (n: number, d: number): void => {
      const first = byte.length;
      const shift = d - trie.depth[n]!;
      const stop = trie.end[n]!;
      for (let k = n; k < stop; k++) {
        byte.push(trie.byte[k]!);
        depth.push(trie.depth[k]! + shift);
        end.push(first + (trie.end[k]! - n));
        tokStart.push(toks.length);
        pushToks(k);
      }
      maxDepth = Math.max(maxDepth, d + trie.maxDepth);
    };
    const visit = (group: ArrayLike<number>, b: number, d: number, own: boolean): void => {
      if (own && group.length === 1) return copy(group[0]!, d);
      const i = byte.length;
      byte.push(b);
      depth.push(d);
      maxDepth = Math.max(maxDepth, d);
      end.push(0);
      tokStart.push(toks.length);
      let kids = 0;
      for (let g = 0; g < group.length; g++) {
        const n = group[g]!;
        if (own) pushToks(n);
        for (let c = n + 1; c < trie.end[n]!; c = trie.end[c]!) kids++;
      }
      if (kids > 0) {
        const keys = new Float64Array(kids);
        let k = 0;
        for (let g = 0; g < group.length; g++) {
          const n = group[g]!;
          for (let c = n + 1; c < trie.end[n]!; c = trie.end[c]!) keys[k++] = trie.byte[c]! * NODE_SPAN + c;
        }
        keys.sort();
        for (let a = 0; a < kids; ) {
          const kb = Math.floor(keys[a]! / NODE_SPAN);
          let z = a + 1;
          while (z < kids && Math.floor(keys[z]! / NODE_SPAN) === kb) z++;
          const sub = new Int32Array(z - a);
          for (let j = a; j < z; j++) sub[j - a] = keys[j]! - kb * NODE_SPAN;
          visit(sub, kb, d + 1, true);
          a = z;
        }
      }
      end[i] = byte.length;
    };
    // The exits' own tokens end before the exit, inside the terminal: not suffixes.
    visit(exits, 0, 0, false);
    this.depth = Uint16Array.from(depth);
    this.maxDepth = maxDepth;
    tokStart.push(toks.length);
    this.byte = Uint8Array.from(byte);
    this.end = Int32Array.from(end);
    this.tokStart = Int32Array.from(tokStart);
    this.toks = Int32Array.from(toks);
  }
}

/** Trie node indices stay below this (packed beside a byte in a float64 key). */
const NODE_SPAN = 2 ** 32;

export class Trie {
  readonly byte: Uint8Array;
  readonly depth: Uint16Array;
  /** Exclusive end of each node's subtree. */
  readonly end: Int32Array;
  /** Token id ending at the node, or -1. */
  readonly tok: Int32Array;
  /** Further ids with the same bytes as `tok` (rare). */
  readonly dupTok = new Map<number, number[]>();
  readonly maxDepth: number;

  constructor(ids: number[], bytesOf: readonly (Uint8Array | undefined)[]) {
    const cmp = (x: Uint8Array, y: Uint8Array): number => {
      const n = Math.min(x.length, y.length);
      for (let i = 0; i < n; i++) if (x[i] !== y[i]) return x[i]! - y[i]!;
      return x.length - y.length;
    };
    ids = [...ids].sort((a, b) => cmp(bytesOf[a]!, bytesOf[b]!));
    const byte: number[] = [0];
    const depth: number[] = [0];
    const tok: number[] = [-1];
    const end: number[] = [0];
    const stack = [0];
    let prev: Uint8Array = new Uint8Array(0);
    let maxDepth = 0;
    for (const id of ids) {
      const cur = bytesOf[id]!;
      let l = 0;
      while (l < prev.length && l < cur.length && prev[l] === cur[l]) l++;
      while (stack.length - 1 > l) end[stack.pop()!] = byte.length;
      for (let d = l; d < cur.length; d++) {
        stack.push(byte.length);
        byte.push(cur[d]!);
        depth.push(d + 1);
        tok.push(-1);
        end.push(0);
      }
      const node = stack[stack.length - 1]!;
      if (tok[node]! >= 0) {
        const list = this.dupTok.get(node) ?? [];
        list.push(id);
        this.dupTok.set(node, list);
      } else tok[node] = id;
      maxDepth = Math.max(maxDepth, cur.length);
      prev = cur;
    }
    while (stack.length) end[stack.pop()!] = byte.length;
    this.byte = Uint8Array.from(byte);
    this.depth = Uint16Array.from(depth);
    this.tok = Int32Array.from(tok);
    this.end = Int32Array.from(end);
    this.maxDepth = maxDepth;
  }

  /** One pass over the trie driven by the DFA alone: dead subtrees are skipped whole. */
  walkDfa(dfa: Dfa, q0: number, ids: number[]): Int32Array {
    const exits: number[] = [];
    const trans = dfa.trans;
    const accept = dfa.accept;
    const st = new Int32Array(this.maxDepth + 1);
    st[0] = q0;
    const n = this.byte.length;
    const { byte, depth, end, tok } = this;
    const dups = this.dupTok.size > 0;
    let i = 1;
    while (i < n) {
      const d = depth[i]!;
      const q = trans[st[d - 1]! * 256 + byte[i]!]!;
      if (q < 0) {
        i = end[i]!;
        continue;
      }
      st[d] = q;
      const t = tok[i]!;
      if (t >= 0) {
        ids.push(t);
        if (dups) {
          const dd = this.dupTok.get(i);
          if (dd) ids.push(...dd);
        }
      }
      if (accept[q] === 1 && end[i]! > i + 1) exits.push(i);
      i++;
    }
    return Int32Array.from(exits);
  }
}

interface Slice {
  readonly dfa: Dfa;
  /** Longest token in the slice (bytes; Infinity for the unbounded slices). */
  readonly maxLen: number;
  readonly bits: Uint32Array;
  /** The tokens outside the slice. */
  readonly rest: Trie;
}

const PLAIN_UTF8 = subtractRanges([[0, 0x10ffff]], [[0, 0x1f], [0x22, 0x22], [0x5c, 0x5c]]);
const PLAIN_ASCII = subtractRanges([[0x20, 0x7e]], [[0x22, 0x22], [0x5c, 0x5c]]);
const COVER_BUDGET = 1500;

export class TokenIndex {
  readonly vocabSize: number;
  readonly words: number;
  readonly full: Trie;
  readonly bytesOf: (Uint8Array | undefined)[];
  private readonly all: number[] = [];
  private readonly slices: Slice[];
  private readonly insideCaches = new Map<string, Map<number, Inside>>();
  private readonly suffixCache = new Map<Trie, Map<string, SuffixTrie>>();

  constructor(tokenizer: Tokenizer) {
    this.vocabSize = tokenizer.vocabSize;
    this.words = (this.vocabSize + 31) >>> 5;
    this.bytesOf = new Array(this.vocabSize);
    for (let id = 0; id < this.vocabSize; id++) {
      if (tokenizer.isSpecial(id)) continue;
      const b = tokenizer.tokenBytes(id);
      if (b.length === 0) continue;
      this.bytesOf[id] = b;
      this.all.push(id);
    }
    this.full = new Trie(this.all, this.bytesOf);
    const u = rxToDfa(rep(set(PLAIN_UTF8), 0, INF), 'raw', 'slice:utf8');
    const a = rxToDfa(rep(set(PLAIN_ASCII), 0, INF), 'raw', 'slice:ascii');
    this.slices = [];
    const defs: [Dfa, number][] = [[u, Infinity], [u, 16], [a, Infinity], [a, 16], [u, 8], [a, 8], [u, 4], [u, 2]];
    for (const [dfa, max] of defs) {
      const ids = this.all.filter((id) => this.bytesOf[id]!.length <= max && dfa.matches(this.bytesOf[id]!));
      if (ids.length === 0) continue;
      const bits = new Uint32Array(this.words);
      const inSlice = new Uint8Array(this.vocabSize);
      let maxLen = 0;
      for (const id of ids) {
        bits[id >>> 5]! |= 1 << (id & 31);
        inSlice[id] = 1;
        maxLen = Math.max(maxLen, this.bytesOf[id]!.length);
      }
      const rest = new Trie(this.all.filter((id) => !inSlice[id]), this.bytesOf);
      this.slices.push({ dfa, maxLen: max === Infinity ? Infinity : maxLen, bits, rest });
    }
  }

  /** Suffix tries are shared between terminal states with the same exit nodes. */
  suffixTrie(ins: Inside): SuffixTrie {
    if (ins.suffixes) return ins.suffixes;
    let byTrie = this.suffixCache.get(ins.trie);
    if (!byTrie) this.suffixCache.set(ins.trie, (byTrie = new Map()));
    const key = ins.exits.join(',');
    let sx = byTrie.get(key);
    if (!sx) {
      if (byTrie.size > 20000) byTrie.clear();
      sx = new SuffixTrie(ins.trie, ins.exits);
      byTrie.set(key, sx);
    }
    ins.suffixes = sx;
    return sx;
  }

  /** The per-state cache for one terminal (shared across constraints by the DFA's key). */
  cacheFor(dfa: Dfa): Map<number, Inside> {
    let c = this.insideCaches.get(dfa.key);
    if (!c) {
      // Bounded: beyond the cap, forget the oldest half (engines keep the maps they hold).
      if (this.insideCaches.size > 100000) for (const k of [...this.insideCaches.keys()].slice(0, 50000)) this.insideCaches.delete(k);
      c = new Map();
      this.insideCaches.set(dfa.key, c);
    }
    return c;
  }

  /**
   * The length of the shortest string of the slice language that kills `dfa` from q or passes an
   * accepting state (Infinity: none). Breadth-first over (slice state, dfa state) pairs; when the
   * budget runs out the depth fully checked so far is a safe answer.
   */
  private firstFailure(slice: Dfa, dfa: Dfa, q: number, limit: number): number {
    const n = dfa.size;
    const seen = new Set<number>([q]);
    let frontier = [q];
    for (let depth = 0; frontier.length > 0; depth++) {
      if (depth >= limit) return Infinity;
      const next: number[] = [];
      for (const pair of frontier) {
        const s = Math.floor(pair / n);
        const d = pair - s * n;
        for (let b = 0; b < 256; b++) {
          const s2 = slice.trans[s * 256 + b]!;
          if (s2 < 0) continue;
          const d2 = dfa.trans[d * 256 + b]!;
          if (d2 < 0 || dfa.accept[d2] === 1) return depth + 1;
          const k = s2 * n + d2;
          if (!seen.has(k)) {
            if (seen.size > COVER_BUDGET) return depth + 1;
            seen.add(k);
            next.push(k);
          }
        }
      }
      frontier = next;
    }
    return Infinity;
  }

  inside(dfa: Dfa, q0: number): Inside {
    const fails = new Map<Dfa, number>();
    for (const sl of this.slices) {
      let f = fails.get(sl.dfa);
      if (f === undefined) {
        f = this.firstFailure(sl.dfa, dfa, q0, Infinity);
        fails.set(sl.dfa, f);
      }
      if (f <= sl.maxLen) continue;
      return this.result(sl.bits, sl.rest, dfa, q0);
    }
    return this.result(undefined, this.full, dfa, q0);
  }

  private result(base: Uint32Array | undefined, trie: Trie, dfa: Dfa, q0: number): Inside {
    const ids: number[] = [];
    const exits = trie.walkDfa(dfa, q0, ids);
    if (ids.length <= 2048) return { base, bits: undefined, ids: Int32Array.from(ids), trie, exits };
    const bits = new Uint32Array(this.words);
    for (const t of ids) bits[t >>> 5]! |= 1 << (t & 31);
    return { base, bits, ids: undefined, trie, exits };
  }
}

const indexes = new WeakMap<Tokenizer, TokenIndex>();

export function tokenIndexFor(tokenizer: Tokenizer): TokenIndex {
  let ix = indexes.get(tokenizer);
  if (!ix) {
    ix = new TokenIndex(tokenizer);
    indexes.set(tokenizer, ix);
  }
  return ix;
}
