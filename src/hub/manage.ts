/** What `llama-ts list` shows and `llama-ts rm` removes. */
import { existsSync, rmSync, statSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { HubCache, lexists, type PullRecord } from './cache.js';
import { hubSettings, type HubOptions } from './settings.js';
import { parseModelRef, formatModelRef } from './ref.js';
import { matchesQuant } from './select.js';
import { HubNotFoundError } from './errors.js';

export interface CachedModel {
  /** The reference that fetched it (what `rm` and `-m` take). */
  readonly ref: string;
  readonly repo: string;
  readonly commit: string;
  readonly files: readonly string[];
  /** Bytes of its files (blobs shared with another entry count in both). */
  readonly bytes: number;
  readonly lastUsed: string;
  readonly path: string;
}

function fileSize(p: string): number {
  try {
    return statSync(p).size;
  } catch {
    return 0;
  }
}

export function listCached(options: HubOptions = {}): CachedModel[] {
  const cache = new HubCache(hubSettings(options).cacheDir);
  const out: CachedModel[] = [];
  for (const repo of cache.repos()) {
    for (const p of cache.readPulls(repo)) {
      const present = p.files.filter((f) => existsSync(cache.snapshotPath(repo, p.commit, f)));
      if (present.length === 0) continue;
      out.push({
        ref: formatModelRef({ repo, revision: p.revision, selector: p.selector ?? undefined }),
        repo,
        commit: p.commit,
        files: present,
        bytes: present.reduce((a, f) => a + fileSize(cache.snapshotPath(repo, p.commit, f)), 0),
        lastUsed: p.usedAt,
        path: cache.snapshotPath(repo, p.commit, p.main),
      });
    }
  }
  return out.sort((a, b) => (a.lastUsed < b.lastUsed ? 1 : -1));
}

/** Total bytes of a repo's blobs (each stored once). */
export function repoBytes(options: HubOptions, repo: string): number {
  const dir = join(new HubCache(hubSettings(options).cacheDir).repoDir(repo), 'blobs');
  if (!existsSync(dir)) return 0;
  return readdirSync(dir).reduce((a, b) => a + fileSize(join(dir, b)), 0);
}

export interface RemoveResult {
  readonly removed: readonly string[];
  readonly freedBytes: number;
}

/**
 * Removes a reference from the cache: `hf:owner/repo` (no file) removes the whole repo; with a file
 * or quant tag, only those files (their blobs are deleted once nothing else points at them).
 */
export function removeCached(refText: string, options: HubOptions = {}): RemoveResult {
  const ref = parseModelRef(refText, { requirePrefix: false });
  const cache = new HubCache(hubSettings(options).cacheDir);
  const dir = cache.repoDir(ref.repo);
  if (!existsSync(dir)) throw new HubNotFoundError(`${ref.repo} is not in the cache (${cache.root})`);
  if (ref.selector === undefined) {
    const freed = repoBytes(options, ref.repo);
    rmSync(dir, { recursive: true, force: true });
    return { removed: [ref.repo], freedBytes: freed };
  }
  const sel = ref.selector;
  const pulls = cache.readPulls(ref.repo);
  const matches = (p: PullRecord): boolean => p.selector !== null && p.selector.toLowerCase() === sel.toLowerCase();
  const gone = pulls.filter(matches);
  const targets = new Set(gone.flatMap((p) => p.files.map((f) => `${p.commit}/${f}`)));
  // Also files fetched under another name that the selector names (a file path or a quant tag).
  const snaps = join(dir, 'snapshots');
  if (existsSync(snaps)) {
    for (const commit of readdirSync(snaps)) {
      for (const p of pulls.filter((x) => x.commit === commit).flatMap((x) => x.files)) {
        if (p === sel || (p.toLowerCase().endsWith('.gguf') && matchesQuant(p, sel))) targets.add(`${commit}/${p}`);
      }
    }
  }
  if (targets.size === 0) throw new HubNotFoundError(`nothing cached matches ${formatModelRef(ref)}`);
  const removed: string[] = [];
  for (const t of targets) {
    const slash = t.indexOf('/');
    const p = cache.snapshotPath(ref.repo, t.slice(0, slash), t.slice(slash + 1));
    if (lexists(p)) {
      rmSync(p, { force: true });
      removed.push(t.slice(slash + 1));
    }
  }
  // Records whose files are now gone go too (another ref that shared a removed file is no longer complete).
  cache.writePulls(
    ref.repo,
    pulls.filter((p) => !matches(p) && p.files.every((f) => lexists(cache.snapshotPath(ref.repo, p.commit, f)))),
  );
  const freed = cache.collectGarbage(ref.repo);
  return { removed, freedBytes: freed };
}

/** Interrupted downloads (`blobs/*.incomplete`) per repo: space a later pull resumes from, or `rm` frees. */
export function partialDownloads(options: HubOptions = {}): { repo: string; bytes: number }[] {
  const cache = new HubCache(hubSettings(options).cacheDir);
  const out: { repo: string; bytes: number }[] = [];
  for (const repo of cache.repos()) {
    const dir = join(cache.repoDir(repo), 'blobs');
    if (!existsSync(dir)) continue;
    const bytes = readdirSync(dir)
      .filter((b) => b.endsWith('.incomplete'))
      .reduce((a, b) => a + fileSize(join(dir, b)), 0);
    if (bytes > 0) out.push({ repo, bytes });
  }
  return out;
}
