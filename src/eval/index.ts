/** Evaluation harness: perplexity, multiple choice, generative tasks; local or endpoint backends. */
export { evaluate, backendFor, type EvaluateOptions } from './evaluate.js';
export { LocalBackend, type LocalBackendOptions } from './local.js';
export { encodePair, type EncodedPair } from './encode-pair.js';
export { planWindows, type Window } from './windows.js';
export { mcScores } from './mc.js';
export type { EvalBackend, LoglikRequest, LoglikResult, RollingResult, WindowOptions, GenerateRequest, PerplexityResult, McResult, McItem, EvalRecord } from './types.js';
export { BUILTIN_TASKS, builtinTask } from './builtin.js';
export { checkTaskDefinition, loadTaskDefinition, type TaskDefinition } from './taskdef.js';
export { runTask, loadTaskData, itemPrompt, type TaskResult, type RunTaskOptions, type LoadedTask } from './run-task.js';
export { buildPrompt, type McPrompt, type GenPrompt } from './prompt.js';
export { extractAnswer, exactMatch, normalizeAnswer, lastBoxed, lastNumber, type ExtractionSpec, type NormalizeOptions } from './extract.js';
export { selectFewshot, type FewshotSampler } from './fewshot.js';
export { promptText } from './local.js';
export type { ChatPrompt } from './types.js';
export { OpenAIBackend, isEndpoint, type OpenAIBackendOptions } from './openai.js';
export { PUBLISHED, publishedFor, type PublishedRow } from './published.js';
export { runPython, passAtK, type SandboxOptions, type SandboxResult, type SandboxStatus } from './sandbox.js';
