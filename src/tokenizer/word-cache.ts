/**
 * Word → ids cache keyed by a range of the input text, so a hit costs one hash over the
 * characters and one comparison: no substring is allocated and no Map hashes a fresh string.
 * When half full it starts over (memory stays bounded on any input).
 */
export class WordCache {
  private readonly mask: number;
  /** '' marks an empty slot (words are never empty). */
  private words: string[];
  private hashes: Int32Array;
  /** id ≥ 0: the word is that single token; < 0: ids start at pool[-v - 1] (length first). */
  private values: Int32Array;
  private pool: Int32Array;
  private poolUsed = 0;
  private count = 0;

  constructor(bits = 17) {
    const size = 1 << bits;
    this.mask = size - 1;
    this.words = new Array<string>(size).fill('');
    this.hashes = new Int32Array(size);
    this.values = new Int32Array(size);
    this.pool = new Int32Array(size * 2);
  }

  /** FNV-1a over the UTF-16 code units of text[start..end), finalised so every bit is mixed. */
  static hash(text: string, start: number, end: number): number {
    let h = 0x811c9dc5 | 0;
    for (let k = start; k < end; k++) h = Math.imul(h ^ text.charCodeAt(k), 0x01000193);
    h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
    h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
    return h ^ (h >>> 16);
  }

  /** Slot holding text[start..end), or -1. */
  find(text: string, start: number, end: number, h: number): number {
    const len = end - start;
    let s = h & this.mask;
    for (;;) {
      const w = this.words[s]!;
      if (w.length === 0) return -1;
      if (this.hashes[s] === h && w.length === len) {
        let k = 0;
        while (k < len && w.charCodeAt(k) === text.charCodeAt(start + k)) k++;
        if (k === len) return s;
      }
      s = (s + 1) & this.mask;
    }
  }

  /** Appends the cached ids of a slot to out. */
  emit(slot: number, out: number[]): void {
    const v = this.values[slot]!;
    if (v >= 0) {
      out.push(v);
      return;
    }
    const at = -v - 1;
    const n = this.pool[at]!;
    for (let k = 1; k <= n; k++) out.push(this.pool[at + k]!);
  }

  insert(word: string, h: number, ids: Int32Array, n: number): void {
    if (word.length === 0) return;
    if (this.count * 2 >= this.mask || this.poolUsed + n + 1 > this.pool.length) this.clear();
    if (n + 1 > this.pool.length) return;
    let s = h & this.mask;
    while (this.words[s]!.length !== 0) s = (s + 1) & this.mask;
    this.words[s] = word;
    this.hashes[s] = h;
    if (n === 1) {
      this.values[s] = ids[0]!;
    } else {
      this.values[s] = -(this.poolUsed + 1);
      this.pool[this.poolUsed] = n;
      this.pool.set(ids.subarray(0, n), this.poolUsed + 1);
      this.poolUsed += n + 1;
    }
    this.count++;
  }

  clear(): void {
    this.words = new Array<string>(this.mask + 1).fill('');
    this.count = 0;
    this.poolUsed = 0;
  }
}
