/**
 * IFEval's verifiable instructions (Zhou et al. 2023, google-research/instruction_following_eval),
 * by instruction id, each with the kwargs the dataset gives it. Every check here follows the
 * reference definition; where the reference leans on a Python library the note says what stands
 * in for it. `language:response_language` needs a language identifier and is not supported:
 * items using it are skipped and counted (see score.ts), never passed.
 */
import { BadArgumentError } from '../../errors/errors.js';
import { countSentences, countWords, escapeRegex, isJson, pyIsLower, pyIsUpper } from './text.js';

export type IfevalKwargs = Readonly<Record<string, unknown>>;

interface Check {
  /** Kwargs the instruction takes (all required unless listed in `optional`). */
  readonly args: readonly string[];
  readonly optional?: readonly string[];
  readonly test: (response: string, kw: IfevalKwargs) => boolean;
}

type Relation = 'less than' | 'at least';

function num(kw: IfevalKwargs, key: string): number {
  const v = kw[key];
  if (typeof v !== 'number' || !Number.isFinite(v)) throw new BadArgumentError(`IFEval kwarg "${key}" must be a number, got ${JSON.stringify(v)}`);
  return v;
}

function str(kw: IfevalKwargs, key: string): string {
  const v = kw[key];
  if (typeof v !== 'string') throw new BadArgumentError(`IFEval kwarg "${key}" must be a string, got ${JSON.stringify(v)}`);
  return v;
}

function strs(kw: IfevalKwargs, key: string): string[] {
  const v = kw[key];
  if (!Array.isArray(v) || !v.every((x) => typeof x === 'string')) throw new BadArgumentError(`IFEval kwarg "${key}" must be a list of strings`);
  return v as string[];
}

function relation(kw: IfevalKwargs, key: string): Relation {
  const v = kw[key];
  if (v !== 'less than' && v !== 'at least') throw new BadArgumentError(`IFEval kwarg "${key}" must be "less than" or "at least", got ${JSON.stringify(v)}`);
  return v;
}

const compare = (count: number, rel: Relation, n: number): boolean => (rel === 'less than' ? count < n : count >= n);

/** Python-style `\b` around a literal (Unicode word characters, as Python 3's re). */
function wordPattern(word: string, flags: string): RegExp {
  return new RegExp(`(?<![\\p{L}\\p{M}\\p{N}_])${escapeRegex(word)}(?![\\p{L}\\p{M}\\p{N}_])`, flags + 'u');
}

/** Stand-in for langdetect's "en": nearly all letters in the Latin script. */
function looksEnglishScript(s: string): boolean {
  const letters = s.match(/\p{L}/gu) ?? [];
  if (letters.length === 0) return false;
  const latin = s.match(/\p{Script=Latin}/gu) ?? [];
  return latin.length / letters.length >= 0.9;
}

function stripMarkers(s: string, chars: string): string {
  let a = 0;
  let b = s.length;
  while (a < b && chars.includes(s[a]!)) a++;
  while (b > a && chars.includes(s[b - 1]!)) b--;
  return s.slice(a, b);
}

export const IFEVAL_CHECKS: Readonly<Record<string, Check>> = {
  'keywords:existence': {
    args: ['keywords'],
    test: (r, kw) => strs(kw, 'keywords').every((k) => new RegExp(escapeRegex(k), 'iu').test(r)),
  },
  'keywords:frequency': {
    args: ['keyword', 'frequency', 'relation'],
    test: (r, kw) => compare((r.match(new RegExp(escapeRegex(str(kw, 'keyword').trim()), 'giu')) ?? []).length, relation(kw, 'relation'), num(kw, 'frequency')),
  },
  'keywords:forbidden_words': {
    args: ['forbidden_words'],
    test: (r, kw) => !strs(kw, 'forbidden_words').some((w) => wordPattern(w, 'i').test(r)),
  },
  'keywords:letter_frequency': {
    args: ['letter', 'let_frequency', 'let_relation'],
    test: (r, kw) => {
      const letter = str(kw, 'letter').trim().toLowerCase();
      if ([...letter].length !== 1) throw new BadArgumentError(`IFEval kwarg "letter" must be one non-space character, got ${JSON.stringify(kw.letter)}`);
      return compare(r.toLowerCase().split(letter).length - 1, relation(kw, 'let_relation'), num(kw, 'let_frequency'));
    },
  },
  'length_constraints:number_words': {
    args: ['num_words', 'relation'],
    test: (r, kw) => compare(countWords(r), relation(kw, 'relation'), num(kw, 'num_words')),
  },
  'length_constraints:number_sentences': {
    args: ['num_sentences', 'relation'],
    test: (r, kw) => compare(countSentences(r), relation(kw, 'relation'), num(kw, 'num_sentences')),
  },
  'length_constraints:number_paragraphs': {
    // Paragraphs are separated by a "***" line; an empty one counts only at either end (and then not at all).
    args: ['num_paragraphs'],
    test: (r, kw) => {
      const parts = r.split(/\s?\*\*\*\s?/);
      let n = parts.length;
      for (let i = 0; i < parts.length; i++) {
        if (parts[i]!.trim() !== '') continue;
        if (i === 0 || i === parts.length - 1) n--;
        else return false;
      }
      return n === num(kw, 'num_paragraphs');
    },
  },
  'length_constraints:nth_paragraph_first_word': {
    // Paragraphs separated by blank lines ("\n\n"); the first word lower-cased, up to its first punctuation mark.
    args: ['num_paragraphs', 'nth_paragraph', 'first_word'],
    test: (r, kw) => {
      const parts = r.split('\n\n');
      const n = parts.length - parts.filter((p) => p.trim() === '').length;
      const nth = num(kw, 'nth_paragraph');
      if (nth > n || nth < 1) return false;
      const para = parts[nth - 1]!.trim();
      if (para === '') return false;
      let word = para.split(/\s+/)[0]!.trim();
      word = word.replace(/^'+/, '').replace(/^"+/, '');
      let first = '';
      for (const ch of word) {
        if ('.,?!\'"'.includes(ch)) break;
        first += ch.toLowerCase();
      }
      return n === num(kw, 'num_paragraphs') && first === str(kw, 'first_word').toLowerCase();
    },
  },
  'detectable_content:number_placeholders': {
    args: ['num_placeholders'],
    test: (r, kw) => (r.match(/\[.*?\]/g) ?? []).length >= num(kw, 'num_placeholders'),
  },
  'detectable_content:postscript': {
    args: ['postscript_marker'],
    test: (r, kw) => {
      const marker = str(kw, 'postscript_marker').trim();
      const lower = r.toLowerCase();
      const source = marker === 'P.S.' ? '\\s*p\\.\\s?s\\..*$' : marker === 'P.P.S' ? '\\s*p\\.\\s?p\\.\\s?s.*$' : `\\s*${escapeRegex(marker.toLowerCase())}.*$`;
      return new RegExp(source, 'm').test(lower);
    },
  },
  'detectable_format:number_bullet_lists': {
    // "* item" or "- item" lines, exactly num_bullets of them ("**bold**" lines are not bullets).
    args: ['num_bullets'],
    test: (r, kw) => (r.match(/^\s*\*[^*].*$/gm) ?? []).length + (r.match(/^\s*-.*$/gm) ?? []).length === num(kw, 'num_bullets'),
  },
  'detectable_format:constrained_response': {
    args: [],
    test: (r) => ['My answer is yes.', 'My answer is no.', 'My answer is maybe.'].some((o) => r.trim().includes(o)),
  },
  'detectable_format:number_highlighted_sections': {
    // *highlighted* or **highlighted** spans on one line, with some text inside.
    args: ['num_highlights'],
    test: (r, kw) => {
      let n = 0;
      for (const h of r.match(/\*[^\n*]*\*/g) ?? []) if (stripMarkers(h, '*').trim() !== '') n++;
      for (const h of r.match(/\*\*[^\n*]*\*\*/g) ?? []) if (h.slice(2, -2).trim() !== '') n++;
      return n >= num(kw, 'num_highlights');
    },
  },
  'detectable_format:multiple_sections': {
    // "SECTION 1", "SECTION 2"…: the splitter word followed by a number, at least num_sections times.
    args: ['section_spliter', 'num_sections'],
    test: (r, kw) => r.split(new RegExp(`\\s?${escapeRegex(str(kw, 'section_spliter').trim())}\\s?\\d+\\s?`)).length - 1 >= num(kw, 'num_sections'),
  },
  'detectable_format:json_format': {
    args: [],
    test: (r) => {
      let v = r.trim();
      for (const p of ['```json', '```Json', '```JSON', '```']) {
        if (v.startsWith(p)) {
          v = v.slice(p.length);
          break;
        }
      }
      if (v.endsWith('```')) v = v.slice(0, -3);
      return isJson(v.trim());
    },
  },
  'detectable_format:title': {
    args: [],
    test: (r) => (r.match(/<<[^\n]+>>/g) ?? []).some((t) => t.replace(/^<+/, '').replace(/>+$/, '').trim() !== ''),
  },
  'combination:two_responses': {
    // Two different responses separated by "******" (empty pieces allowed only at the ends).
    args: [],
    test: (r) => {
      const parts = r.split('******');
      const valid: string[] = [];
      for (let i = 0; i < parts.length; i++) {
        if (parts[i]!.trim() === '') {
          if (i !== 0 && i !== parts.length - 1) return false;
        } else valid.push(parts[i]!);
      }
      return valid.length === 2 && valid[0]!.trim() !== valid[1]!.trim();
    },
  },
  'combination:repeat_prompt': {
    args: ['prompt_to_repeat'],
    test: (r, kw) => r.trim().toLowerCase().startsWith(str(kw, 'prompt_to_repeat').trim().toLowerCase()),
  },
  'startend:end_checker': {
    args: ['end_phrase'],
    test: (r, kw) => stripMarkers(r.trim(), '"').toLowerCase().endsWith(str(kw, 'end_phrase').trim().toLowerCase()),
  },
  'startend:quotation': {
    args: [],
    test: (r) => {
      const v = r.trim();
      return v.length > 1 && v.startsWith('"') && v.endsWith('"');
    },
  },
  'change_case:capital_word_frequency': {
    // The reference tokenises with nltk.word_tokenize; whitespace-separated words stand in (punctuation is uncased, so "WORD," still counts).
    args: ['capital_frequency', 'capital_relation'],
    test: (r, kw) => compare(r.split(/\s+/).filter((w) => w !== '' && pyIsUpper(w)).length, relation(kw, 'capital_relation'), num(kw, 'capital_frequency')),
  },
  'change_case:english_capital': {
    // The reference also asks langdetect for "en"; a Latin-script test stands in.
    args: [],
    test: (r) => pyIsUpper(r) && looksEnglishScript(r),
  },
  'change_case:english_lowercase': {
    args: [],
    test: (r) => pyIsLower(r) && looksEnglishScript(r),
  },
  'punctuation:no_comma': {
    args: [],
    test: (r) => !r.includes(','),
  },
};

/** Instruction ids IFEval defines that this harness cannot check (they are skipped and reported). */
export const IFEVAL_UNSUPPORTED: readonly string[] = ['language:response_language'];

export function isSupportedInstruction(id: string): boolean {
  return Object.prototype.hasOwnProperty.call(IFEVAL_CHECKS, id);
}

/**
 * The kwargs an instruction actually uses: the public dataset gives every instruction a dict where
 * unused keys are null; a non-null key the instruction does not take is an error (a typo would
 * otherwise be ignored), and so is a missing one.
 */
export function instructionKwargs(id: string, kw: unknown, where: string): IfevalKwargs {
  const c = IFEVAL_CHECKS[id];
  if (!c) throw new BadArgumentError(`${where}: unsupported IFEval instruction "${id}"`);
  const o = kw === undefined || kw === null ? {} : kw;
  if (typeof o !== 'object' || Array.isArray(o)) throw new BadArgumentError(`${where}: kwargs of "${id}" must be an object`);
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(o)) {
    if (v === null || v === undefined) continue;
    if (!c.args.includes(k)) throw new BadArgumentError(`${where}: "${id}" takes no kwarg "${k}"`);
    out[k] = v;
  }
  for (const k of c.args) if (!(k in out) && !(c.optional ?? []).includes(k)) throw new BadArgumentError(`${where}: "${id}" needs kwarg "${k}"`);
  return out;
}

/** Whether `response` follows instruction `id` (kwargs already checked by instructionKwargs). */
export function checkInstruction(id: string, response: string, kwargs: IfevalKwargs): boolean {
  const c = IFEVAL_CHECKS[id];
  if (!c) throw new BadArgumentError(`unsupported IFEval instruction "${id}"`);
  return c.test(response, kwargs);
}
