import { removeCached } from '../hub/index.js';

/** `llama-ts rm <ref>`: a whole repo, or one file / quant of it. */
export function rmCommand(ref: string, write: (s: string) => void): void {
  const r = removeCached(ref);
  write(`removed ${r.removed.join(', ')}; freed ${(r.freedBytes / 2 ** 20).toFixed(1)} MiB\n`);
}
