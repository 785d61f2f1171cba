/** Evaluation harness: perplexity, multiple choice, generative tasks; local or endpoint backends. */
export { evaluate, backendFor, type EvaluateOptions } from './evaluate.js';
export { LocalBackend, type LocalBackendOptions } from './local.js';
export { encodePair, type EncodedPair } from './encode-pair.js';
export { planWindows, type Window } from './windows.js';
export { mcScores } from './mc.js';
export type { EvalBackend, LoglikRequest, LoglikResult, RollingResult, WindowOptions, GenerateRequest, PerplexityResult, McResult, McItem, EvalRecord } from './types.js';
