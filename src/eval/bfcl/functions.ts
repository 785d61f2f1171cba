/**
 * BFCL function documents → OpenAI-style tools for the chat template. BFCL writes parameter types
 * in its own vocabulary ("dict", "float", "tuple", "any"…); the tool schema needs JSON Schema
 * names, as BFCL's own function-calling handlers convert them. Dotted names ("math.factorial")
 * are not valid tool names for most templates and APIs; BFCL's handlers send them with "_" and
 * the matcher accepts either spelling.
 */
import { BadArgumentError } from '../../errors/errors.js';
import type { JsonObject, JsonValue, ToolDefinition } from '../../chat/types.js';

export interface BfclParam {
  readonly type: string;
  readonly description?: string;
  readonly items?: BfclParam;
  readonly properties?: Readonly<Record<string, BfclParam>>;
  readonly enum?: readonly JsonValue[];
  readonly default?: JsonValue;
}

export interface BfclFunction {
  readonly name: string;
  readonly description?: string;
  readonly parameters: { readonly type: string; readonly properties: Readonly<Record<string, BfclParam>>; readonly required?: readonly string[] };
}

const SCHEMA_TYPE: Readonly<Record<string, string>> = {
  integer: 'integer', int: 'integer', long: 'integer', short: 'integer', byte: 'integer', Bigint: 'integer',
  float: 'number', number: 'number', double: 'number',
  string: 'string', String: 'string', char: 'string', any: 'string', Any: 'string',
  boolean: 'boolean', bool: 'boolean',
  array: 'array', list: 'array', tuple: 'array', ArrayList: 'array', Array: 'array', Queue: 'array', Stack: 'array',
  dict: 'object', object: 'object', HashMap: 'object', Hashtable: 'object',
};

/** The name a tool is sent under ("a.b" → "a_b"). */
export const toolName = (name: string): string => name.replace(/\./g, '_');

function schemaOf(p: BfclParam, where: string): JsonObject {
  const type = SCHEMA_TYPE[p.type];
  if (type === undefined) throw new BadArgumentError(`${where}: unknown BFCL type "${p.type}"`);
  const out: Record<string, JsonValue> = { type };
  if (p.description !== undefined) out.description = p.description;
  if (p.enum !== undefined) out.enum = [...p.enum];
  if (p.default !== undefined) out.default = p.default;
  if (p.items !== undefined) out.items = schemaOf(p.items, `${where}.items`);
  if (p.properties !== undefined) out.properties = Object.fromEntries(Object.entries(p.properties).map(([k, v]) => [k, schemaOf(v, `${where}.${k}`)]));
  return out;
}

export function checkBfclFunction(v: unknown, where: string): BfclFunction {
  const f = v as Partial<BfclFunction> | null;
  if (typeof f !== 'object' || f === null || typeof f.name !== 'string') throw new BadArgumentError(`${where}: a function needs a "name"`);
  const p = f.parameters as BfclFunction['parameters'] | undefined;
  if (typeof p !== 'object' || p === null || typeof p.properties !== 'object' || p.properties === null) throw new BadArgumentError(`${where}: function ${f.name} needs "parameters.properties"`);
  for (const [k, d] of Object.entries(p.properties)) {
    if (typeof d !== 'object' || d === null || typeof (d as BfclParam).type !== 'string') throw new BadArgumentError(`${where}: parameter ${k} of ${f.name} needs a "type"`);
  }
  return f as BfclFunction;
}

export function toolFromFunction(f: BfclFunction, where: string): ToolDefinition {
  const properties = Object.fromEntries(Object.entries(f.parameters.properties).map(([k, v]) => [k, schemaOf(v, `${where} ${f.name}.${k}`)]));
  return {
    type: 'function',
    function: {
      name: toolName(f.name),
      ...(f.description !== undefined ? { description: f.description } : {}),
      parameters: { type: 'object', properties, required: [...(f.parameters.required ?? [])] },
    },
  };
}
