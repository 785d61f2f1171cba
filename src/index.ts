/** llama-ts public API. */
export { loadModel, detectFormat, type LoadOptions, type BackendName, type ContainerFormat } from './model/load.js';
export type { Model } from './model/types.js';
export { LlamaModel } from './model/model.js';
export { Session, type SessionOptions, type EvalOptions } from './model/session.js';
export type { LlamaConfig, RopeScaling } from './config/config.js';
export type { Tokenizer, EncodeOptions, DecodeOptions } from './tokenizer/types.js';
export { loadTokenizer } from './tokenizer/load.js';
export { StreamDecoder } from './tokenizer/stream.js';
export type { GenerateOptions, GenerateChunk, GenerateResult, SamplingOptions, FinishReason } from './generate/options.js';
export { Sampler } from './generate/sampler.js';
export type { Backend, Tensor, Weight, KVCache } from './backend/backend.js';
export { RefBackend } from './backend/ref/ref-backend.js';
export { DType, dtypeName } from './quant/dtype.js';
export * from './errors/errors.js';
export * from './chat/index.js';
export { consume } from './generate/consume.js';
export {
  compileJsonSchema,
  compileGrammar,
  applyMask,
  Constraint,
  ConstraintState,
  UnsupportedSchemaError,
  InvalidGrammarError,
  type JsonConstraintOptions,
  type GrammarConstraintOptions,
} from './generate/constrain/index.js';
