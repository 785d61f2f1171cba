/**
 * Built-in prompt formats for models that carry no chat template, written from Meta's reference
 * formatters (llama-models chat_format.py, the Llama 2 `chat_completion`) and the official
 * Llama 3.1 Instruct template. They produce pieces — special tokens by name, template text, and
 * user content — so encode.ts can insert specials by id and keep content plain.
 */
import type { Tokenizer } from '../tokenizer/types.js';
import { pyLStrip, pyRStrip, pyStrip } from './jinja-compat.js';
import { pyJsonDumps } from './py-json.js';
import { ChatTemplateError } from './template-error.js';
import { contentText, type ChatMessage, type JsonObject, type ToolDefinition } from './types.js';

/** A special token (by its text), or text owned by the format, or user-supplied content. */
export type ChatPiece = { readonly special: string } | { readonly text: string; readonly content?: true };

/**
 * 'llama3': header format (<|start_header_id|>role<|end_header_id|>\n\n…<|eot_id|>);
 * 'llama3.1': the same plus the 3.1 system preamble, tools, ipython and <|python_tag|>/<|eom_id|>;
 * 'llama2': [INST] <<SYS>>…<</SYS>> … [/INST] turns between BOS and EOS.
 */
export type ChatFormatName = 'llama3' | 'llama3.1' | 'llama2';

export interface ChatFormatOptions {
  readonly addGenerationPrompt?: boolean;
  readonly tools?: readonly ToolDefinition[] | null;
  readonly builtinTools?: readonly string[];
  /** Llama 3.1 "Today Date" (default "26 Jul 2024", as the official template). */
  readonly dateString?: string;
  /** Llama 3.1: custom tools go in the first user message (default, as the template) or the system message. */
  readonly toolsInUserMessage?: boolean;
}

/** Chooses the format from the tokenizer's special tokens, never from a file name. */
export function detectChatFormat(tokenizer: Tokenizer): ChatFormatName {
  if (tokenizer.specialId('<|start_header_id|>') !== undefined && tokenizer.specialId('<|eot_id|>') !== undefined) {
    return tokenizer.specialId('<|python_tag|>') !== undefined && tokenizer.specialId('<|eom_id|>') !== undefined ? 'llama3.1' : 'llama3';
  }
  return 'llama2';
}

export function formatChat(format: ChatFormatName, messages: readonly ChatMessage[], options: ChatFormatOptions = {}): ChatPiece[] {
  switch (format) {
    case 'llama3':
      return formatLlama3(messages, options, false);
    case 'llama3.1':
      return formatLlama3(messages, options, true);
    case 'llama2':
      return formatLlama2(messages, options);
  }
}

/** The pieces as one string (special tokens as their text). */
export function piecesToText(pieces: readonly ChatPiece[]): string {
  return pieces.map((p) => ('special' in p ? p.special : p.text)).join('');
}

// ---- Llama 3 / 3.1 ----------------------------------------------------------------------------

const BOT = '<|begin_of_text|>';
const SH = '<|start_header_id|>';
const EH = '<|end_header_id|>';
const EOT = '<|eot_id|>';
const EOM = '<|eom_id|>';
const PY = '<|python_tag|>';

const TOOL_PROMPT_HEAD = 'Given the following functions, please respond with a JSON for a function call with its proper arguments that best answers the given prompt.\n\n';
const TOOL_FORMAT =
  'Respond in the format {"name": function name, "parameters": dictionary of argument name and its value}.Do not use variables.\n\n';
const SYSTEM_TOOL_HEAD = 'You have access to the following functions. To call a function, please respond with JSON for a function call.';

function header(out: ChatPiece[], role: string): void {
  out.push({ special: SH }, { text: role }, { special: EH }, { text: '\n\n' });
}

function content(out: ChatPiece[], text: string): void {
  if (text !== '') out.push({ text, content: true });
}

const trimmed = (m: ChatMessage): string => pyStrip(contentText(m.content));

function toolSchemas(out: ChatPiece[], tools: readonly ToolDefinition[]): void {
  for (const t of tools) out.push({ text: pyJsonDumps(t, 4) + '\n\n' });
}

function formatLlama3(messages: readonly ChatMessage[], o: ChatFormatOptions, v31: boolean): ChatPiece[] {
  const out: ChatPiece[] = [{ special: BOT }];
  let rest = messages;
  const tools = o.tools && o.tools.length > 0 ? o.tools : undefined;
  const builtin = o.builtinTools;
  if (!v31 && builtin !== undefined) throw new ChatTemplateError('built-in tools need a Llama 3.1 tokenizer (<|python_tag|>, <|eom_id|>)');

  if (v31) {
    let system = '';
    if (rest[0]?.role === 'system') {
      system = trimmed(rest[0]);
      rest = rest.slice(1);
    }
    header(out, 'system');
    let pre = '';
    if (builtin !== undefined || tools) pre += 'Environment: ipython\n';
    if (builtin !== undefined) pre += 'Tools: ' + builtin.filter((t) => t !== 'code_interpreter').join(', ') + '\n\n';
    pre += 'Cutting Knowledge Date: December 2023\nToday Date: ' + (o.dateString ?? '26 Jul 2024') + '\n\n';
    out.push({ text: pre });
    if (tools && o.toolsInUserMessage === false) {
      out.push({ text: SYSTEM_TOOL_HEAD + TOOL_FORMAT });
      toolSchemas(out, tools);
    }
    content(out, system);
    out.push({ special: EOT });
  } else if (rest[0]?.role === 'system' && tools) {
    header(out, 'system');
    content(out, trimmed(rest[0]));
    out.push({ special: EOT });
    rest = rest.slice(1);
  }

  if (tools && (!v31 || o.toolsInUserMessage !== false)) {
    const first = rest[0];
    if (first === undefined) throw new ChatTemplateError("Cannot put tools in the first user message when there's no first user message!");
    rest = rest.slice(1);
    header(out, 'user');
    out.push({ text: TOOL_PROMPT_HEAD + TOOL_FORMAT });
    toolSchemas(out, tools);
    content(out, trimmed(first));
    out.push({ special: EOT });
  }

  for (const m of rest) {
    if (m.tool_calls && m.tool_calls.length > 0) {
      if (m.tool_calls.length !== 1) throw new ChatTemplateError('This model only supports single tool-calls at once!');
      const fn = m.tool_calls[0]!.function;
      const args = typeof fn.arguments === 'string' ? parseArgs(fn.arguments) : fn.arguments;
      header(out, 'assistant');
      if (v31 && builtin !== undefined && builtin.includes(fn.name)) {
        out.push({ special: PY });
        if (fn.name === 'code_interpreter' && typeof args.code === 'string') {
          // Meta's formatter sends code_interpreter calls as the bare code.
          content(out, args.code);
        } else {
          out.push({ text: fn.name + '.call(' });
          Object.entries(args).forEach(([k, v], i) => {
            out.push({ text: (i > 0 ? ', ' : '') + k + '="' });
            content(out, typeof v === 'string' ? v : pyJsonDumps(v));
            out.push({ text: '"' });
          });
          out.push({ text: ')' });
        }
      } else {
        out.push({ text: '{"name": "' + fn.name + '", "parameters": ' });
        content(out, pyJsonDumps(args));
        out.push({ text: '}' });
      }
      out.push({ special: v31 && builtin !== undefined ? EOM : EOT });
    } else if (v31 && (m.role === 'tool' || m.role === 'ipython')) {
      // The official template JSON-encodes string results (a quirk of `is iterable`); Meta's
      // reference formatter sends the text itself, as done here.
      header(out, 'ipython');
      content(out, contentText(m.content));
      out.push({ special: EOT });
    } else {
      header(out, m.role);
      content(out, trimmed(m));
      out.push({ special: EOT });
    }
  }
  if (o.addGenerationPrompt) header(out, 'assistant');
  return out;
}

function parseArgs(text: string): JsonObject {
  try {
    const v: unknown = JSON.parse(text);
    if (v !== null && typeof v === 'object' && !Array.isArray(v)) return v as JsonObject;
  } catch {
    // fall through
  }
  throw new ChatTemplateError(`tool call arguments are not a JSON object: ${text.slice(0, 80)}`);
}

// ---- Llama 2 ----------------------------------------------------------------------------------

const BOS2 = '<s>';
const EOS2 = '</s>';

/**
 * Meta's Llama 2 chat_completion: the system prompt is folded into the first user turn; each
 * (user, assistant) pair is BOS "[INST] u [/INST] a " EOS; a final user turn is BOS "[INST] u [/INST]".
 */
function formatLlama2(messages: readonly ChatMessage[], o: ChatFormatOptions): ChatPiece[] {
  if ((o.tools && o.tools.length > 0) || o.builtinTools !== undefined) throw new ChatTemplateError('the Llama 2 chat format has no tool calling');
  let turns: Array<{ role: string; parts: ChatPiece[] }> = messages.map((m) => {
    if (m.role !== 'user' && m.role !== 'assistant' && m.role !== 'system') throw new ChatTemplateError(`the Llama 2 chat format has no '${m.role}' role`);
    if (m.tool_calls && m.tool_calls.length > 0) throw new ChatTemplateError('the Llama 2 chat format has no tool calling');
    return { role: m.role, parts: [{ text: contentText(m.content), content: true as const }] };
  });
  if (turns[0]?.role === 'system') {
    const sys = turns[0];
    const first = turns[1];
    if (first === undefined || first.role !== 'user') throw new ChatTemplateError('Conversation roles must alternate user/assistant/user/assistant/...');
    turns = [{ role: 'user', parts: [{ text: '<<SYS>>\n' }, ...sys.parts, { text: '\n<</SYS>>\n\n' }, ...first.parts] }, ...turns.slice(2)];
  }
  turns.forEach((t, i) => {
    if (t.role !== (i % 2 === 0 ? 'user' : 'assistant')) throw new ChatTemplateError('Conversation roles must alternate user/assistant/user/assistant/...');
  });
  const out: ChatPiece[] = [];
  for (let i = 0; i < turns.length; i += 2) {
    const user = turns[i]!;
    const answer = turns[i + 1];
    out.push({ special: BOS2 }, { text: '[INST] ' }, ...stripParts(user.parts), { text: ' [/INST]' });
    if (answer) out.push({ text: ' ' }, ...stripParts(answer.parts), { text: ' ' }, { special: EOS2 });
  }
  return out;
}

/** Python str.strip() over a run of text pieces (only the outer ends are stripped). */
function stripParts(parts: readonly ChatPiece[]): ChatPiece[] {
  const out = parts.flatMap((p) => ('special' in p ? [] : [{ text: p.text, content: p.content }]));
  for (let i = 0; i < out.length; i++) {
    out[i]!.text = pyLStrip(out[i]!.text);
    if (out[i]!.text !== '') break;
  }
  for (let i = out.length - 1; i >= 0; i--) {
    out[i]!.text = pyRStrip(out[i]!.text);
    if (out[i]!.text !== '') break;
  }
  return out.filter((p) => p.text !== '').map((p) => (p.content ? { text: p.text, content: true as const } : { text: p.text }));
}
