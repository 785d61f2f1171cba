/**
 * Llama 3.1 tool calling: turns what the model emits into structured calls, incrementally.
 *
 * Formats recognised (as Meta's llama-models tool_utils and the 3.1 prompt format describe them):
 *   - custom tools as JSON at the start of the message: {"name": …, "parameters": {…}} (or
 *     "arguments"), several separated by ';' or newlines;
 *   - <function=name>{…}</function> blocks anywhere in the text (the closing tag may be missing
 *     at the end of the message);
 *   - after <|python_tag|>: `brave_search.call(query="…")`, `wolfram_alpha.call(query="…")`, any
 *     `tool.call(k="v", …)`, JSON calls, or else Python code for code_interpreter;
 *   - <|eom_id|> (the model waits for a tool result) versus <|eot_id|> (turn over).
 * Malformed calls never throw: their text becomes ordinary content and `parseError` says why.
 */
import type { ChatMessage, JsonObject, JsonValue } from './types.js';

export const PYTHON_TAG = '<|python_tag|>';
export const EOM = '<|eom_id|>';
export const EOT = '<|eot_id|>';
const FUNC_OPEN = '<function=';
const FUNC_CLOSE = '</function>';

/** The built-in tools Llama 3.1 was trained to call as `name.call(…)` after <|python_tag|>. */
export const BUILTIN_TOOLS: readonly string[] = ['brave_search', 'wolfram_alpha', 'photogen', 'code_interpreter'];

export interface ParsedToolCall {
  readonly name: string;
  readonly arguments: JsonObject;
  /** 'builtin' for Llama 3.1's built-in tools (brave_search, wolfram_alpha, code_interpreter…). */
  readonly kind: 'custom' | 'builtin';
  /** The text the call was parsed from. */
  readonly raw?: string;
}

export interface BuiltinToolCall {
  readonly tool: string;
  /** {query: …} for the search tools, {code: …} for code_interpreter. */
  readonly arguments: JsonObject;
  readonly raw: string;
}

export interface ParsedAssistantMessage {
  /** The message's plain text (tool-call syntax removed). */
  readonly content: string;
  /** Every call in the message, custom and built-in, in order. */
  readonly toolCalls: readonly ParsedToolCall[];
  /** The built-in tool call, if the message made one (also present in toolCalls). */
  readonly builtin?: BuiltinToolCall;
  /** True when the message ended with <|eom_id|>: the model expects a tool result next. */
  readonly endOfMessage: boolean;
  /** Why some tool-call-looking text was kept as plain content. */
  readonly parseError?: string;
}

export type ToolStreamEvent = { readonly type: 'text'; readonly text: string } | { readonly type: 'tool_call'; readonly call: ParsedToolCall };

export interface FinishOptions {
  /** How generation ended, when the end token is not part of the text (e.g. a stop id). */
  readonly endToken?: 'eom' | 'eot';
}

type State = 'start' | 'text' | 'json' | 'function' | 'python' | 'between';

const TEXT_MARKERS = [FUNC_OPEN, PYTHON_TAG, EOM, EOT] as const;

/**
 * Incremental parser: push() decoded text as it is generated and get events back. Plain text is
 * released as soon as it cannot be the start of a tool call; tool-call syntax is never released
 * as text unless it turns out to be malformed.
 */
export class ToolCallStreamParser {
  private state: State = 'start';
  private buf = '';
  private content = '';
  private readonly calls: ParsedToolCall[] = [];
  private builtin: BuiltinToolCall | undefined;
  private readonly errors: string[] = [];
  private ended = false;
  private endToken: 'eom' | 'eot' | undefined;
  private finished: ParsedAssistantMessage | undefined;

  push(delta: string): ToolStreamEvent[] {
    if (this.finished) throw new Error('ToolCallStreamParser: push() after finish()');
    if (this.ended) return [];
    this.buf += delta;
    const out: ToolStreamEvent[] = [];
    this.cutAtEndMarker();
    this.drain(out, this.ended);
    return out;
  }

  /** Ends the message; returns the last events and the whole parsed message. */
  finish(options: FinishOptions = {}): { events: ToolStreamEvent[]; message: ParsedAssistantMessage } {
    if (this.finished) return { events: [], message: this.finished };
    const events: ToolStreamEvent[] = [];
    this.cutAtEndMarker();
    this.drain(events, true);
    const endToken = this.endToken ?? options.endToken;
    const message: ParsedAssistantMessage = {
      content: this.content,
      toolCalls: [...this.calls],
      ...(this.builtin ? { builtin: this.builtin } : {}),
      endOfMessage: endToken === 'eom',
      ...(this.errors.length ? { parseError: this.errors.join('; ') } : {}),
    };
    this.finished = message;
    return { events, message };
  }

  /** <|eom_id|> / <|eot_id|> end the message: nothing after them belongs to it. */
  private cutAtEndMarker(): void {
    if (this.ended) return;
    const m = earliest(this.buf, [EOM, EOT]);
    if (m) {
      this.buf = this.buf.slice(0, m.index);
      this.endToken = m.marker === EOM ? 'eom' : 'eot';
      this.ended = true;
    }
  }

  private emitText(out: ToolStreamEvent[], text: string): void {
    if (text === '') return;
    this.content += text;
    const last = out[out.length - 1];
    if (last && last.type === 'text') out[out.length - 1] = { type: 'text', text: last.text + text };
    else out.push({ type: 'text', text });
  }

  private emitCall(out: ToolStreamEvent[], call: ParsedToolCall): void {
    this.calls.push(call);
    out.push({ type: 'tool_call', call });
  }

  private fail(out: ToolStreamEvent[], raw: string, why: string): void {
    this.errors.push(why);
    this.emitText(out, raw);
  }

  private drain(out: ToolStreamEvent[], final: boolean): void {
    for (;;) {
      const before = this.state + '\u0000' + this.buf;
      switch (this.state) {
        case 'start':
        case 'between':
          this.atBoundary(out, final);
          break;
        case 'text':
          this.inText(out, final);
          break;
        case 'json':
          this.inJson(out, final);
          break;
        case 'function':
          this.inFunction(out, final);
          break;
        case 'python':
          if (final) {
            this.parsePython(out, this.buf);
            this.buf = '';
            this.state = 'text';
          }
          break;
      }
      if (this.state + '\u0000' + this.buf === before) return;
    }
  }

  /**
   * At the start of the message or right after a call: whitespace (and ';' between calls) is
   * held back until we know whether another call follows.
   */
  private atBoundary(out: ToolStreamEvent[], final: boolean): void {
    const sep = this.state === 'between' ? /^[\s;]*/ : /^\s*/;
    const lead = sep.exec(this.buf)![0];
    const rest = this.buf.slice(lead.length);
    if (rest === '') {
      if (final) {
        if (this.state === 'start') this.emitText(out, lead);
        this.buf = '';
        this.state = 'text';
      }
      return;
    }
    if (rest.startsWith('{')) {
      this.buf = rest;
      this.state = 'json';
    } else if (rest.startsWith(FUNC_OPEN)) {
      this.buf = rest;
      this.state = 'function';
    } else if (rest.startsWith(PYTHON_TAG)) {
      this.buf = rest.slice(PYTHON_TAG.length);
      this.state = 'python';
    } else if (!final && (FUNC_OPEN.startsWith(rest) || PYTHON_TAG.startsWith(rest))) {
      return;
    } else {
      this.state = 'text';
    }
  }

  private inText(out: ToolStreamEvent[], final: boolean): void {
    const m = earliest(this.buf, TEXT_MARKERS);
    if (m) {
      this.emitText(out, this.buf.slice(0, m.index));
      this.buf = this.buf.slice(m.index);
      if (m.marker === FUNC_OPEN) {
        this.state = 'function';
      } else if (m.marker === PYTHON_TAG) {
        this.buf = this.buf.slice(PYTHON_TAG.length);
        this.state = 'python';
      }
      return;
    }
    const hold = final ? 0 : heldPrefix(this.buf, TEXT_MARKERS);
    this.emitText(out, this.buf.slice(0, this.buf.length - hold));
    this.buf = this.buf.slice(this.buf.length - hold);
  }

  private inJson(out: ToolStreamEvent[], final: boolean): void {
    const end = jsonObjectEnd(this.buf);
    if (end < 0) {
      if (final) {
        this.fail(out, this.buf, `unterminated JSON tool call: ${clip(this.buf)}`);
        this.buf = '';
        this.state = 'text';
      }
      return;
    }
    const raw = this.buf.slice(0, end);
    const call = jsonToolCall(raw);
    if (call.ok) {
      this.emitCall(out, call.call);
      this.buf = this.buf.slice(end);
      this.state = 'between';
    } else if (call.looksLikeCall) {
      // Malformed JSON where a call is expected, or a call with bad arguments.
      this.fail(out, raw, call.error);
      this.buf = this.buf.slice(end);
      this.state = 'text';
    } else {
      // A JSON answer that is not a tool call is ordinary content.
      this.state = 'text';
    }
  }

  private inFunction(out: ToolStreamEvent[], final: boolean): void {
    const close = this.buf.indexOf(FUNC_CLOSE);
    if (close < 0 && !final) return;
    const raw = close < 0 ? this.buf : this.buf.slice(0, close + FUNC_CLOSE.length);
    const inner = close < 0 ? this.buf.slice(FUNC_OPEN.length) : this.buf.slice(FUNC_OPEN.length, close);
    this.buf = close < 0 ? '' : this.buf.slice(close + FUNC_CLOSE.length);
    const gt = inner.indexOf('>');
    const name = gt < 0 ? '' : inner.slice(0, gt).trim();
    if (!/^[\w.-]+$/.test(name)) {
      this.fail(out, raw, `bad <function=…> tag: ${clip(raw)}`);
      this.state = 'text';
      return;
    }
    const body = inner.slice(gt + 1).trim();
    const args = body === '' ? ({} as JsonObject) : parseJsonObject(body);
    if (args === undefined) {
      this.fail(out, raw, `arguments of <function=${name}> are not a JSON object: ${clip(body)}`);
      this.state = 'text';
      return;
    }
    this.emitCall(out, { name, arguments: args, kind: 'custom', raw });
    this.state = 'between';
  }

  /** Everything after <|python_tag|>: a JSON call, `tool.call(…)`, or code. */
  private parsePython(out: ToolStreamEvent[], text: string): void {
    const code = text.trim();
    if (code === '') {
      this.fail(out, '', 'empty <|python_tag|> call');
      return;
    }
    if (code.startsWith('{')) {
      const calls = jsonToolCalls(code);
      if (calls) {
        for (const c of calls) this.emitCall(out, c);
        return;
      }
    }
    const m = /^([A-Za-z_]\w*)\.call\(([\s\S]*)\)\s*;?$/.exec(code);
    if (m) {
      const args = parseCallKwargs(m[2]!);
      if (args !== undefined) {
        const name = m[1]!;
        const builtin = BUILTIN_TOOLS.includes(name);
        const call: ParsedToolCall = { name, arguments: args, kind: builtin ? 'builtin' : 'custom', raw: PYTHON_TAG + text };
        if (builtin && !this.builtin) this.builtin = { tool: name, arguments: args, raw: code };
        this.emitCall(out, call);
        return;
      }
    }
    const args: JsonObject = { code };
    if (!this.builtin) this.builtin = { tool: 'code_interpreter', arguments: args, raw: code };
    this.emitCall(out, { name: 'code_interpreter', arguments: args, kind: 'builtin', raw: PYTHON_TAG + text });
  }
}

/** Parses a complete assistant message (text as generated, special-token text included). */
export function parseAssistantMessage(text: string, options: FinishOptions = {}): ParsedAssistantMessage {
  const p = new ToolCallStreamParser();
  p.push(text);
  return p.finish(options).message;
}

/** The assistant message to put in the history for a parsed reply (calls as OpenAI tool_calls). */
export function assistantMessageFromParsed(parsed: ParsedAssistantMessage): ChatMessage {
  if (parsed.toolCalls.length === 0) return { role: 'assistant', content: parsed.content };
  return {
    role: 'assistant',
    ...(parsed.content.trim() !== '' ? { content: parsed.content } : {}),
    tool_calls: parsed.toolCalls.map((c) => ({ type: 'function' as const, function: { name: c.name, arguments: c.arguments } })),
  };
}

/**
 * A tool result for the history. Built-in tools answer as role `ipython`, custom tools as `tool`
 * (the Llama 3.1 template renders both under the ipython header). Objects are sent as JSON text.
 */
export function toolResultMessage(result: JsonValue, options: { builtin?: boolean; toolCallId?: string; name?: string } = {}): ChatMessage {
  return {
    role: options.builtin ? 'ipython' : 'tool',
    content: typeof result === 'string' ? result : JSON.stringify(result),
    ...(options.toolCallId !== undefined ? { tool_call_id: options.toolCallId } : {}),
    ...(options.name !== undefined ? { name: options.name } : {}),
  };
}

// ---- helpers ----------------------------------------------------------------------------------

function earliest(s: string, markers: readonly string[]): { index: number; marker: string } | undefined {
  let best: { index: number; marker: string } | undefined;
  for (const marker of markers) {
    const i = s.indexOf(marker);
    if (i >= 0 && (best === undefined || i < best.index)) best = { index: i, marker };
  }
  return best;
}

/** Length of the longest suffix of s that is a proper prefix of one of the markers. */
function heldPrefix(s: string, markers: readonly string[]): number {
  let best = 0;
  for (const m of markers) {
    for (let k = Math.min(m.length - 1, s.length); k > best; k--) {
      if (s.endsWith(m.slice(0, k))) {
        best = k;
        break;
      }
    }
  }
  return best;
}

/** Index just past the JSON object that starts at s[0] ('{'), or -1 if it is not complete yet. */
function jsonObjectEnd(s: string): number {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < s.length; i++) {
    const c = s[i];
    if (inString) {
      if (c === '\\') i++;
      else if (c === '"') inString = false;
    } else if (c === '"') {
      inString = true;
    } else if (c === '{' || c === '[') {
      depth++;
    } else if (c === '}' || c === ']') {
      depth--;
      if (depth === 0) return i + 1;
    }
  }
  return -1;
}

function parseJsonObject(text: string): JsonObject | undefined {
  try {
    const v: unknown = JSON.parse(text);
    return isObject(v) ? v : undefined;
  } catch {
    return undefined;
  }
}

function isObject(v: unknown): v is JsonObject {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

type JsonCallResult = { ok: true; call: ParsedToolCall } | { ok: false; looksLikeCall: boolean; error: string };

/** One JSON object as a custom tool call: {"name": …, "parameters"|"arguments": {…}}. */
function jsonToolCall(raw: string): JsonCallResult {
  let v: unknown;
  try {
    v = JSON.parse(raw);
  } catch (e) {
    return { ok: false, looksLikeCall: true, error: `malformed JSON tool call (${(e as Error).message}): ${clip(raw)}` };
  }
  if (!isObject(v) || typeof v.name !== 'string') return { ok: false, looksLikeCall: false, error: '' };
  let args: unknown = 'parameters' in v ? v.parameters : v.arguments;
  if (typeof args === 'string') args = parseJsonObject(args) ?? args;
  if (args === undefined || args === null) args = {};
  if (!isObject(args)) return { ok: false, looksLikeCall: true, error: `arguments of tool call "${v.name}" are not an object: ${clip(raw)}` };
  return { ok: true, call: { name: v.name, arguments: args, kind: BUILTIN_TOOLS.includes(v.name) ? 'builtin' : 'custom', raw } };
}

/** Several JSON calls separated by ';' or whitespace, all valid, or undefined. */
function jsonToolCalls(text: string): ParsedToolCall[] | undefined {
  const calls: ParsedToolCall[] = [];
  let rest = text;
  while (rest !== '') {
    const end = jsonObjectEnd(rest);
    if (end < 0) return undefined;
    const r = jsonToolCall(rest.slice(0, end));
    if (!r.ok) return undefined;
    calls.push(r.call);
    rest = rest.slice(end).replace(/^[\s;]+/, '');
  }
  return calls;
}

/** Python keyword arguments: k="v", k='v', k=3, k=True/False/None. */
function parseCallKwargs(text: string): JsonObject | undefined {
  const out: Record<string, JsonValue> = {};
  let i = 0;
  const ws = (): void => {
    while (i < text.length && /\s/.test(text[i]!)) i++;
  };
  ws();
  while (i < text.length) {
    const key = /^[A-Za-z_]\w*/.exec(text.slice(i));
    if (!key) return undefined;
    i += key[0].length;
    ws();
    if (text[i] !== '=') return undefined;
    i++;
    ws();
    const q = text[i];
    if (q === '"' || q === "'") {
      let s = '';
      i++;
      for (;;) {
        if (i >= text.length) return undefined;
        const c = text[i]!;
        if (c === q) break;
        if (c === '\\' && i + 1 < text.length) {
          const e = text[++i]!;
          s += e === 'n' ? '\n' : e === 't' ? '\t' : e === 'r' ? '\r' : e;
        } else {
          s += c;
        }
        i++;
      }
      i++;
      out[key[0]] = s;
    } else {
      const lit = /^[^,\s)]+/.exec(text.slice(i));
      if (!lit) return undefined;
      i += lit[0].length;
      const t = lit[0];
      if (t === 'True' || t === 'False') out[key[0]] = t === 'True';
      else if (t === 'None') out[key[0]] = null;
      else if (/^-?\d+(\.\d+)?([eE][-+]?\d+)?$/.test(t)) out[key[0]] = Number(t);
      else return undefined;
    }
    ws();
    if (i < text.length) {
      if (text[i] !== ',') return undefined;
      i++;
      ws();
    }
  }
  return out;
}

function clip(s: string): string {
  return s.length > 80 ? s.slice(0, 77) + '...' : s;
}
