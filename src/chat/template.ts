/**
 * Renders a model's Jinja chat template the way transformers' apply_chat_template does
 * (jinja2 with trim_blocks + lstrip_blocks, `tojson` as json.dumps, `raise_exception`), using
 * @huggingface/jinja plus the compatibility layer in jinja-compat.ts.
 */
import { parseTemplate, renderProgram, type Program } from './jinja-compat.js';
import { ChatTemplateError } from './template-error.js';
import type { ChatMessage, ToolDefinition } from './types.js';
import { LlamaError } from '../errors/errors.js';

export interface ChatTemplateOptions {
  /** Append the assistant header so the model answers next (transformers' default: false). */
  readonly addGenerationPrompt?: boolean;
  /** OpenAI-style tools; absent = `tools` is none in the template (as transformers passes it). */
  readonly tools?: readonly ToolDefinition[] | null;
  /** Llama 3.1 built-in tools, e.g. ['brave_search', 'wolfram_alpha']; absent = undefined in the template. */
  readonly builtinTools?: readonly string[];
  readonly bosToken?: string;
  readonly eosToken?: string;
  /** "26 Jul 2024" style; absent = undefined (the Llama 3.1 template then uses its own default). */
  readonly dateString?: string;
  /** Any other template variables (they override everything above, like **kwargs). */
  readonly extra?: Readonly<Record<string, unknown>>;
  /** The clock behind `strftime_now` (default: now). */
  readonly now?: () => Date;
}

/** A parsed chat template, reusable across renders. */
export class ChatTemplate {
  readonly source: string;
  private readonly program: Program;

  constructor(source: string) {
    this.source = source;
    try {
      this.program = parseTemplate(source);
    } catch (e) {
      throw new ChatTemplateError(`chat template does not parse: ${(e as Error).message}`, { cause: e });
    }
  }

  render(messages: readonly ChatMessage[], options: ChatTemplateOptions = {}): string {
    return this.renderVariables(templateVariables(messages, options), options.now);
  }

  /** Renders with exactly these variables (already shaped as the template expects). */
  renderVariables(variables: Readonly<Record<string, unknown>>, now?: () => Date): string {
    try {
      return renderProgram(this.program, variables, now ? { now } : {});
    } catch (e) {
      if (e instanceof LlamaError) throw e;
      throw new ChatTemplateError(`chat template failed: ${(e as Error).message}`, { cause: e });
    }
  }
}

const cache = new Map<string, ChatTemplate>();

/** The parsed template for a source text, parsed once per distinct source (a small cache). */
export function chatTemplateFor(source: string): ChatTemplate {
  let t = cache.get(source);
  if (t === undefined) {
    if (cache.size >= 16) cache.clear();
    t = new ChatTemplate(source);
    cache.set(source, t);
  }
  return t;
}

/** Parses (once per distinct source) and renders. */
export function renderChatTemplate(source: string, messages: readonly ChatMessage[], options: ChatTemplateOptions = {}): string {
  return chatTemplateFor(source).render(messages, options);
}

/** The variables transformers passes to a chat template. */
export function templateVariables(messages: readonly ChatMessage[], options: ChatTemplateOptions): Record<string, unknown> {
  const vars: Record<string, unknown> = {
    messages: messages.map(templateMessage),
    tools: options.tools ? jsonClone(options.tools) : null,
    add_generation_prompt: options.addGenerationPrompt ?? false,
  };
  if (options.builtinTools !== undefined) vars.builtin_tools = [...options.builtinTools];
  if (options.bosToken !== undefined) vars.bos_token = options.bosToken;
  if (options.eosToken !== undefined) vars.eos_token = options.eosToken;
  if (options.dateString !== undefined) vars.date_string = options.dateString;
  if (options.extra) Object.assign(vars, jsonClone(options.extra));
  return vars;
}

/**
 * A message as the template sees it: a deep copy without undefined keys (so `'content' in
 * message` is false when content is absent), and tool-call arguments given as JSON text parsed
 * into an object, since templates iterate them (`| items`) or re-encode them (`| tojson`).
 */
function templateMessage(m: ChatMessage): unknown {
  const out = jsonClone(m) as Record<string, unknown>;
  const calls = out.tool_calls;
  if (Array.isArray(calls)) {
    for (const call of calls as Array<{ function?: { arguments?: unknown } }>) {
      const fn = call.function;
      if (fn && typeof fn.arguments === 'string') {
        const parsed = tryParseObject(fn.arguments);
        if (parsed !== undefined) fn.arguments = parsed;
      }
    }
  }
  return out;
}

function tryParseObject(text: string): Record<string, unknown> | undefined {
  try {
    const v: unknown = JSON.parse(text);
    return v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

/** Deep copy of JSON-like data, dropping undefined object members; functions pass through. */
function jsonClone(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(jsonClone);
  if (v !== null && typeof v === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(v)) if (x !== undefined) out[k] = jsonClone(x);
    return out;
  }
  return v;
}
