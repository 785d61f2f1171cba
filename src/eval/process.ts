/**
 * Built-in item preprocessing for the public releases of the datasets (field names as on the
 * Hugging Face hub), reproducing lm-evaluation-harness's `process_docs` where it has one.
 */
import { BadArgumentError } from '../errors/errors.js';
import { processBfcl } from './bfcl/data.js';
import { parseIfevalRow } from './ifeval/score.js';

export type ProcessName = 'mmlu' | 'arc' | 'hellaswag' | 'winogrande' | 'gsm8k' | 'ifeval' | 'bfcl';
export type Doc = Record<string, unknown>;

const LETTERS = 'ABCDEFGHIJ';

function need<T>(ok: boolean, v: T, what: string, where: string): T {
  if (!ok) throw new BadArgumentError(`${where}: ${what}`);
  return v;
}

/** Python's str.capitalize(): first character upper case, the rest lower case. */
export function pyCapitalize(s: string): string {
  const chars = [...s];
  if (chars.length === 0) return s;
  return chars[0]!.toUpperCase() + chars.slice(1).join('').toLowerCase();
}

/** The harness's HellaSwag text cleanup (WikiHow "[title]" markers, bracketed tags, double spaces). */
export function hellaswagPreprocess(text: string): string {
  let t = text.trim();
  t = t.split(' [title]').join('. ');
  t = t.replace(/\[.*?\]/g, '');
  return t.split('  ').join(' ');
}

export function processDoc(name: ProcessName, d: Doc, where: string): Doc {
  switch (name) {
    case 'mmlu': {
      const choices = need(Array.isArray(d.choices) && d.choices.length >= 2, d.choices as string[], '"choices" must be a list', where);
      const raw = d.answer;
      const answer = typeof raw === 'number' ? raw : LETTERS.indexOf(String(raw));
      need(Number.isInteger(answer) && answer >= 0 && answer < choices.length, 0, '"answer" must be an index or a letter', where);
      const subject = typeof d.subject === 'string' ? d.subject : '';
      return { ...d, answer, answer_letter: LETTERS[answer], subject_name: subject.split('_').join(' ') };
    }
    case 'arc': {
      const c = d.choices as { text?: unknown; label?: unknown } | undefined;
      const text = need(Array.isArray(c?.text), c?.text as string[], '"choices.text" must be a list', where);
      const label = need(Array.isArray(c?.label), c?.label as string[], '"choices.label" must be a list', where);
      const gold = label.indexOf(String(d.answerKey));
      need(gold >= 0, 0, `"answerKey" ${JSON.stringify(d.answerKey)} is not among the labels`, where);
      // Some ARC items are labelled 1-4; prompts letter them A-D as Meta's and the harness's llama variant do.
      return { ...d, choices: text, labels: label, gold, answer_letter: LETTERS[gold] };
    }
    case 'hellaswag': {
      const endings = need(Array.isArray(d.endings), d.endings as string[], '"endings" must be a list', where);
      const ctx = `${String(d.ctx_a ?? '')} ${pyCapitalize(String(d.ctx_b ?? ''))}`;
      const gold = Number(d.label);
      need(Number.isInteger(gold) && gold >= 0 && gold < endings.length, 0, '"label" must be an index', where);
      return { ...d, query: hellaswagPreprocess(`${String(d.activity_label ?? '')}: ${ctx}`), choices: endings.map(hellaswagPreprocess), gold, answer_letter: LETTERS[gold] };
    }
    case 'winogrande': {
      const s = need(typeof d.sentence === 'string' && d.sentence.includes('_'), d.sentence as string, '"sentence" must contain "_"', where);
      const idx = s.indexOf('_');
      const gold = ({ '1': 0, '2': 1 } as Record<string, number>)[String(d.answer)];
      need(gold !== undefined, 0, '"answer" must be "1" or "2"', where);
      const options = [String(d.option1), String(d.option2)];
      return { ...d, contexts: options.map((o) => s.slice(0, idx) + o), continuation: s.slice(idx + 1).trim(), gold, options };
    }
    case 'gsm8k': {
      const a = need(typeof d.answer === 'string', d.answer as string, '"answer" must be a string', where);
      const parts = a.split('####');
      return { ...d, answer_number: parts[parts.length - 1]!.trim(), rationale: parts[0]!.trim() };
    }
    case 'ifeval': {
      // The parsed item, or the unsupported instruction ids (run-task skips and reports those).
      const parsed = parseIfevalRow(d, where);
      return 'unsupported' in parsed ? { ...d, ifeval_unsupported: parsed.unsupported } : { ...d, ifeval: parsed };
    }
    case 'bfcl':
      return processBfcl(d, where);
  }
}
