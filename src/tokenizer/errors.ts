import { LlamaError } from '../errors/errors.js';

/** A tokenizer file or setting this engine cannot honour exactly (never guessed around). */
export class TokenizerError extends LlamaError {
  constructor(detail: string, options?: { cause?: unknown }) {
    super('TOKENIZER_ERROR', detail, options);
    this.name = 'TokenizerError';
  }
}
