/**
 * Chat messages → token ids. Special tokens written by the template (or built-in format) become
 * their ids; message content is always encoded as plain text, so a user typing "<|eot_id|>"
 * cannot inject a control token.
 *
 * Method: the template is rendered twice, once as is and once with every content string wrapped
 * in two marker characters (outside its leading/trailing whitespace, so `| trim` still works, and
 * inside any `tojson` quoting). Removing the markers must give the first rendering exactly, or
 * the template did something to content this method cannot follow (then see `fallback`). Special
 * tokens are looked for only outside marked spans; the text between two special tokens is then
 * encoded as one plain chunk. That is exactly how a tokenizer splits a whole rendered string on
 * its special tokens before BPE, so for ordinary content the ids equal encode(rendered) — BPE
 * merges across a template/content boundary come out as they would in the whole string.
 */
import type { Tokenizer } from '../tokenizer/types.js';
import { detectChatFormat, formatChat, piecesToText, type ChatFormatName, type ChatPiece } from './formats.js';
import { pyLStrip, pyRStrip } from './jinja-compat.js';
import { ChatTemplate, chatTemplateFor, type ChatTemplateOptions } from './template.js';
import { ChatTemplateError } from './template-error.js';
import type { ChatMessage, ChatToolCall, JsonValue } from './types.js';
import { LlamaError } from '../errors/errors.js';

export interface EncodeChatOptions extends ChatTemplateOptions {
  /** Prepend BOS when the rendering does not begin with it (default false, as transformers). */
  readonly addBos?: boolean;
  /** The built-in format to use when there is no template (default: chosen from the tokenizer). */
  readonly format?: ChatFormatName;
  /** Llama 3.1 built-in format: custom tools in the first user message (default true). */
  readonly toolsInUserMessage?: boolean;
}

export interface EncodedChat {
  readonly ids: number[];
  /** The prompt as text (special tokens as their text). */
  readonly text: string;
}

export function encodeChat(tokenizer: Tokenizer, template: string | ChatTemplate | undefined, messages: readonly ChatMessage[], options: EncodeChatOptions = {}): number[] {
  return renderChat(tokenizer, template, messages, options).ids;
}

/** Renders and encodes a conversation with the model's template, or a built-in format without one. */
export function renderChat(tokenizer: Tokenizer, template: string | ChatTemplate | undefined, messages: readonly ChatMessage[], options: EncodeChatOptions = {}): EncodedChat {
  let pieces: ChatPiece[];
  if (template === undefined) {
    const format = options.format ?? detectChatFormat(tokenizer);
    pieces = formatChat(format, messages, options);
  } else {
    const tpl = typeof template === 'string' ? chatTemplateFor(template) : template;
    pieces = templatePieces(tokenizer, tpl, messages, withSpecialTokenText(tokenizer, options));
  }
  let ids = piecesToIds(tokenizer, pieces);
  let text = piecesToText(pieces);
  const bos = tokenizer.bosId;
  if (options.addBos && bos !== undefined && ids[0] !== bos) {
    ids = [bos, ...ids];
    text = specialText(tokenizer, bos) + text;
  }
  return { ids, text };
}

/** bos_token / eos_token default to the tokenizer's own, as transformers passes them. */
function withSpecialTokenText(tok: Tokenizer, o: EncodeChatOptions): EncodeChatOptions {
  const bos = o.bosToken ?? (tok.bosId !== undefined ? specialText(tok, tok.bosId) : undefined);
  const eos = o.eosToken ?? (tok.eosIds[0] !== undefined ? specialText(tok, tok.eosIds[0]) : undefined);
  return { ...o, ...(bos !== undefined ? { bosToken: bos } : {}), ...(eos !== undefined ? { eosToken: eos } : {}) };
}

const utf8 = new TextDecoder();
function specialText(tok: Tokenizer, id: number): string {
  return utf8.decode(tok.tokenBytes(id));
}

function specialIdOf(tok: Tokenizer, text: string): number {
  const id = tok.specialId(text);
  if (id !== undefined) return id;
  throw new LlamaError('TOKENIZER_ERROR', `the tokenizer has no special token ${JSON.stringify(text)}`);
}

/** Specials by id; each run of text between two specials encoded as one plain chunk. */
export function piecesToIds(tok: Tokenizer, pieces: readonly ChatPiece[]): number[] {
  const ids: number[] = [];
  let pending = '';
  const flush = (): void => {
    if (pending !== '') for (const id of tok.encode(pending, { addBos: false, specials: 'plain' })) ids.push(id);
    pending = '';
  };
  for (const p of pieces) {
    if ('special' in p) {
      flush();
      ids.push(specialIdOf(tok, p.special));
    } else {
      pending += p.text;
    }
  }
  flush();
  return ids;
}

/** Template-owned text split at the special tokens the tokenizer finds in it. */
function splitSpecials(tok: Tokenizer, text: string): ChatPiece[] {
  const out: ChatPiece[] = [];
  let cursor = 0;
  for (const id of tok.encode(text, { addBos: false, specials: 'parse' })) {
    if (!tok.isSpecial(id)) continue;
    const s = specialText(tok, id);
    if (tok.specialId(s) !== id) continue;
    const at = text.indexOf(s, cursor);
    if (at < 0) continue;
    if (at > cursor) out.push({ text: text.slice(cursor, at) });
    out.push({ special: s });
    cursor = at + s.length;
  }
  if (cursor < text.length) out.push({ text: text.slice(cursor) });
  return out;
}

// Marker pairs: private-use and noncharacter code points no tokenizer merges with text.
const MARKERS: ReadonlyArray<readonly [string, string]> = [
  ['\uE000', '\uE001'],
  ['\uFDD0', '\uFDD1'],
  ['\uF8F0', '\uF8F1'],
  ['\uDB80\uDC00', '\uDB80\uDC01'],
];

function templatePieces(tok: Tokenizer, tpl: ChatTemplate, messages: readonly ChatMessage[], o: ChatTemplateOptions): ChatPiece[] {
  const plain = tpl.render(messages, o);
  const pair = MARKERS.find(([a, b]) => !plain.includes(a) && !plain.includes(b));
  if (pair !== undefined) {
    const [open, close] = pair;
    const marked = tpl.render(markMessages(messages, open, close), o);
    const spans = splitMarked(marked, open, close);
    if (spans !== undefined && spans.map((s) => s.text).join('') === plain) {
      return spans.flatMap((s) => (s.content ? [{ text: s.text, content: true as const }] : splitSpecials(tok, s.text)));
    }
  }
  return fallback(tok, plain, messages);
}

/**
 * The template rewrites content (slices it, splits it, …) so content spans cannot be told
 * apart. Parsing specials in the whole rendering is then only safe when no content contains
 * special-token text; otherwise refuse rather than inject control tokens.
 */
function fallback(tok: Tokenizer, plain: string, messages: readonly ChatMessage[]): ChatPiece[] {
  for (const s of contentStrings(messages)) {
    const ids = tok.encode(s, { addBos: false, specials: 'parse' });
    if (ids.some((id) => tok.isSpecial(id))) {
      throw new ChatTemplateError('this chat template transforms message content in a way that hides where content ends, and the content contains special-token text; refusing to encode it');
    }
  }
  return splitSpecials(tok, plain);
}

function splitMarked(marked: string, open: string, close: string): Array<{ text: string; content: boolean }> | undefined {
  const out: Array<{ text: string; content: boolean }> = [];
  let i = 0;
  for (;;) {
    const a = marked.indexOf(open, i);
    const stray = marked.indexOf(close, i);
    if (a < 0) {
      if (stray >= 0) return undefined;
      if (i < marked.length) out.push({ text: marked.slice(i), content: false });
      return out;
    }
    if (stray >= 0 && stray < a) return undefined;
    const b = marked.indexOf(close, a + open.length);
    if (b < 0) return undefined;
    const inner = marked.slice(a + open.length, b);
    if (inner.includes(open)) return undefined;
    if (a > i) out.push({ text: marked.slice(i, a), content: false });
    out.push({ text: inner, content: true });
    i = b + close.length;
  }
}

function contentStrings(messages: readonly ChatMessage[]): string[] {
  const out: string[] = [];
  const leaves = (v: unknown): void => {
    if (typeof v === 'string') out.push(v);
    else if (Array.isArray(v)) v.forEach(leaves);
    else if (v !== null && typeof v === 'object') Object.values(v).forEach(leaves);
  };
  for (const m of messages) {
    leaves(m.content);
    for (const c of m.tool_calls ?? []) leaves(c.function.arguments);
  }
  return out;
}

/** Wraps the non-whitespace core of every content string (and tool-call argument value). */
function markMessages(messages: readonly ChatMessage[], open: string, close: string): ChatMessage[] {
  const mark = (s: string): string => {
    const lead = s.length - pyLStrip(s).length;
    const core = pyRStrip(s.slice(lead));
    if (core === '') return s;
    return s.slice(0, lead) + open + core + close + s.slice(lead + core.length);
  };
  const markJson = (v: JsonValue): JsonValue => {
    if (typeof v === 'string') return mark(v);
    if (Array.isArray(v)) return (v as readonly JsonValue[]).map(markJson);
    if (v !== null && typeof v === 'object') return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, markJson(x)]));
    return v;
  };
  const markCall = (c: ChatToolCall): ChatToolCall => {
    let args = c.function.arguments;
    if (typeof args === 'string') {
      // Templates get string arguments parsed (template.ts); mark the parsed values.
      try {
        const parsed: unknown = JSON.parse(args);
        if (parsed !== null && typeof parsed === 'object' && !Array.isArray(parsed)) args = parsed as { [k: string]: JsonValue };
      } catch {
        // Left as a string: it is rendered as such.
      }
    }
    return { ...c, function: { ...c.function, arguments: typeof args === 'string' ? mark(args) : (markJson(args) as { [k: string]: JsonValue }) } };
  };
  return messages.map((m) => {
    const content = m.content;
    const marked: ChatMessage = {
      ...m,
      ...(typeof content === 'string' ? { content: mark(content) } : {}),
      ...(Array.isArray(content) ? { content: content.map((p) => ({ ...p, text: mark(p.text) })) } : {}),
      ...(m.tool_calls ? { tool_calls: m.tool_calls.map(markCall) } : {}),
    };
    return marked;
  });
}
