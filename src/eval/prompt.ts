/**
 * Item → prompt, per task definition. Plain: description + few-shot examples ("prompt" +
 * target_delimiter + answer, joined by fewshot_delimiter) + fewshot_delimiter + the item's prompt,
 * as lm-evaluation-harness builds contexts. Chat: few-shot examples become user/assistant turns
 * (the harness's fewshot_as_multiturn, Meta's format) and gen_prefix is the start of the reply.
 */
import { BadArgumentError } from '../errors/errors.js';
import type { ChatMessage, ToolDefinition } from '../chat/types.js';
import { selectFewshot } from './fewshot.js';
import { renderTemplate } from './template.js';
import type { TaskDefinition } from './taskdef.js';
import type { Doc } from './process.js';
import type { LoglikRequest } from './types.js';

export interface McPrompt {
  readonly kind: 'mc';
  readonly requests: LoglikRequest[];
  /** Texts whose byte length normalises acc_norm (the choices; partial scoring: the contexts). */
  readonly normTexts: string[];
  readonly gold: number;
  /** The shared part of the prompt, for records. */
  readonly prompt: string;
}

export interface GenPrompt {
  readonly kind: 'generate';
  /** Plain text, or chat turns plus the reply's first words. */
  readonly prompt: string | { readonly messages: ChatMessage[]; readonly prefill: string; readonly tools?: readonly ToolDefinition[] };
  readonly target: string;
}

const delim = (d: TaskDefinition): string => d.target_delimiter ?? ' ';
const fsDelim = (d: TaskDefinition): string => d.fewshot_delimiter ?? '\n\n';

function goldOf(def: TaskDefinition, doc: Doc): number {
  const g = Number(renderTemplate(def.gold!, doc, 'gold').trim());
  if (!Number.isInteger(g) || g < 0) throw new BadArgumentError(`${def.name}: gold rendered to a non-index`);
  return g;
}

function choicesOf(def: TaskDefinition, doc: Doc): string[] {
  const c = def.choices;
  if (typeof c === 'string') {
    const v = doc[c];
    if (!Array.isArray(v) || !v.every((x) => typeof x === 'string')) throw new BadArgumentError(`${def.name}: field "${c}" is not a list of strings`);
    return v as string[];
  }
  return (c ?? []).map((t) => renderTemplate(t, doc, 'choice'));
}

/** A few-shot example's answer text. */
function answerOf(def: TaskDefinition, doc: Doc): string {
  if (def.fewshot_target !== undefined) return renderTemplate(def.fewshot_target, doc, 'fewshot_target');
  if (def.output_type === 'generate_until') return def.target !== undefined ? renderTemplate(def.target, doc, 'target') : '';
  if (def.contexts !== undefined) return ''; // partial scoring builds its example text in exampleText
  return choicesOf(def, doc)[goldOf(def, doc)]!;
}

function exampleText(def: TaskDefinition, doc: Doc): string {
  if (def.output_type === 'multiple_choice' && def.contexts !== undefined && def.fewshot_target === undefined) {
    // Winogrande: the sentence with the right option filled in.
    const ctx = (doc[def.contexts] as string[])[goldOf(def, doc)]!;
    return ctx + delim(def) + renderTemplate(def.continuation!, doc, 'continuation');
  }
  return renderTemplate(def.prompt, doc, 'prompt') + delim(def) + answerOf(def, doc);
}

export interface FewshotPool {
  readonly docs: readonly Doc[];
  /** True when the pool is the evaluated split itself (an item never gets itself as an example). */
  readonly sameAsEval: boolean;
}

export function fewshotDocs(def: TaskDefinition, pool: FewshotPool, doc: Doc, index: number): Doc[] {
  const n = def.num_fewshot ?? 0;
  if (n === 0) return [];
  let idx = pool.docs.map((_, i) => i);
  if (def.fewshot_match !== undefined) idx = idx.filter((i) => pool.docs[i]![def.fewshot_match!] === doc[def.fewshot_match!]);
  const exclude = pool.sameAsEval ? idx.indexOf(index) : -1;
  const picks = selectFewshot(idx.length, n, def.fewshot_sampler ?? 'random', def.fewshot_seed ?? 1234, index, exclude >= 0 ? exclude : undefined);
  return picks.map((p) => pool.docs[idx[p]!]!);
}

export function buildPrompt(def: TaskDefinition, doc: Doc, shots: readonly Doc[]): McPrompt | GenPrompt {
  const description = def.description !== undefined ? renderTemplate(def.description, doc, 'description') : '';
  if (def.output_type === 'multiple_choice') {
    const head = description + shots.map((s) => exampleText(def, s) + fsDelim(def)).join('');
    const gold = goldOf(def, doc);
    if (def.contexts !== undefined) {
      const ctxs = doc[def.contexts];
      if (!Array.isArray(ctxs)) throw new BadArgumentError(`${def.name}: field "${def.contexts}" is not a list`);
      const cont = delim(def) + renderTemplate(def.continuation!, doc, 'continuation');
      if (gold >= ctxs.length) throw new BadArgumentError(`${def.name}: gold ${gold} out of range`);
      return { kind: 'mc', requests: ctxs.map((c) => ({ context: head + String(c), continuation: cont })), normTexts: ctxs.map(String), gold, prompt: head };
    }
    const choices = choicesOf(def, doc);
    if (gold >= choices.length) throw new BadArgumentError(`${def.name}: gold ${gold} out of range`);
    const context = head + renderTemplate(def.prompt, doc, 'prompt');
    return { kind: 'mc', requests: choices.map((c) => ({ context, continuation: delim(def) + c })), normTexts: choices, gold, prompt: context };
  }
  const target = def.target !== undefined ? renderTemplate(def.target, doc, 'target') : '';
  const prefix = def.gen_prefix ?? '';
  if ((def.format ?? 'plain') === 'chat') {
    const messages: ChatMessage[] = [];
    const system = def.system !== undefined ? renderTemplate(def.system, doc, 'system') : description;
    if (system !== '') messages.push({ role: 'system', content: system });
    for (const s of shots) {
      messages.push({ role: 'user', content: renderTemplate(def.prompt, s, 'prompt') });
      messages.push({ role: 'assistant', content: answerOf(def, s) });
    }
    messages.push({ role: 'user', content: renderTemplate(def.prompt, doc, 'prompt') });
    if (def.tools === undefined) return { kind: 'generate', prompt: { messages, prefill: prefix }, target };
    const tools = doc[def.tools];
    if (!Array.isArray(tools)) throw new BadArgumentError(`${def.name}: field "${def.tools}" is not a list of tools`);
    return { kind: 'generate', prompt: { messages, prefill: prefix, tools: tools as ToolDefinition[] }, target };
  }
  const text = description + shots.map((s) => exampleText(def, s) + fsDelim(def)).join('') + renderTemplate(def.prompt, doc, 'prompt') + (prefix !== '' ? delim(def) + prefix : '');
  return { kind: 'generate', prompt: text, target };
}
