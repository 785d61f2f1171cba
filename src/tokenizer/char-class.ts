/**
 * Unicode classes the Llama 3 pre-tokenizer asks about, built from the same RegExp engine as the
 * regex path (the oracle): L = \p{L}, N = \p{N}, S = \p{White_Space} (Oniguruma's `\s`, which
 * is not JavaScript's: no U+FEFF, plus U+0085), NL = \r or \n. Anything else is "other".
 */
export const L = 1;
export const N = 2;
export const S = 4;
export const NL = 8;

const RE_L = /\p{L}/u;
const RE_N = /\p{N}/u;
const RE_S = /\p{White_Space}/u;

function classify(ch: string): number {
  let k = 0;
  if (RE_L.test(ch)) k |= L;
  if (RE_N.test(ch)) k |= N;
  if (RE_S.test(ch)) k |= S;
  if (ch === '\r' || ch === '\n') k |= NL;
  return k;
}

function buildBmp(): Uint8Array {
  const t = new Uint8Array(0x10000);
  // One pass per class over a string of every non-surrogate BMP character.
  let all = '';
  for (let c = 0; c < 0xd800; c++) all += String.fromCharCode(c);
  for (let c = 0xe000; c < 0x10000; c++) all += String.fromCharCode(c);
  const mark = (re: RegExp, bit: number): void => {
    for (const m of all.matchAll(re)) t[m[0].charCodeAt(0)]! |= bit;
  };
  mark(/\p{L}/gu, L);
  mark(/\p{N}/gu, N);
  mark(/\p{White_Space}/gu, S);
  t[0x0a]! |= NL;
  t[0x0d]! |= NL;
  return t;
}

/** Class bits of every BMP code unit (lone surrogates are "other", as in `u` mode). */
export const BMP: Uint8Array = buildBmp();

const astral = new Map<number, number>();

/** Class bits of a supplementary-plane code point (no whitespace lives there). */
export function astralClass(cp: number): number {
  let k = astral.get(cp);
  if (k === undefined) {
    k = classify(String.fromCodePoint(cp));
    astral.set(cp, k);
  }
  return k;
}
