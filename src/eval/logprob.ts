/** Log-softmax of one logits row, in float64: summing thousands of token log-probs needs it. */

/** log Σ exp(row) (max-shifted). */
export function logSumExp(row: Float32Array, offset = 0, length = row.length - offset): number {
  let max = -Infinity;
  for (let i = 0; i < length; i++) {
    const v = row[offset + i]!;
    if (v > max) max = v;
  }
  if (max === -Infinity) return -Infinity;
  let s = 0;
  for (let i = 0; i < length; i++) s += Math.exp(row[offset + i]! - max);
  return max + Math.log(s);
}

/** ln p(token) under row `r` of a row-major [rows × vocab] logits block. */
export function tokenLogprob(logits: Float32Array, r: number, vocab: number, token: number): number {
  const off = r * vocab;
  return logits[off + token]! - logSumExp(logits, off, vocab);
}

/** Index of the largest value of row `r` (first on ties, like numpy). */
export function rowArgmax(logits: Float32Array, r: number, vocab: number): number {
  const off = r * vocab;
  let best = 0;
  let bv = logits[off]!;
  for (let i = 1; i < vocab; i++) {
    const v = logits[off + i]!;
    if (v > bv) {
      bv = v;
      best = i;
    }
  }
  return best;
}

/** First index of the maximum (numpy argmax; NaN never wins). */
export function argmax(xs: readonly number[]): number {
  let best = 0;
  for (let i = 1; i < xs.length; i++) if (xs[i]! > xs[best]!) best = i;
  return best;
}
