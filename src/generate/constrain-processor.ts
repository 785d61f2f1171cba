import type { Tokenizer } from '../tokenizer/types.js';
import type { LogitsProcessor } from './options.js';
import { applyMask, compileGrammar, compileJsonSchema, type Constraint, type ConstraintState } from './constrain/index.js';
import { BadArgumentError } from '../errors/errors.js';

/** What `generate(..., { responseFormat })` accepts. */
export type ResponseFormat =
  | { readonly type: 'json_schema'; readonly schema: unknown; readonly whitespace?: 'flexible' | 'compact' }
  | { readonly type: 'json_object'; readonly whitespace?: 'flexible' | 'compact' }
  | { readonly type: 'grammar'; readonly grammar: string };

/**
 * A constraint as a logits processor: every row is masked to the tokens that keep the output a
 * valid prefix, and the stop ids are allowed only where the value is complete. Keeps its states,
 * so speculative decoding can roll back.
 */
export function constraintProcessor(constraint: Constraint, stopIds: readonly number[]): LogitsProcessor {
  const states: ConstraintState[] = [constraint.start()];
  const stops = new Set(stopIds);
  return {
    process(row) {
      applyMask(row, states[states.length - 1]!, stopIds);
    },
    accept(id) {
      if (stops.has(id)) return;
      const next = states[states.length - 1]!.clone();
      next.advance(id);
      states.push(next);
    },
    rollback(count) {
      if (count >= states.length) throw new BadArgumentError(`cannot roll a constraint back ${count} tokens`);
      states.length -= count;
    },
  };
}

const cache = new Map<string, Constraint>();
const CACHE_MAX = 64;

/** Compiles (or reuses the compiled) constraint for a response format on this tokenizer. */
export function compileResponseFormat(format: ResponseFormat, tokenizer: Tokenizer): Constraint {
  if (typeof format !== 'object' || format === null) throw new BadArgumentError('responseFormat must be an object');
  const key = JSON.stringify(format);
  const hit = cache.get(key);
  if (hit && hit.tokenizer === tokenizer) {
    cache.delete(key);
    cache.set(key, hit);
    return hit;
  }
  let c: Constraint;
  switch (format.type) {
    case 'json_schema':
      c = compileJsonSchema(format.schema, tokenizer, format.whitespace ? { whitespace: format.whitespace } : undefined);
      break;
    case 'json_object':
      c = compileJsonSchema({ type: 'json_object' }, tokenizer, format.whitespace ? { whitespace: format.whitespace } : undefined);
      break;
    case 'grammar':
      c = compileGrammar(format.grammar, tokenizer);
      break;
    default:
      throw new BadArgumentError(`responseFormat type is 'json_schema', 'json_object' or 'grammar', got ${JSON.stringify((format as { type?: unknown }).type)}`);
  }
  cache.set(key, c);
  if (cache.size > CACHE_MAX) cache.delete(cache.keys().next().value!);
  return c;
}
