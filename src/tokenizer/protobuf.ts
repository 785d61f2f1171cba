import { TokenizerError } from './errors.js';

/** One field of a protobuf message: varints as bigint-free numbers, the rest as raw bytes. */
export interface PbField {
  readonly field: number;
  readonly wire: 0 | 1 | 2 | 5;
  /** Varint value (wire 0); for other wire types 0. */
  readonly varint: number;
  /** Payload for wire types 1, 2 and 5. */
  readonly bytes: Uint8Array;
}

/**
 * A minimal protobuf reader (enough for SentencePiece's ModelProto): walks the fields of one
 * message. Varints above 2^53 (only -1 / unset ids here) lose precision, which is harmless.
 */
export function* pbFields(buf: Uint8Array): Generator<PbField> {
  let i = 0;
  const varint = (): number => {
    let result = 0;
    let scale = 1;
    for (;;) {
      if (i >= buf.length) throw new TokenizerError('protobuf: truncated varint');
      const b = buf[i++]!;
      result += (b & 0x7f) * scale;
      if (b < 0x80) return result;
      scale *= 128;
      if (scale > 2 ** 70) throw new TokenizerError('protobuf: varint too long');
    }
  };
  const empty = new Uint8Array(0);
  while (i < buf.length) {
    const key = varint();
    const field = Math.floor(key / 8);
    const wire = key % 8;
    if (wire === 0) {
      yield { field, wire, varint: varint(), bytes: empty };
    } else if (wire === 1 || wire === 5) {
      const n = wire === 1 ? 8 : 4;
      if (i + n > buf.length) throw new TokenizerError('protobuf: truncated fixed field');
      yield { field, wire, varint: 0, bytes: buf.subarray(i, i + n) };
      i += n;
    } else if (wire === 2) {
      const n = varint();
      if (i + n > buf.length) throw new TokenizerError('protobuf: truncated length-delimited field');
      yield { field, wire, varint: 0, bytes: buf.subarray(i, i + n) };
      i += n;
    } else {
      throw new TokenizerError(`protobuf: unsupported wire type ${wire}`);
    }
  }
}

/** A protobuf int32 from its varint (negative values arrive as 64-bit two's complement). */
export function pbInt32(v: number): number {
  return v >= 2 ** 63 ? v - 2 ** 64 : v >= 2 ** 31 && v < 2 ** 32 ? v - 2 ** 32 : v;
}

export function pbFloat(bytes: Uint8Array): number {
  return new DataView(bytes.buffer, bytes.byteOffset, 4).getFloat32(0, true);
}
