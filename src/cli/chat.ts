/**
 * `llama-ts chat`: an interactive REPL. Replies stream as they are generated; one session is
 * reused across turns so only the new part of each prompt is evaluated.
 *
 * Commands: /reset (clear history, keep the system prompt), /system <text> (replace it; bare
 * /system shows it), /set <name> <value> (sampling; bare /set shows them), /save <file>,
 * /load <file>, /tool <result> (answer a tool call), /help, /exit. A line starting with """
 * opens a multi-line message that ends at a line ending with """.
 *
 * Ctrl-C while a reply streams stops that reply and returns to the prompt; at an empty prompt the
 * first Ctrl-C says how to leave and a second one exits.
 */
import { createInterface } from 'node:readline';
import type { Model } from '../model/types.js';
import { consume } from '../generate/consume.js';
import { Conversation } from '../chat/conversation.js';
import { ToolCallStreamParser, type ParsedAssistantMessage, type ToolStreamEvent } from '../chat/tools.js';
import { LlamaError } from '../errors/errors.js';
import { StreamDecoder } from '../tokenizer/stream.js';
import { describeParams, setParam, type ChatParams } from './chat-params.js';
import { loadChat, saveChat } from './chat-file.js';

export interface ChatCommandOptions {
  readonly system?: string;
  /** Max tokens per reply (default 512); also kept free in the context for the reply. */
  readonly maxTokens?: number;
  readonly temperature?: number;
  readonly topK?: number;
  readonly topP?: number;
  readonly minP?: number;
  readonly repetitionPenalty?: number;
  readonly seed?: number;
  /** Speculative decoding for every reply (chat --draft-model / --lookup). */
  readonly draft?: import('../model/model.js').LlamaModel | 'lookup';
  readonly draftMax?: number;
  /** Context window in tokens (default: the session's default). */
  readonly contextSize?: number;
  /** Llama 3.1 "Today Date" (default: today). */
  readonly dateString?: string;
  /** Printed first: which model, on what. */
  readonly banner?: { readonly model: string; readonly backend: string; readonly threads: number };
  readonly input?: NodeJS.ReadableStream;
  readonly output?: NodeJS.WritableStream;
}

const HELP =
  'commands: /reset  /system <text>  /set <name> <value>  /save <file>  /load <file>  /tool <result>  /help  /exit\n' +
  '          """ starts and ends a multi-line message; Ctrl-C stops a reply, twice at the prompt exits\n';
const utf8 = new TextDecoder();
const FENCE = '"""';

export async function chatCommand(model: Model, opts: ChatCommandOptions = {}): Promise<void> {
  const input = opts.input ?? process.stdin;
  const output = opts.output ?? process.stdout;
  const write = (s: string): void => {
    output.write(s);
  };
  const tok = model.tokenizer;
  const params: ChatParams = {
    temperature: opts.temperature ?? 0.7,
    topK: opts.topK ?? 0,
    topP: opts.topP ?? 1,
    minP: opts.minP ?? 0,
    repetitionPenalty: opts.repetitionPenalty ?? 1,
    seed: opts.seed,
    maxTokens: opts.maxTokens ?? 512,
  };
  const session = model.session(opts.contextSize !== undefined ? { contextSize: opts.contextSize } : {});
  const conv = new Conversation(tok, {
    ...(opts.system !== undefined ? { system: opts.system } : {}),
    ...(model.chatTemplate !== undefined ? { template: model.chatTemplate } : {}),
    ...(opts.dateString !== undefined ? { dateString: opts.dateString } : {}),
  });
  // End-of-turn tokens beyond the model's EOS set: a reply ends at <|eot_id|> or <|eom_id|>.
  const eom = tok.specialId('<|eom_id|>');
  const pythonTag = tok.specialId('<|python_tag|>');
  const stopIds = [tok.specialId('<|eot_id|>'), eom].filter((x): x is number => x !== undefined);
  const interactive = (input as { isTTY?: boolean }).isTTY === true;
  const rl = createInterface({ input, output, terminal: interactive });
  let multiline: string[] | undefined;
  const prompt = (): void => {
    if (!interactive) return;
    rl.setPrompt(multiline ? '... ' : '> ');
    rl.prompt();
  };
  let waitingForTool: { builtin: boolean } | undefined;
  /** The reply in flight, so Ctrl-C can stop it. */
  let replying: AbortController | undefined;
  let exitArmed = false;

  rl.on('SIGINT', () => {
    if (replying) {
      replying.abort();
      return;
    }
    if (rl.line.length > 0 || multiline) {
      // Ctrl-C with text typed: drop it (as a shell does), stay.
      multiline = undefined;
      rl.write(null, { ctrl: true, name: 'e' });
      rl.write(null, { ctrl: true, name: 'u' });
      write('\n');
      exitArmed = false;
      prompt();
      return;
    }
    if (exitArmed) {
      write('\n');
      rl.close();
      return;
    }
    exitArmed = true;
    write('\n(Ctrl-C again to exit, or /exit)\n');
    prompt();
  });

  const reply = async (): Promise<void> => {
    const reserve = Math.min(params.maxTokens, session.contextSize - 1);
    let ids: number[];
    try {
      const fit = conv.fit({ contextSize: session.contextSize, reserve, dropOldest: true });
      if (fit.dropped.length > 0) {
        write(`[history too long for the ${session.contextSize}-token context: dropped the ${fit.dropped.length} oldest message(s)]\n`);
      }
      ids = fit.ids;
    } catch (e) {
      conv.pop();
      throw e;
    }
    const parser = new ToolCallStreamParser();
    const show = (events: readonly ToolStreamEvent[]): void => {
      for (const e of events) {
        if (e.type === 'text') write(e.text);
        else write(`\n[tool call] ${e.call.name} ${JSON.stringify(e.call.arguments)}\n`);
      }
    };
    // Special tokens are never shown as text; only <|python_tag|> reaches the tool-call parser.
    const text = new StreamDecoder(tok, { skipSpecial: true });
    const ac = new AbortController();
    replying = ac;
    let result;
    try {
      const gen = model.generate(ids, {
        session,
        maxTokens: params.maxTokens,
        temperature: params.temperature,
        topK: params.topK,
        topP: params.topP,
        minP: params.minP,
        repetitionPenalty: params.repetitionPenalty,
        ...(params.seed !== undefined ? { seed: params.seed } : {}),
        ...(opts.draft !== undefined ? { draft: opts.draft } : {}),
        ...(opts.draftMax !== undefined ? { draftMax: opts.draftMax } : {}),
        stopIds,
        signal: ac.signal,
      });
      result = await consume(gen, ({ id }) => {
        const piece = id === pythonTag ? utf8.decode(tok.tokenBytes(id)) : text.push(id);
        if (piece) show(parser.push(piece));
      });
    } finally {
      replying = undefined;
    }
    const tail = text.flush();
    if (tail) show(parser.push(tail));
    const end = parser.finish({ endToken: result.stoppedBy === eom && eom !== undefined ? 'eom' : 'eot' });
    show(end.events);
    const message: ParsedAssistantMessage = end.message;
    write('\n');
    if (result.finishReason === 'abort') write('[stopped]\n');
    if (message.parseError) write(`[could not parse a tool call: ${message.parseError}]\n`);
    if (result.finishReason === 'length') {
      write(result.ids.length < params.maxTokens
        ? `[reply cut at ${result.ids.length} tokens: the ${session.contextSize}-token context is full; /reset or raise --ctx-size]\n`
        : `[reply cut at ${result.ids.length} tokens]\n`);
    }
    conv.addAssistant(message);
    waitingForTool = message.toolCalls.length > 0 ? { builtin: message.builtin !== undefined } : undefined;
    if (waitingForTool) write('[the model called a tool: answer with /tool <result>]\n');
  };

  const command = async (text: string): Promise<boolean> => {
    const [name = '', ...rest] = text.split(/\s+/);
    const arg = text.slice(name.length).trim();
    switch (name) {
      case '/exit':
      case '/quit':
      case '/bye':
        return false;
      case '/help':
        write(HELP);
        break;
      case '/reset':
        conv.reset();
        session.reset();
        waitingForTool = undefined;
        write(`[history cleared${conv.system !== undefined ? '; system prompt kept' : ''}]\n`);
        break;
      case '/system':
        if (arg === '') write(conv.system !== undefined ? `[system prompt: ${conv.system}]\n` : '[no system prompt]\n');
        else {
          conv.setSystem(arg);
          write('[system prompt set]\n');
        }
        break;
      case '/set':
        write(rest.length === 0 ? `[${describeParams(params)}]\n` : `[${setParam(params, arg)}]\n`);
        break;
      case '/save':
        if (arg === '') throw new LlamaError('BAD_ARGUMENT', 'usage: /save <file>');
        saveChat(arg, { system: conv.system, messages: conv.messages });
        write(`[saved ${conv.messages.length} message(s) to ${arg}]\n`);
        break;
      case '/load': {
        if (arg === '') throw new LlamaError('BAD_ARGUMENT', 'usage: /load <file>');
        const saved = loadChat(arg);
        conv.reset();
        conv.setSystem(saved.system);
        for (const m of saved.messages) conv.add(m);
        session.reset();
        waitingForTool = undefined;
        write(`[loaded ${saved.messages.length} message(s) from ${arg}]\n`);
        break;
      }
      case '/tool':
        conv.addToolResult(arg, { builtin: waitingForTool?.builtin ?? false });
        await reply();
        break;
      default:
        write(`[unknown command ${name}] ${HELP}`);
    }
    return true;
  };

  /** One input line; false ends the chat. */
  const handle = async (line: string): Promise<boolean> => {
    exitArmed = false;
    if (multiline) {
      const end = line.trimEnd();
      if (!end.endsWith(FENCE)) {
        multiline.push(line);
        return true;
      }
      multiline.push(end.slice(0, -FENCE.length));
      const message = multiline.join('\n');
      multiline = undefined;
      if (message.trim() === '') return true;
      conv.addUser(message);
      await reply();
      return true;
    }
    const text = line.trim();
    if (text === '') return true;
    if (text.startsWith(FENCE)) {
      const body = text.slice(FENCE.length);
      if (body.length >= FENCE.length && body.endsWith(FENCE)) {
        conv.addUser(body.slice(0, -FENCE.length));
        await reply();
      } else {
        multiline = [body];
      }
      return true;
    }
    if (text.startsWith('/')) return command(text);
    conv.addUser(line);
    await reply();
    return true;
  };

  try {
    if (opts.banner) {
      const b = opts.banner;
      write(`llama-ts chat · ${b.model}\ncontext ${session.contextSize} tokens · backend ${b.backend} · ${b.threads} thread${b.threads === 1 ? '' : 's'}\n`);
    }
    if (interactive) write(HELP);
    prompt();
    for await (const line of rl) {
      let more: boolean;
      try {
        more = await handle(line);
      } catch (e) {
        if (!(e instanceof LlamaError)) throw e;
        write(`[${e.code}] ${e.message}\n`);
        more = true;
      }
      if (!more) break;
      prompt();
    }
  } finally {
    rl.close();
    session.dispose();
  }
}
