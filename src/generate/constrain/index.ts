/** Structured output: JSON Schema / GBNF constraints as per-token masks. */
import type { Tokenizer } from '../../tokenizer/types.js';
import { Constraint } from './constraint.js';
import { jsonSchemaGrammar, type JsonConstraintOptions } from './json-schema.js';
import { gbnfGrammar } from './gbnf.js';

export { Constraint, ConstraintState, applyMask } from './constraint.js';
export type { JsonConstraintOptions } from './json-schema.js';
export { UnsupportedSchemaError, InvalidGrammarError } from './errors.js';

export type GrammarConstraintOptions = Record<string, never>;

/** Compile a JSON Schema (draft 2020-12 / draft-07), or `{ type: 'json_object' }`. */
export function compileJsonSchema(schema: unknown, tokenizer: Tokenizer, options?: JsonConstraintOptions): Constraint {
  return new Constraint(jsonSchemaGrammar(schema, options), tokenizer);
}

/** Compile a llama.cpp GBNF grammar (start rule `root`). */
export function compileGrammar(gbnfText: string, tokenizer: Tokenizer, options?: GrammarConstraintOptions): Constraint {
  void options;
  return new Constraint(gbnfGrammar(gbnfText), tokenizer);
}
