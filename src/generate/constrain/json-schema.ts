/**
 * JSON Schema → grammar. Each schema node becomes an expression over JSON terminals; `$ref`
 * targets become named rules (so recursion works); objects are emitted in `properties` order with
 * other keys (additionalProperties / patternProperties) allowed between them, counted when
 * min/maxProperties ask; arrays are counted for minItems/maxItems and tuples.
 */
import { GrammarBuilder, type Expr, type FlatGrammar, term, ref, seq, alts, EMPTY, NEVER, GrammarError } from './grammar.js';
import { literal, literalsOf, wsDfa, stringDfa, integerDfa, numberDfa, boundedNumberDfa, patternMatches } from './json-lex.js';
import { RegexUnsupported } from './regex.js';
import { UnsupportedSchemaError } from './errors.js';
import { ANNOTATIONS, IMPLEMENTED, UNSUPPORTED } from './schema-keywords.js';
import { Resolver, type Schema, type Obj, isObj, eqJson, constraintKeys } from './schema-merge.js';

export interface JsonConstraintOptions {
  /** 'flexible' (default): JSON whitespace between tokens, at most `maxWhitespace` bytes per gap. */
  readonly whitespace?: 'flexible' | 'compact';
  readonly maxWhitespace?: number;
  /** Refuse keys that are not JSON Schema keywords too (default false: validators ignore them). */
  readonly strict?: boolean;
}

const ALL_TYPES = ['null', 'boolean', 'object', 'array', 'string', 'number'] as const;
const esc = (s: string): string => s.replace(/~/g, '~0').replace(/\//g, '~1');

export function jsonSchemaGrammar(schema: unknown, opts: JsonConstraintOptions = {}): FlatGrammar {
  if (isObj(schema) && schema.type === 'json_object' && Object.keys(schema).length === 1) schema = { type: 'object' };
  if (typeof schema !== 'boolean' && !isObj(schema)) throw new UnsupportedSchemaError('schema', '', 'a schema is an object or a boolean');
  const c = new SchemaCompiler(schema, opts);
  try {
    c.b.define('root', c.compile(schema, ''));
    return c.b.build('root');
  } catch (e) {
    if (e instanceof RegexUnsupported || e instanceof GrammarError) throw new UnsupportedSchemaError('schema', '', e.message);
    throw e;
  }
}

class SchemaCompiler {
  readonly b = new GrammarBuilder('json');
  private readonly r: Resolver;
  private readonly ws: Expr;

  constructor(root: Schema, private readonly opts: JsonConstraintOptions) {
    this.r = new Resolver(root);
    if (opts.whitespace === 'compact') this.ws = EMPTY;
    else {
      this.b.define('ws', alts(term(wsDfa(opts.maxWhitespace ?? 8)), EMPTY));
      this.ws = ref('ws');
    }
  }

  private lit(s: string): Expr {
    return term(literal(s));
  }

  private check(s: Obj, ptr: string): void {
    for (const k of Object.keys(s)) {
      if (UNSUPPORTED.has(k)) throw new UnsupportedSchemaError(k, ptr, 'keyword not supported');
      if (k === 'uniqueItems' && s[k] === true) throw new UnsupportedSchemaError(k, ptr, 'keyword not supported');
      if (this.opts.strict && !IMPLEMENTED.has(k) && !ANNOTATIONS.has(k)) throw new UnsupportedSchemaError(k, ptr, 'unknown keyword');
    }
  }

  private any(): Expr {
    if (!this.b.has('any')) {
      this.b.define('any', NEVER);
      this.b.define('any', alts(...ALL_TYPES.map((t) => this.typed(t, {}, '#any'))));
    }
    return ref('any');
  }

  private refRule(target: string, ptr: string): Expr {
    const { schema, pointer } = this.r.resolve(target, ptr);
    const name = `ref:${pointer}`;
    if (!this.b.has(name)) {
      this.b.define(name, NEVER);
      this.b.define(name, this.compile(schema, pointer));
    }
    return ref(name);
  }

  compile(s: Schema, ptr: string): Expr {
    if (s === true) return this.any();
    if (s === false) return NEVER;
    if (!isObj(s)) throw new UnsupportedSchemaError('schema', ptr, 'a schema is an object or a boolean');
    this.check(s, ptr);
    const keys = constraintKeys(s);
    if (keys.length === 0) return this.any();
    if (typeof s.$ref === 'string') {
      const rest: Obj = { ...s };
      delete rest.$ref;
      if (constraintKeys(rest).length === 0) return this.refRule(s.$ref, ptr);
      return this.compile(this.r.deref(s, ptr), ptr);
    }
    if (Array.isArray(s.allOf)) return this.compile(this.r.flatten(s, ptr, 0), ptr);
    if (s.anyOf !== undefined && s.oneOf !== undefined) throw new UnsupportedSchemaError('oneOf', ptr, 'anyOf and oneOf together');
    const branchKey = s.anyOf !== undefined ? 'anyOf' : s.oneOf !== undefined ? 'oneOf' : undefined;
    if (branchKey) {
      const list = s[branchKey];
      if (!Array.isArray(list) || list.length === 0) throw new UnsupportedSchemaError(branchKey, ptr, 'must be a non-empty array');
      const rest: Obj = { ...s };
      delete rest[branchKey];
      const hasRest = constraintKeys(rest).length > 0;
      const branches = (list as Schema[]).map((x) => (hasRest ? this.r.merge(rest, x, ptr) : x));
      if (branchKey === 'oneOf') this.checkDisjoint(branches, ptr);
      const out: Expr[] = [];
      branches.forEach((x, i) => {
        out.push(this.compile(x, `${ptr}/${branchKey}/${i}`));
        // Property order is the grammar's, not the schema's: also offer the branch's own
        // properties first (an equally valid order) when merging moved them.
        if (!hasRest) return;
        const y = this.r.merge(list[i] as Schema, rest, ptr);
        const order = (z: Schema): string => (isObj(z) && isObj(z.properties) ? Object.keys(z.properties).join('\u0000') : '');
        if (order(y) !== order(x)) out.push(this.compile(y, `${ptr}/${branchKey}/${i}`));
      });
      return alts(...out);
    }
    if (s.enum !== undefined || s.const !== undefined) return this.enumExpr(s, ptr);
    return alts(...this.types(s, ptr).map((t) => this.typed(t, s, ptr)));
  }

  private types(s: Obj, ptr: string): string[] {
    let ts: string[];
    if (s.type === undefined) ts = [...ALL_TYPES];
    else {
      const raw = Array.isArray(s.type) ? s.type : [s.type];
      for (const t of raw) if (typeof t !== 'string' || ![...ALL_TYPES, 'integer'].includes(t)) throw new UnsupportedSchemaError('type', ptr, `unknown type ${JSON.stringify(t)}`);
      ts = [...new Set(raw as string[])];
    }
    if (s.nullable === true && !ts.includes('null')) ts.push('null');
    if (ts.includes('number')) ts = ts.filter((t) => t !== 'integer');
    return ts;
  }

  private typed(t: string, s: Obj, ptr: string): Expr {
    switch (t) {
      case 'null': return this.lit('null');
      case 'boolean': return alts(this.lit('true'), this.lit('false'));
      case 'integer': return this.numeric(s, ptr, true);
      case 'number': return this.numeric(s, ptr, false);
      case 'string': return this.string(s, ptr);
      case 'array': return this.array(s, ptr);
      default: return this.object(s, ptr);
    }
  }

  private string(s: Obj, ptr: string): Expr {
    const num = (k: string): number | undefined => {
      const v = s[k];
      if (v === undefined) return undefined;
      if (typeof v !== 'number' || !Number.isInteger(v) || v < 0) throw new UnsupportedSchemaError(k, ptr, 'must be a non-negative integer');
      return v;
    };
    const patterns = [...(typeof s.pattern === 'string' ? [s.pattern] : []), ...((s.__patterns as string[] | undefined) ?? [])];
    const spec = { minLength: num('minLength'), maxLength: num('maxLength'), patterns, format: typeof s.format === 'string' ? s.format : undefined };
    try {
      return term(stringDfa(spec));
    } catch (e) {
      if (e instanceof RegexUnsupported) {
        const kw = /automaton too large/.test(e.message) && spec.maxLength !== undefined ? 'maxLength' : patterns.length ? 'pattern' : 'format';
        throw new UnsupportedSchemaError(kw, ptr, e.message);
      }
      throw e;
    }
  }

  private numeric(s: Obj, ptr: string, integer: boolean): Expr {
    type Bound = { v: number; excl: boolean };
    const pick = (incl: string, excl: string, lower: boolean): Bound | undefined => {
      const out: Bound[] = [];
      const a = s[incl];
      const b = s[excl];
      if (a !== undefined) {
        if (typeof a !== 'number') throw new UnsupportedSchemaError(incl, ptr, 'must be a number');
        out.push({ v: a, excl: b === true });
      }
      if (typeof b === 'number') out.push({ v: b, excl: true });
      else if (b !== undefined && typeof b !== 'boolean') throw new UnsupportedSchemaError(excl, ptr, 'must be a number');
      if (out.length === 0) return undefined;
      return out.reduce((x, y) => (x.v === y.v ? { v: x.v, excl: x.excl || y.excl } : (lower ? x.v > y.v : x.v < y.v) ? x : y));
    };
    const lo = pick('minimum', 'exclusiveMinimum', true);
    const hi = pick('maximum', 'exclusiveMaximum', false);
    const mo = s.multipleOf;
    if (mo !== undefined && (typeof mo !== 'number' || !Number.isInteger(mo) || mo <= 0 || mo > 100000)) {
      throw new UnsupportedSchemaError('multipleOf', ptr, 'only positive integer multipleOf is supported');
    }
    if (integer || mo !== undefined) {
      const l = lo === undefined ? undefined : BigInt(lo.excl ? Math.floor(lo.v) + 1 : Math.ceil(lo.v));
      const h = hi === undefined ? undefined : BigInt(hi.excl ? Math.ceil(hi.v) - 1 : Math.floor(hi.v));
      const d = integerDfa(l, h, mo === undefined ? undefined : BigInt(mo));
      return d.isEmpty() ? NEVER : term(d);
    }
    if (lo === undefined && hi === undefined) return term(numberDfa());
    for (const [k, b] of [['minimum', lo], ['maximum', hi]] as const) {
      if (b !== undefined && (!Number.isInteger(b.v) || !Number.isSafeInteger(b.v))) throw new UnsupportedSchemaError(k, ptr, 'non-integer bounds on numbers are not supported');
    }
    const big = (b: Bound | undefined): { v: bigint; excl: boolean } | undefined => (b ? { v: BigInt(b.v), excl: b.excl } : undefined);
    const d = boundedNumberDfa(big(lo), big(hi));
    return d.isEmpty() ? NEVER : term(d);
  }

  private enumExpr(s: Obj, ptr: string): Expr {
    let values: unknown[] = s.enum !== undefined ? (Array.isArray(s.enum) ? s.enum : []) : [s.const];
    if (s.const !== undefined && s.enum !== undefined) values = values.filter((v) => eqJson(v, s.const));
    const allowedSiblings = new Set(['enum', 'const', 'type', 'nullable', 'minLength', 'maxLength', 'pattern', 'minimum', 'maximum', 'exclusiveMinimum', 'exclusiveMaximum']);
    for (const k of constraintKeys(s)) {
      if (!allowedSiblings.has(k)) throw new UnsupportedSchemaError(k, ptr, 'not supported beside enum/const');
    }
    const types = s.type === undefined ? undefined : this.types(s, ptr);
    const typeOf = (v: unknown): string[] =>
      v === null ? ['null'] : typeof v === 'boolean' ? ['boolean'] : typeof v === 'string' ? ['string'] : Array.isArray(v) ? ['array']
        : typeof v === 'number' ? (Number.isInteger(v) ? ['integer', 'number'] : ['number']) : ['object'];
    const ok = values.filter((v) => {
      if (types && !typeOf(v).some((t) => types.includes(t) || (t === 'integer' && types.includes('number')))) return false;
      if (typeof v === 'string') {
        const n = [...v].length;
        if (typeof s.minLength === 'number' && n < s.minLength) return false;
        if (typeof s.maxLength === 'number' && n > s.maxLength) return false;
        if (typeof s.pattern === 'string') {
          try {
            if (!patternMatches(s.pattern, v)) return false;
          } catch (e) {
            if (e instanceof RegexUnsupported) throw new UnsupportedSchemaError('pattern', ptr, e.message);
            throw e;
          }
        }
      }
      if (typeof v === 'number') {
        if (typeof s.minimum === 'number' && (v < s.minimum || (s.exclusiveMinimum === true && v === s.minimum))) return false;
        if (typeof s.maximum === 'number' && (v > s.maximum || (s.exclusiveMaximum === true && v === s.maximum))) return false;
        if (typeof s.exclusiveMinimum === 'number' && v <= s.exclusiveMinimum) return false;
        if (typeof s.exclusiveMaximum === 'number' && v >= s.exclusiveMaximum) return false;
      }
      return true;
    });
    if (ok.length === 0) return NEVER;
    const texts = [...new Set(ok.map((v) => JSON.stringify(v)))].sort();
    return term(literalsOf(texts));
  }

  private array(s: Obj, ptr: string): Expr {
    let prefix: Schema[] = [];
    let rest: Schema = true;
    if (Array.isArray(s.prefixItems)) {
      prefix = s.prefixItems as Schema[];
      rest = (s.items as Schema | undefined) ?? true;
    } else if (Array.isArray(s.items)) {
      prefix = s.items as Schema[];
      rest = (s.additionalItems as Schema | undefined) ?? true;
    } else rest = (s.items as Schema | undefined) ?? true;
    const k = prefix.length;
    const m = typeof s.minItems === 'number' ? s.minItems : 0;
    let M = typeof s.maxItems === 'number' ? s.maxItems : undefined;
    if (rest === false) M = Math.min(M ?? k, k);
    if (M !== undefined && m > M) return NEVER;
    if (Math.max(m, M ?? 0, k) > 20000) throw new UnsupportedSchemaError('maxItems', ptr, 'counts above 20000 are not supported');
    const restRule = this.b.fresh('items');
    this.b.define(restRule, seq(this.compile(rest, `${ptr}/items`), this.ws));
    const elem = (i: number): Expr => (i < k ? seq(this.compile(prefix[i]!, `${ptr}/prefixItems/${i}`), this.ws) : ref(restRule));
    const sep = (i: number): Expr => (i > 0 ? seq(this.lit(','), this.ws) : EMPTY);
    const base = this.b.fresh('arr');
    const names: string[] = [];
    const loopFrom = Math.max(k, m, 1);
    const last = M === undefined ? loopFrom : M;
    for (let i = last; i >= 0; i--) {
      const name = `${base}:${i}`;
      names[i] = name;
      const a: Expr[] = [];
      if (i >= m) a.push(EMPTY);
      if (M === undefined && i === loopFrom) a.push(seq(sep(i), ref(restRule), ref(name)));
      else if (M === undefined || i < M) a.push(seq(sep(i), elem(i), ref(names[i + 1]!)));
      this.b.define(name, alts(...a));
    }
    return seq(this.lit('['), this.ws, ref(names[0]!), this.lit(']'));
  }

  private object(s: Obj, ptr: string): Expr {
    const props: [string, Schema][] = Object.entries(isObj(s.properties) ? s.properties : {}) as [string, Schema][];
    const required = new Set((Array.isArray(s.required) ? s.required : []) as string[]);
    const addl = (s.additionalProperties ?? true) as Schema;
    const pats = Object.entries(isObj(s.patternProperties) ? s.patternProperties : {}) as [string, Schema][];
    const matchesPattern = (name: string): boolean => pats.some(([p]) => {
      try {
        return patternMatches(p, name);
      } catch (e) {
        if (e instanceof RegexUnsupported) throw new UnsupportedSchemaError('patternProperties', ptr, e.message);
        throw e;
      }
    });
    for (const r of required) {
      if (props.some(([n]) => n === r)) continue;
      if (matchesPattern(r)) throw new UnsupportedSchemaError('required', ptr, `required '${r}' only matched by patternProperties`);
      if (addl === false) return NEVER;
      props.push([r, addl]);
    }
    for (const [n] of props) if (matchesPattern(n)) throw new UnsupportedSchemaError('patternProperties', ptr, `property '${n}' also matches a pattern`);
    const minP = typeof s.minProperties === 'number' ? s.minProperties : 0;
    const maxP = typeof s.maxProperties === 'number' ? s.maxProperties : undefined;
    if (maxP !== undefined && maxP > 1000) throw new UnsupportedSchemaError('maxProperties', ptr, 'counts above 1000 are not supported');
    const names = props.map(([n]) => n);
    const kv = (key: Expr, value: Expr): Expr => seq(key, this.ws, this.lit(':'), this.ws, value, this.ws);
    const extras: Expr[] = [];
    try {
      pats.forEach(([p, sch], j) => {
        const others = pats.filter((_, i) => i !== j).map(([q]) => q);
        extras.push(kv(term(stringDfa({ patterns: [p], notIn: names, notPatterns: others })), this.compile(sch, `${ptr}/patternProperties/${esc(p)}`)));
      });
      if (addl !== false) {
        extras.push(kv(term(stringDfa({ notIn: names, notPatterns: pats.map(([p]) => p) })), this.compile(addl, `${ptr}/additionalProperties`)));
      }
    } catch (e) {
      if (e instanceof RegexUnsupported) throw new UnsupportedSchemaError('patternProperties', ptr, e.message);
      throw e;
    }
    let extra: Expr | undefined;
    if (extras.length) {
      const n = this.b.fresh('extra');
      this.b.define(n, alts(...extras));
      extra = ref(n);
    }
    const kvs = props.map(([n, sch]) => {
      const r = this.b.fresh('kv');
      this.b.define(r, kv(this.lit(JSON.stringify(n)), this.compile(sch, `${ptr}/properties/${esc(n)}`)));
      return ref(r);
    });
    const C = maxP ?? Math.max(minP, 1);
    const next = (c: number): number => (maxP !== undefined ? c + 1 : Math.min(c + 1, C));
    const sep = (c: number): Expr => (c > 0 ? seq(this.lit(','), this.ws) : EMPTY);
    const base = this.b.fresh('obj');
    const made = new Set<string>();
    const S = (i: number, c: number): Expr => {
      const name = `${base}:${i}:${c}`;
      if (made.has(name)) return ref(name);
      made.add(name);
      this.b.define(name, NEVER);
      const a: Expr[] = [];
      const canAdd = maxP === undefined || c < maxP;
      if (extra && canAdd) a.push(seq(sep(c), extra, S(i, next(c))));
      if (i < props.length) {
        if (!required.has(props[i]![0])) a.push(S(i + 1, c));
        if (canAdd) a.push(seq(sep(c), kvs[i]!, S(i + 1, next(c))));
      } else if (c >= minP) a.push(EMPTY);
      this.b.define(name, alts(...a));
      return ref(name);
    };
    return seq(this.lit('{'), this.ws, S(0, 0), this.lit('}'));
  }

  private checkDisjoint(branches: Schema[], ptr: string): void {
    const info = branches.map((b) => this.shape(this.r.deref(b, ptr)));
    for (let i = 0; i < info.length; i++) for (let j = i + 1; j < info.length; j++) {
      if (!this.disjoint(info[i]!, info[j]!)) {
        throw new UnsupportedSchemaError('oneOf', ptr, `branches ${i} and ${j} may both match (only provably exclusive branches are supported)`);
      }
    }
  }

  private shape(s: Schema): { s: Obj | boolean; types: Set<string>; lits?: Set<string> } {
    if (!isObj(s)) return { s, types: new Set(s ? ALL_TYPES : []) };
    const litsOf = (x: Obj): unknown[] | undefined => (x.const !== undefined ? [x.const] : Array.isArray(x.enum) ? x.enum : undefined);
    const lits = litsOf(s);
    let types: Set<string>;
    if (lits) types = new Set(lits.map((v) => (v === null ? 'null' : Array.isArray(v) ? 'array' : typeof v === 'object' ? 'object' : typeof v === 'boolean' ? 'boolean' : typeof v)));
    else {
      const raw = s.type === undefined ? [...ALL_TYPES] : Array.isArray(s.type) ? s.type : [s.type];
      types = new Set((raw as string[]).map((t) => (t === 'integer' ? 'number' : t)));
      if (s.nullable === true) types.add('null');
    }
    return { s, types, lits: lits ? new Set(lits.map((v) => JSON.stringify(v))) : undefined };
  }

  private disjoint(a: ReturnType<SchemaCompiler['shape']>, b: ReturnType<SchemaCompiler['shape']>): boolean {
    const common = [...a.types].filter((t) => b.types.has(t));
    if (common.length === 0) return true;
    if (a.lits && b.lits && ![...a.lits].some((x) => b.lits!.has(x))) return true;
    if (common.length !== 1 || common[0] !== 'object' || !isObj(a.s) || !isObj(b.s)) return false;
    const sa = a.s;
    const sb = b.s;
    const req = (x: Obj): string[] => (Array.isArray(x.required) ? (x.required as string[]) : []);
    const prop = (x: Obj, n: string): Schema | undefined => (isObj(x.properties) ? (x.properties[n] as Schema | undefined) : undefined);
    const closed = (x: Obj, n: string): boolean => x.additionalProperties === false && x.patternProperties === undefined && prop(x, n) === undefined;
    for (const n of req(sa)) {
      if (closed(sb, n)) return true;
      if (req(sb).includes(n)) {
        const pa = prop(sa, n);
        const pb = prop(sb, n);
        if (pa !== undefined && pb !== undefined) {
          const x = this.shape(this.r.deref(pa, ''));
          const y = this.shape(this.r.deref(pb, ''));
          if (x.lits && y.lits && ![...x.lits].some((v) => y.lits!.has(v))) return true;
          if (![...x.types].some((t) => y.types.has(t))) return true;
        }
      }
    }
    for (const n of req(sb)) if (closed(sa, n)) return true;
    return false;
  }
}
