/**
 * The vocabulary as a byte trie laid out in depth-first preorder (flat typed arrays, a subtree is a
 * contiguous index range), plus per-(terminal DFA, state) walk results that do not depend on the
 * parser: which tokens stay inside the terminal, and at which trie nodes the terminal can end
 * with bytes still to go. Built once per tokenizer and shared by every constraint.
 */
import type { Tokenizer } from '../../tokenizer/types.js';
import type { Dfa } from './dfa.js';

export interface Inside {
  /** Tokens whose every byte keeps the terminal alive (bit per token id). */
  readonly bits: Uint32Array;
  /** Trie nodes (with children) after which the terminal may end; the rest is up to the parser. */
  readonly exits: Int32Array;
}

export class TokenIndex {
  readonly vocabSize: number;
  readonly words: number;
  readonly byte: Uint8Array;
  readonly depth: Uint16Array;
  /** Exclusive end of each node's subtree. */
  readonly end: Int32Array;
  /** Token id ending at the node, or -1. */
  readonly tok: Int32Array;
  /** Further ids with the same bytes as `tok` (rare). */
  readonly dupTok = new Map<number, number[]>();
  readonly bytesOf: (Uint8Array | undefined)[];
  readonly maxDepth: number;
  private readonly insideCaches = new Map<string, Map<number, Inside>>();

  constructor(tokenizer: Tokenizer) {
    this.vocabSize = tokenizer.vocabSize;
    this.words = (this.vocabSize + 31) >>> 5;
    this.bytesOf = new Array(this.vocabSize);
    const ids: number[] = [];
    for (let id = 0; id < this.vocabSize; id++) {
      if (tokenizer.isSpecial(id)) continue;
      const b = tokenizer.tokenBytes(id);
      if (b.length === 0) continue;
      this.bytesOf[id] = b;
      ids.push(id);
    }
    const cmp = (x: Uint8Array, y: Uint8Array): number => {
      const n = Math.min(x.length, y.length);
      for (let i = 0; i < n; i++) if (x[i] !== y[i]) return x[i]! - y[i]!;
      return x.length - y.length;
    };
    ids.sort((a, b) => cmp(this.bytesOf[a]!, this.bytesOf[b]!));
    const byte: number[] = [0];
    const depth: number[] = [0];
    const tok: number[] = [-1];
    const end: number[] = [0];
    const stack = [0];
    let prev: Uint8Array = new Uint8Array(0);
    let maxDepth = 0;
    for (const id of ids) {
      const cur = this.bytesOf[id]!;
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

  get nodes(): number {
    return this.byte.length;
  }

  setToken(m: Uint32Array, node: number): void {
    const t = this.tok[node]!;
    if (t < 0) return;
    m[t >>> 5]! |= 1 << (t & 31);
    const d = this.dupTok.get(node);
    if (d) for (const x of d) m[x >>> 5]! |= 1 << (x & 31);
  }

  /** The per-state cache for one terminal (shared across constraints by the DFA's key). */
  cacheFor(dfa: Dfa): Map<number, Inside> {
    let c = this.insideCaches.get(dfa.key);
    if (!c) {
      if (this.insideCaches.size > 4096) this.insideCaches.clear();
      c = new Map();
      this.insideCaches.set(dfa.key, c);
    }
    return c;
  }

  /** One pass over the trie driven by the DFA alone: dead subtrees are skipped whole. */
  inside(dfa: Dfa, q0: number): Inside {
    const bits = new Uint32Array(this.words);
    const exits: number[] = [];
    const trans = dfa.trans;
    const accept = dfa.accept;
    const st = new Int32Array(this.maxDepth + 1);
    st[0] = q0;
    const n = this.byte.length;
    const { byte, depth, end, tok } = this;
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
        bits[t >>> 5]! |= 1 << (t & 31);
        if (this.dupTok.size > 0) {
          const dd = this.dupTok.get(i);
          if (dd) for (const x of dd) bits[x >>> 5]! |= 1 << (x & 31);
        }
      }
      if (accept[q] === 1 && end[i]! > i + 1) exits.push(i);
      i++;
    }
    return { bits, exits: Int32Array.from(exits) };
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
