/**
 * What every tokenizer (Llama 3 byte-level BPE, Llama 2 SentencePiece BPE) offers the rest
 * of the engine.
 */
export interface EncodeOptions {
  /** Prepend the BOS token (default: the tokenizer's own add_bos setting). */
  readonly addBos?: boolean;
  /**
   * 'plain' (default): special-token text in the input (e.g. "<|eot_id|>") is ordinary text.
   * 'parse': such text becomes the special token's id.
   */
  readonly specials?: 'parse' | 'plain';
}

export interface DecodeOptions {
  /** Drop control/special tokens from the text (default false). */
  readonly skipSpecial?: boolean;
  /**
   * Apply Hugging Face's `clean_up_tokenization_spaces` rule (" ." → ".", " 's" → "'s", …), as
   * transformers does when tokenizer_config.json asks for it. Default false: decode(encode(text))
   * gives back text exactly.
   */
  readonly cleanUpSpaces?: boolean;
}

export interface Tokenizer {
  readonly kind: 'bpe' | 'spm';
  readonly vocabSize: number;
  readonly bosId: number | undefined;
  readonly eosIds: readonly number[];
  /** Whether encode() adds BOS when options.addBos is not given. */
  readonly addBosByDefault: boolean;
  encode(text: string, options?: EncodeOptions): number[];
  decode(ids: readonly number[], options?: DecodeOptions): string;
  /** The exact bytes a token stands for (special tokens: their UTF-8 text). */
  tokenBytes(id: number): Uint8Array;
  /** The token's piece as stored in the vocabulary (e.g. "Ġthe", "▁the", "<0x0A>"). */
  idToPiece(id: number): string;
  pieceToId(piece: string): number | undefined;
  /** Control / special tokens (BOS, EOS, <|eot_id|>, …). */
  isSpecial(id: number): boolean;
  /** The id of a special token by its text (e.g. "<|eot_id|>"), if present. */
  specialId(text: string): number | undefined;
}
