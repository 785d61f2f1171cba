/**
 * Piece text → id, looked up by a range of another string (optionally two ranges, concatenated)
 * without building substrings. Loading resolves ~280k merges "a b" into the ids of a, b and a+b;
 * with a Map that costs three fresh strings and three string hashes per merge, here it is two
 * hash passes over the merge text and array probes (hash first, text compared only on a match).
 */
export const FNV_OFFSET = 0x811c9dc5 | 0;

/** FNV-1a, continued from h over s[start..end). */
export function fnv(h: number, s: string, start: number, end: number): number {
  for (let k = start; k < end; k++) h = Math.imul(h ^ s.charCodeAt(k), 0x01000193);
  return h;
}

/**
 * Spreads an FNV hash over all bits before it picks a slot: FNV's multiply only carries bits
 * upwards, so its low bits alone collide heavily (murmur3's finalizer).
 */
export function mix(h: number): number {
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
  return h ^ (h >>> 16);
}

export class PieceIndex {
  private readonly mask: number;
  /** Per slot: hash, id + 1 (0 = empty). */
  private readonly slots: Int32Array;

  /** Indexes pieces[id] for every id that `include` accepts (the first id wins for duplicates). */
  constructor(
    private readonly pieces: readonly string[],
    include: (id: number) => boolean = () => true,
  ) {
    let bits = 4;
    while (1 << bits < pieces.length * 2) bits++;
    this.mask = (1 << bits) - 1;
    this.slots = new Int32Array(2 << bits);
    for (let id = 0; id < pieces.length; id++) {
      if (!include(id)) continue;
      const p = pieces[id]!;
      const h = fnv(FNV_OFFSET, p, 0, p.length);
      if (this.find(h, p, 0, p.length, p, 0, 0) >= 0) continue;
      let s = mix(h) & this.mask;
      while (this.slots[2 * s + 1] !== 0) s = (s + 1) & this.mask;
      this.slots[2 * s] = h;
      this.slots[2 * s + 1] = id + 1;
    }
  }

  /**
   * The id of the piece equal to a[a0..a1) + b[b0..b1), whose FNV hash is h; -1 if none.
   * Pass an empty second range (b0 === b1) for a single range.
   */
  find(h: number, a: string, a0: number, a1: number, b: string, b0: number, b1: number): number {
    const len = a1 - a0 + (b1 - b0);
    let s = mix(h) & this.mask;
    for (;;) {
      const v = this.slots[2 * s + 1]!;
      if (v === 0) return -1;
      if (this.slots[2 * s] === h) {
        const p = this.pieces[v - 1]!;
        if (p.length === len && matches(p, a, a0, a1, b, b0, b1)) return v - 1;
      }
      s = (s + 1) & this.mask;
    }
  }

  get(text: string): number {
    return this.find(fnv(FNV_OFFSET, text, 0, text.length), text, 0, text.length, text, 0, 0);
  }
}

function matches(p: string, a: string, a0: number, a1: number, b: string, b0: number, b1: number): boolean {
  let k = 0;
  for (let i = a0; i < a1; i++) if (p.charCodeAt(k++) !== a.charCodeAt(i)) return false;
  for (let i = b0; i < b1; i++) if (p.charCodeAt(k++) !== b.charCodeAt(i)) return false;
  return true;
}

/**
 * Resolves one merge "a b" (or [a, b]) to [id a, id b, id a+b]; undefined when it is malformed
 * or a part is missing.
 */
export function resolveMerge(index: PieceIndex, m: unknown): [number, number, number] | undefined {
  if (typeof m === 'string') {
    const sp = m.indexOf(' ', 1);
    return sp < 0 ? undefined : resolveParts(index, m, 0, sp, m, sp + 1, m.length);
  }
  if (Array.isArray(m) && m.length === 2 && typeof m[0] === 'string' && typeof m[1] === 'string') {
    return resolveParts(index, m[0], 0, m[0].length, m[1], 0, m[1].length);
  }
  return undefined;
}

function resolveParts(index: PieceIndex, a: string, a0: number, a1: number, b: string, b0: number, b1: number): [number, number, number] | undefined {
  const ha = fnv(FNV_OFFSET, a, a0, a1);
  const ia = index.find(ha, a, a0, a1, a, 0, 0);
  if (ia < 0) return undefined;
  const ib = index.find(fnv(FNV_OFFSET, b, b0, b1), b, b0, b1, b, 0, 0);
  if (ib < 0) return undefined;
  const im = index.find(fnv(ha, b, b0, b1), a, a0, a1, b, b0, b1);
  return im < 0 ? undefined : [ia, ib, im];
}
