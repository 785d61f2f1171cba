/**
 * GPT-2's byte ↔ unicode alphabet: byte-level BPE vocabularies (Llama 3) spell every byte as a
 * printable character so that pieces are valid strings ("Ġ" is the space byte 0x20).
 */

function buildByteToChar(): string[] {
  const keep: number[] = [];
  for (let b = 0x21; b <= 0x7e; b++) keep.push(b);
  for (let b = 0xa1; b <= 0xac; b++) keep.push(b);
  for (let b = 0xae; b <= 0xff; b++) keep.push(b);
  const table = new Array<string>(256);
  for (const b of keep) table[b] = String.fromCharCode(b);
  // The remaining (control, space, soft-hyphen …) bytes move to U+0100 upwards, in byte order.
  let next = 0;
  for (let b = 0; b < 256; b++) {
    if (table[b] === undefined) table[b] = String.fromCharCode(256 + next++);
  }
  return table;
}

/** BYTE_TO_CHAR[b] is the one-character spelling of byte b. */
export const BYTE_TO_CHAR: readonly string[] = buildByteToChar();

/** Char code → byte, -1 where the character is not in the alphabet (all codes are < 0x144). */
const CHAR_TO_BYTE = new Int16Array(0x144).fill(-1);
BYTE_TO_CHAR.forEach((c, b) => (CHAR_TO_BYTE[c.charCodeAt(0)] = b));

/** The byte a byte-level character stands for, or -1. */
export function byteOfChar(c: number): number {
  return c < 0x144 ? CHAR_TO_BYTE[c]! : -1;
}

/** Bytes of a byte-level piece ("Ġthe" → [0x20, 0x74, 0x68, 0x65]); undefined if it is not one. */
export function byteLevelToBytes(piece: string): Uint8Array | undefined {
  const out = new Uint8Array(piece.length);
  for (let i = 0; i < piece.length; i++) {
    const c = piece.charCodeAt(i);
    const b = c < 0x144 ? CHAR_TO_BYTE[c]! : -1;
    if (b < 0) return undefined;
    out[i] = b;
  }
  return out;
}

/** The byte-level spelling of raw bytes. */
export function bytesToByteLevel(bytes: Uint8Array): string {
  let s = '';
  for (let i = 0; i < bytes.length; i++) s += BYTE_TO_CHAR[bytes[i]!];
  return s;
}
