/**
 * The parser and mask engine. A parser state is a set of threads (terminal position, DFA state,
 * return stack); stacks are hash-consed and states interned, so a state is a small integer and
 * byte transitions between states are memoised — in effect a DFA over parser states built lazily.
 * The mask of a state is the union, over its threads, of a parser-independent part (tokens that
 * stay inside the thread's terminal: one cached trie pass per terminal state, shared by all
 * constraints of the tokenizer) and the tokens that leave the terminal mid-token, found by walking
 * only the trie subtrees below the cached exit nodes with the state after the terminal.
 */
import { END, type FlatGrammar } from './grammar.js';
import type { Inside, TokenIndex, SuffixTrie } from './token-index.js';

interface StateRec {
  /** Triples (position, dfa state, stack). */
  readonly threads: Int32Array;
  readonly accept: boolean;
}

const MASK_CACHE = 256;

class ThreadSet {
  readonly seen = new Set<string>();
  readonly visited = new Set<string>();
  readonly list: number[] = [];
  accept = false;
  add(p: number, q: number, s: number): void {
    const k = `${p},${q},${s}`;
    if (this.seen.has(k)) return;
    this.seen.add(k);
    this.list.push(p, q, s);
  }
}

export class Engine {
  readonly syms: Int32Array;
  /** Per terminal: does each DFA state have any outgoing byte; its single out-byte (or -1/-2). */
  private readonly hasOut: (Uint8Array | undefined)[];
  private readonly onlyByte: (Int16Array | undefined)[];
  private readonly insideCaches: Map<number, Inside>[];
  private readonly stackFrame: number[] = [-1];
  private readonly stackParent: number[] = [-1];
  private readonly stackIds = new Map<string, number>();
  private readonly states: StateRec[] = [];
  private readonly stateIds = new Map<string, number>();
  private readonly trans = new Map<number, number>();
  private readonly exitStates = new Map<string, number>();
  private readonly masks = new Map<number, Uint32Array>();
  private readonly suffixStacks: Int32Array[] = [];
  readonly startState: number;

  constructor(readonly g: FlatGrammar, readonly index: TokenIndex) {
    this.syms = g.syms;
    this.hasOut = new Array(g.terminals.length);
    this.onlyByte = new Array(g.terminals.length);
    this.insideCaches = g.terminals.map((d) => index.cacheFor(d));
    const ts = new ThreadSet();
    for (const a of g.ruleAlts[g.root]!) this.closure(a, 0, ts);
    this.startState = this.intern(ts);
  }

  /** Per DFA state: any outgoing byte at all, and the only one (or -1 none / -2 several). */
  private outInfo(t: number): Uint8Array {
    const d = this.g.terminals[t]!;
    const h = new Uint8Array(d.size);
    const o = new Int16Array(d.size).fill(-1);
    const tr = d.trans;
    for (let q = 0; q < d.size; q++) for (let b = 0; b < 256; b++) if (tr[q * 256 + b]! >= 0) {
      h[q] = 1;
      o[q] = o[q] === -1 ? b : -2;
    }
    this.hasOut[t] = h;
    this.onlyByte[t] = o;
    return h;
  }

  private push(frame: number, parent: number): number {
    const k = `${frame},${parent}`;
    let id = this.stackIds.get(k);
    if (id === undefined) {
      id = this.stackFrame.length;
      this.stackFrame.push(frame);
      this.stackParent.push(parent);
      this.stackIds.set(k, id);
    }
    return id;
  }

  /** Expand position p with stack s until every thread sits at a terminal (or the root is done). */
  private closure(p: number, s: number, out: ThreadSet): void {
    const vk = `${p}:${s}`;
    if (out.visited.has(vk)) return;
    out.visited.add(vk);
    const sym = this.syms[p]!;
    if (sym === END) {
      if (s === 0) out.accept = true;
      else this.closure(this.stackFrame[s]!, this.stackParent[s]!, out);
    } else if (sym >= 0) {
      out.add(p, 0, s);
    } else {
      // Tail call: returning to the end of an alternative would pop at once, so do not push.
      const ns = this.syms[p + 1] === END ? s : this.push(p + 1, s);
      for (const a of this.g.ruleAlts[-sym - 2]!) this.closure(a, ns, out);
    }
  }

  private intern(ts: ThreadSet): number {
    if (ts.list.length === 0 && !ts.accept) return -1;
    const n = ts.list.length / 3;
    const order = Array.from({ length: n }, (_, i) => i).sort((a, b) => {
      const l = ts.list;
      return l[a * 3]! - l[b * 3]! || l[a * 3 + 1]! - l[b * 3 + 1]! || l[a * 3 + 2]! - l[b * 3 + 2]!;
    });
    const threads = new Int32Array(n * 3);
    order.forEach((o, i) => {
      threads[i * 3] = ts.list[o * 3]!;
      threads[i * 3 + 1] = ts.list[o * 3 + 1]!;
      threads[i * 3 + 2] = ts.list[o * 3 + 2]!;
    });
    const key = `${ts.accept ? 1 : 0}|${threads.join(',')}`;
    let id = this.stateIds.get(key);
    if (id === undefined) {
      id = this.states.length;
      this.states.push({ threads, accept: ts.accept });
      this.stateIds.set(key, id);
    }
    return id;
  }

  accepts(state: number): boolean {
    return this.states[state]!.accept;
  }

  /** The state after one more byte, or -1 when the byte is impossible. */
  step(state: number, b: number): number {
    const key = state * 256 + b;
    const hit = this.trans.get(key);
    if (hit !== undefined) return hit;
    const th = this.states[state]!.threads;
    const out = new ThreadSet();
    for (let i = 0; i < th.length; i += 3) {
      const p = th[i]!;
      const t = this.syms[p]!;
      const d = this.g.terminals[t]!;
      const q = d.trans[th[i + 1]! * 256 + b]!;
      if (q < 0) continue;
      if ((this.hasOut[t] ?? this.outInfo(t))[q]) out.add(p, q, th[i + 2]!);
      if (d.accept[q]) this.closure(p + 1, th[i + 2]!, out);
    }
    const next = this.intern(out);
    this.trans.set(key, next);
    return next;
  }

  stepBytes(state: number, bytes: Uint8Array): number {
    for (let i = 0; i < bytes.length && state >= 0; i++) state = this.step(state, bytes[i]!);
    return state;
  }

  private exitState(p: number, s: number): number {
    const k = `${p},${s}`;
    let id = this.exitStates.get(k);
    if (id === undefined) {
      const ts = new ThreadSet();
      this.closure(p + 1, s, ts);
      id = this.intern(ts);
      this.exitStates.set(k, id);
    }
    return id;
  }

  private insideOf(t: number, q: number): Inside {
    const c = this.insideCaches[t]!;
    let r = c.get(q);
    if (!r) {
      r = this.index.inside(this.g.terminals[t]!, q);
      c.set(q, r);
    }
    return r;
  }

  /** The allowed-token bitmap of a state (cached; callers must not modify it). */
  mask(state: number): Uint32Array {
    const hit = this.masks.get(state);
    if (hit) return hit;
    const m = new Uint32Array(this.index.words);
    const th = this.states[state]!.threads;
    const done = new Set<string>();
    const bases = new Set<Uint32Array>();
    for (let i = 0; i < th.length; i += 3) {
      const p = th[i]!;
      const q = th[i + 1]!;
      const t = this.syms[p]!;
      const ins = this.insideOf(t, q);
      const tq = `${t},${q}`;
      if (!done.has(tq)) {
        done.add(tq);
        if (ins.bits) {
          const b = ins.bits;
          for (let w = 0; w < b.length; w++) m[w]! |= b[w]!;
        } else {
          const ids = ins.ids!;
          for (let k = 0; k < ids.length; k++) m[ids[k]! >>> 5]! |= 1 << (ids[k]! & 31);
        }
        if (ins.base && !bases.has(ins.base)) {
          bases.add(ins.base);
          const bb = ins.base;
          for (let w = 0; w < bb.length; w++) m[w]! |= bb[w]!;
        }
      }
      if (ins.exits.length === 0) continue;
      const c = this.exitState(p, th[i + 2]!);
      const k = `${tq},${c}`;
      if (c < 0 || done.has(k)) continue;
      done.add(k);
      this.walkExits(c, ins, m);
    }
    if (this.masks.size >= MASK_CACHE) this.masks.delete(this.masks.keys().next().value!);
    this.masks.set(state, m);
    return m;
  }

  /** Tokens that leave the terminal at an exit node: the merged suffixes walked from state c. */
  private walkExits(c: number, ins: Inside, m: Uint32Array): void {
    const sx = this.index.suffixTrie(ins);
    this.walkSuffix(c, sx, 0, m, new Set<number>());
  }

  /**
   * The suffix subtree below `node` from parser state `state`: each thread runs its own DFA over
   * it (typed-array loop, no parser states per byte); where a thread's terminal may end, the
   * state after the terminal continues from there.
   */
  private walkSuffix(state: number, sx: SuffixTrie, node: number, m: Uint32Array, seen: Set<number>, level = 0): void {
    const th = this.states[state]!.threads;
    // One DFA-state stack per recursion level, reused across calls.
    let st = this.suffixStacks[level];
    if (!st || st.length < sx.maxDepth + 1) st = this.suffixStacks[level] = new Int32Array(sx.maxDepth + 1);
    const d0 = sx.depth[node]!;
    const stop = sx.end[node]!;
    for (let j = 0; j < th.length; j += 3) {
      const p = th[j]!;
      const d = this.g.terminals[this.syms[p]!]!;
      const trans = d.trans;
      const accept = d.accept;
      st[d0] = th[j + 1]!;
      let exits: number[] | undefined;
      let i = node + 1;
      while (i < stop) {
        const dep = sx.depth[i]!;
        const q = trans[st[dep - 1]! * 256 + sx.byte[i]!]!;
        if (q < 0) {
          i = sx.end[i]!;
          continue;
        }
        st[dep] = q;
        for (let t = sx.tokStart[i]!; t < sx.tokStart[i + 1]!; t++) {
          const id = sx.toks[t]!;
          m[id >>> 5]! |= 1 << (id & 31);
        }
        if (accept[q] === 1 && sx.end[i]! > i + 1) (exits ??= []).push(i);
        i++;
      }
      if (!exits) continue;
      const c = this.exitState(p, th[j + 2]!);
      if (c < 0) continue;
      for (const e of exits) {
        const k = c * sx.byte.length + e;
        if (seen.has(k)) continue;
        seen.add(k);
        this.walkSuffix(c, sx, e, m, seen, level + 1);
      }
    }
  }

  /** The single byte every thread needs next, or -1 when there is a choice (or the value may end). */
  forcedByte(state: number): number {
    const st = this.states[state]!;
    if (st.accept) return -1;
    const th = st.threads;
    let only = -1;
    for (let i = 0; i < th.length; i += 3) {
      const t = this.syms[th[i]!]!;
      if (!this.onlyByte[t]) this.outInfo(t);
      const b = this.onlyByte[t]![th[i + 1]!]!;
      if (b < 0 || (only >= 0 && b !== only)) return -1;
      only = b;
    }
    return only;
  }
}
