/**
 * Answer extraction for generative tasks and the harness's exact-match normalisation. Each
 * extractor returns undefined when it finds nothing (scored as wrong, recorded as "[invalid]").
 */
import { BadArgumentError } from '../errors/errors.js';

export type ExtractionSpec =
  | 'gsm8k' // "#### 42" (strict), else the last number
  | 'final_answer' // Meta: "The final answer is 42", else the last number
  | 'best_answer' // Meta: "The best answer is C"
  | 'boxed' // MATH: the last \boxed{…} (balanced braces)
  | 'last_number'
  | 'first_line' // the output up to its first newline, trimmed
  | 'none'
  | { readonly regex: string; readonly group?: number; readonly select?: 'first' | 'last'; readonly flags?: string; readonly fallback?: 'last_number' };

/** The harness's "flexible-extract" number pattern: a number-ish run of 2+ chars, else digits. */
const NUMBER = /(-?[$0-9.,]{2,})|(-?[0-9]+)/g;

function matchRegex(text: string, re: RegExp, group: number, select: 'first' | 'last'): string | undefined {
  const g = new RegExp(re.source, re.flags.includes('g') ? re.flags : re.flags + 'g');
  const all = [...text.matchAll(g)];
  if (all.length === 0) return undefined;
  const m = select === 'first' ? all[0]! : all[all.length - 1]!;
  if (group > 0) return m[group];
  // group 0 with alternatives: the first group that matched (the harness takes the non-empty one)
  return m.slice(1).find((x) => x !== undefined) ?? m[0];
}

export function lastNumber(text: string): string | undefined {
  return matchRegex(text, NUMBER, 0, 'last');
}

/** Contents of the last \boxed{…} or \fbox{…}, braces balanced; also "\boxed 5". */
export function lastBoxed(text: string): string | undefined {
  const at = Math.max(text.lastIndexOf('\\boxed'), text.lastIndexOf('\\fbox'));
  if (at < 0) return undefined;
  let i = at + (text.startsWith('\\boxed', at) ? 6 : 5);
  if (text[i] === ' ') {
    const m = /^ ([^\s$]+)/.exec(text.slice(i));
    return m?.[1];
  }
  if (text[i] !== '{') return undefined;
  let depth = 0;
  const start = i + 1;
  for (; i < text.length; i++) {
    if (text[i] === '{') depth++;
    else if (text[i] === '}' && --depth === 0) return text.slice(start, i);
  }
  return undefined; // unbalanced: no answer
}

export function extractAnswer(text: string, spec: ExtractionSpec): string | undefined {
  if (typeof spec === 'object') {
    let re: RegExp;
    try {
      re = new RegExp(spec.regex, spec.flags ?? '');
    } catch (e) {
      throw new BadArgumentError(`extraction regex ${JSON.stringify(spec.regex)}: ${(e as Error).message}`);
    }
    const got = matchRegex(text, re, spec.group ?? 1, spec.select ?? 'first');
    return got ?? (spec.fallback === 'last_number' ? lastNumber(text) : undefined);
  }
  switch (spec) {
    case 'gsm8k':
      return matchRegex(text, /#### (-?[0-9.,]+)/, 1, 'first') ?? lastNumber(text);
    case 'final_answer':
      return matchRegex(text, /final answer is:? *\$?(?:\\boxed\{)?(-?[0-9.,]+)/i, 1, 'last') ?? lastNumber(text);
    case 'best_answer':
      return matchRegex(text, /best answer is:? *\(?([A-Z])\b/i, 1, 'last')?.toUpperCase();
    case 'boxed':
      return lastBoxed(text);
    case 'last_number':
      return lastNumber(text);
    case 'first_line':
      return text.split('\n')[0]!.trim();
    case 'none':
      return text;
  }
}

export interface NormalizeOptions {
  readonly ignore_case?: boolean;
  readonly ignore_punctuation?: boolean;
  /** Python-style regexes removed from both sides first (e.g. ",", "\\$", "(?s).*#### ", "\\.$"). */
  readonly regexes_to_ignore?: readonly string[];
}

const PUNCT = /[!"#$%&'()*+,\-./:;<=>?@[\\\]^_`{|}~]/g;

/** Python's "(?s)" inline flag becomes JS's "s" flag. */
function pyRegex(src: string): RegExp {
  let flags = 'g';
  if (src.startsWith('(?s)')) {
    src = src.slice(4);
    flags += 's';
  }
  return new RegExp(src, flags);
}

/** The harness's exact_match preprocessing: strip regexes, then case, then punctuation. */
export function normalizeAnswer(s: string, o: NormalizeOptions = {}): string {
  for (const r of o.regexes_to_ignore ?? []) s = s.replace(pyRegex(r), '');
  if (o.ignore_case) s = s.toLowerCase();
  if (o.ignore_punctuation) s = s.replace(PUNCT, '');
  return s.trim();
}

export function exactMatch(pred: string | undefined, ref: string, o: NormalizeOptions = {}): number {
  if (pred === undefined) return 0;
  return normalizeAnswer(pred, o) === normalizeAnswer(ref, o) ? 1 : 0;
}
