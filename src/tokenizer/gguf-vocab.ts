import { showValue } from '../errors/show.js';
import type { Tokenizer } from './types.js';
import type { GGUFMetadata, GGUFValue } from '../formats/types.js';
import { llama3EogIds, type TokenKind } from './vocab.js';
import type { AddedToken } from './added-tokens.js';
import { ByteLevelBPETokenizer } from './bpe.js';
import { sentencePieceFromVocab, SPM_KINDS } from './spm-model.js';
import { PairTable } from './pair-table.js';
import { PieceIndex, resolveMerge } from './piece-index.js';
import { GPT2_PATTERN, LLAMA3_PATTERN } from './scanner.js';
import { TokenizerError } from './errors.js';

/** llama.cpp `tokenizer.ggml.pre` names whose pre-tokenizer is the Llama 3 pattern. */
const LLAMA3_PRE = new Set(['llama-bpe', 'llama3', 'llama-v3']);
const GPT2_PRE = new Set(['default', 'gpt2', 'gpt-2']);

function num(meta: GGUFMetadata, key: string): number | undefined {
  const v = meta.get(key);
  if (typeof v === 'number') return v;
  if (typeof v === 'bigint') return Number(v);
  return undefined;
}

function bool(meta: GGUFMetadata, key: string): boolean | undefined {
  const v = meta.get(key);
  return typeof v === 'boolean' ? v : undefined;
}

function str(meta: GGUFMetadata, key: string): string | undefined {
  const v = meta.get(key);
  return typeof v === 'string' ? v : undefined;
}

function arr(meta: GGUFMetadata, key: string): GGUFValue[] | undefined {
  const v = meta.get(key);
  return Array.isArray(v) ? v : undefined;
}

/**
 * The tokenizer a GGUF file carries in its metadata (`tokenizer.ggml.*`): model `gpt2` is
 * byte-level BPE (merges, pre-tokenizer named by `tokenizer.ggml.pre`), model `llama` is
 * SentencePiece BPE (scores).
 */
export function tokenizerFromGGUFMetadata(meta: GGUFMetadata): Tokenizer {
  const model = str(meta, 'tokenizer.ggml.model');
  const tokensRaw = arr(meta, 'tokenizer.ggml.tokens');
  if (model === undefined || tokensRaw === undefined) throw new TokenizerError('GGUF has no tokenizer (tokenizer.ggml.model / tokenizer.ggml.tokens missing)');
  const pieces = tokensRaw.map((t, i) => {
    if (typeof t !== 'string') throw new TokenizerError(`GGUF tokenizer.ggml.tokens[${i}] is not a string`);
    return t;
  });
  const n = pieces.length;
  const types = arr(meta, 'tokenizer.ggml.token_type');
  const kinds: TokenKind[] = pieces.map((_, i) => {
    const t = types?.[i];
    if (t === undefined) return 'normal';
    const k = SPM_KINDS[Number(t)];
    if (k === undefined) throw new TokenizerError(`GGUF tokenizer.ggml.token_type[${i}] = ${showValue(t)} is unknown`);
    return k;
  });
  const id = (key: string): number | undefined => {
    const v = num(meta, key);
    return v !== undefined && Number.isInteger(v) && v >= 0 && v < n ? v : undefined;
  };
  const bosId = id('tokenizer.ggml.bos_token_id');
  const eosIds = ['tokenizer.ggml.eos_token_id', 'tokenizer.ggml.eot_token_id', 'tokenizer.ggml.eom_token_id']
    .map(id)
    .filter((x): x is number => x !== undefined);
  const chatTemplate = str(meta, 'tokenizer.chat_template');

  if (model === 'llama') {
    const scoresRaw = arr(meta, 'tokenizer.ggml.scores');
    if (scoresRaw === undefined || scoresRaw.length !== n) throw new TokenizerError('GGUF SentencePiece vocabulary needs tokenizer.ggml.scores, one per token');
    return sentencePieceFromVocab({
      pieces,
      scores: scoresRaw.map(Number),
      kinds,
      unkId: id('tokenizer.ggml.unknown_token_id') ?? (kinds.indexOf('unknown') >= 0 ? kinds.indexOf('unknown') : undefined),
      bosId,
      eosIds,
      addBos: bool(meta, 'tokenizer.ggml.add_bos_token') ?? true,
      byteFallback: kinds.includes('byte'),
      addDummyPrefix: bool(meta, 'tokenizer.ggml.add_space_prefix') ?? true,
      removeExtraWhitespaces: bool(meta, 'tokenizer.ggml.remove_extra_whitespaces') ?? false,
      chatTemplate,
    });
  }
  if (model !== 'gpt2') throw new TokenizerError(`GGUF tokenizer model "${model}" is not supported (gpt2 = Llama 3 BPE, llama = SentencePiece)`);

  const pre = str(meta, 'tokenizer.ggml.pre') ?? 'default';
  let pattern: string;
  if (LLAMA3_PRE.has(pre)) pattern = LLAMA3_PATTERN;
  else if (GPT2_PRE.has(pre)) pattern = GPT2_PATTERN;
  else throw new TokenizerError(`GGUF pre-tokenizer "${pre}" is not supported (llama-bpe or default)`);

  const merges = arr(meta, 'tokenizer.ggml.merges') ?? [];
  const pairs = new PairTable(merges.length);
  const index = new PieceIndex(pieces, (i) => kinds[i] === 'normal' || kinds[i] === 'byte');
  merges.forEach((m, r) => {
    const ids = resolveMerge(index, m);
    if (ids === undefined) throw new TokenizerError(`GGUF tokenizer.ggml.merges[${r}] (${JSON.stringify(m)}) is malformed or uses tokens missing from the vocabulary`);
    pairs.set(ids[0], ids[1], r, ids[2]);
  });
  const added: AddedToken[] = [];
  pieces.forEach((content, i) => {
    const k = kinds[i];
    if (k === 'control' || k === 'user' || k === 'unknown') added.push({ id: i, content, special: k !== 'user' });
  });
  return new ByteLevelBPETokenizer({
    pieces,
    kinds,
    added,
    bosId,
    eosIds: [...eosIds, ...llama3EogIds(pieces, kinds)],
    addBos: bool(meta, 'tokenizer.ggml.add_bos_token') ?? LLAMA3_PRE.has(pre),
    chatTemplate,
    pairs,
    pattern,
    ignoreMerges: LLAMA3_PRE.has(pre),
  });
}
