/**
 * Python's json.dumps(value, ensure_ascii=False[, indent=n]) — the text chat templates'
 * `tojson` produces in transformers, which prompt formats are trained on:
 * ", " / ": " separators without indent, "," / ": " with it, and empty containers as [] / {}.
 */
export function pyJsonDumps(value: unknown, indent?: number): string {
  return dump(value, indent, 0);
}

function dump(v: unknown, indent: number | undefined, depth: number): string {
  if (v === null || v === undefined) return 'null';
  switch (typeof v) {
    case 'string':
      return JSON.stringify(v);
    case 'boolean':
      return v ? 'true' : 'false';
    case 'number':
      return pyNumber(v);
    case 'object': {
      const pad = indent === undefined ? '' : '\n' + ' '.repeat(indent * (depth + 1));
      const end = indent === undefined ? '' : '\n' + ' '.repeat(indent * depth);
      const sep = indent === undefined ? ', ' : ',';
      const items = Array.isArray(v)
        ? v.map((x) => dump(x, indent, depth + 1))
        : Object.entries(v as Record<string, unknown>)
            .filter(([, x]) => x !== undefined)
            .map(([k, x]) => `${JSON.stringify(k)}: ${dump(x, indent, depth + 1)}`);
      const [open, close] = Array.isArray(v) ? ['[', ']'] : ['{', '}'];
      if (items.length === 0) return open + close;
      return open + pad + items.join(sep + pad) + end + close;
    }
    default:
      throw new TypeError(`Object of type ${typeof v} is not JSON serializable`);
  }
}

/** Integers as digits; other numbers as Python's float repr (NaN/Infinity as json.dumps writes them). */
function pyNumber(n: number): string {
  if (Number.isNaN(n)) return 'NaN';
  if (!Number.isFinite(n)) return n > 0 ? 'Infinity' : '-Infinity';
  if (Number.isSafeInteger(n)) return String(n);
  // Shortest round-trip digits are the same in JS and Python; only the layout differs.
  const [mant, expPart] = n.toExponential().split('e') as [string, string];
  const exp = Number(expPart);
  if (exp < -4 || exp >= 16) return `${mant}e${exp < 0 ? '-' : '+'}${String(Math.abs(exp)).padStart(2, '0')}`;
  const s = n.toFixed(Math.max(0, (mant.split('.')[1]?.length ?? 0) - exp));
  return s.includes('.') ? s : s + '.0';
}
