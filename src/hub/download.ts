/**
 * One file into the blob store: resumable (`<blob>.incomplete` + HTTP Range), hashed while it
 * streams, verified against the hub's content id, then renamed into place in one step so a blob
 * that exists is always complete and correct.
 */
import { createHash, type Hash } from 'node:crypto';
import { createReadStream, existsSync, openSync, closeSync, writeSync, ftruncateSync, renameSync, rmSync, statSync, mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { Http, NetworkError } from './http.js';
import { ChecksumError, DownloadError } from './errors.js';

/** How the bytes are checked: LFS files by sha256, plain git files by their git blob sha1. */
export type Digest = { readonly kind: 'sha256' | 'git-sha1'; readonly hex: string } | undefined;

/**
 * The digest to check: LFS files by sha256 (the tree's lfs.oid, or a 64-hex ETag); regular git
 * files by their git blob id, but only when the ETag is that id as the tree lists it (else the
 * ETag's meaning is unknown, e.g. from a mirror, and only the size is checked).
 */
export function digestOf(etag: string, lfsSha256: string | undefined, gitOid: string | undefined): Digest {
  if (lfsSha256 && /^[0-9a-f]{64}$/i.test(lfsSha256)) return { kind: 'sha256', hex: lfsSha256.toLowerCase() };
  if (/^[0-9a-f]{64}$/i.test(etag)) return { kind: 'sha256', hex: etag.toLowerCase() };
  if (/^[0-9a-f]{40}$/i.test(etag) && gitOid !== undefined && gitOid.toLowerCase() === etag.toLowerCase()) return { kind: 'git-sha1', hex: etag.toLowerCase() };
  return undefined;
}

function newHash(d: Digest, size: number | undefined): Hash | undefined {
  if (!d) return undefined;
  if (d.kind === 'sha256') return createHash('sha256');
  if (size === undefined) return undefined;
  return createHash('sha1').update(`blob ${size}\0`);
}

export interface DownloadTarget {
  readonly url: string;
  /** Final path (the blob); `<dest>.incomplete` holds the partial bytes. */
  readonly dest: string;
  readonly size: number | undefined;
  readonly digest: Digest;
  /** Name in messages (repo/path). */
  readonly label: string;
  /** A fresh storage URL (signed storage URLs expire; the hub hands out a new one). */
  readonly refreshUrl?: () => Promise<string>;
}

export interface DownloadEvents {
  /** Bytes already on disk when the transfer (re)starts. */
  start(label: string, total: number | undefined, have: number): void;
  bytes(label: string, n: number): void;
  /** A restart from zero (server ignored Range): progress goes back. */
  reset(label: string): void;
  done(label: string): void;
}

async function hashFile(path: string, h: Hash): Promise<void> {
  for await (const chunk of createReadStream(path)) h.update(chunk as Buffer);
}

/** Downloads (or resumes) `t.url` into `t.dest`. */
export async function downloadBlob(http: Http, t: DownloadTarget, ev: DownloadEvents): Promise<void> {
  const part = `${t.dest}.incomplete`;
  mkdirSync(dirname(part), { recursive: true });
  let have = existsSync(part) ? statSync(part).size : 0;
  if (t.size !== undefined && have > t.size) have = 0;
  let hash = newHash(t.digest, t.size);
  // A partial file left by an earlier run: its bytes enter the hash before new ones are appended.
  if (have > 0 && hash) await hashFile(part, hash);
  const fd = openSync(part, have > 0 ? 'r+' : 'w');
  let started = false;
  let url = t.url;
  let refreshes = 0;
  try {
    if (have === 0) ftruncateSync(fd, 0);
    let failures = 0;
    for (;;) {
      if (t.size !== undefined && have === t.size) break;
      if (!started) ev.start(t.label, t.size, have);
      started = true;
      let res: Response;
      try {
        ({ res } = await http.request(url, { headers: have > 0 ? { range: `bytes=${have}-` } : {} }));
      } catch (e) {
        throw e instanceof NetworkError ? new DownloadError(`${t.label}: ${e.message}`, { cause: e }) : e;
      }
      if (res.status === 416) {
        // Nothing past `have`: complete if the size agrees (or is unknown); else start over.
        await res.body?.cancel();
        if (t.size === undefined || have === t.size) break;
        have = 0;
        ftruncateSync(fd, 0);
        hash = newHash(t.digest, t.size);
        ev.reset(t.label);
        if (++failures > http.retries) throw new DownloadError(`${t.label}: the server refuses every byte range`);
        continue;
      }
      if (res.status === 200 && have > 0) {
        // Range ignored: the body is the whole file.
        have = 0;
        ftruncateSync(fd, 0);
        hash = newHash(t.digest, t.size);
        ev.reset(t.label);
      } else if (res.status === 206) {
        const m = /bytes (\d+)-/.exec(res.headers.get('content-range') ?? '');
        if (!m || Number(m[1]) !== have) {
          await res.body?.cancel();
          throw new DownloadError(`${t.label}: asked for bytes from ${have}, got ${res.headers.get('content-range') ?? 'no Content-Range'}`);
        }
      } else if (res.status !== 200) {
        await res.body?.cancel();
        if (t.refreshUrl && res.status >= 400 && res.status < 500 && refreshes < 2) {
          // An expired signed storage URL: ask the hub for a new one and go on from `have`.
          refreshes++;
          url = await t.refreshUrl();
          continue;
        }
        throw new DownloadError(`${t.label}: HTTP ${res.status} from ${new URL(url).origin}`);
      }
      if (!res.body) throw new DownloadError(`${t.label}: empty response`);
      try {
        for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
          let off = 0;
          while (off < chunk.length) off += writeSync(fd, chunk, off, chunk.length - off, have + off);
          hash?.update(chunk);
          have += chunk.length;
          ev.bytes(t.label, chunk.length);
        }
      } catch (e) {
        if (!(e instanceof NetworkError)) throw e;
        // Dropped mid-file: keep what arrived and ask for the rest.
        if (++failures > http.retries) throw new DownloadError(`${t.label}: ${e.detail}; gave up after ${failures} attempts (${have} bytes kept in ${part}; run again to resume)`, { cause: e });
        await http.backoff(failures - 1);
        continue;
      }
      if (t.size === undefined) break;
      if (have < t.size) {
        // The body ended early without an error: resume.
        if (++failures > http.retries) throw new DownloadError(`${t.label}: the server kept ending the file early (${have} of ${t.size} bytes kept; run again to resume)`);
        continue;
      }
      if (have > t.size) throw new DownloadError(`${t.label}: got ${have} bytes, expected ${t.size}`);
    }
  } finally {
    closeSync(fd);
  }
  if (hash) {
    const actual = hash.digest('hex');
    if (actual !== t.digest!.hex) {
      rmSync(part, { force: true });
      throw new ChecksumError(t.label, `${t.digest!.kind} ${t.digest!.hex}`, actual);
    }
  }
  renameSync(part, t.dest);
  ev.done(t.label);
}
