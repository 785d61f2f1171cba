import type { Tokenizer } from './types.js';
import type { TokenKind } from './vocab.js';
import { sentencePieceFromVocab } from './spm-model.js';
import { SPACE } from './spm.js';
import { TokenizerError } from './errors.js';

const utf8 = new TextDecoder('utf-8', { ignoreBOM: true });

/**
 * llama2.c's `tokenizer.bin`: int32 max_token_length, then per token float32 score, int32 byte
 * length and the bytes. The exporter wrote "▁" as a space and BOS/EOS as "\n<s>\n" / "\n</s>\n";
 * both are undone so the vocabulary is SentencePiece's again. The file stores no vocabulary
 * size: tokens are read to the end, which must land exactly on a token boundary.
 */
export function llama2cTokenizer(buf: Uint8Array, source = 'tokenizer.bin'): Tokenizer {
  const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  if (buf.length < 4) throw new TokenizerError(`${source}: too short to be a llama2.c tokenizer`);
  const maxLen = view.getInt32(0, true);
  if (maxLen <= 0 || maxLen > 1024) throw new TokenizerError(`${source}: max_token_length ${maxLen} is implausible (not a llama2.c tokenizer)`);
  const pieces: string[] = [];
  const scores: number[] = [];
  let at = 4;
  while (at < buf.length) {
    if (at + 8 > buf.length) throw new TokenizerError(`${source}: truncated at token ${pieces.length}`);
    const score = view.getFloat32(at, true);
    const len = view.getInt32(at + 4, true);
    at += 8;
    if (len < 0 || len > maxLen || at + len > buf.length) throw new TokenizerError(`${source}: token ${pieces.length} has bad length ${len}`);
    scores.push(score);
    pieces.push(utf8.decode(buf.subarray(at, at + len)));
    at += len;
  }
  const kinds: TokenKind[] = pieces.map(() => 'normal');
  let bosId: number | undefined;
  let eosId: number | undefined;
  let unkId: number | undefined;
  pieces.forEach((p, id) => {
    if (p === '\n<s>\n' || p === '<s>') {
      pieces[id] = '<s>';
      kinds[id] = 'control';
      bosId ??= id;
    } else if (p === '\n</s>\n' || p === '</s>') {
      pieces[id] = '</s>';
      kinds[id] = 'control';
      eosId ??= id;
    } else if (p === '<unk>') {
      kinds[id] = 'unknown';
      unkId ??= id;
    } else if (/^<0x[0-9A-F]{2}>$/.test(p)) {
      kinds[id] = 'byte';
    } else {
      pieces[id] = p.replaceAll(' ', SPACE);
    }
  });
  return sentencePieceFromVocab({
    pieces,
    scores,
    kinds,
    unkId,
    bosId,
    eosIds: eosId === undefined ? [] : [eosId],
    addBos: bosId !== undefined,
    byteFallback: kinds.includes('byte'),
    addDummyPrefix: true,
    removeExtraWhitespaces: false,
  });
}
