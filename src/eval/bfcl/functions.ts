/**
 * BFCL function documents → OpenAI-style tools for the chat template. BFCL writes parameter types
 * in its own vocabulary ("dict", "float", "tuple", "any"…); the tool schema needs JSON Schema
 * names, as BFCL's own function-calling handlers convert them. Dotted names ("math.factorial")
 * are not valid tool names for most templates and APIs; BFCL's handlers send them with "_" and
 * the matcher accepts either spelling. The conversion follows BFCL's function-calling handlers
 * (language hint, float note), so the model sees what it sees under BFCL.
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

const SCHEMA_TYPE: Readonly<Record<string, string | undefined>> = {
  integer: 'integer', int: 'integer', long: 'integer', short: 'integer', byte: 'integer', Bigint: 'integer',
  float: 'number', number: 'number', double: 'number',
  string: 'string', String: 'string', char: 'string', any: 'string', Any: 'string',
  boolean: 'boolean', bool: 'boolean',
  array: 'array', list: 'array', tuple: 'array', ArrayList: 'array', Array: 'array', Queue: 'array', Stack: 'array',
  dict: 'object', object: 'object', HashMap: 'object', Hashtable: 'object',
};

/** The name a tool is sent under ("a.b" → "a_b"). */
export const toolName = (name: string): string => name.replace(/\./g, '_');

/** BFCL's hint on every Python-category function description (its function-calling handlers add it). */
export const PYTHON_HINT = ' Note that the provided function is in Python 3 syntax.';

const schemaType = (t: unknown): string => (typeof t === 'string' ? SCHEMA_TYPE[t] : undefined) ?? 'string';

/**
 * One parameter as BFCL's handlers cast it: keys kept in the document's order, the type mapped (an
 * unknown or missing one becomes "string"), a float noted in its description and as format
 * "float", nested properties cast the same way, list item types mapped.
 */
function castParam(p: Readonly<Record<string, JsonValue>>): JsonObject {
  const out: Record<string, JsonValue> = { ...p };
  if (p.type === 'float') {
    out.format = 'float';
    out.description = `${typeof p.description === 'string' ? p.description : ''} This is a float type value.`;
  }
  out.type = schemaType(p.type);
  if (out.type === 'array' || out.type === 'object') {
    if (isObject(p.properties)) out.properties = castProperties(p.properties);
    else if (isObject(p.items)) out.items = castItems(p.items);
  }
  return out;
}

function castItems(items: Readonly<Record<string, JsonValue>>): JsonObject {
  const out: Record<string, JsonValue> = { ...items, type: schemaType(items.type) };
  if (isObject(items.properties)) out.properties = castProperties(items.properties);
  if (isObject(items.items)) out.items = castItems(items.items);
  return out;
}

function castProperties(props: Readonly<Record<string, JsonValue>>): JsonObject {
  return Object.fromEntries(Object.entries(props).map(([k, v]) => [k, isObject(v) ? castParam(v) : v]));
}

const isObject = (v: JsonValue | undefined): v is Readonly<Record<string, JsonValue>> => typeof v === 'object' && v !== null && !Array.isArray(v);

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

/**
 * A function document as the tool BFCL's function-calling handlers send: the Python hint appended to
 * the description, "." in the name as "_", parameters typed as JSON Schema "object".
 */
export function toolFromFunction(f: BfclFunction): ToolDefinition {
  const doc = f as unknown as Readonly<Record<string, JsonValue>>;
  const params = f.parameters as unknown as Readonly<Record<string, JsonValue>>;
  const fn: Record<string, JsonValue> = { ...doc, name: toolName(f.name), description: `${f.description ?? ''}${PYTHON_HINT}` };
  fn.parameters = { ...params, type: 'object', properties: castProperties(f.parameters.properties as unknown as Readonly<Record<string, JsonValue>>) };
  return { type: 'function', function: fn as unknown as ToolDefinition['function'] };
}
