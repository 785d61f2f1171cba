/**
 * The grammar representation both front ends (JSON Schema and GBNF) compile to: rules whose
 * alternatives are sequences of rule references and byte-level DFA terminals. Lowering merges
 * every run of regular pieces into one terminal (fewer parser threads per byte), drops
 * unproductive alternatives (so a live parser state can always be completed) and refuses left
 * recursion (the pushdown parser would not terminate on it).
 */
import { Dfa, rxToDfa, withoutEmpty } from './dfa.js';
import { type Rx, INF, cat as rxCat, alt as rxAlt, rep as rxRep } from './regex.js';

export type Expr =
  | { readonly k: 'term'; readonly dfa: Dfa }
  | { readonly k: 'rx'; readonly rx: Rx }
  | { readonly k: 'ref'; readonly name: string }
  | { readonly k: 'seq'; readonly xs: readonly Expr[] }
  | { readonly k: 'alt'; readonly xs: readonly Expr[] }
  | { readonly k: 'rep'; readonly x: Expr; readonly min: number; readonly max: number };

export const term = (dfa: Dfa): Expr => ({ k: 'term', dfa });
export const ref = (name: string): Expr => ({ k: 'ref', name });
export const seq = (...xs: Expr[]): Expr => (xs.length === 1 ? xs[0]! : { k: 'seq', xs });
export const alts = (...xs: Expr[]): Expr => (xs.length === 1 ? xs[0]! : { k: 'alt', xs });
export const star = (x: Expr): Expr => ({ k: 'rep', x, min: 0, max: INF });
export const opt = (x: Expr): Expr => ({ k: 'rep', x, min: 0, max: 1 });
export const EMPTY: Expr = { k: 'seq', xs: [] };
export const NEVER: Expr = { k: 'alt', xs: [] };

/** Symbol encoding in the flat table: terminal t ≥ 0, END = -1, rule r = -(r + 2). */
export const END = -1;

export interface FlatGrammar {
  /** Symbols of all alternatives laid end to end, each alternative closed by END. */
  readonly syms: Int32Array;
  /** Start positions of each rule's alternatives. */
  readonly ruleAlts: readonly Int32Array[];
  readonly terminals: readonly Dfa[];
  readonly ruleNames: readonly string[];
  readonly root: number;
}

export class GrammarError extends Error {}

type Sym = number | { rule: string };

export class GrammarBuilder {
  private readonly rules = new Map<string, Expr>();
  private helper = 0;
  constructor(private readonly rxKeyPrefix = 'rx') {}

  has(name: string): boolean {
    return this.rules.has(name);
  }
  define(name: string, e: Expr): void {
    this.rules.set(name, e);
  }
  fresh(prefix: string): string {
    return `${prefix}#${this.helper++}`;
  }

  build(root: string): FlatGrammar {
    if (!this.rules.has(root)) throw new GrammarError(`missing root rule '${root}'`);
    const lowered = new Map<string, Sym[][]>();
    const termIds = new Map<string, number>();
    const terminals: Dfa[] = [];
    const termSym = (d: Dfa): number => {
      let id = termIds.get(d.key);
      if (id === undefined) {
        id = terminals.length;
        termIds.set(d.key, id);
        terminals.push(d);
      }
      return id;
    };
    const pending = [...this.rules.keys()];
    const helperDefs = new Map<string, Expr>();
    const exprOf = (n: string): Expr => this.rules.get(n) ?? helperDefs.get(n)!;
    const newHelper = (e: Expr): string => {
      const n = this.fresh('h');
      helperDefs.set(n, e);
      pending.push(n);
      return n;
    };
    const isRegular = (e: Expr): boolean =>
      e.k === 'rx' || e.k === 'term' ? e.k === 'rx' : e.k === 'ref' ? false : e.k === 'rep' ? isRegular(e.x) : e.xs.every(isRegular);
    const toRx = (e: Expr): Rx => {
      switch (e.k) {
        case 'rx': return e.rx;
        case 'seq': return rxCat(...e.xs.map(toRx));
        case 'alt': return rxAlt(...e.xs.map(toRx));
        case 'rep': return rxRep(toRx(e.x), e.min, e.max);
        default: throw new GrammarError('not regular');
      }
    };
    // A (possibly nullable) DFA as a sequence of symbols.
    const dfaSyms = (d: Dfa): Sym[][] => {
      if (d.isLazy) return [[termSym(d)]];
      if (d.isEmpty()) return [];
      const { dfa, nullable } = withoutEmpty(d);
      const main: Sym[][] = dfa.isEmpty() ? [] : [[termSym(dfa)]];
      return nullable ? [...main, []] : main;
    };
    const asSym = (e: Expr): Sym => {
      if (e.k === 'ref') return { rule: e.name };
      if (e.k === 'term' || (e.k === 'rx' && e.k === 'rx')) {
        const d = e.k === 'term' ? e.dfa : rxToDfa(e.rx, 'raw', `${this.rxKeyPrefix}:${JSON.stringify(e.rx)}`);
        const ss = dfaSyms(d);
        if (ss.length === 1 && ss[0]!.length === 1) return ss[0]![0]!;
        return { rule: newHelper(e.k === 'term' ? e : { k: 'term', dfa: d }) };
      }
      return { rule: newHelper(e) };
    };
    const lowerSeq = (xs: readonly Expr[]): Sym[] => {
      const out: Sym[] = [];
      let run: Expr[] = [];
      const flush = (): void => {
        if (run.length === 0) return;
        const r = run.length === 1 ? run[0]! : { k: 'rx' as const, rx: rxCat(...run.map(toRx)) };
        out.push(asSym(r));
        run = [];
      };
      for (const x of xs) {
        if (isRegular(x)) run.push(x);
        else {
          flush();
          out.push(asSym(x));
        }
      }
      flush();
      return out;
    };
    const lowerRule = (e: Expr): Sym[][] => {
      if (e.k === 'term') return dfaSyms(e.dfa);
      if (isRegular(e)) return dfaSyms(rxToDfa(toRx(e), 'raw', `${this.rxKeyPrefix}:${JSON.stringify(toRx(e))}`));
      switch (e.k) {
        case 'ref': return [[{ rule: e.name }]];
        case 'seq': return [lowerSeq(e.xs.flatMap((x) => (x.k === 'seq' ? x.xs : [x])))];
        case 'alt': return e.xs.flatMap((x) => lowerRule(x));
        case 'rep': {
          const item = asSym(e.x);
          const outs: Sym[][] = [];
          const pre: Sym[] = Array.from({ length: e.min }, () => item);
          if (e.max === INF) {
            // R ::= x R | ε, with the minimum unrolled in front.
            const loop = this.fresh('star');
            helperDefs.set(loop, EMPTY);
            lowered.set(loop, [[item, { rule: loop }], []]);
            outs.push([...pre, { rule: loop }]);
            return outs;
          }
          let tail: Sym | undefined;
          for (let k = e.max - e.min; k >= 1; k--) {
            const n = this.fresh('opt');
            helperDefs.set(n, EMPTY);
            lowered.set(n, [tail === undefined ? [item] : [item, tail], []]);
            tail = { rule: n };
          }
          return [tail === undefined ? pre : [...pre, tail]];
        }
        default: throw new GrammarError('unreachable');
      }
    };
    while (pending.length) {
      const n = pending.pop()!;
      if (lowered.has(n)) continue;
      lowered.set(n, lowerRule(exprOf(n)));
    }
    return flatten(lowered, terminals, root);
  }
}

function flatten(lowered: Map<string, Sym[][]>, terminals: Dfa[], root: string): FlatGrammar {
  const names = [...lowered.keys()];
  const index = new Map(names.map((n, i) => [n, i]));
  for (const alts of lowered.values()) for (const a of alts) for (const s of a) {
    if (typeof s !== 'number' && !index.has(s.rule)) throw new GrammarError(`undefined rule '${s.rule}'`);
  }
  const alts = names.map((n) => lowered.get(n)!.map((a) => a.map((s) => (typeof s === 'number' ? s : -(index.get(s.rule)! + 2)))));
  // Productive rules: some alternative whose every symbol is productive.
  const prod = new Uint8Array(names.length);
  for (let changed = true; changed; ) {
    changed = false;
    alts.forEach((as, r) => {
      if (!prod[r] && as.some((a) => a.every((s) => s >= 0 || prod[-s - 2]))) {
        prod[r] = 1;
        changed = true;
      }
    });
  }
  const rootIdx = index.get(root)!;
  if (!prod[rootIdx]) throw new GrammarError('the grammar matches nothing (contradictory constraints)');
  const kept = alts.map((as) => as.filter((a) => a.every((s) => s >= 0 || prod[-s - 2])));
  // Nullable rules, then left-recursion: an edge A→B where B follows a nullable prefix in A.
  const nullable = new Uint8Array(names.length);
  for (let changed = true; changed; ) {
    changed = false;
    kept.forEach((as, r) => {
      if (!nullable[r] && as.some((a) => a.every((s) => s < 0 && nullable[-s - 2]))) {
        nullable[r] = 1;
        changed = true;
      }
    });
  }
  const edges = kept.map((as) => {
    const e: number[] = [];
    for (const a of as) for (const s of a) {
      if (s >= 0) break;
      e.push(-s - 2);
      if (!nullable[-s - 2]) break;
    }
    return e;
  });
  const color = new Uint8Array(names.length);
  const visit = (r: number): void => {
    color[r] = 1;
    for (const t of edges[r]!) {
      if (color[t] === 1) throw new GrammarError(`left recursion through rule '${names[t]}'`);
      if (color[t] === 0) visit(t);
    }
    color[r] = 2;
  };
  for (let r = 0; r < names.length; r++) if (color[r] === 0) visit(r);
  const syms: number[] = [];
  const ruleAlts = kept.map((as) => Int32Array.from(as.map((a) => {
    const start = syms.length;
    syms.push(...a, END);
    return start;
  })));
  return { syms: Int32Array.from(syms), ruleAlts, terminals, ruleNames: names, root: rootIdx };
}
