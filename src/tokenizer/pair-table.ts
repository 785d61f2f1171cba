/**
 * (left id, right id) → (rank, merged id): the one lookup of every BPE merge loop. Open
 * addressing over typed arrays, so the hot loop neither allocates nor hashes strings.
 */
export const NO_RANK = 0x7fffffff;

export class PairTable {
  private readonly left: Int32Array;
  private readonly right: Int32Array;
  private readonly ranks: Int32Array;
  private readonly merged: Int32Array;
  private readonly shift: number;
  private readonly mask: number;
  private count = 0;

  constructor(expected: number) {
    let bits = 4;
    while (1 << bits < expected * 2) bits++;
    const size = 1 << bits;
    this.shift = 32 - bits;
    this.mask = size - 1;
    this.left = new Int32Array(size).fill(-1);
    this.right = new Int32Array(size);
    this.ranks = new Int32Array(size);
    this.merged = new Int32Array(size);
  }

  get size(): number {
    return this.count;
  }

  private slot(a: number, b: number): number {
    // Fibonacci hashing of both ids: the high bits of the product are well mixed.
    let h = Math.imul(Math.imul(a, 0x9e3779b1) ^ b, 0x85ebca77) >>> this.shift;
    const left = this.left;
    for (;;) {
      const l = left[h]!;
      if (l === -1 || (l === a && this.right[h] === b)) return h;
      h = (h + 1) & this.mask;
    }
  }

  /** Adds a merge; an existing pair keeps its better (lower) rank. */
  set(a: number, b: number, rank: number, merged: number): void {
    if (this.count * 2 >= this.mask + 1) throw new Error('PairTable over capacity');
    const h = this.slot(a, b);
    if (this.left[h] === -1) {
      this.left[h] = a;
      this.right[h] = b;
      this.ranks[h] = rank;
      this.merged[h] = merged;
      this.count++;
    } else if (rank < this.ranks[h]!) {
      this.ranks[h] = rank;
      this.merged[h] = merged;
    }
  }

  /** The pair's rank (NO_RANK when the pair never merges); its result via mergedOf. */
  rank(a: number, b: number): number {
    const h = this.slot(a, b);
    return this.left[h] === -1 ? NO_RANK : this.ranks[h]!;
  }

  /** Rank and result together: returns the slot, or -1. */
  find(a: number, b: number): number {
    const h = this.slot(a, b);
    return this.left[h] === -1 ? -1 : h;
  }

  rankAt(slot: number): number {
    return this.ranks[slot]!;
  }

  mergedAt(slot: number): number {
    return this.merged[slot]!;
  }
}
