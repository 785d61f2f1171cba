import { readFileSync } from 'node:fs';
import { fixture, HAVE_FIXTURES } from '../fixtures.js';
import type { ChatMessage, ToolDefinition } from '../../src/chat/types.js';

/** The shape of fixtures/chat/chat.golden.json (README §4). */
export interface GoldenConversation {
  name: string;
  messages: ChatMessage[];
  tools?: ToolDefinition[];
  builtin_tools?: string[];
  add_generation_prompt?: boolean;
}
export interface ChatGolden {
  templates: Record<string, { chat_template: string }>;
  conversations: GoldenConversation[];
  results: Record<string, Record<string, { rendered: string; ids: number[]; rendered_by: string }>>;
}

export function readChatGolden(): ChatGolden | undefined {
  return HAVE_FIXTURES ? (JSON.parse(readFileSync(fixture('chat', 'chat.golden.json'), 'utf8')) as ChatGolden) : undefined;
}

/** Render options every golden case was made with. */
export function goldenOptions(c: GoldenConversation) {
  return {
    bosToken: '<|begin_of_text|>',
    addGenerationPrompt: c.add_generation_prompt ?? true,
    dateString: '26 Jul 2024',
    tools: c.tools ?? null,
    ...(c.builtin_tools ? { builtinTools: c.builtin_tools } : {}),
  };
}
