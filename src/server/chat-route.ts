import type { FastifyReply, FastifyRequest } from 'fastify';
import type { ChatMessage, ToolDefinition } from '../chat/types.js';
import type { GenerateResult } from '../generate/options.js';
import type { ServerContext } from './context.js';
import { renderChat } from '../chat/encode.js';
import { ToolCallStreamParser, type ParsedToolCall } from '../chat/tools.js';
import { ContextOverflowError } from '../errors/errors.js';
import { HttpError } from './errors.js';
import { generateOptions, type SamplingBody } from './sampling.js';
import { answerChoices, runChoice, usage, type TokenEvent } from './runner.js';
import { cascadeField, cascadeRequest, type EscalateField } from './cascade-answer.js';
import { constraintFor } from './constraints.js';

interface ChatBody extends SamplingBody {
  readonly model: string;
  readonly messages: readonly (Omit<ChatMessage, 'role'> & { readonly role: ChatMessage['role'] | 'developer' })[];
  readonly stream?: boolean | null;
  readonly stream_options?: { readonly include_usage?: boolean } | null;
  readonly logprobs?: boolean | null;
  readonly top_logprobs?: number | null;
  readonly tools?: readonly ToolDefinition[] | null;
  readonly tool_choice?: 'auto' | 'none' | 'required' | { readonly type: 'function'; readonly function: { readonly name: string } } | null;
  readonly parallel_tool_calls?: boolean | null;
  readonly escalate?: EscalateField;
  readonly response_format?: { readonly type: 'text' | 'json_object' | 'json_schema'; readonly json_schema?: { readonly name: string; readonly schema?: object; readonly strict?: boolean | null } } | null;
}

const callId = (): string => `call_${Math.random().toString(36).slice(2, 14)}`;

/** Arguments as the JSON text OpenAI clients parse; split into a few fragments when streamed. */
function argFragments(args: string): string[] {
  const out: string[] = [];
  for (let i = 0; i < args.length; i += 16) out.push(args.slice(i, i + 16));
  return out.length > 0 ? out : [''];
}

export async function chatCompletions(ctx: ServerContext, req: FastifyRequest, reply: FastifyReply): Promise<unknown> {
  const body = req.body as ChatBody;
  const model = ctx.model;
  ctx.checkModel(body.model);
  const tools = body.tools && body.tools.length > 0 && body.tool_choice !== 'none' ? body.tools : undefined;
  if (body.tool_choice && typeof body.tool_choice === 'object' && !tools?.some((t) => t.function.name === (body.tool_choice as { function: { name: string } }).function.name)) {
    throw new HttpError(400, `tool_choice names function '${body.tool_choice.function.name}', which is not in tools`, undefined, 'tool_choice');
  }
  if (body.tool_choice === 'required' && !tools) throw new HttpError(400, "tool_choice 'required' needs tools", undefined, 'tool_choice');
  const messages: ChatMessage[] = body.messages.map((m) => ({ ...m, role: m.role === 'developer' ? 'system' : m.role }));
  const { ids } = renderChat(model.tokenizer, model.chatTemplate, messages, { addGenerationPrompt: true, tools: tools ?? null });
  if (ids.length >= model.contextSize) throw new ContextOverflowError(ids.length, model.contextSize);
  const defaultMax = model.contextSize - ids.length;
  const n = body.n ?? 1;
  const stopIds = [model.tokenizer.specialId('<|eom_id|>'), model.tokenizer.specialId('<|eot_id|>')].filter((x): x is number => x !== undefined);
  const constraint = constraintFor(model, body.response_format ?? undefined, tools, body.tool_choice ?? undefined, stopIds);
  const id = `chatcmpl-${Math.random().toString(36).slice(2, 14)}`;
  const created = Math.floor(Date.now() / 1000);
  const ac = new AbortController();
  const base = { id, object: 'chat.completion.chunk', created, model: ctx.modelName };
  const wantTop = body.logprobs ? (body.top_logprobs ?? 0) : undefined;
  const tok = model.tokenizer;
  const lp = (e: TokenEvent): object => ({
    token: tok.decode([e.chunk.id]),
    logprob: e.chunk.logprob ?? 0,
    bytes: [...tok.tokenBytes(e.chunk.id)],
    top_logprobs: (e.top ?? []).map((t) => ({ token: tok.decode([t.id]), logprob: t.logprob, bytes: [...tok.tokenBytes(t.id)] })),
  });

  const run = async (choice: number, emit: (delta: object, lps?: object[]) => void): Promise<{ result: GenerateResult; calls: ParsedToolCall[]; content: string; lps: object[] }> => {
    const parser = tools ? new ToolCallStreamParser() : undefined;
    let content = '';
    const calls: ParsedToolCall[] = [];
    const lps: object[] = [];
    const onText = (text: string, l: object[] | undefined): void => {
      if (!parser) {
        content += text;
        if (text || l) emit({ content: text }, l);
        return;
      }
      let sent = false;
      for (const ev of parser.push(text)) {
        if (ev.type === 'text') {
          content += ev.text;
          emit({ content: ev.text }, l);
          sent = true;
        } else {
          calls.push(ev.call);
          emitCall(ev.call, calls.length - 1, emit);
        }
      }
      if (!sent && l) emit({}, l);
    };
    const opts = { ...ctx.speculative, ...generateOptions(body, defaultMax, choice), stopIds, logitsProcessors: constraint ? [constraint()] : [] };
    const result = await runChoice(model, ids, opts, wantTop, ac.signal, (e) => {
      ctx.metrics.generated(1);
      const l = wantTop !== undefined ? [lp(e)] : undefined;
      if (l) lps.push(...l);
      onText(e.chunk.text, l);
    });
    if (parser) {
      const endToken = result.stoppedBy === tok.specialId('<|eom_id|>') ? 'eom' : 'eot';
      for (const ev of parser.finish({ endToken }).events) {
        if (ev.type === 'text') {
          content += ev.text;
          emit({ content: ev.text });
        } else {
          calls.push(ev.call);
          emitCall(ev.call, calls.length - 1, emit);
        }
      }
    }
    return { result, calls, content, lps };
  };
  const emitCall = (call: ParsedToolCall, index: number, emit: (delta: object) => void): void => {
    const args = JSON.stringify(call.arguments);
    const frags = argFragments(args);
    emit({ tool_calls: [{ index, id: callId(), type: 'function', function: { name: call.name, arguments: frags[0] } }] });
    for (const f of frags.slice(1)) emit({ tool_calls: [{ index, function: { arguments: f } }] });
  };
  const finishReason = (r: GenerateResult, calls: ParsedToolCall[]): string => (calls.length > 0 ? 'tool_calls' : r.finishReason === 'length' ? 'length' : 'stop');
  reply.raw.on('close', () => {
    if (!reply.raw.writableFinished) ac.abort();
  });

  const format = body.response_format?.type;
  const esc = cascadeRequest(ctx, body.escalate, [
    body.stream === true && 'stream',
    n > 1 && 'n > 1',
    body.logprobs === true && 'logprobs',
    tools !== undefined && 'tools',
    format !== undefined && format !== 'text' && 'response_format',
  ]);
  if (esc) {
    const r = await ctx.cascade!.run(ids, { ...generateOptions(body, defaultMax, 0), stopIds, signal: ac.signal, policy: esc.policy });
    ctx.metrics.generated(r.completionTokens);
    ctx.metrics.tokens(ids.length, r.completionTokens);
    const choice = { index: 0, message: { role: 'assistant', content: r.text, refusal: null }, logprobs: null, finish_reason: r.finishReason === 'length' ? 'length' : 'stop' };
    return { id, object: 'chat.completion', created, model: ctx.modelName, choices: [choice], usage: usage(ids.length, r.completionTokens, undefined), cascade: cascadeField(reply, r) };
  }

  return answerChoices(ctx, req, reply, {
    route: '/v1/chat/completions',
    n,
    promptTokens: ids.length,
    stream: body.stream === true,
    includeUsage: body.stream_options?.include_usage === true,
    envelope: base,
    run: async (choice, send) => {
      const chunk = (delta: object, l?: object[], finish: string | null = null): void =>
        send({ ...base, choices: [{ index: choice, delta, logprobs: l ? { content: l } : null, finish_reason: finish }] });
      chunk({ role: 'assistant', content: '' });
      const r = await run(choice, (delta, l) => chunk(delta, l));
      chunk({}, undefined, finishReason(r.result, r.calls));
      return r;
    },
    body: (all, u) => ({
      id,
      object: 'chat.completion',
      created,
      model: ctx.modelName,
      choices: all.map((r, index) => {
        const toolCalls = r.calls.map((c) => ({ id: callId(), type: 'function', function: { name: c.name, arguments: JSON.stringify(c.arguments) } }));
        return {
          index,
          message: { role: 'assistant', content: toolCalls.length > 0 && r.content === '' ? null : r.content, ...(toolCalls.length > 0 ? { tool_calls: toolCalls } : {}), refusal: null },
          logprobs: wantTop !== undefined ? { content: r.lps } : null,
          finish_reason: finishReason(r.result, r.calls),
        };
      }),
      usage: u,
    }),
  });
}
