/**
 * (left id, right id) → (rank, merged id): the one lookup of every BPE merge loop. Open
 * addressing over one interleaved Int32Array (left, right, rank, merged per slot), so a probe
 * touches one cache line and the hot loop neither allocates nor hashes strings.
 */
export const NO_RANK = 0x7fffffff;

export class PairTable {
  /** Slot s occupies data[4s .. 4s+3]: left + 1 (0 = empty, so a fresh array is all empty), right, rank, merged. */
  private readonly data: Int32Array;
  private readonly shift: number;
  private readonly mask: number;
  private count = 0;

  constructor(expected: number) {
    let bits = 4;
    while (1 << bits < expected * 2) bits++;
    this.shift = 32 - bits;
    this.mask = (1 << bits) - 1;
    this.data = new Int32Array(4 << bits);
  }

  get size(): number {
    return this.count;
  }

  /** Index into data of the slot holding (a, b), or of the empty slot where it would go. */
  private slot(a: number, b: number): number {
    // Fibonacci hashing of both ids: the high bits of the product are well mixed.
    let h = Math.imul(Math.imul(a, 0x9e3779b1) ^ b, 0x85ebca77) >>> this.shift;
    const d = this.data;
    const key = a + 1;
    for (;;) {
      const i = h << 2;
      const l = d[i]!;
      if (l === 0 || (l === key && d[i + 1] === b)) return i;
      h = (h + 1) & this.mask;
    }
  }

  /** Adds a merge; an existing pair keeps its better (lower) rank. */
  set(a: number, b: number, rank: number, merged: number): void {
    if (this.count * 2 > this.mask + 1) throw new Error('PairTable over capacity');
    const i = this.slot(a, b);
    const d = this.data;
    if (d[i] === 0) {
      d[i] = a + 1;
      d[i + 1] = b;
      d[i + 2] = rank;
      d[i + 3] = merged;
      this.count++;
    } else if (rank < d[i + 2]!) {
      d[i + 2] = rank;
      d[i + 3] = merged;
    }
  }

  /** The pair's rank (NO_RANK when the pair never merges). */
  rank(a: number, b: number): number {
    const i = this.slot(a, b);
    return this.data[i] === 0 ? NO_RANK : this.data[i + 2]!;
  }

  /** A handle for rankAt / mergedAt, or -1 when the pair never merges. */
  find(a: number, b: number): number {
    const i = this.slot(a, b);
    return this.data[i] === 0 ? -1 : i;
  }

  rankAt(handle: number): number {
    return this.data[handle + 2]!;
  }

  mergedAt(handle: number): number {
    return this.data[handle + 3]!;
  }
}
