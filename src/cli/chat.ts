/**
 * `llama-ts chat`: an interactive REPL. Replies stream as they are generated; one session is
 * reused across turns so only the new part of each prompt is evaluated.
 *
 * Commands: /reset (clear history, keep the system prompt), /system <text> (replace it; bare
 * /system shows it), /tool <result> (answer a tool call), /help, /exit.
 */
import { createInterface } from 'node:readline';
import type { Model } from '../model/types.js';
import { consume } from '../generate/consume.js';
import { Conversation } from '../chat/conversation.js';
import { ToolCallStreamParser, type ParsedAssistantMessage, type ToolStreamEvent } from '../chat/tools.js';
import { LlamaError } from '../errors/errors.js';

export interface ChatCommandOptions {
  readonly system?: string;
  /** Max tokens per reply (default 512); also kept free in the context for the reply. */
  readonly maxTokens?: number;
  readonly temperature?: number;
  readonly seed?: number;
  /** Context window in tokens (default: the session's default). */
  readonly contextSize?: number;
  /** Llama 3.1 "Today Date" (default: today). */
  readonly dateString?: string;
  readonly input?: NodeJS.ReadableStream;
  readonly output?: NodeJS.WritableStream;
}

const HELP = 'commands: /reset  /system <text>  /tool <result>  /help  /exit\n';
const utf8 = new TextDecoder();

export async function chatCommand(model: Model, opts: ChatCommandOptions = {}): Promise<void> {
  const input = opts.input ?? process.stdin;
  const output = opts.output ?? process.stdout;
  const write = (s: string): void => {
    output.write(s);
  };
  const tok = model.tokenizer;
  const maxTokens = opts.maxTokens ?? 512;
  const session = model.session(opts.contextSize !== undefined ? { contextSize: opts.contextSize } : {});
  const conv = new Conversation(tok, {
    ...(opts.system !== undefined ? { system: opts.system } : {}),
    ...(model.chatTemplate !== undefined ? { template: model.chatTemplate } : {}),
    ...(opts.dateString !== undefined ? { dateString: opts.dateString } : {}),
  });
  // End-of-turn tokens beyond the model's EOS set: a reply ends at <|eot_id|> or <|eom_id|>.
  const eom = tok.specialId('<|eom_id|>');
  const stopIds = [tok.specialId('<|eot_id|>'), eom].filter((x): x is number => x !== undefined);
  const interactive = (input as { isTTY?: boolean }).isTTY === true;
  const rl = createInterface({ input, output, terminal: interactive });
  const prompt = (): void => {
    if (interactive) rl.prompt();
  };
  let waitingForTool: { builtin: boolean } | undefined;

  const reply = async (): Promise<void> => {
    const reserve = Math.min(maxTokens, session.contextSize - 1);
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
    const gen = model.generate(ids, {
      session,
      maxTokens,
      ...(opts.temperature !== undefined ? { temperature: opts.temperature } : {}),
      ...(opts.seed !== undefined ? { seed: opts.seed } : {}),
      stopIds,
    });
    const result = await consume(gen, ({ id, text }) => {
      let piece = text;
      // Special tokens (<|python_tag|>) steer the tool-call parser; add their text if the decoder did not.
      if (tok.isSpecial(id)) {
        const special = utf8.decode(tok.tokenBytes(id));
        if (!piece.includes(special)) piece += special;
      }
      show(parser.push(piece));
    });
    const end = parser.finish({ endToken: result.stoppedBy === eom && eom !== undefined ? 'eom' : 'eot' });
    show(end.events);
    const message: ParsedAssistantMessage = end.message;
    write('\n');
    if (message.parseError) write(`[could not parse a tool call: ${message.parseError}]\n`);
    if (result.finishReason === 'length') write(`[reply cut at ${result.ids.length} tokens]\n`);
    conv.addAssistant(message);
    waitingForTool = message.toolCalls.length > 0 ? { builtin: message.builtin !== undefined } : undefined;
    if (waitingForTool) write('[the model called a tool: answer with /tool <result>]\n');
  };

  const handle = async (line: string): Promise<boolean> => {
    const text = line.trim();
    if (text === '') return true;
    if (text === '/exit' || text === '/quit') return false;
    if (text === '/help') {
      write(HELP);
    } else if (text === '/reset') {
      conv.reset();
      session.reset();
      waitingForTool = undefined;
      write(`[history cleared${conv.system !== undefined ? '; system prompt kept' : ''}]\n`);
    } else if (text === '/system') {
      write(conv.system !== undefined ? `[system prompt: ${conv.system}]\n` : '[no system prompt]\n');
    } else if (text.startsWith('/system ')) {
      conv.setSystem(text.slice('/system '.length).trim());
      write('[system prompt set]\n');
    } else if (text === '/tool' || text.startsWith('/tool ')) {
      conv.addToolResult(text.slice('/tool'.length).trim(), { builtin: waitingForTool?.builtin ?? false });
      await reply();
    } else if (text.startsWith('/')) {
      write(`[unknown command ${text.split(/\s/)[0]}] ${HELP}`);
    } else {
      conv.addUser(line);
      await reply();
    }
    return true;
  };

  try {
    if (interactive) {
      write(HELP);
      rl.setPrompt('> ');
    }
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
