import { NO_RANK, type PairTable } from './pair-table.js';

/**
 * The BPE merge loop shared by both tokenizers: repeatedly merge the adjacent pair with the lowest
 * rank, the leftmost one on ties (tiktoken, Hugging Face's heap ordered by (rank, position) and
 * SentencePiece's (score, position) agenda all choose the same pair).
 *
 * `sym[0..n)` holds the initial symbol ids and receives the result; returns the new length.
 */
export function mergeSymbols(table: PairTable, sym: Int32Array, n: number): number {
  return n <= SMALL ? mergeSmall(table, sym, n) : mergeHeap(table, sym, n);
}

/** Up to this many symbols, rescanning is cheaper than a heap. */
const SMALL = 96;

const smallRank = new Int32Array(SMALL);
const smallMerged = new Int32Array(SMALL);

function pairInto(table: PairTable, sym: Int32Array, i: number): void {
  const slot = table.find(sym[i]!, sym[i + 1]!);
  if (slot < 0) {
    smallRank[i] = NO_RANK;
  } else {
    smallRank[i] = table.rankAt(slot);
    smallMerged[i] = table.mergedAt(slot);
  }
}

function mergeSmall(table: PairTable, sym: Int32Array, n: number): number {
  const rank = smallRank;
  const merged = smallMerged;
  for (let i = 0; i + 1 < n; i++) pairInto(table, sym, i);
  while (n > 1) {
    let best = NO_RANK;
    let at = -1;
    for (let i = 0; i + 1 < n; i++) {
      if (rank[i]! < best) {
        best = rank[i]!;
        at = i;
      }
    }
    if (at < 0) break;
    sym[at] = merged[at]!;
    // Drop symbol at+1 (and the pair that started there).
    for (let k = at + 1; k + 1 < n; k++) {
      sym[k] = sym[k + 1]!;
      rank[k] = rank[k + 1]!;
      merged[k] = merged[k + 1]!;
    }
    n--;
    if (at > 0) pairInto(table, sym, at - 1);
    if (at + 1 < n) pairInto(table, sym, at);
  }
  return n;
}

/**
 * Long words (a paragraph without spaces, a base64 blob): a linked list of symbols and a binary
 * heap of candidate pairs keyed (rank, left position). Stale entries are skipped on pop.
 */
function mergeHeap(table: PairTable, sym: Int32Array, n: number): number {
  const next = new Int32Array(n);
  const prev = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    next[i] = i + 1;
    prev[i] = i - 1;
  }
  // Heap entries: rank, left position, right position.
  let cap = n;
  let hRank: Int32Array = new Int32Array(cap);
  let hLeft: Int32Array = new Int32Array(cap);
  let hRight: Int32Array = new Int32Array(cap);
  let size = 0;

  const less = (a: number, b: number): boolean =>
    hRank[a]! < hRank[b]! || (hRank[a] === hRank[b] && hLeft[a]! < hLeft[b]!);
  const swap = (a: number, b: number): void => {
    let t = hRank[a]!;
    hRank[a] = hRank[b]!;
    hRank[b] = t;
    t = hLeft[a]!;
    hLeft[a] = hLeft[b]!;
    hLeft[b] = t;
    t = hRight[a]!;
    hRight[a] = hRight[b]!;
    hRight[b] = t;
  };
  const push = (r: number, l: number, rt: number): void => {
    if (size === cap) {
      cap *= 2;
      const grow = (a: Int32Array): Int32Array => {
        const b = new Int32Array(cap);
        b.set(a);
        return b;
      };
      hRank = grow(hRank);
      hLeft = grow(hLeft);
      hRight = grow(hRight);
    }
    let i = size++;
    hRank[i] = r;
    hLeft[i] = l;
    hRight[i] = rt;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (!less(i, p)) break;
      swap(i, p);
      i = p;
    }
  };
  const pop = (): void => {
    size--;
    if (size === 0) return;
    hRank[0] = hRank[size]!;
    hLeft[0] = hLeft[size]!;
    hRight[0] = hRight[size]!;
    let i = 0;
    for (;;) {
      const l = 2 * i + 1;
      const r = l + 1;
      let m = i;
      if (l < size && less(l, m)) m = l;
      if (r < size && less(r, m)) m = r;
      if (m === i) break;
      swap(i, m);
      i = m;
    }
  };
  const alive = new Uint8Array(n).fill(1);
  const offer = (l: number): void => {
    const r = next[l]!;
    if (r >= n) return;
    const rk = table.rank(sym[l]!, sym[r]!);
    if (rk !== NO_RANK) push(rk, l, r);
  };

  for (let i = 0; i + 1 < n; i++) offer(i);
  while (size > 0) {
    const rk = hRank[0]!;
    const l = hLeft[0]!;
    const r = hRight[0]!;
    pop();
    if (!alive[l] || !alive[r] || next[l] !== r) continue;
    const slot = table.find(sym[l]!, sym[r]!);
    if (slot < 0 || table.rankAt(slot) !== rk) continue;
    sym[l] = table.mergedAt(slot);
    alive[r] = 0;
    const rn = next[r]!;
    next[l] = rn;
    if (rn < n) prev[rn] = l;
    if (prev[l]! >= 0) offer(prev[l]!);
    offer(l);
  }
  let m = 0;
  for (let i = 0; i < n; i = next[i]!) sym[m++] = sym[i]!;
  return m;
}
