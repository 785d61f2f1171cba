/**
 * The one typed description of a Llama-architecture model. Parsed once from config.json,
 * GGUF metadata or a llama2.c header; nothing downstream reads the raw sources again.
 */
export type RopeScaling =
  | { readonly type: 'none' }
  /** Llama 3.1 / 3.2 frequency-dependent scaling (HF `rope_type: llama3`). */
  | {
      readonly type: 'llama3';
      readonly factor: number;
      readonly lowFreqFactor: number;
      readonly highFreqFactor: number;
      readonly originalMaxPositionEmbeddings: number;
    }
  /** Position interpolation: every frequency divided by `factor`. */
  | { readonly type: 'linear'; readonly factor: number }
  /** Per-pair frequency divisors given as data (GGUF `rope_freqs.weight`, length headDim/2). */
  | { readonly type: 'freqs'; readonly divisors: Float32Array };

export interface LlamaConfig {
  readonly architecture: 'llama';
  readonly vocabSize: number;
  readonly hiddenSize: number;
  readonly intermediateSize: number;
  readonly numLayers: number;
  readonly numHeads: number;
  readonly numKVHeads: number;
  readonly headDim: number;
  readonly rmsNormEps: number;
  readonly ropeTheta: number;
  readonly ropeScaling: RopeScaling;
  /** The output head is the token embedding (no separate lm_head / output tensor). */
  readonly tiedEmbeddings: boolean;
  /** Trained context length (max_position_embeddings / llama.context_length). */
  readonly contextLength: number;
  readonly bosTokenId: number | undefined;
  /** Every id that ends generation (config + generation_config, or GGUF eos/eot/eom). */
  readonly eosTokenIds: readonly number[];
}
