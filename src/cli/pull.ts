import { pullModel, DownloadProgress } from '../hub/index.js';

const MiB = 2 ** 20;

/** `llama-ts pull <ref>`: fetch (or confirm cached) and print the local path. */
export async function pullCommand(ref: string, o: { quiet?: boolean }, write: (s: string) => void): Promise<void> {
  const r = await pullModel(ref, {
    requirePrefix: false,
    progress: o.quiet ? 'none' : DownloadProgress.auto(),
    log: (s) => process.stderr.write(`${s}\n`),
  });
  const how = r.downloaded > 0 ? `downloaded ${(r.downloaded / MiB).toFixed(1)} MiB` : r.offline ? 'from the cache (offline)' : 'already cached';
  process.stderr.write(`${r.files.length} file(s) of ${r.ref.repo} at ${r.commit.slice(0, 12)}, ${how}\n`);
  write(`${r.path}\n`);
}
