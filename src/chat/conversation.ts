/**
 * A chat in progress: system prompt, history and tools, turned into prompt ids for the model's
 * template (or the built-in format), and fitted into a context window — reporting, never
 * silently dropping, what does not fit.
 */
import type { Tokenizer } from '../tokenizer/types.js';
import { ContextOverflowError, BadArgumentError } from '../errors/errors.js';
import { renderChat, type EncodedChat } from './encode.js';
import type { ChatFormatName } from './formats.js';
import { pyStrftime } from './jinja-compat.js';
import { chatTemplateFor, type ChatTemplate } from './template.js';
import { assistantMessageFromParsed, toolResultMessage, type ParsedAssistantMessage } from './tools.js';
import type { ChatMessage, JsonValue, ToolDefinition } from './types.js';

export interface ConversationOptions {
  readonly system?: string;
  /** The model's Jinja chat template; absent = built-in format chosen from the tokenizer. */
  readonly template?: string | ChatTemplate;
  readonly format?: ChatFormatName;
  readonly tools?: readonly ToolDefinition[];
  readonly builtinTools?: readonly string[];
  /** Llama 3.1 "Today Date" (default: today, e.g. "26 Jul 2024"). */
  readonly dateString?: string;
  /** Any other template variables. */
  readonly extra?: Readonly<Record<string, unknown>>;
}

export interface FitOptions {
  /** Tokens the context holds. */
  readonly contextSize: number;
  /** Tokens to keep free for the reply (default 0). */
  readonly reserve?: number;
  /** Drop the oldest turns until the prompt fits (default false: throw instead). */
  readonly dropOldest?: boolean;
}

export interface FitResult {
  /** The prompt (with the assistant header appended). */
  readonly ids: number[];
  /** Messages removed from the history to make it fit, oldest first (empty if none). */
  readonly dropped: readonly ChatMessage[];
}

export class Conversation {
  private systemPrompt: string | undefined;
  private history: ChatMessage[] = [];
  private readonly template: ChatTemplate | undefined;

  constructor(
    private readonly tokenizer: Tokenizer,
    private readonly options: ConversationOptions = {},
  ) {
    this.systemPrompt = options.system;
    this.template = typeof options.template === 'string' ? chatTemplateFor(options.template) : options.template;
  }

  get system(): string | undefined {
    return this.systemPrompt;
  }

  /** Replaces the system prompt (undefined or '' removes it); it persists across turns and resets. */
  setSystem(text: string | undefined): void {
    this.systemPrompt = text === '' ? undefined : text;
  }

  /** The history without the system prompt. */
  get messages(): readonly ChatMessage[] {
    return this.history;
  }

  /** Everything the template sees: the system prompt, then the history. */
  allMessages(): ChatMessage[] {
    return this.systemPrompt !== undefined ? [{ role: 'system', content: this.systemPrompt }, ...this.history] : [...this.history];
  }

  add(message: ChatMessage): void {
    if (message.role === 'system') throw new BadArgumentError('set the system prompt with setSystem(), not as a history message');
    this.history.push(message);
  }

  addUser(text: string): void {
    this.add({ role: 'user', content: text });
  }

  /** Adds the model's reply, as text or as a parsed message (its tool calls kept as tool_calls). */
  addAssistant(reply: string | ParsedAssistantMessage): void {
    this.add(typeof reply === 'string' ? { role: 'assistant', content: reply } : assistantMessageFromParsed(reply));
  }

  addToolResult(result: JsonValue, options: { builtin?: boolean; toolCallId?: string; name?: string } = {}): void {
    this.add(toolResultMessage(result, options));
  }

  /** Clears the history; the system prompt and tools stay. */
  reset(): void {
    this.history = [];
  }

  /** Removes and returns the last message (e.g. a user turn that cannot fit). */
  pop(): ChatMessage | undefined {
    return this.history.pop();
  }

  render(addGenerationPrompt = true): EncodedChat {
    const o = this.options;
    return renderChat(this.tokenizer, this.template, this.allMessages(), {
      addGenerationPrompt,
      ...(o.format ? { format: o.format } : {}),
      ...(o.tools && o.tools.length > 0 ? { tools: o.tools } : {}),
      ...(o.builtinTools ? { builtinTools: o.builtinTools } : {}),
      dateString: o.dateString ?? pyStrftime(new Date(), '%d %b %Y'),
      ...(o.extra ? { extra: o.extra } : {}),
    });
  }

  /** The prompt ids for the next reply. */
  toIds(): number[] {
    return this.render(true).ids;
  }

  /**
   * The prompt ids, checked against `contextSize - reserve`. Without `dropOldest` an overflow
   * throws ContextOverflowError; with it, whole turns (a user message and the replies and tool
   * results after it) are removed from the start of the history and returned. The last turn is
   * never dropped: if it alone does not fit, ContextOverflowError is thrown and nothing is removed.
   */
  fit(options: FitOptions): FitResult {
    const capacity = options.contextSize - (options.reserve ?? 0);
    if (!Number.isInteger(capacity) || capacity <= 0) {
      throw new BadArgumentError(`contextSize ${options.contextSize} minus reserve ${options.reserve ?? 0} leaves no room for a prompt`);
    }
    let ids = this.toIds();
    if (ids.length <= capacity) return { ids, dropped: [] };
    if (!options.dropOldest) throw new ContextOverflowError(ids.length, capacity, 'the conversation');
    const saved = this.history;
    const dropped: ChatMessage[] = [];
    for (;;) {
      const next = turnEnd(this.history);
      if (next >= this.history.length) {
        this.history = saved;
        const alone = ids.length;
        throw new ContextOverflowError(alone, capacity, 'the last turn (with the system prompt)');
      }
      dropped.push(...this.history.slice(0, next));
      this.history = this.history.slice(next);
      ids = this.toIds();
      if (ids.length <= capacity) return { ids, dropped };
    }
  }
}

/** Index where the second turn begins (a turn starts at a user message). */
function turnEnd(history: readonly ChatMessage[]): number {
  let i = 1;
  while (i < history.length && history[i]!.role !== 'user') i++;
  return i;
}
