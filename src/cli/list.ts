import { listCached, hubSettings } from '../hub/index.js';
import { partialDownloads } from '../hub/manage.js';

const size = (b: number): string => (b >= 2 ** 30 ? `${(b / 2 ** 30).toFixed(2)} GiB` : `${(b / 2 ** 20).toFixed(1)} MiB`);

/** `llama-ts list`: cached models (reference, files, size, last used), most recent first. */
export function listCommand(o: { json: boolean }, write: (s: string) => void): void {
  const models = listCached();
  const partial = partialDownloads();
  if (o.json) {
    write(JSON.stringify(models, null, 2) + '\n');
    return;
  }
  const partialLines = partial.map((p) => `partial download: hf:${p.repo} ${size(p.bytes)} (llama-ts pull resumes it; llama-ts rm ${p.repo} frees it)`);
  if (models.length === 0) {
    write([`no cached models in ${hubSettings().cacheDir}`, ...partialLines].join('\n') + '\n');
    return;
  }
  const rows = models.map((m) => [m.ref, String(m.files.length), size(m.bytes), m.lastUsed.replace('T', ' ').slice(0, 16)]);
  const head = ['model', 'files', 'size', 'last used'];
  const w = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (r: string[]): string => r.map((c, i) => (i === 1 || i === 2 ? c.padStart(w[i]!) : c.padEnd(w[i]!))).join('  ').trimEnd();
  write([line(head), ...rows.map(line), ...partialLines, '', `cache: ${hubSettings().cacheDir}`].join('\n') + '\n');
}
