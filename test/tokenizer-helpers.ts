/** Shared by the tokenizer tests: golden files, a seeded PRNG and generators of awkward text. */
import { readFileSync } from 'node:fs';
import { fixture } from './fixtures.js';
import { uniformSource } from '../src/generate/rng.js';

export interface Llama3Case {
  text: string;
  ids: number[];
  ids_with_special: number[];
  tokens: string[];
  decoded: string;
  decoded_with_special: string;
}
export interface Llama2Case {
  text: string;
  ids: number[];
  ids_with_special: number[];
  pieces: string[];
  decoded: string;
}

export function goldenCases<T>(name: 'llama3.1' | 'llama2'): T[] {
  return (JSON.parse(readFileSync(fixture('tokenizers', `${name}.golden.json`), 'utf8')) as { cases: T[] }).cases;
}

/** Deterministic uniform [0, 1) source (the project's seeded RNG). */
export function prng(seed: number): () => number {
  return uniformSource(seed);
}

/** Fragments that stress pre-tokenizers and byte handling. */
export const AWKWARD_PARTS: readonly string[] = [
  ' ', '  ', '    ', '\t', '\n', '\r\n', '\n\n', ' \n ', '\u00a0', '\u3000', '\u2028', '\u0085', '\ufeff', '\u200b', '\u200d', '\u180e', '\u000b',
  "'s", "'S", "'ll", "'RE", "'", 'a', 'Hello', 'world', 'ÄÖü', 'ß', 'ſ', 'İ', 'K', '123', '4567', '١٢٣', '𝟏𝟐', 'Ⅻ', '½',
  '你好世界', 'こんにちは', '한국어', 'Привет', 'مرحبا', 'שלום', 'नमस्ते', 'ไทย', '😀', '👍🏽', '👨‍👩‍👧', '🇫🇷', '\u0301', 'e\u0301',
  '!', '?!', '...', '—', '“', '”', '(', ')', '{', '}', '<', '>', '#', '$', '%', '_', '__init__', 'x=1;', '\\', '/', 'https://a.b/c?d=e',
  '0x1F', '1e-9', '-42', 'A'.repeat(30), ' '.repeat(17), '\n'.repeat(5), '9'.repeat(11), '▁', '<0x0A>',
];

export function awkwardText(rnd: () => number, parts = AWKWARD_PARTS, maxParts = 12): string {
  let s = '';
  const n = 1 + Math.floor(rnd() * maxParts);
  for (let i = 0; i < n; i++) s += parts[Math.floor(rnd() * parts.length)]!;
  return s;
}

/** Extra text (not in the fixtures): whitespace runs, mixed scripts, numbers, code. */
export const EXTRA_TEXTS: readonly string[] = [
  ' '.repeat(100) + 'x' + '\t'.repeat(9) + '\n'.repeat(7) + ' \r\n\r\n  end  ',
  'Zahlen 3.14159 und 2,718281828; 1000000000000 + 0.000001 = ?',
  '数学 ∀x∈ℝ: x²≥0 — دليل على ذلك 123 ٤٥٦ and 𝔘𝔫𝔦𝔠𝔬𝔡𝔢 text',
  'mixed: Hello世界Привет мир こんにちは안녕 🙂🙃 ok',
  'function f(a, b) {\n\treturn a ?? b ?? 0; // done\n}\n\n\n',
  "She said: 'I'd've thought they'd won't' — isn't it? CAN'T WON'T",
  '$ echo "x" | sed -e \'s/x/y/g\' >> /tmp/out.log 2>&1',
  'tabs\t\t\tand\u00a0\u00a0nbsp\u2003em space\u3000ideographic',
  '1 22 333 4444 55555 666666 7777777 88888888 999999999',
  'über-naïve coöperate façade résumé ÆØÅ æøå ĲĳŒœ ǅǆ',
];
