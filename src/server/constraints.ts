import type { LlamaModel } from '../model/model.js';
import type { LogitsProcessor } from '../generate/options.js';
import type { ToolDefinition } from '../chat/types.js';
import { HttpError } from './errors.js';

type ResponseFormat = { readonly type: 'text' | 'json_object' | 'json_schema'; readonly json_schema?: { readonly name: string; readonly schema?: object; readonly strict?: boolean | null } };
type ToolChoice = 'auto' | 'none' | 'required' | { readonly type: 'function'; readonly function: { readonly name: string } };

/**
 * The logits processor (a fresh one per choice) that enforces response_format or a forced tool
 * call during decoding, or undefined when nothing is enforced.
 */
export function constraintFor(
  _model: LlamaModel,
  format: ResponseFormat | undefined,
  _tools: readonly ToolDefinition[] | undefined,
  choice: ToolChoice | undefined,
  _parallel: boolean,
): (() => LogitsProcessor) | undefined {
  if (format && format.type !== 'text') throw new HttpError(400, `response_format ${format.type} needs the structured-output engine, which this build does not have`, undefined, 'response_format');
  if (choice === 'required' || (choice && typeof choice === 'object')) throw new HttpError(400, 'a forced tool_choice needs the structured-output engine, which this build does not have', undefined, 'tool_choice');
  return undefined;
}
