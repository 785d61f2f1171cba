import { LlamaError } from '../../errors/errors.js';

/** A schema uses something the engine cannot enforce exactly; nothing is silently dropped. */
export class UnsupportedSchemaError extends LlamaError {
  constructor(readonly keyword: string, readonly pointer: string, detail: string) {
    super('UNSUPPORTED_SCHEMA', `unsupported schema at ${pointer || '#'}: ${keyword}: ${detail}`);
    this.name = 'UnsupportedSchemaError';
  }
}

export class InvalidGrammarError extends LlamaError {
  constructor(detail: string) {
    super('INVALID_GRAMMAR', `invalid grammar: ${detail}`);
    this.name = 'InvalidGrammarError';
  }
}
