/**
 * Chat message and tool shapes, OpenAI-style (what HF chat templates and the server speak).
 */

export type ChatRole = 'system' | 'user' | 'assistant' | 'tool' | 'ipython';

/** One part of a multi-part content array (only text parts are meaningful to a text model). */
export interface ChatContentPart {
  readonly type: 'text';
  readonly text: string;
}

export type ChatContent = string | readonly ChatContentPart[];

/** JSON values as they appear in tool arguments and schemas. */
export type JsonValue = string | number | boolean | null | readonly JsonValue[] | { readonly [key: string]: JsonValue };
export type JsonObject = { readonly [key: string]: JsonValue };

export interface ChatToolCall {
  readonly id?: string;
  readonly type?: 'function';
  readonly function: {
    readonly name: string;
    /** An object, or its JSON text (OpenAI sends a string); templates receive the object. */
    readonly arguments: JsonObject | string;
  };
}

export interface ChatMessage {
  readonly role: ChatRole;
  /** Absent or null on an assistant message that only carries tool calls. */
  readonly content?: ChatContent | null;
  readonly tool_calls?: readonly ChatToolCall[];
  readonly tool_call_id?: string;
  readonly name?: string;
}

/** An OpenAI-style function tool definition. */
export interface ToolDefinition {
  readonly type: 'function';
  readonly function: {
    readonly name: string;
    readonly description?: string;
    readonly parameters?: JsonObject;
  };
}

/** Llama 3.1's built-in tools; code_interpreter is implied by "Environment: ipython". */
export type BuiltinToolName = 'brave_search' | 'wolfram_alpha' | 'code_interpreter';

/** Text of a content value: a string as is, text parts joined, absent/null as ''. */
export function contentText(content: ChatContent | null | undefined): string {
  if (content === undefined || content === null) return '';
  if (typeof content === 'string') return content;
  return content.map((p) => p.text).join('');
}
