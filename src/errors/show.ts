/**
 * A short, always-safe rendering of a user-supplied value for an error message. JSON.stringify
 * alone throws on values nested thousands deep (a mutated config or tokenizer file) and can be
 * megabytes long; the message must never be the thing that fails.
 */
export function showValue(v: unknown, max = 80): string {
  if (typeof v === 'bigint') return String(v);
  let s: string | undefined;
  try {
    s = JSON.stringify(v);
  } catch {
    s = undefined;
  }
  if (s === undefined) return Array.isArray(v) ? 'an array' : typeof v;
  return s.length > max ? `${s.slice(0, max - 1)}…` : s;
}
