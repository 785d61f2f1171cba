/**
 * BFCL's file layout: `BFCL_v3_simple.json` holds one question per line
 * (`{"id", "question": [[{"role", "content"}…]], "function": [{…}]}`) and
 * `possible_answer/BFCL_v3_simple.json` the answers (`{"id", "ground_truth": [{fn: {param: [values]}}]}`),
 * joined by id.
 */
import { BadArgumentError } from '../../errors/errors.js';
import type { BfclAnswer } from './ast-match.js';
import { checkBfclFunction, toolFromFunction } from './functions.js';

type Doc = Record<string, unknown>;

/** Adds each answer row's fields (ground_truth) to the question with the same id. */
export function joinById(docs: readonly Doc[], answers: readonly Doc[], where: string): Doc[] {
  const byId = new Map<string, Doc>();
  for (const a of answers) byId.set(String(a.id), a);
  return docs.map((d, i) => {
    const a = byId.get(String(d.id));
    if (a === undefined) throw new BadArgumentError(`${where}: no answer for item ${i + 1} (id ${JSON.stringify(d.id)})`);
    return { ...a, ...d };
  });
}

/**
 * A BFCL question row → fields the task templates use: `user` (the user turn), `system` (any
 * system turns joined, else ""), `tools` (the functions as tool definitions), `functions` and
 * `answer` (for the matcher).
 */
export function processBfcl(d: Doc, where: string): Doc {
  const q = d.question;
  const turns = Array.isArray(q) && Array.isArray(q[0]) ? (q[0] as unknown[]) : Array.isArray(q) ? q : undefined;
  if (!turns || turns.length === 0) throw new BadArgumentError(`${where}: "question" must be a list of turns`);
  const msgs = turns.map((t) => t as { role?: unknown; content?: unknown });
  const users = msgs.filter((m) => m.role === 'user');
  const systems = msgs.filter((m) => m.role === 'system');
  if (users.length !== 1 || users.length + systems.length !== msgs.length || typeof users[0]!.content !== 'string') {
    throw new BadArgumentError(`${where}: a simple question is one user turn (and optional system turns)`);
  }
  const fns = d.function;
  if (!Array.isArray(fns) || fns.length === 0) throw new BadArgumentError(`${where}: "function" must be a non-empty list`);
  const functions = fns.map((f, i) => checkBfclFunction(f, `${where} function ${i + 1}`));
  const gt = d.ground_truth;
  if (!Array.isArray(gt) || gt.length !== 1 || typeof gt[0] !== 'object' || gt[0] === null || Object.keys(gt[0] as object).length !== 1) {
    throw new BadArgumentError(`${where}: "ground_truth" must hold one expected call`);
  }
  const answer = gt[0] as BfclAnswer;
  const name = Object.keys(answer)[0]!;
  if (!functions.some((f) => f.name === name)) throw new BadArgumentError(`${where}: the expected call ${name} is not among the functions`);
  return {
    ...d,
    user: users[0]!.content,
    system: systems.map((s) => String(s.content ?? '')).join('\n'),
    functions,
    tools: functions.map((f) => toolFromFunction(f)),
    answer,
    answer_text: JSON.stringify(answer),
  };
}
