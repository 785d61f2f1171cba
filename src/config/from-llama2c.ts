/** LlamaConfig from a llama2.c legacy (v0) header, with what the header cannot carry supplied by the caller. */
import type { LlamaConfig } from './config.js';
import { validateConfig } from './validate.js';

/** The seven int32 of a llama2.c v0 checkpoint, vocab sign already decoded. */
export interface Llama2cHeader {
  readonly dim: number;
  readonly hiddenDim: number;
  readonly nLayers: number;
  readonly nHeads: number;
  readonly nKVHeads: number;
  readonly vocabSize: number;
  /** The header stored a positive vocab_size: the classifier is the token embedding. */
  readonly sharedClassifier: boolean;
  readonly seqLen: number;
}

export interface Llama2cConfigOptions {
  /** Default 1e-5 (llama2.c's run.c constant). */
  readonly rmsNormEps?: number;
  /** Default 10000. */
  readonly ropeTheta?: number;
  /** Default 1 (Llama 2 SentencePiece <s>). */
  readonly bosTokenId?: number;
  /** Default [2] (Llama 2 SentencePiece </s>). */
  readonly eosTokenIds?: readonly number[];
}

export function configFromLlama2c(h: Llama2cHeader, options: Llama2cConfigOptions = {}): LlamaConfig {
  return validateConfig(
    {
      architecture: 'llama',
      vocabSize: h.vocabSize,
      hiddenSize: h.dim,
      intermediateSize: h.hiddenDim,
      numLayers: h.nLayers,
      numHeads: h.nHeads,
      numKVHeads: h.nKVHeads,
      headDim: h.dim / h.nHeads,
      rmsNormEps: options.rmsNormEps ?? 1e-5,
      ropeTheta: options.ropeTheta ?? 10000,
      ropeScaling: { type: 'none' },
      tiedEmbeddings: h.sharedClassifier,
      contextLength: h.seqLen,
      bosTokenId: options.bosTokenId ?? 1,
      eosTokenIds: options.eosTokenIds ?? [2],
    },
    'llama2.c header',
  );
}
