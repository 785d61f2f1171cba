export { Cascade, cascade, type CascadePath, type CascadeResult, type CascadeOptions, type CascadeRunOptions, type VerificationScores } from './cascade.js';
export { POLICY_PRESETS, DEFAULT_POLICY, resolvePolicy, parsePolicyArg, type CascadePolicy, type CascadePolicyInput, type ConfidencePolicy, type VerifyPolicy, type ResumePolicy, type PolicyPresetName } from './policy.js';
export { confidenceScores, isConfident, type ConfidenceScores } from './confidence.js';
export { LocalBigModel, EndpointBigModel, type BigModel, type BigScore, type BigGeneration, type CallOptions, type EndpointOptions } from './big-model.js';
export { CascadeStats, LATENCY_BUCKETS, type LatencyHistogram } from './stats.js';
export { InvalidPolicyError, CascadeModelMismatchError, BigModelError } from './errors.js';
