/**
 * `resolveModel`: a model reference to a local path. `hf:` references are fetched (or found in the
 * cache) and verified; anything else is a path and comes back unchanged.
 */
import { existsSync, readdirSync, readFileSync, mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { withFileLock } from './lock.js';
import { parseModelRef, isHubRef, formatModelRef, type ModelRef } from './ref.js';
import { hubSettings, type HubOptions, type HubSettings } from './settings.js';
import { Http, NetworkError } from './http.js';
import { HubClient, type RepoFile } from './client.js';
import { HubCache, type PullRecord } from './cache.js';
import { selectFiles, refineWithIndex, type Selection } from './select.js';
import { downloadBlob, digestOf, type DownloadEvents } from './download.js';
import { DownloadProgress, silentProgress } from './progress.js';
import { HubUnreachableError, NotCachedError } from './errors.js';
import { createHash } from 'node:crypto';

export interface ResolveOptions extends HubOptions {
  /** Download progress: 'auto' (bar on a TTY stderr, else lines), 'none' (default), or your own events. */
  readonly progress?: 'auto' | 'none' | DownloadEvents;
  /** Notes for the user (cache fallbacks); default: none. The CLI passes a stderr writer. */
  readonly log?: (line: string) => void;
  /** Files fetched at once (default 4). */
  readonly concurrency?: number;
  readonly retries?: number;
  readonly retryDelayMs?: number;
  readonly idleTimeoutMs?: number;
  readonly responseTimeoutMs?: number;
  /** `pull` accepts `owner/repo` without `hf:`. */
  readonly requirePrefix?: boolean;
}

export interface PullResult {
  /** What loadModel takes: a GGUF file (the first shard) or a model folder. */
  readonly path: string;
  readonly ref: ModelRef;
  readonly commit: string;
  readonly files: readonly string[];
  /** Bytes that came over the network in this call. */
  readonly downloaded: number;
  /** Served from the cache without contacting the hub (offline, or the hub was unreachable). */
  readonly offline: boolean;
}

/** A local path for a model reference; plain paths are returned as given. */
export async function resolveModel(ref: string, options: ResolveOptions = {}): Promise<string> {
  if (!isHubRef(ref)) return ref;
  return (await pullModel(ref, options)).path;
}

/** Fetches (or finds in the cache) what a reference names. */
export async function pullModel(refText: string, options: ResolveOptions = {}): Promise<PullResult> {
  const ref = parseModelRef(refText, { requirePrefix: options.requirePrefix ?? true });
  const settings = hubSettings(options);
  const cache = new HubCache(settings.cacheDir);
  const log = options.log ?? (() => {});
  const name = formatModelRef(ref);
  if (settings.offline) {
    const hit = fromCache(cache, ref);
    if (!hit) throw new NotCachedError(name, 'HF_HUB_OFFLINE is set; unset it (or run `llama-ts pull` while online) to download it');
    return hit;
  }
  try {
    return await fetchRef(settings, cache, ref, options);
  } catch (e) {
    if (!(e instanceof NetworkError) && !(e instanceof HubUnreachableError)) throw e;
    const hit = fromCache(cache, ref);
    if (!hit) {
      if (e instanceof HubUnreachableError) throw e;
      throw new HubUnreachableError(settings.endpoint, `${e.detail} (and ${name} is not cached)`, { cause: e });
    }
    log(`hub unreachable (${e instanceof NetworkError ? e.detail : e.message}); using the cached copy of ${name} (commit ${hit.commit.slice(0, 12)})`);
    return hit;
  }
}

/** Files under a snapshot, as repo paths. */
function snapshotFiles(dir: string): string[] {
  const out: string[] = [];
  const walk = (d: string, prefix: string): void => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      if (e.isDirectory()) walk(join(d, e.name), `${prefix}${e.name}/`);
      else out.push(`${prefix}${e.name}`);
    }
  };
  if (existsSync(dir)) walk(dir, '');
  return out;
}

/** The cached answer for a reference, if every file it needs is present. */
export function fromCache(cache: HubCache, ref: ModelRef): PullResult | undefined {
  const commit = cache.readRef(ref.repo, ref.revision);
  if (!commit) return undefined;
  const complete = (files: readonly string[]): boolean => files.every((p) => existsSync(cache.snapshotPath(ref.repo, commit, p)));
  const pulls = cache.readPulls(ref.repo);
  let rec = pulls.find((p) => p.commit === commit && p.selector === (ref.selector ?? null) && complete(p.files));
  if (!rec && ref.selector !== undefined) {
    // Pulled under another name (a file by tag, or the other way round): match the snapshot's files.
    let sel: Selection | undefined;
    try {
      sel = selectFiles(ref.repo, snapshotFiles(cache.snapshotDir(ref.repo, commit)), ref.selector);
    } catch {
      sel = undefined;
    }
    if (sel && complete(sel.files)) rec = record(ref, commit, sel);
  }
  if (!rec) return undefined;
  touch(cache, ref.repo, rec);
  return { path: cache.snapshotPath(ref.repo, commit, rec.main), ref, commit, files: rec.files, downloaded: 0, offline: true };
}

function record(ref: ModelRef, commit: string, sel: Selection): PullRecord {
  const now = new Date().toISOString();
  return { selector: ref.selector ?? null, revision: ref.revision, commit, files: sel.files, main: sel.main, pulledAt: now, usedAt: now };
}

function touch(cache: HubCache, repo: string, rec: PullRecord): void {
  rec.usedAt = new Date().toISOString();
  cache.recordPull(repo, rec);
}

/** A content id as a file name (ids from other mirrors may hold characters a path cannot). */
const blobKey = (etag: string): string => (/^[A-Za-z0-9._-]{1,128}$/.test(etag) ? etag : createHash('sha256').update(etag).digest('hex'));

async function fetchRef(settings: HubSettings, cache: HubCache, ref: ModelRef, o: ResolveOptions): Promise<PullResult> {
  const http = new Http({ endpoint: settings.endpoint, token: settings.token, retries: o.retries, retryDelayMs: o.retryDelayMs, idleTimeoutMs: o.idleTimeoutMs, responseTimeoutMs: o.responseTimeoutMs });
  const client = new HubClient(http);
  const commit = await client.commitOf(ref.repo, ref.revision);
  const known = cache.readPulls(ref.repo).find((p) => p.commit === commit && p.selector === (ref.selector ?? null));
  if (known && known.files.every((p) => existsSync(cache.snapshotPath(ref.repo, commit, p)))) {
    cache.writeRef(ref.repo, ref.revision, commit);
    touch(cache, ref.repo, known);
    return { path: cache.snapshotPath(ref.repo, commit, known.main), ref, commit, files: known.files, downloaded: 0, offline: false };
  }
  const listing = await client.listFiles(ref.repo, commit);
  const byPath = new Map<string, RepoFile>(listing.map((f) => [f.path, f]));
  let sel = selectFiles(ref.repo, listing.map((f) => f.path), ref.selector);

  const progress = o.progress === 'auto' ? DownloadProgress.auto() : o.progress === 'none' || o.progress === undefined ? silentProgress : o.progress;
  const log = o.log ?? (() => {});
  let downloaded = 0;
  const events: DownloadEvents = {
    start: (l, t, h) => progress.start(l, t, h),
    bytes: (l, n) => {
      downloaded += n;
      progress.bytes(l, n);
    },
    reset: (l) => progress.reset(l),
    done: (l) => progress.done(l),
  };
  const fetchOne = async (path: string): Promise<void> => {
    const meta = await client.fileMeta(ref.repo, commit, path);
    const listed = byPath.get(path);
    const size = meta.size ?? listed?.size;
    const key = blobKey(meta.etag);
    const dest = cache.blobPath(ref.repo, key);
    if (!cache.hasBlob(ref.repo, key, size)) {
      // Another process (or another ref in this one) may be fetching the same blob: wait for it.
      mkdirSync(dirname(dest), { recursive: true });
      const download = async (): Promise<void> => {
        if (cache.hasBlob(ref.repo, key, size)) return;
        const target = {
          url: meta.url,
          dest,
          size,
          digest: digestOf(meta.etag, listed?.sha256, listed?.oid),
          label: `${ref.repo}/${path}`,
          refreshUrl: async () => (await client.fileMeta(ref.repo, commit, path)).url,
        };
        await downloadBlob(http, target, events);
      };
      await withFileLock(`${dest}.lock`, download, { onWait: () => log(`waiting for another download of ${ref.repo}/${path} to finish`) });
    }
    cache.link(ref.repo, commit, path, key);
  };
  try {
    const index = sel.files.find((p) => p.endsWith('model.safetensors.index.json'));
    if (index && !sel.main.endsWith('.safetensors')) {
      await fetchOne(index);
      sel = refineWithIndex(sel, index, readFileSync(cache.snapshotPath(ref.repo, commit, index), 'utf8'));
    }
    await pool(sel.files.filter((p) => p !== index), Math.max(1, o.concurrency ?? 4), fetchOne);
  } finally {
    if (progress instanceof DownloadProgress) progress.stop();
  }
  cache.writeRef(ref.repo, ref.revision, commit);
  const rec = record(ref, commit, sel);
  cache.recordPull(ref.repo, rec);
  return { path: cache.snapshotPath(ref.repo, commit, sel.main), ref, commit, files: sel.files, downloaded, offline: false };
}

/** Runs `fn` over `items`, at most `n` at a time; the first failure is thrown after the running ones settle. */
async function pool<T>(items: readonly T[], n: number, fn: (x: T) => Promise<void>): Promise<void> {
  let next = 0;
  let failed: { e: unknown } | undefined;
  const worker = async (): Promise<void> => {
    while (!failed && next < items.length) {
      const x = items[next++]!;
      try {
        await fn(x);
      } catch (e) {
        failed ??= { e };
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(n, items.length) }, worker));
  if (failed) throw failed.e;
}
