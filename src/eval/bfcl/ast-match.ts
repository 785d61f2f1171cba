/**
 * BFCL's AST match for the "simple" category: the model's one call against the function
 * document and the possible answers. Each expected parameter lists the values accepted
 * (`""` in the list: the parameter may be left out). In order, a call fails on: a wrong
 * function name, a missing required parameter, a parameter the function does not have or the
 * answer does not list, a value of the wrong type (int where float is wanted is accepted, as
 * Python would widen it), a value not among the accepted ones (strings compared after BFCL's
 * normalisation: spaces and , . / - _ * ^ removed, lower case, ' read as "), and an optional
 * parameter the answer requires but the call leaves out.
 *
 * Numbers arrive parsed from JSON, where "5" and "5.0" are the same value; the call's
 * `floatLiterals` (literals.ts) says which top-level arguments were written as floats, so 5.0 for
 * an integer parameter is a type error as in BFCL. Inside lists and dicts the spelling is not kept.
 */
import type { JsonValue } from '../../chat/types.js';
import type { BfclFunction, BfclParam } from './functions.js';
import { toolName } from './functions.js';

export interface BfclCall {
  readonly name: string;
  readonly arguments: Readonly<Record<string, JsonValue>>;
  /** Arguments written as float literals ("5.0"): not integers, though JSON parses them as 5. */
  readonly floatLiterals?: ReadonlySet<string>;
}

/** One possible answer: function name → parameter → accepted values. */
export type BfclAnswer = Readonly<Record<string, Readonly<Record<string, readonly JsonValue[]>>>>;

export type BfclMatch = { readonly valid: true } | { readonly valid: false; readonly error: string };

const ok: BfclMatch = { valid: true };
const fail = (error: string): BfclMatch => ({ valid: false, error });

/** BFCL's string normalisation. */
export function standardizeString(s: string): string {
  return s.replace(/[ ,./\-_*^]/g, '').toLowerCase().replace(/'/g, '"');
}

const INTEGER_TYPES = new Set(['integer', 'int', 'long', 'short', 'byte', 'Bigint']);

function typeOk(v: JsonValue, type: string): boolean {
  switch (type) {
    case 'integer': case 'int': case 'long': case 'short': case 'byte': case 'Bigint':
      return typeof v === 'number' && Number.isInteger(v);
    case 'float': case 'number': case 'double':
      return typeof v === 'number';
    case 'string': case 'String': case 'char':
      return typeof v === 'string';
    case 'boolean': case 'bool':
      return typeof v === 'boolean';
    case 'array': case 'list': case 'tuple': case 'ArrayList': case 'Array': case 'Queue': case 'Stack':
      return Array.isArray(v);
    case 'dict': case 'object': case 'HashMap': case 'Hashtable':
      return typeof v === 'object' && v !== null && !Array.isArray(v);
    default:
      return true; // "any"
  }
}

const isDict = (v: JsonValue | undefined): v is Readonly<Record<string, JsonValue>> => typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * One value against one accepted value. Strings compare normalised; lists element by element;
 * a dict against an accepted dict whose entries are lists of accepted values (BFCL's nested
 * possible answers, "" marking a key that may be left out) or plain values.
 */
function matchOne(v: JsonValue, a: JsonValue): boolean {
  if (typeof v === 'string' && typeof a === 'string') return standardizeString(v) === standardizeString(a);
  if (Array.isArray(v) || Array.isArray(a)) return Array.isArray(v) && Array.isArray(a) && v.length === a.length && v.every((x, i) => matchOne(x, a[i]!));
  if (isDict(v) || isDict(a)) {
    if (!isDict(v) || !isDict(a)) return false;
    for (const [k, x] of Object.entries(v)) {
      const w = a[k];
      if (w === undefined) return false;
      if (!(Array.isArray(w) ? valueAccepted(x, w) || matchOne(x, w) : matchOne(x, w))) return false;
    }
    return Object.entries(a).every(([k, w]) => k in v || (Array.isArray(w) && w.includes('')));
  }
  return v === a;
}

function valueAccepted(v: JsonValue, accepted: readonly JsonValue[]): boolean {
  return accepted.some((a) => a !== '' && matchOne(v, a));
}

function checkType(param: string, v: JsonValue, d: BfclParam): BfclMatch {
  if (!typeOk(v, d.type)) return fail(`type_error: ${param} should be ${d.type}, got ${JSON.stringify(v)}`);
  if (Array.isArray(v) && d.items && ['array', 'list', 'tuple'].includes(d.type)) {
    const bad = v.find((x) => !typeOk(x, d.items!.type));
    if (bad !== undefined) return fail(`type_error: ${param} items should be ${d.items.type}, got ${JSON.stringify(bad)}`);
  }
  return ok;
}

export function matchSimpleCall(calls: readonly BfclCall[], fn: BfclFunction, answer: BfclAnswer): BfclMatch {
  if (calls.length !== 1) return fail(`wrong_count: expected one call, got ${calls.length}`);
  const call = calls[0]!;
  const expectedName = Object.keys(answer)[0];
  if (expectedName === undefined) return fail('no expected call');
  if (call.name !== expectedName && call.name !== toolName(expectedName)) return fail(`wrong_func_name: expected ${expectedName}, got ${call.name}`);
  const want = answer[expectedName]!;
  const props = fn.parameters.properties;
  for (const r of fn.parameters.required ?? []) if (!(r in call.arguments)) return fail(`missing_required: ${r}`);
  for (const [param, value] of Object.entries(call.arguments)) {
    const d = props[param];
    if (d === undefined || !(param in want)) return fail(`unexpected_param: ${param}`);
    if (call.floatLiterals?.has(param) && INTEGER_TYPES.has(d.type)) return fail(`type_error: ${param} should be ${d.type}, got a float literal`);
    const t = checkType(param, value, d);
    if (!t.valid) return t;
    if (!valueAccepted(value, want[param]!)) return fail(`value_error: ${param}=${JSON.stringify(value)} not in ${JSON.stringify(want[param])}`);
  }
  for (const [param, accepted] of Object.entries(want)) {
    if (!(param in call.arguments) && !accepted.includes('')) return fail(`missing_optional: ${param} is required by the answer`);
  }
  return ok;
}
