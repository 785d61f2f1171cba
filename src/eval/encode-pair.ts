/**
 * Context/continuation tokenisation exactly as lm-evaluation-harness's `_encode_pair`: trailing
 * whitespace of the context moves to the continuation, the whole string and the context are
 * encoded separately, and the continuation's tokens are whatever the whole has beyond the
 * context's length. A BPE merge across the boundary (" A" after "Answer:") therefore lands in the
 * continuation, as it does in the harness, and context + continuation tokens are always the
 * tokens of the whole string.
 */
import type { Tokenizer } from '../tokenizer/types.js';
import { LlamaError } from '../errors/errors.js';

export interface EncodedPair {
  readonly context: number[];
  readonly continuation: number[];
}

/** Python's str.rstrip() whitespace (the harness uses it), not just ASCII. */
const TRAILING_WS = /[\s\u001c-\u001f\u0085]+$/u;

export function encodePair(tok: Tokenizer, context: string, continuation: string, addBos: boolean): EncodedPair {
  const bos = addBos ? tok.bosId : undefined;
  const enc = (s: string): number[] => tok.encode(s, { addBos: false, specials: 'plain' });
  if (context === '') {
    // The harness scores a bare continuation after its prefix token (BOS, else EOS).
    const prefix = bos ?? tok.eosIds[0];
    if (prefix === undefined) throw new LlamaError('TOKENIZER_ERROR', 'an empty context needs a BOS or EOS token to condition on');
    const cont = enc(continuation);
    return { context: [prefix], continuation: cont };
  }
  const m = TRAILING_WS.exec(context);
  if (m) {
    continuation = context.slice(m.index) + continuation;
    context = context.slice(0, m.index);
  }
  const head = bos !== undefined ? [bos] : [];
  if (context === '' && head.length === 0) return encodePair(tok, '', continuation, addBos);
  const whole = [...head, ...enc(context + continuation)];
  const ctx = [...head, ...enc(context)];
  return { context: whole.slice(0, ctx.length), continuation: whole.slice(ctx.length) };
}
