/**
 * `allOf` and `$ref`-with-siblings as one schema: keyword-wise intersection where it is exact
 * (tightest bounds, union of `required`, intersected types and enums, both patterns kept, property
 * schemas merged against the other side's `additionalProperties`). Anything else is refused.
 */
import { UnsupportedSchemaError } from './errors.js';
import { ANNOTATIONS, IMPLEMENTED } from './schema-keywords.js';

export type Schema = boolean | { [k: string]: unknown };
export type Obj = { [k: string]: unknown };

export const isObj = (x: unknown): x is Obj => typeof x === 'object' && x !== null && !Array.isArray(x);
export const eqJson = (a: unknown, b: unknown): boolean => canon(a) === canon(b);
export function canon(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(canon).join(',')}]`;
  if (isObj(v)) return `{${Object.keys(v).sort().map((k) => `${JSON.stringify(k)}:${canon(v[k])}`).join(',')}}`;
  return JSON.stringify(v);
}

/** Keywords that constrain (everything but annotations, definitions and non-vocabulary keys). */
export function constraintKeys(s: Obj): string[] {
  return Object.keys(s).filter((k) => IMPLEMENTED.has(k) && k !== '$defs' && k !== 'definitions');
}

export class Resolver {
  constructor(readonly root: Schema) {}

  resolve(ref: string, ptr: string): { schema: Schema; pointer: string } {
    if (!ref.startsWith('#')) throw new UnsupportedSchemaError('$ref', ptr, `only local references are supported, got '${ref}'`);
    const path = decodeURIComponent(ref.slice(1));
    if (path !== '' && !path.startsWith('/')) throw new UnsupportedSchemaError('$ref', ptr, `anchor references are not supported ('${ref}')`);
    let cur: unknown = this.root;
    for (const raw of path === '' ? [] : path.slice(1).split('/')) {
      const part = raw.replace(/~1/g, '/').replace(/~0/g, '~');
      if (Array.isArray(cur)) cur = cur[Number(part)];
      else if (isObj(cur)) cur = cur[part];
      else cur = undefined;
      if (cur === undefined) throw new UnsupportedSchemaError('$ref', ptr, `'${ref}' does not resolve`);
    }
    if (typeof cur !== 'boolean' && !isObj(cur)) throw new UnsupportedSchemaError('$ref', ptr, `'${ref}' is not a schema`);
    return { schema: cur, pointer: path };
  }

  /** Inline a top-level `$ref` (merged with its siblings). */
  deref(s: Schema, ptr: string, depth = 0): Schema {
    if (!isObj(s) || typeof s.$ref !== 'string') return s;
    if (depth > 24) throw new UnsupportedSchemaError('$ref', ptr, 'reference cycle without progress inside allOf/anyOf');
    const { schema } = this.resolve(s.$ref, ptr);
    const rest: Obj = { ...s };
    delete rest.$ref;
    const target = this.deref(schema, ptr, depth + 1);
    return constraintKeys(rest).length === 0 ? target : this.merge(target, rest, ptr, depth + 1);
  }

  merge(a0: Schema, b0: Schema, ptr: string, depth = 0): Schema {
    const a = this.flatten(this.deref(a0, ptr, depth), ptr, depth);
    const b = this.flatten(this.deref(b0, ptr, depth), ptr, depth);
    if (a === false || b === false) return false;
    if (a === true) return b;
    if (b === true) return a;
    const out: Obj = {};
    const keys = new Set([...Object.keys(a), ...Object.keys(b)]);
    for (const k of keys) {
      if (ANNOTATIONS.has(k) || k === '$defs' || k === 'definitions' || k === 'properties') continue;
      if (!IMPLEMENTED.has(k)) continue;
      const va = a[k];
      const vb = b[k];
      if (va === undefined || vb === undefined) {
        out[k] = va ?? vb;
        continue;
      }
      const fail = (why: string): never => {
        throw new UnsupportedSchemaError('allOf', ptr, `cannot merge '${k}': ${why}`);
      };
      switch (k) {
        case 'type': {
          const ta = new Set(Array.isArray(va) ? va : [va]);
          const tb = new Set(Array.isArray(vb) ? vb : [vb]);
          const res: unknown[] = [];
          for (const t of ta) {
            if (tb.has(t)) res.push(t);
            else if (t === 'integer' && tb.has('number')) res.push('integer');
            else if (t === 'number' && tb.has('integer')) res.push('integer');
          }
          if (res.length === 0) return false;
          out.type = [...new Set(res)];
          break;
        }
        case 'required': out.required = [...new Set([...(va as string[]), ...(vb as string[])])]; break;
        case 'additionalProperties': case 'items':
          if (Array.isArray(va) || Array.isArray(vb)) fail('tuple items');
          out[k] = this.merge(va as Schema, vb as Schema, ptr, depth + 1);
          break;
        case 'minLength': case 'minItems': case 'minProperties': case 'minimum': out[k] = Math.max(va as number, vb as number); break;
        case 'maxLength': case 'maxItems': case 'maxProperties': case 'maximum': out[k] = Math.min(va as number, vb as number); break;
        case 'exclusiveMinimum': case 'exclusiveMaximum':
          if (typeof va !== 'number' || typeof vb !== 'number') fail('boolean exclusive bounds');
          out[k] = k === 'exclusiveMinimum' ? Math.max(va as number, vb as number) : Math.min(va as number, vb as number);
          break;
        case 'pattern': out.pattern = va; out.__patterns = [...((out.__patterns as string[]) ?? []), vb]; break;
        case '__patterns': out.__patterns = [...((out.__patterns as string[]) ?? []), ...(va as string[]), ...(vb as string[])]; break;
        case 'enum': out.enum = (va as unknown[]).filter((x) => (vb as unknown[]).some((y) => eqJson(x, y))); break;
        case 'const': if (!eqJson(va, vb)) return false; out.const = va; break;
        case 'nullable': out.nullable = va === true && vb === true; break;
        case 'multipleOf': {
          if (va === vb) out.multipleOf = va;
          else if (Number.isInteger(va) && Number.isInteger(vb)) {
            const g = (x: number, y: number): number => (y === 0 ? x : g(y, x % y));
            out.multipleOf = ((va as number) / g(va as number, vb as number)) * (vb as number);
          } else fail('non-integer multipleOf');
          break;
        }
        default:
          if (!eqJson(va, vb)) fail('both sides set it');
          out[k] = va;
      }
    }
    const pa = isObj(a.properties) ? a.properties : undefined;
    const pb = isObj(b.properties) ? b.properties : undefined;
    if (pa || pb) {
      if ((pa && b.patternProperties !== undefined) || (pb && a.patternProperties !== undefined)) {
        throw new UnsupportedSchemaError('allOf', ptr, 'properties merged with patternProperties');
      }
      const props: Obj = {};
      for (const n of new Set([...Object.keys(pa ?? {}), ...Object.keys(pb ?? {})])) {
        const sa = (pa?.[n] ?? a.additionalProperties ?? true) as Schema;
        const sb = (pb?.[n] ?? b.additionalProperties ?? true) as Schema;
        props[n] = pa?.[n] !== undefined && pb?.[n] !== undefined ? this.merge(sa, sb, `${ptr}/properties/${n}`, depth + 1)
          : pa?.[n] !== undefined ? (sb === true ? sa : this.merge(sa, sb, ptr, depth + 1))
            : (sa === true ? sb : this.merge(sa, sb, ptr, depth + 1));
      }
      out.properties = props;
    }
    return out;
  }

  /** Fold a schema's own allOf into it. */
  flatten(s: Schema, ptr: string, depth: number): Schema {
    if (!isObj(s) || !Array.isArray(s.allOf)) return s;
    const rest: Obj = { ...s };
    delete rest.allOf;
    let acc: Schema = rest;
    for (const x of s.allOf as Schema[]) acc = this.merge(acc, x, `${ptr}/allOf`, depth + 1);
    return acc;
  }
}
