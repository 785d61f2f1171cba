/**
 * IFEval scoring. An item is {"key", "prompt", "instruction_id_list", "kwargs"} as the public
 * google/IFEval JSONL ships it. Strict: the response as generated must follow each instruction.
 * Loose: it is enough that one of eight variants does (the response; without its first line,
 * last line, or both; and each of those with every "*" removed), which forgives a preamble such
 * as "Sure, here it is:" and markdown emphasis. Prompt-level accuracy needs every instruction of
 * the item followed; instruction-level counts instructions.
 */
import { BadArgumentError } from '../../errors/errors.js';
import { checkInstruction, instructionKwargs, isSupportedInstruction, type IfevalKwargs } from './checks.js';

export interface IfevalItem {
  readonly key: number | string;
  readonly prompt: string;
  readonly instructions: readonly { readonly id: string; readonly kwargs: IfevalKwargs }[];
}

export interface IfevalItemScore {
  readonly strict: readonly boolean[];
  readonly loose: readonly boolean[];
}

export interface IfevalMetrics {
  readonly prompt_level_strict_acc: number;
  readonly inst_level_strict_acc: number;
  readonly prompt_level_loose_acc: number;
  readonly inst_level_loose_acc: number;
  /** Mean of the four: the single figure Meta's model card reports for IFEval. */
  readonly ifeval_average: number;
}

/**
 * Reads one dataset row. Rows using an instruction this harness cannot check return the ids
 * instead of an item, so the caller skips and reports them rather than scoring them as passed.
 */
export function parseIfevalRow(row: Readonly<Record<string, unknown>>, where: string): IfevalItem | { readonly unsupported: string[] } {
  const ids = row.instruction_id_list;
  if (!Array.isArray(ids) || !ids.every((x) => typeof x === 'string') || ids.length === 0) throw new BadArgumentError(`${where}: "instruction_id_list" must be a non-empty list of strings`);
  if (typeof row.prompt !== 'string') throw new BadArgumentError(`${where}: "prompt" must be a string`);
  const kwargs = row.kwargs ?? ids.map(() => ({}));
  if (!Array.isArray(kwargs) || kwargs.length !== ids.length) throw new BadArgumentError(`${where}: "kwargs" must be a list with one entry per instruction`);
  const unsupported = (ids as string[]).filter((id) => !isSupportedInstruction(id));
  if (unsupported.length > 0) return { unsupported };
  const key = typeof row.key === 'number' || typeof row.key === 'string' ? row.key : where;
  return { key, prompt: row.prompt, instructions: (ids as string[]).map((id, i) => ({ id, kwargs: instructionKwargs(id, kwargs[i], where) })) };
}

/** The eight response variants of loose scoring. */
export function looseVariants(response: string): string[] {
  const lines = response.split('\n');
  const noFirst = lines.slice(1).join('\n').trim();
  const noLast = lines.slice(0, -1).join('\n').trim();
  const noBoth = lines.slice(1, -1).join('\n').trim();
  const unstar = (s: string): string => s.split('*').join('');
  return [response, unstar(response), noFirst, noLast, noBoth, unstar(noFirst), unstar(noLast), unstar(noBoth)];
}

export function scoreIfevalItem(item: IfevalItem, response: string): IfevalItemScore {
  const variants = looseVariants(response).filter((v) => v.trim() !== '');
  const strict = item.instructions.map((ins) => response.trim() !== '' && checkInstruction(ins.id, response, ins.kwargs));
  const loose = item.instructions.map((ins) => variants.some((v) => checkInstruction(ins.id, v, ins.kwargs)));
  return { strict, loose };
}

export function aggregateIfeval(scores: readonly IfevalItemScore[]): IfevalMetrics {
  if (scores.length === 0) throw new BadArgumentError('IFEval: no scored items');
  const prompt = (k: 'strict' | 'loose'): number => scores.filter((s) => s[k].every(Boolean)).length / scores.length;
  const inst = (k: 'strict' | 'loose'): number => {
    const all = scores.flatMap((s) => s[k]);
    return all.filter(Boolean).length / all.length;
  };
  const m = { prompt_level_strict_acc: prompt('strict'), inst_level_strict_acc: inst('strict'), prompt_level_loose_acc: prompt('loose'), inst_level_loose_acc: inst('loose') };
  return { ...m, ifeval_average: (m.prompt_level_strict_acc + m.inst_level_strict_acc + m.prompt_level_loose_acc + m.inst_level_loose_acc) / 4 };
}
