/**
 * A thin layer over @huggingface/jinja that makes it render what Python Jinja2 renders in
 * transformers' chat-template environment, where the library falls short:
 *   - filters it lacks or limits (`select`/`reject` with a test name, as in the Llama 3.1
 *     template's `builtin_tools | reject('equalto', 'code_interpreter')`; `selectattr` /
 *     `rejectattr` with non-string test arguments);
 *   - printing: `{{ x }}` writes Python's str(x) (True, None, ['a', 1], {'k': 'v'});
 *   - `trim` on values other than strings (jinja2's `soft_str`: undefined → '', none → 'None');
 *   - transformers' globals: `raise_exception` (a typed error here), `strftime_now` (C locale),
 *     `range`, and jinja2's lexer rule that turns every newline form in the source into '\n'.
 *
 * The library has no filter registry, so a subclass of its Interpreter intercepts those filter
 * nodes in `evaluate` (its public dispatch method) and hands everything else to the library.
 * The library does not export its value classes either; their constructors are taken from values
 * it creates itself (see `ctor` below), so the values made here are the library's own.
 */
import * as jinja from '@huggingface/jinja';
import { ChatTemplateError } from './template-error.js';

// The library's .d.ts files use extensionless relative imports, which NodeNext resolution
// cannot follow, so its types arrive as `any`. These are the parts used here, typed.
/** A runtime value of the library (IntegerValue, StringValue, ArrayValue, …). */
export interface RuntimeValue {
  readonly type: string;
  readonly value: unknown;
  __bool__(): { readonly value: boolean };
  toString(): string;
}
interface Env {
  set(name: string, value: unknown): RuntimeValue;
  setVariable(name: string, value: RuntimeValue): RuntimeValue;
}
interface AstNode {
  readonly type: string;
}
/** A parsed template (the library's Program node). */
export interface Program extends AstNode {
  readonly type: 'Program';
}
interface InterpreterApi {
  evaluate(node: AstNode | undefined, environment: Env): RuntimeValue;
  run(program: Program): RuntimeValue;
}
const Environment = jinja.Environment as new (parent?: Env) => Env;
const Interpreter = jinja.Interpreter as new (env?: Env) => InterpreterApi;
type NativeFn = (args: RuntimeValue[], scope: Env) => RuntimeValue;

/** Lexes with transformers' settings (trim_blocks, lstrip_blocks) and parses. */
export function parseTemplate(source: string): Program {
  const tokens: unknown = jinja.tokenize(normalizeNewlines(source), { lstrip_blocks: true, trim_blocks: true });
  const program = jinja.parse(tokens) as Program;
  wrapOutputs(program);
  return program;
}

const STATEMENT_TYPES = new Set(['Program', 'If', 'For', 'Break', 'Continue', 'Set', 'Macro', 'Comment', 'CallStatement', 'FilterStatement']);
/** A filter name no template can write (it is not an identifier), applied to every `{{ … }}`. */
const OUTPUT_FILTER = '<py-str>';

/**
 * Routes every `{{ expr }}` through OUTPUT_FILTER so values print as Python prints them
 * (True, None, ['a', 1]) where the library would print JavaScript/JSON forms.
 */
function wrapOutputs(node: AstNode): void {
  const n = node as unknown as Record<string, unknown>;
  for (const key of ['body', 'alternate', 'defaultBlock']) {
    const list = n[key];
    if (!Array.isArray(list)) continue;
    for (let i = 0; i < list.length; i++) {
      const child = list[i] as AstNode;
      if (STATEMENT_TYPES.has(child.type)) {
        wrapOutputs(child);
      } else if (child.type !== 'StringLiteral') {
        const wrapped: FilterNode = { type: 'FilterExpression', operand: child, filter: { type: 'Identifier', value: OUTPUT_FILTER } };
        list[i] = wrapped;
      }
    }
  }
}

// The few AST shapes read here (the library's AST classes are not exported).
interface IdentifierNode { readonly type: 'Identifier'; readonly value: string }
interface KeywordArgNode { readonly type: 'KeywordArgumentExpression'; readonly key: IdentifierNode; readonly value: AstNode }
interface CallNode { readonly type: 'CallExpression'; readonly callee: { readonly type: string; readonly value?: unknown }; readonly args: AstNode[] }
interface FilterNode { readonly type: 'FilterExpression'; readonly operand: AstNode; readonly filter: IdentifierNode | CallNode }

function ctor<A>(sample: unknown): new (value: A) => RuntimeValue {
  return toRuntime(sample).constructor as new (value: A) => RuntimeValue;
}
const StringValue = ctor<string>('');
const ArrayValue = ctor<RuntimeValue[]>([]);
const FunctionValue = ctor<NativeFn>(() => null);

/** Converts a plain JS value (JSON-like, or a function) to a runtime value, as the library does. */
export function toRuntime(value: unknown): RuntimeValue {
  return new Environment().set('v', value);
}

const str = (s: string): RuntimeValue => new StringValue(s);

// ---- Python semantics -------------------------------------------------------------------------

/** Characters Python's str.isspace() accepts (str.strip() with no argument removes these). */
const PY_WS = '\\t\\n\\v\\f\\r\\x1c-\\x20\\x85\\xa0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000';
const PY_STRIP = new RegExp(`^[${PY_WS}]+|[${PY_WS}]+$`, 'g');
const PY_LSTRIP = new RegExp(`^[${PY_WS}]+`);
const PY_RSTRIP = new RegExp(`[${PY_WS}]+$`);

export const pyLStrip = (s: string): string => s.replace(PY_LSTRIP, '');
export const pyRStrip = (s: string): string => s.replace(PY_RSTRIP, '');

/** Python's str.strip(chars). */
export function pyStrip(s: string, chars?: string): string {
  if (chars === undefined) return s.replace(PY_STRIP, '');
  const set = new Set(Array.from(chars));
  const cps = Array.from(s);
  let a = 0;
  let b = cps.length;
  while (a < b && set.has(cps[a]!)) a++;
  while (b > a && set.has(cps[b - 1]!)) b--;
  return cps.slice(a, b).join('');
}

/** jinja2's soft_str for scalars: what `{{ x }}` / `x | string` gives in Python. */
function pyScalarStr(v: RuntimeValue): string | undefined {
  switch (v.type) {
    case 'StringValue': return v.value as string;
    case 'UndefinedValue': return '';
    case 'NullValue': return 'None';
    case 'BooleanValue': return v.value ? 'True' : 'False';
    case 'IntegerValue': return String(v.value);
    case 'FloatValue': return v.toString();
    default: return undefined;
  }
}

/** Python's repr() of a string. */
function pyReprString(s: string): string {
  const q = s.includes("'") && !s.includes('"') ? '"' : "'";
  let out = q;
  for (const ch of s) {
    const c = ch.codePointAt(0)!;
    if (ch === '\\' || ch === q) out += '\\' + ch;
    else if (ch === '\n') out += '\\n';
    else if (ch === '\r') out += '\\r';
    else if (ch === '\t') out += '\\t';
    else if (c < 0x20 || (c >= 0x7f && c < 0xa0)) out += '\\x' + c.toString(16).padStart(2, '0');
    else out += ch;
  }
  return out + q;
}

/** Python's str() of a value, as `{{ value }}` prints it; undefined for what is left to the library. */
function pyStr(v: RuntimeValue): string | undefined {
  const scalar = pyScalarStr(v);
  if (scalar !== undefined) return scalar;
  return pyRepr(v);
}

function pyRepr(v: RuntimeValue): string | undefined {
  if (v.type === 'StringValue') return pyReprString(v.value as string);
  if (v.type === 'UndefinedValue') return '';
  if (v.value instanceof Array) {
    const items = (v.value as RuntimeValue[]).map(pyRepr);
    if (items.some((x) => x === undefined)) return undefined;
    return v.type === 'TupleValue' ? `(${items.join(', ')}${items.length === 1 ? ',' : ''})` : `[${items.join(', ')}]`;
  }
  if (v.type === 'ObjectValue') {
    const parts: string[] = [];
    for (const [k, x] of v.value as Map<string, RuntimeValue>) {
      const r = pyRepr(x);
      if (r === undefined) return undefined;
      parts.push(`${pyReprString(k)}: ${r}`);
    }
    return `{${parts.join(', ')}}`;
  }
  return pyScalarStr(v);
}

function isNumber(v: RuntimeValue): v is RuntimeValue & { value: number } {
  return v.type === 'IntegerValue' || v.type === 'FloatValue';
}

/** Python `==` on JSON-like values (True == 1, 1 == 1.0, lists and dicts compared deeply). */
function pyEquals(a: RuntimeValue, b: RuntimeValue): boolean {
  const num = (v: RuntimeValue): number | undefined => (isNumber(v) ? v.value : v.type === 'BooleanValue' ? Number(v.value) : undefined);
  const na = num(a);
  const nb = num(b);
  if (na !== undefined || nb !== undefined) return na === nb;
  if (a.type === 'StringValue' || b.type === 'StringValue') return a.type === b.type && a.value === b.value;
  if (a.type === 'NullValue' || b.type === 'NullValue') return a.type === b.type;
  if (a.type === 'UndefinedValue' || b.type === 'UndefinedValue') return a.type === b.type;
  if (a.value instanceof Array && b.value instanceof Array) {
    const x = a.value as RuntimeValue[];
    const y = b.value as RuntimeValue[];
    return x.length === y.length && x.every((v, i) => pyEquals(v, y[i]!));
  }
  if (a.value instanceof Map && b.value instanceof Map) {
    const x = a.value as Map<string, RuntimeValue>;
    const y = b.value as Map<string, RuntimeValue>;
    if (x.size !== y.size) return false;
    for (const [k, v] of x) {
      const w = y.get(k);
      if (w === undefined || !pyEquals(v, w)) return false;
    }
    return true;
  }
  return a === b;
}

function compare(a: RuntimeValue, b: RuntimeValue): number {
  if (isNumber(a) && isNumber(b)) return a.value - b.value;
  if (a.type === 'StringValue' && b.type === 'StringValue') return (a.value as string) < (b.value as string) ? -1 : a.value === b.value ? 0 : 1;
  throw new ChatTemplateError(`cannot compare ${a.type} with ${b.type}`);
}

const truthy = (v: RuntimeValue): boolean => v.__bool__().value as boolean;

/** jinja2's built-in tests, as `select`/`reject` use them. */
const TESTS: ReadonlyMap<string, (v: RuntimeValue, ...args: RuntimeValue[]) => boolean> = new Map<string, (v: RuntimeValue, ...args: RuntimeValue[]) => boolean>([
  ['defined', (v) => v.type !== 'UndefinedValue'],
  ['undefined', (v) => v.type === 'UndefinedValue'],
  ['none', (v) => v.type === 'NullValue'],
  ['boolean', (v) => v.type === 'BooleanValue'],
  ['true', (v) => v.type === 'BooleanValue' && v.value === true],
  ['false', (v) => v.type === 'BooleanValue' && v.value === false],
  ['integer', (v) => v.type === 'IntegerValue'],
  ['float', (v) => v.type === 'FloatValue'],
  ['number', (v) => isNumber(v)],
  ['string', (v) => v.type === 'StringValue'],
  ['mapping', (v) => v.type === 'ObjectValue'],
  ['iterable', (v) => v.type === 'StringValue' || v.value instanceof Array || v.value instanceof Map],
  ['sequence', (v) => v.type === 'StringValue' || v.value instanceof Array || v.value instanceof Map],
  ['callable', (v) => v.type === 'FunctionValue'],
  ['odd', (v) => isNumber(v) && Math.abs(v.value % 2) === 1],
  ['even', (v) => isNumber(v) && v.value % 2 === 0],
  ['divisibleby', (v, n) => isNumber(v) && n !== undefined && isNumber(n) && v.value % n.value === 0],
  ['lower', (v) => v.type === 'StringValue' && v.value === (v.value as string).toLowerCase()],
  ['upper', (v) => v.type === 'StringValue' && v.value === (v.value as string).toUpperCase()],
  ['equalto', (v, o) => o !== undefined && pyEquals(v, o)],
  ['eq', (v, o) => o !== undefined && pyEquals(v, o)],
  ['==', (v, o) => o !== undefined && pyEquals(v, o)],
  ['ne', (v, o) => o === undefined || !pyEquals(v, o)],
  ['!=', (v, o) => o === undefined || !pyEquals(v, o)],
  ['gt', (v, o) => o !== undefined && compare(v, o) > 0],
  ['>', (v, o) => o !== undefined && compare(v, o) > 0],
  ['ge', (v, o) => o !== undefined && compare(v, o) >= 0],
  ['>=', (v, o) => o !== undefined && compare(v, o) >= 0],
  ['lt', (v, o) => o !== undefined && compare(v, o) < 0],
  ['<', (v, o) => o !== undefined && compare(v, o) < 0],
  ['le', (v, o) => o !== undefined && compare(v, o) <= 0],
  ['<=', (v, o) => o !== undefined && compare(v, o) <= 0],
  ['in', (v, o) => o !== undefined && containedIn(v, o)],
]);

function containedIn(v: RuntimeValue, container: RuntimeValue): boolean {
  if (container.type === 'StringValue') return v.type === 'StringValue' && (container.value as string).includes(v.value as string);
  if (container.value instanceof Array) return (container.value as RuntimeValue[]).some((x) => pyEquals(v, x));
  if (container.value instanceof Map) return v.type === 'StringValue' && (container.value as Map<string, RuntimeValue>).has(v.value as string);
  return false;
}

function iterate(v: RuntimeValue): RuntimeValue[] {
  if (v.value instanceof Array) return v.value as RuntimeValue[];
  if (v.type === 'StringValue') return Array.from(v.value as string, (c) => str(c));
  if (v.value instanceof Map) return Array.from((v.value as Map<string, RuntimeValue>).keys(), (k) => str(k));
  if (v.type === 'UndefinedValue') return [];
  throw new ChatTemplateError(`'${v.type}' object is not iterable`);
}

// ---- the interpreter --------------------------------------------------------------------------

type FilterImpl = (operand: RuntimeValue, args: RuntimeValue[], kwargs: Map<string, RuntimeValue>) => RuntimeValue | undefined;

/** The test `select`/`reject` apply: a named jinja2 test with its arguments, or truthiness. */
function testFor(testName: RuntimeValue | undefined, testArgs: RuntimeValue[]): (v: RuntimeValue) => boolean {
  if (testName === undefined) return truthy;
  if (testName.type !== 'StringValue') throw new ChatTemplateError('select/reject: the test name must be a string');
  const fn = TESTS.get(testName.value as string);
  if (fn === undefined) throw new ChatTemplateError(`no test named '${String(testName.value)}'`);
  return (v) => fn(v, ...testArgs);
}

function selectOrReject(keep: boolean): FilterImpl {
  return (operand, args) => {
    const [testName, ...testArgs] = args;
    const test = testFor(testName, testArgs);
    return new ArrayValue(iterate(operand).filter((v) => test(v) === keep));
  };
}

/** Jinja2's attribute lookup for selectattr/rejectattr: dotted path, digits index lists. */
function getAttr(v: RuntimeValue, path: string): RuntimeValue {
  let cur = v;
  for (const part of path.split('.')) {
    if (cur.value instanceof Map) cur = (cur.value as Map<string, RuntimeValue>).get(part) ?? toRuntime(undefined);
    else if (cur.value instanceof Array && /^\d+$/.test(part)) cur = (cur.value as RuntimeValue[])[Number(part)] ?? toRuntime(undefined);
    else return toRuntime(undefined);
  }
  return cur;
}

function selectOrRejectAttr(keep: boolean): FilterImpl {
  return (operand, args) => {
    const [attr, testName, ...testArgs] = args;
    if (attr === undefined || attr.type !== 'StringValue') throw new ChatTemplateError('selectattr/rejectattr: the attribute must be a string');
    const test = testFor(testName, testArgs);
    return new ArrayValue(iterate(operand).filter((v) => test(getAttr(v, attr.value as string)) === keep));
  };
}

/** Filters handled here; returning undefined hands the node back to the library. */
const FILTERS: ReadonlyMap<string, FilterImpl> = new Map<string, FilterImpl>([
  [
    OUTPUT_FILTER,
    (operand) => {
      const s = pyStr(operand);
      return s === undefined ? operand : str(s);
    },
  ],
  ['select', selectOrReject(true)],
  ['reject', selectOrReject(false)],
  ['selectattr', selectOrRejectAttr(true)],
  ['rejectattr', selectOrRejectAttr(false)],
  [
    'trim',
    (operand, args, kwargs) => {
      const s = pyScalarStr(operand);
      if (s === undefined) return undefined;
      const chars = args[0] ?? kwargs.get('chars');
      return str(pyStrip(s, chars !== undefined && chars.type === 'StringValue' ? (chars.value as string) : undefined));
    },
  ],
]);

class CompatInterpreter extends Interpreter {
  override evaluate(node: AstNode | undefined, environment: Env): RuntimeValue {
    if (node !== undefined && node.type === 'FilterExpression') {
      const result = this.compatFilter(node as unknown as FilterNode, environment);
      if (result !== undefined) return result;
    }
    return super.evaluate(node, environment);
  }

  private compatFilter(node: FilterNode, environment: Env): RuntimeValue | undefined {
    const f = node.filter;
    const name = f.type === 'Identifier' ? f.value : f.callee.type === 'Identifier' ? String(f.callee.value) : undefined;
    const impl = name === undefined ? undefined : FILTERS.get(name);
    if (impl === undefined) return undefined;
    const args: RuntimeValue[] = [];
    const kwargs = new Map<string, RuntimeValue>();
    if (f.type === 'CallExpression') {
      for (const a of f.args) {
        if (a !== undefined && a.type === 'KeywordArgumentExpression') {
          const kw = a as unknown as KeywordArgNode;
          kwargs.set(kw.key.value, this.evaluate(kw.value, environment));
        } else {
          args.push(this.evaluate(a, environment));
        }
      }
    }
    return impl(this.evaluate(node.operand, environment), args, kwargs);
  }
}

// ---- globals ----------------------------------------------------------------------------------

const DAYS = ['Sunday', 'Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday'];
const MONTHS = ['January', 'February', 'March', 'April', 'May', 'June', 'July', 'August', 'September', 'October', 'November', 'December'];

/** Python's datetime.strftime in the C locale (local time), for the directives templates use. */
export function pyStrftime(d: Date, format: string): string {
  const p2 = (n: number): string => String(n).padStart(2, '0');
  const dayOfYear = Math.floor((Date.UTC(d.getFullYear(), d.getMonth(), d.getDate()) - Date.UTC(d.getFullYear(), 0, 1)) / 86400000) + 1;
  return format.replace(/%(-?)([a-zA-Z%])/g, (whole, noPad: string, c: string) => {
    const pad = (n: number, w = 2): string => (noPad ? String(n) : String(n).padStart(w, '0'));
    switch (c) {
      case 'a': return DAYS[d.getDay()]!.slice(0, 3);
      case 'A': return DAYS[d.getDay()]!;
      case 'b': case 'h': return MONTHS[d.getMonth()]!.slice(0, 3);
      case 'B': return MONTHS[d.getMonth()]!;
      case 'd': return pad(d.getDate());
      case 'e': return String(d.getDate()).padStart(2, ' ');
      case 'm': return pad(d.getMonth() + 1);
      case 'y': return p2(d.getFullYear() % 100);
      case 'Y': return String(d.getFullYear());
      case 'H': return pad(d.getHours());
      case 'I': return pad(d.getHours() % 12 === 0 ? 12 : d.getHours() % 12);
      case 'p': return d.getHours() < 12 ? 'AM' : 'PM';
      case 'M': return pad(d.getMinutes());
      case 'S': return pad(d.getSeconds());
      case 'j': return pad(dayOfYear, 3);
      case 'w': return String(d.getDay());
      case '%': return '%';
      default: return whole;
    }
  });
}

function range(args: RuntimeValue[]): RuntimeValue {
  const n = args.map((a) => {
    if (a.type !== 'IntegerValue') throw new ChatTemplateError('range() arguments must be integers');
    return a.value as number;
  });
  const [start, stop, step] = n.length === 1 ? [0, n[0]!, 1] : [n[0]!, n[1]!, n[2] ?? 1];
  if (step === 0) throw new ChatTemplateError('range() step must not be zero');
  const out: RuntimeValue[] = [];
  for (let i = start; step > 0 ? i < stop : i > stop; i += step) out.push(toRuntime(i));
  return new ArrayValue(out);
}

/** Options for one render: the clock for strftime_now (tests pin it). */
export interface CompatRenderOptions {
  readonly now?: () => Date;
}

function globalsEnv(options: CompatRenderOptions): Env {
  const env = new Environment();
  for (const [k, v] of [['true', true], ['false', false], ['none', null], ['True', true], ['False', false], ['None', null]] as const) {
    env.setVariable(k, toRuntime(v));
  }
  env.setVariable(
    'raise_exception',
    new FunctionValue((args) => {
      const msg = args[0];
      throw new ChatTemplateError(`chat template raised: ${msg === undefined ? '' : (pyScalarStr(msg) ?? msg.toString())}`);
    }),
  );
  env.setVariable('range', new FunctionValue(range));
  const now = options.now ?? (() => new Date());
  env.setVariable(
    'strftime_now',
    new FunctionValue((args) => {
      const fmt = args[0];
      if (fmt === undefined || fmt.type !== 'StringValue') throw new ChatTemplateError('strftime_now() needs a format string');
      return str(pyStrftime(now(), fmt.value as string));
    }),
  );
  return env;
}

/** Jinja2 reads the source with every line break form turned into '\n'. */
export function normalizeNewlines(source: string): string {
  return source.replace(/\r\n?/g, '\n');
}

/**
 * Renders a parsed program with the given variables (plain JS values; they override the
 * globals, as render() arguments do in jinja2).
 */
export function renderProgram(program: Program, variables: Readonly<Record<string, unknown>>, options: CompatRenderOptions = {}): string {
  const env = globalsEnv(options);
  for (const [k, v] of Object.entries(variables)) env.setVariable(k, toRuntime(v));
  const out = new CompatInterpreter(env).run(program);
  // Parameters are restricted so that this is always the library's StringValue.
  return out.value as string;
}
