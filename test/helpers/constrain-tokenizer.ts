/**
 * A small byte-level tokenizer for engine tests that need no fixtures: ids 0..255 are single
 * bytes, then a few multi-byte pieces (so tokens cross terminal boundaries), then one EOS.
 */
import type { Tokenizer } from '../../src/tokenizer/types.js';

const PIECES = ['{"', '":', '",', '"}', '": "', 'true', 'false', 'null', '  ', '\n  ', '12', '0.', 'abc', 'name', '"name"', '},', '],', '[{', 'ab"', '"]', ' {', '\\n', 'é', '\u00e9"', '":"', ', "', '1,', '"a', 'a"'];
const enc = new TextEncoder();

export function byteTokenizer(): Tokenizer {
  const bytes: Uint8Array[] = [];
  for (let b = 0; b < 256; b++) bytes.push(Uint8Array.of(b));
  for (const p of PIECES) bytes.push(enc.encode(p));
  const eos = bytes.length;
  bytes.push(enc.encode('</s>'));
  return {
    kind: 'bpe',
    vocabSize: bytes.length,
    bosId: undefined,
    eosIds: [eos],
    addBosByDefault: false,
    encode: (text: string) => Array.from(enc.encode(text)),
    decode: (ids: readonly number[]) => new TextDecoder().decode(Uint8Array.from(ids.flatMap((i) => Array.from(bytes[i]!)))),
    tokenBytes: (id: number) => bytes[id]!,
    idToPiece: (id: number) => new TextDecoder().decode(bytes[id]!),
    pieceToId: (piece: string) => {
      const i = bytes.findIndex((b) => new TextDecoder().decode(b) === piece);
      return i < 0 ? undefined : i;
    },
    isSpecial: (id: number) => id === eos,
    specialId: (text: string) => (text === '</s>' ? eos : undefined),
  };
}
