import type { LlamaModel } from '../model/model.js';
import type { LogitsProcessor } from '../generate/options.js';
import type { ToolDefinition } from '../chat/types.js';
import { compileResponseFormat, constraintProcessor, type ResponseFormat as EngineFormat } from '../generate/constrain-processor.js';
import { LlamaError } from '../errors/errors.js';
import { HttpError } from './errors.js';

type ResponseFormat = { readonly type: 'text' | 'json_object' | 'json_schema'; readonly json_schema?: { readonly name: string; readonly schema?: object; readonly strict?: boolean | null } };
type ToolChoice = 'auto' | 'none' | 'required' | { readonly type: 'function'; readonly function: { readonly name: string } };

/**
 * The logits processor factory (a fresh processor per choice) that enforces response_format or a
 * forced tool call during decoding, or undefined when nothing is enforced. A forced call is the
 * Llama 3.1 JSON tool-call form {"name": …, "parameters": {…}} constrained by the tool's schema:
 * one call per message.
 */
export function constraintFor(
  model: LlamaModel,
  format: ResponseFormat | undefined,
  tools: readonly ToolDefinition[] | undefined,
  choice: ToolChoice | undefined,
  stopIds: readonly number[],
): (() => LogitsProcessor) | undefined {
  let engine: EngineFormat | undefined;
  let param = 'response_format';
  if (tools && (choice === 'required' || (choice && typeof choice === 'object'))) {
    const chosen = typeof choice === 'object' ? tools.filter((t) => t.function.name === choice.function.name) : tools;
    const call = (t: ToolDefinition): object => ({
      type: 'object',
      properties: { name: { const: t.function.name }, parameters: t.function.parameters ?? { type: 'object' } },
      required: ['name', 'parameters'],
      additionalProperties: false,
    });
    engine = { type: 'json_schema', schema: chosen.length === 1 ? call(chosen[0]!) : { anyOf: chosen.map(call) }, whitespace: 'compact' };
    param = 'tool_choice';
  } else if (format?.type === 'json_object') engine = { type: 'json_object' };
  else if (format?.type === 'json_schema') {
    if (!format.json_schema?.schema) throw new HttpError(400, 'response_format json_schema needs json_schema.schema', undefined, 'response_format');
    engine = { type: 'json_schema', schema: format.json_schema.schema };
  }
  if (!engine) return undefined;
  let compiled;
  try {
    compiled = compileResponseFormat(engine, model.tokenizer);
  } catch (e) {
    if (e instanceof LlamaError) throw new HttpError(400, e.message, 'invalid_request_error', param, e.code.toLowerCase());
    throw e;
  }
  const stops = [...model.config.eosTokenIds, ...stopIds];
  return () => constraintProcessor(compiled, stops);
}
