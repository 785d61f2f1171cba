import * as errors from './errors.js';
import { LlamaError } from './errors.js';

/** An error as it crosses a thread boundary (structured clone drops classes and own fields). */
export interface ErrorData {
  readonly name: string;
  readonly message: string;
  readonly code?: string;
  readonly stack?: string;
  readonly props: Record<string, unknown>;
}

export function errorToData(e: unknown): ErrorData {
  if (e instanceof Error) {
    const props: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(e)) if (k !== 'code' && (typeof v !== 'object' || v === null || Array.isArray(v))) props[k] = v;
    return { name: e.name, message: e.message, code: e instanceof LlamaError ? e.code : undefined, stack: e.stack, props };
  }
  return { name: 'Error', message: String(e), props: {} };
}

const classes = new Map<string, { prototype: object }>(
  Object.values(errors)
    .filter((v): v is typeof LlamaError => typeof v === 'function' && v.prototype instanceof Error)
    .map((c) => [c.name, c]),
);

/** Rebuilds the error on this side: the same class (so instanceof holds), code, message and fields. */
export function errorFromData(d: ErrorData): Error {
  const cls = classes.get(d.name) ?? (d.code ? LlamaError : Error);
  const e = Object.create(cls.prototype) as Error & { code?: string };
  Object.assign(e, d.props);
  Object.defineProperty(e, 'message', { value: d.message, writable: true, configurable: true });
  Object.defineProperty(e, 'name', { value: d.name, writable: true, configurable: true });
  if (d.code !== undefined) Object.defineProperty(e, 'code', { value: d.code, enumerable: true });
  Object.defineProperty(e, 'stack', { value: d.stack ?? `${d.name}: ${d.message}`, writable: true, configurable: true });
  return e;
}
