/** `/save` and `/load` of a chat: the system prompt and the history as JSON. */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import type { ChatMessage } from '../chat/types.js';
import { BadArgumentError, FileNotFoundError } from '../errors/errors.js';

export interface SavedChat {
  readonly system: string | undefined;
  readonly messages: readonly ChatMessage[];
}

const ROLES = new Set(['user', 'assistant', 'tool', 'ipython']);

export function saveChat(path: string, chat: SavedChat): void {
  writeFileSync(path, JSON.stringify({ format: 'llama-ts-chat', version: 1, system: chat.system ?? null, messages: chat.messages }, null, 2) + '\n');
}

export function loadChat(path: string): SavedChat {
  if (!existsSync(path)) throw new FileNotFoundError(path);
  let json: unknown;
  try {
    json = JSON.parse(readFileSync(path, 'utf8'));
  } catch (e) {
    throw new BadArgumentError(`${path} is not a saved chat (invalid JSON: ${(e as Error).message})`);
  }
  const o = json as { system?: unknown; messages?: unknown };
  if (typeof o !== 'object' || o === null || !Array.isArray(o.messages)) throw new BadArgumentError(`${path} is not a saved chat (no messages list)`);
  if (o.system !== undefined && o.system !== null && typeof o.system !== 'string') throw new BadArgumentError(`${path}: system must be a string`);
  o.messages.forEach((m: unknown, i) => {
    const r = m as { role?: unknown; content?: unknown; tool_calls?: unknown };
    const ok = typeof r === 'object' && r !== null && typeof r.role === 'string' && ROLES.has(r.role) &&
      (typeof r.content === 'string' || ((r.content === undefined || r.content === null) && Array.isArray(r.tool_calls)));
    if (!ok) throw new BadArgumentError(`${path}: message ${i} is not a user/assistant/tool message with text content`);
  });
  return { system: typeof o.system === 'string' ? o.system : undefined, messages: o.messages as ChatMessage[] };
}
