/** llama-ts public API. */
export { loadModel, detectFormat, type LoadOptions, type BackendName, type ContainerFormat } from './model/load.js';
export type { Model } from './model/types.js';
export { LlamaModel } from './model/model.js';
export { Session, type SessionOptions, type EvalOptions } from './model/session.js';
export type { LlamaConfig, RopeScaling } from './config/config.js';
export type { Tokenizer, EncodeOptions, DecodeOptions } from './tokenizer/types.js';
export { loadTokenizer } from './tokenizer/load.js';
export { StreamDecoder } from './tokenizer/stream.js';
export type { GenerateOptions, GenerateChunk, GenerateResult, SamplingOptions, FinishReason, DraftStats } from './generate/options.js';
export { Sampler, type TokenDistribution } from './generate/sampler.js';
export { checkDraftCompatible } from './generate/speculative/compat.js';
export { lookupDraft } from './generate/speculative/lookup.js';
export type { Backend, Tensor, Weight, KVCache } from './backend/backend.js';
export { RefBackend } from './backend/ref/ref-backend.js';
export { DType, dtypeName } from './quant/dtype.js';
export * from './errors/errors.js';
export * from './chat/index.js';
export { consume } from './generate/consume.js';
export type { LogitsProcessor, PromptCacheUse } from './generate/options.js';
export type { RequestHandle, SchedulerStats } from './engine/scheduler.js';
export type { PrefixCacheStats } from './engine/kv-manager.js';
export type { ModelStats, ModelSource } from './model/model.js';
export type { BackendInfo } from './backend/backend.js';
export { KERNEL_OPS, KERNEL_VARIANTS, parseKernelSpec, formatChoice } from './backend/wasm/kernel-choice.js';
export type { KernelChoice, KernelOp, KernelVariant } from './backend/wasm/kernel-choice.js';
export type { KernelSelection } from './backend/wasm/kernel-probe.js';
export { constraintProcessor, compileResponseFormat, type ResponseFormat } from './generate/constrain-processor.js';
export { resolveModel, pullModel, listCached, removeCached, parseModelRef, DEFAULT_MODEL, type ResolveOptions, type PullResult, type ModelRef, type CachedModel } from './hub/index.js';
export { planMemory, requireMemory, checkModelFits, availableMemory, formatPlan, OutOfMemoryError, type MemoryPlan, type MemoryPlanInput } from './model/memory-plan.js';
export { convertHFToGGUF, type ConvertOptions, type ConvertResult } from './convert/hf-to-gguf.js';
export { requantizeGGUF } from './convert/requantize.js';
export { FILE_TYPES, parseFileType, type FileType, type FileTypeName } from './convert/ftype.js';
export { quantizeRows } from './quant/quantize.js';
export { checkTensorsFinite } from './quant/check-finite.js';
export * from './eval/index.js';
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
export * from './cascade/index.js';
