/**
 * A Hugging Face hub stand-in on 127.0.0.1 for download tests: the hub's URL layout
 * (`/api/models/<repo>[/revision/<rev>]`, `/api/models/<repo>/tree/<rev>`, `/<repo>/resolve/<rev>/<path>`)
 * with LFS files redirected to a second server (another origin, like the real storage CDN) that
 * honours Range. Faults are switched on per test: gated repos, 5xx bursts, connections cut
 * mid-file, corrupted bytes.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createHash } from 'node:crypto';
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';

export interface MockFile {
  readonly data: Buffer;
  /** Stored in LFS (sha256 etag, redirect to storage); else a plain git file (git blob sha1 etag). */
  readonly lfs: boolean;
}

export interface MockRepo {
  readonly commit: string;
  readonly files: Map<string, MockFile>;
  /** Token that may read it; requests without it get 401, with another token 403. */
  gatedToken?: string;
}

export interface Faults {
  /** Answer this many requests (any route) with 500 first. */
  fail500: number;
  /** For storage GETs of these sha256s: cut the connection after this many body bytes, `times` times (`stall`: keep it open, silent). */
  cut: Map<string, { after: number; times: number; stall?: boolean }>;
  /** The hub (not storage) accepts requests and never answers. */
  hang: boolean;
  /** Serve these sha256s (LFS or not) with one byte flipped. */
  corrupt: Set<string>;
  /** Storage answers 403 (an expired signed URL) this many times for these sha256s. */
  expired: Map<string, number>;
  /** Tree listing page size (to exercise Link pagination). */
  pageSize: number;
  /** Storage answers wait this long (so parallel downloads overlap measurably). */
  storageDelayMs: number;
}

export interface RequestLog {
  readonly method: string;
  readonly url: string;
  readonly range: string | undefined;
  readonly auth: string | undefined;
  readonly status: number;
}

const hashes = new WeakMap<Buffer, string>();
/** Memoized: the mock hashes the same (possibly large) buffers on every request. */
const sha256 = (b: Buffer): string => {
  let h = hashes.get(b);
  if (h === undefined) {
    h = createHash('sha256').update(b).digest('hex');
    hashes.set(b, h);
  }
  return h;
};
const gitSha1 = (b: Buffer): string => createHash('sha1').update(`blob ${b.length}\0`).update(b).digest('hex');
export const fakeCommit = (seed: string): string => createHash('sha1').update(seed).digest('hex');

/** A repo from a folder's files (every file over 1 KiB is "LFS"). */
export function repoFromFolder(dir: string, commitSeed = dir): MockRepo {
  const files = new Map<string, MockFile>();
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (!statSync(p).isFile()) continue;
    const data = readFileSync(p);
    files.set(name, { data, lfs: data.length > 1024 });
  }
  return { commit: fakeCommit(commitSeed), files };
}

export class MockHub {
  readonly repos = new Map<string, MockRepo>();
  readonly faults: Faults = { fail500: 0, cut: new Map(), hang: false, corrupt: new Set(), expired: new Map(), pageSize: 1000, storageDelayMs: 0 };
  /** Most storage GETs in flight at once. */
  maxConcurrentGets = 0;
  private inFlight = 0;
  readonly log: RequestLog[] = [];
  private hub: Server | undefined;
  private cdn: Server | undefined;
  private readonly blobs = new Map<string, Buffer>();
  endpoint = '';
  cdnOrigin = '';

  addRepo(name: string, repo: MockRepo): void {
    this.repos.set(name, repo);
    for (const f of repo.files.values()) if (f.lfs) this.blobs.set(sha256(f.data), f.data);
  }

  async start(): Promise<void> {
    this.hub = createServer((req, res) => this.route(req, res));
    this.cdn = createServer((req, res) => this.storage(req, res));
    await Promise.all([listen(this.hub), listen(this.cdn)]);
    this.endpoint = `http://127.0.0.1:${(this.hub.address() as AddressInfo).port}`;
    this.cdnOrigin = `http://127.0.0.1:${(this.cdn.address() as AddressInfo).port}`;
  }

  async stop(): Promise<void> {
    for (const s of [this.hub, this.cdn]) {
      if (!s) continue;
      s.closeAllConnections();
      await new Promise<void>((r) => s.close(() => r()));
    }
    this.hub = this.cdn = undefined;
  }

  private note(req: IncomingMessage, status: number): void {
    this.log.push({ method: req.method ?? '', url: req.url ?? '', range: req.headers.range, auth: req.headers.authorization, status });
  }

  private send(req: IncomingMessage, res: ServerResponse, status: number, headers: Record<string, string | number>, body?: Buffer | string): void {
    this.note(req, status);
    res.writeHead(status, headers);
    res.end(req.method === 'HEAD' ? undefined : body);
  }

  private route(req: IncomingMessage, res: ServerResponse): void {
    if (this.faults.hang) return;
    if (this.faults.fail500 > 0) {
      this.faults.fail500--;
      this.send(req, res, 500, { 'content-type': 'text/plain' }, 'internal error');
      return;
    }
    const url = new URL(req.url ?? '/', this.endpoint);
    const parts = url.pathname.split('/').filter(Boolean).map(decodeURIComponent);
    const json = (status: number, v: unknown, extra: Record<string, string> = {}): void =>
      this.send(req, res, status, { 'content-type': 'application/json', ...extra }, JSON.stringify(v));
    const repoOf = (owner: string | undefined, name: string | undefined): MockRepo | undefined => {
      const repo = this.repos.get(`${owner}/${name}`);
      if (!repo) {
        this.send(req, res, 401, { 'x-error-code': 'RepoNotFound', 'x-error-message': 'Repository not found' });
        return undefined;
      }
      if (repo.gatedToken !== undefined) {
        const auth = req.headers.authorization;
        if (!auth) {
          this.send(req, res, 401, { 'x-error-code': 'GatedRepo', 'x-error-message': 'Access to this repo is restricted' });
          return undefined;
        }
        if (auth !== `Bearer ${repo.gatedToken}`) {
          this.send(req, res, 403, { 'x-error-code': 'GatedRepo', 'x-error-message': 'You are not in the authorized list' });
          return undefined;
        }
      }
      return repo;
    };
    const revOk = (repo: MockRepo, rev: string): boolean => rev === 'main' || rev === repo.commit;

    if (parts[0] === 'api' && parts[1] === 'models') {
      const repo = repoOf(parts[2], parts[3]);
      if (!repo) return;
      const info = { id: `${parts[2]}/${parts[3]}`, sha: repo.commit, siblings: [...repo.files.keys()].map((rfilename) => ({ rfilename })) };
      if (parts.length === 4) return json(200, info);
      if (parts[4] === 'revision') {
        const rev = parts.slice(5).join('/');
        return revOk(repo, rev) ? json(200, info) : json(404, { error: 'Invalid rev id' }, { 'x-error-code': 'RevisionNotFound' });
      }
      if (parts[4] === 'tree') {
        const rev = parts.slice(5).join('/');
        if (!revOk(repo, rev)) return json(404, { error: 'Invalid rev id' }, { 'x-error-code': 'RevisionNotFound' });
        const all = [...repo.files.entries()].map(([path, f]) => ({
          type: 'file',
          oid: gitSha1(f.lfs ? Buffer.from(`version https://git-lfs.github.com/spec/v1\noid sha256:${sha256(f.data)}\nsize ${f.data.length}\n`) : f.data),
          size: f.lfs ? 134 : f.data.length,
          path,
          ...(f.lfs ? { lfs: { oid: sha256(f.data), size: f.data.length, pointerSize: 134 } } : {}),
        }));
        const start = Number(url.searchParams.get('cursor') ?? '0');
        const page = all.slice(start, start + this.faults.pageSize);
        const extra: Record<string, string> = {};
        if (start + this.faults.pageSize < all.length) {
          extra['link'] = `<${this.endpoint}${url.pathname}?recursive=true&cursor=${start + this.faults.pageSize}>; rel="next"`;
        }
        return json(200, page, extra);
      }
      return json(404, { error: 'not found' });
    }
    if (parts[2] === 'resolve') {
      const repo = repoOf(parts[0], parts[1]);
      if (!repo) return;
      const rev = parts[3] ?? '';
      if (!revOk(repo, rev)) return this.send(req, res, 404, { 'x-error-code': 'RevisionNotFound' });
      const path = parts.slice(4).join('/');
      const f = repo.files.get(path);
      if (!f) return this.send(req, res, 404, { 'x-error-code': 'EntryNotFound', 'x-error-message': `${path} does not exist` });
      if (f.lfs) {
        const sum = sha256(f.data);
        return this.send(req, res, 302, {
          location: `${this.cdnOrigin}/blobs/${sum}?expires=${Date.now() + 3600_000}`,
          'x-repo-commit': repo.commit,
          'x-linked-etag': `"${sum}"`,
          'x-linked-size': f.data.length,
          etag: `"${gitSha1(Buffer.from('pointer'))}"`,
          'content-length': 0,
        });
      }
      const headers = { 'x-repo-commit': repo.commit, etag: `"${gitSha1(f.data)}"`, 'content-type': 'application/octet-stream' };
      let body = f.data;
      if (this.faults.corrupt.has(sha256(f.data))) {
        body = Buffer.from(f.data);
        body[body.length >> 1] ^= 0xff;
      }
      return serveRange(req, res, body, headers, (s) => this.note(req, s));
    }
    json(404, { error: 'not found' });
  }

  private storage(req: IncomingMessage, res: ServerResponse): void {
    if (req.method === 'GET') {
      this.inFlight++;
      this.maxConcurrentGets = Math.max(this.maxConcurrentGets, this.inFlight);
      res.once('close', () => this.inFlight--);
    }
    if (this.faults.storageDelayMs > 0) setTimeout(() => this.storageNow(req, res), this.faults.storageDelayMs);
    else this.storageNow(req, res);
  }

  private storageNow(req: IncomingMessage, res: ServerResponse): void {
    if (req.headers.authorization) {
      // The real storage rejects (and must never receive) hub tokens.
      this.send(req, res, 400, {}, 'unexpected Authorization header');
      return;
    }
    const sum = /^\/blobs\/([0-9a-f]{64})(\?.*)?$/.exec(req.url ?? '')?.[1];
    const data = sum ? this.blobs.get(sum) : undefined;
    if (!sum || !data) return this.send(req, res, 404, {}, 'no such blob');
    const expired = this.faults.expired.get(sum) ?? 0;
    if (expired > 0) {
      this.faults.expired.set(sum, expired - 1);
      return this.send(req, res, 403, { 'content-type': 'application/xml' }, '<Error><Code>AccessDenied</Code><Message>Request has expired</Message></Error>');
    }
    let body = data;
    if (this.faults.corrupt.has(sum)) {
      body = Buffer.from(data);
      body[body.length >> 1] ^= 0xff;
    }
    const cut = this.faults.cut.get(sum);
    if (cut && cut.times > 0 && req.method === 'GET') {
      cut.times--;
      const parsed = parseRange(req.headers.range, body.length);
      const range = parsed === 'bad' ? undefined : parsed;
      const start = range?.start ?? 0;
      this.note(req, range ? 206 : 200);
      res.writeHead(range ? 206 : 200, {
        'content-length': body.length - start,
        ...(range ? { 'content-range': `bytes ${start}-${body.length - 1}/${body.length}` } : {}),
      });
      res.write(body.subarray(start, start + cut.after), () => {
        // Drop the connection mid-body, as a flaky network does (or go silent).
        if (!cut.stall) setTimeout(() => res.socket?.destroy(), 20);
      });
      return;
    }
    serveRange(req, res, body, { etag: `"${sum}"`, 'content-type': 'application/octet-stream' }, (s) => this.note(req, s));
  }
}

function parseRange(h: string | undefined, size: number): { start: number; end: number } | 'bad' | undefined {
  if (!h) return undefined;
  const m = /^bytes=(\d+)-(\d*)$/.exec(h);
  if (!m) return 'bad';
  const start = Number(m[1]);
  const end = m[2] ? Math.min(Number(m[2]), size - 1) : size - 1;
  if (start >= size || start > end) return 'bad';
  return { start, end };
}

function serveRange(req: IncomingMessage, res: ServerResponse, data: Buffer, headers: Record<string, string>, note: (status: number) => void): void {
  const r = parseRange(req.headers.range, data.length);
  if (r === 'bad') {
    note(416);
    res.writeHead(416, { 'content-range': `bytes */${data.length}` });
    res.end();
    return;
  }
  const start = r?.start ?? 0;
  const end = r?.end ?? data.length - 1;
  const status = r ? 206 : 200;
  note(status);
  res.writeHead(status, {
    ...headers,
    'accept-ranges': 'bytes',
    'content-length': end - start + 1,
    ...(r ? { 'content-range': `bytes ${start}-${end}/${data.length}` } : {}),
  });
  res.end(req.method === 'HEAD' ? undefined : data.subarray(start, end + 1));
}

function listen(s: Server): Promise<void> {
  return new Promise((resolve, reject) => {
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => resolve());
  });
}
