import { LlamaError } from '../errors/errors.js';

/**
 * A chat template that does not parse, calls `raise_exception(...)`, or fails while rendering
 * (the equivalent of jinja2's TemplateError in transformers).
 */
export class ChatTemplateError extends LlamaError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('TEMPLATE_ERROR', message, options);
    this.name = 'ChatTemplateError';
  }
}
