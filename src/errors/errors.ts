/**
 * Typed errors. Every error a user can cause carries a stable `code` so the CLI, the server and
 * tests can tell them apart without matching message text.
 */
export type LlamaErrorCode =
  | 'FILE_NOT_FOUND'
  | 'NOT_A_MODEL'
  | 'TRUNCATED_FILE'
  | 'UNSUPPORTED_TENSOR_TYPE'
  | 'SHAPE_MISMATCH'
  | 'MISSING_TENSOR'
  | 'BAD_CONFIG'
  | 'CONTEXT_OVERFLOW'
  | 'BAD_ARGUMENT'
  | 'TOKENIZER_ERROR'
  | 'TEMPLATE_ERROR'
  | 'BACKEND_ERROR'
  | 'QUEUE_FULL'
  | 'DISPOSED'
  | 'BAD_LOGITS'
  | 'UNSUPPORTED_SCHEMA'
  | 'INVALID_GRAMMAR'
  | 'TOKEN_NOT_ALLOWED'
  // Hub downloads (src/hub/) and memory planning (src/model/memory-plan.ts).
  | 'HUB_ACCESS_DENIED'
  | 'HUB_NOT_FOUND'
  | 'HUB_UNREACHABLE'
  | 'DOWNLOAD_FAILED'
  | 'CHECKSUM_MISMATCH'
  | 'NOT_CACHED'
  | 'OUT_OF_MEMORY'
  | 'NON_FINITE_TENSOR'
  // Speculative decoding: the draft model does not share the target's vocabulary.
  | 'DRAFT_MISMATCH'
  | 'BAD_KERNEL_CHOICE';

export class LlamaError extends Error {
  readonly code: LlamaErrorCode;
  constructor(code: LlamaErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'LlamaError';
    this.code = code;
  }
}

export class FileNotFoundError extends LlamaError {
  constructor(readonly path: string) {
    super('FILE_NOT_FOUND', `no such file or folder: ${path}`);
    this.name = 'FileNotFoundError';
  }
}

export class NotAModelError extends LlamaError {
  constructor(readonly path: string, detail: string) {
    super('NOT_A_MODEL', `${path} is not a model file: ${detail}`);
    this.name = 'NotAModelError';
  }
}

export class TruncatedFileError extends LlamaError {
  constructor(readonly path: string, detail: string) {
    super('TRUNCATED_FILE', `${path} is truncated: ${detail}`);
    this.name = 'TruncatedFileError';
  }
}

export class UnsupportedTensorTypeError extends LlamaError {
  constructor(readonly tensor: string, readonly type: string) {
    super('UNSUPPORTED_TENSOR_TYPE', `tensor ${tensor} has unsupported type ${type}`);
    this.name = 'UnsupportedTensorTypeError';
  }
}

export class ShapeMismatchError extends LlamaError {
  constructor(readonly tensor: string, readonly expected: readonly number[], readonly actual: readonly number[]) {
    super('SHAPE_MISMATCH', `tensor ${tensor} has shape [${actual.join(', ')}], expected [${expected.join(', ')}]`);
    this.name = 'ShapeMismatchError';
  }
}

export class MissingTensorError extends LlamaError {
  constructor(readonly tensor: string, readonly source: string) {
    super('MISSING_TENSOR', `tensor ${tensor} is missing from ${source}`);
    this.name = 'MissingTensorError';
  }
}

export class BadConfigError extends LlamaError {
  constructor(detail: string) {
    super('BAD_CONFIG', `invalid model config: ${detail}`);
    this.name = 'BadConfigError';
  }
}

export class ContextOverflowError extends LlamaError {
  constructor(readonly needed: number, readonly capacity: number, what = 'prompt') {
    super('CONTEXT_OVERFLOW', `${what} needs ${needed} tokens but the context holds ${capacity}; nothing was truncated`);
    this.name = 'ContextOverflowError';
  }
}

export class BadArgumentError extends LlamaError {
  constructor(detail: string) {
    super('BAD_ARGUMENT', detail);
    this.name = 'BadArgumentError';
  }
}

/** A call on a model or session after dispose(). */
export class DisposedError extends LlamaError {
  constructor(what: string) {
    super('DISPOSED', `${what} was disposed`);
    this.name = 'DisposedError';
  }
}

/** The scheduler's queue is full (maxQueue waiting requests): retry later. */
export class QueueFullError extends LlamaError {
  constructor(readonly limit: number) {
    super('QUEUE_FULL', `the request queue is full (${limit} waiting); try again later`);
    this.name = 'QueueFullError';
  }
}

/** A weight holds NaN or ±Inf (a corrupted file, or a tensor whose type field was changed). */
export class NonFiniteTensorError extends LlamaError {
  constructor(readonly tensor: string, readonly index: number, readonly value: number) {
    super('NON_FINITE_TENSOR', `tensor ${tensor} holds a non-finite value (${value} at element ${index}): the file is corrupt`);
    this.name = 'NonFiniteTensorError';
  }
}

/** A draft model whose vocabulary or special tokens differ from the target's (speculative decoding). */
export class DraftMismatchError extends LlamaError {
  constructor(readonly difference: string) {
    super('DRAFT_MISMATCH', `the draft model cannot draft for this model: ${difference}`);
    this.name = 'DraftMismatchError';
  }
}

/**
 * LLAMA_TS_KERNELS names an unknown kernel op or variant, or forces a variant that computes wrong
 * results on this runtime (Node 20's baseline wasm tier miscompiles the relaxed dot-add).
 */
export class KernelChoiceError extends LlamaError {
  constructor(detail: string) {
    super('BAD_KERNEL_CHOICE', `LLAMA_TS_KERNELS: ${detail}`);
    this.name = 'KernelChoiceError';
  }
}
