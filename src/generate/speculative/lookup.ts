/**
 * Prompt lookup (n-gram) drafting: find the most recent earlier occurrence of the context's last n
 * tokens (longest n first) and propose what followed it. Costs no model at all and is strong when
 * the output copies from the input (editing, extraction, code).
 */
export interface LookupOptions {
  /** Longest suffix n-gram tried (default 4). */
  readonly maxNgram?: number;
  /** Shortest (default 1). */
  readonly minNgram?: number;
}

export function lookupDraft(context: readonly number[], k: number, o: LookupOptions = {}): number[] {
  const maxN = o.maxNgram ?? 4;
  const minN = o.minNgram ?? 1;
  const len = context.length;
  if (k <= 0) return [];
  for (let n = Math.min(maxN, len - 1); n >= minN; n--) {
    const tail = len - n;
    // Latest match first: recent text is the likeliest to repeat.
    for (let start = tail - 1; start >= 0; start--) {
      let j = 0;
      while (j < n && context[start + j] === context[tail + j]) j++;
      if (j < n) continue;
      const from = start + n;
      const out = context.slice(from, Math.min(from + k, len));
      if (out.length > 0) return out;
    }
  }
  return [];
}
