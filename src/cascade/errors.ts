import { BadArgumentError, LlamaError } from '../errors/errors.js';

/** A cascade policy (JSON, file or preset name) that is not valid: names the field and why. */
export class InvalidPolicyError extends BadArgumentError {
  constructor(readonly field: string, detail: string) {
    super(`escalate policy: ${field} ${detail}`);
    this.name = 'InvalidPolicyError';
  }
}

/** The small and big models cannot share token ids (different vocabularies or special tokens). */
export class CascadeModelMismatchError extends LlamaError {
  constructor(detail: string) {
    super('BAD_ARGUMENT', `the cascade's small and big models must share one tokenizer: ${detail}`);
    this.name = 'CascadeModelMismatchError';
  }
}

/** The big model (an endpoint) failed, timed out or answered something unusable. */
export class BigModelError extends LlamaError {
  constructor(readonly target: string, detail: string, options?: { cause?: unknown }) {
    super('BACKEND_ERROR', `big model ${target}: ${detail}`, options);
    this.name = 'BigModelError';
  }
}
