/**
 * Code-point ranges to UTF-8 byte-range sequences. The engine works on bytes (tokens are byte
 * strings), so every character class is lowered to the exact set of well-formed UTF-8 encodings:
 * no overlong forms, no surrogates, nothing above U+10FFFF.
 */
export type CpRange = readonly [number, number];
/** One alternative: a byte range per position. */
export type ByteSeq = Array<[number, number]>;

const MAX_CP = 0x10ffff;

export function normalizeRanges(ranges: readonly CpRange[]): CpRange[] {
  const sorted = ranges.filter(([a, b]) => a <= b).map(([a, b]) => [a, b] as [number, number]).sort((x, y) => x[0] - y[0]);
  const out: [number, number][] = [];
  for (const r of sorted) {
    const last = out[out.length - 1];
    if (last && r[0] <= last[1] + 1) last[1] = Math.max(last[1], r[1]);
    else out.push([r[0], r[1]]);
  }
  return out;
}

export function negateRanges(ranges: readonly CpRange[]): CpRange[] {
  const n = normalizeRanges(ranges);
  const out: CpRange[] = [];
  let next = 0;
  for (const [a, b] of n) {
    if (a > next) out.push([next, a - 1]);
    next = b + 1;
  }
  if (next <= MAX_CP) out.push([next, MAX_CP]);
  return out;
}

export function subtractRanges(a: readonly CpRange[], b: readonly CpRange[]): CpRange[] {
  return intersectRanges(a, negateRanges(b));
}

export function intersectRanges(a: readonly CpRange[], b: readonly CpRange[]): CpRange[] {
  const x = normalizeRanges(a);
  const y = normalizeRanges(b);
  const out: CpRange[] = [];
  let i = 0;
  let j = 0;
  while (i < x.length && j < y.length) {
    const lo = Math.max(x[i]![0], y[j]![0]);
    const hi = Math.min(x[i]![1], y[j]![1]);
    if (lo <= hi) out.push([lo, hi]);
    if (x[i]![1] < y[j]![1]) i++;
    else j++;
  }
  return out;
}

const BOUNDS: ReadonlyArray<readonly [number, number, number]> = [
  [0, 0x7f, 1],
  [0x80, 0x7ff, 2],
  [0x800, 0xffff, 3],
  [0x10000, MAX_CP, 4],
];

function encode(cp: number, len: number): number[] {
  if (len === 1) return [cp];
  if (len === 2) return [0xc0 | (cp >> 6), 0x80 | (cp & 63)];
  if (len === 3) return [0xe0 | (cp >> 12), 0x80 | ((cp >> 6) & 63), 0x80 | (cp & 63)];
  return [0xf0 | (cp >> 18), 0x80 | ((cp >> 12) & 63), 0x80 | ((cp >> 6) & 63), 0x80 | (cp & 63)];
}

/** Split [lo, hi] (same encoded length) into byte-range sequences (the classic utf8-ranges split). */
function splitSameLen(lo: number, hi: number, len: number, out: ByteSeq[]): void {
  if (len === 1) {
    out.push([[lo, hi]]);
    return;
  }
  for (let i = 1; i < len; i++) {
    const m = (1 << (6 * i)) - 1;
    if ((lo & ~m) !== (hi & ~m)) {
      if ((lo & m) !== 0) {
        splitSameLen(lo, lo | m, len, out);
        splitSameLen((lo | m) + 1, hi, len, out);
        return;
      }
      if ((hi & m) !== m) {
        splitSameLen(lo, (hi & ~m) - 1, len, out);
        splitSameLen(hi & ~m, hi, len, out);
        return;
      }
    }
  }
  const a = encode(lo, len);
  const b = encode(hi, len);
  out.push(a.map((x, k) => [x, b[k]!]));
}

export function utf8Sequences(ranges: readonly CpRange[]): ByteSeq[] {
  // Surrogates have no UTF-8 encoding.
  const clean = subtractRanges(ranges, [[0xd800, 0xdfff]]);
  const out: ByteSeq[] = [];
  for (const [a, b] of clean) {
    for (const [lo, hi, len] of BOUNDS) {
      const x = Math.max(a, lo);
      const y = Math.min(b, hi);
      if (x <= y) splitSameLen(x, y, len, out);
    }
  }
  return out;
}
