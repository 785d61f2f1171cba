/**
 * The hub's URL layout: `/api/models/<repo>[/revision/<rev>]` (commit of a revision),
 * `/api/models/<repo>/tree/<rev>?recursive=true` (file list with sizes and LFS sha256, paged by a
 * `Link: <…>; rel="next"` header) and `/<repo>/resolve/<rev>/<path>` (HEAD: X-Repo-Commit, ETag or
 * X-Linked-Etag, X-Linked-Size, and a redirect to the storage URL for LFS files).
 */
import { Http } from './http.js';
import { HubAccessError, HubNotFoundError, DownloadError } from './errors.js';

export interface RepoFile {
  readonly path: string;
  readonly size: number;
  /** sha256 of the content for LFS files (the tree's lfs.oid). */
  readonly sha256: string | undefined;
  /** Git object id (sha1 of `blob <size>\0` + content for regular files; of the pointer for LFS ones). */
  readonly oid: string | undefined;
}

export interface FileMeta {
  /** Commit the revision resolved to. */
  readonly commit: string | undefined;
  /** Content id: LFS sha256 (64 hex) or git blob sha1 (40 hex) on the real hub. */
  readonly etag: string;
  readonly size: number | undefined;
  /** Where the bytes are (the storage redirect for LFS files, else the resolve URL). */
  readonly url: string;
}

const enc = (path: string): string => path.split('/').map(encodeURIComponent).join('/');

/** `"abc"`, `W/"abc"` → `abc`. */
export function normalizeEtag(e: string | null): string | undefined {
  if (!e) return undefined;
  return e.replace(/^W\//, '').replace(/^"|"$/g, '');
}

export class HubClient {
  constructor(readonly http: Http) {}

  get endpoint(): string {
    return this.http.config.endpoint;
  }

  private async fail(res: Response, repo: string, what: string): Promise<never> {
    const code = res.headers.get('x-error-code');
    const msg = res.headers.get('x-error-message');
    await res.body?.cancel();
    if (code === 'RepoNotFound' || (res.status === 404 && !code && what === 'repo')) {
      throw new HubNotFoundError(`repository ${repo} not found on ${this.endpoint}${this.http.config.token ? '' : ' (if it is private, set HF_TOKEN)'}`);
    }
    if (code === 'RevisionNotFound') throw new HubNotFoundError(`${repo} has no revision ${what}`);
    if (code === 'EntryNotFound' || res.status === 404) throw new HubNotFoundError(`${repo} has no ${what}${msg ? ` (${msg})` : ''}`);
    if (res.status === 401 || res.status === 403) throw new HubAccessError(repo, res.status, this.http.config.token !== undefined, this.endpoint);
    throw new DownloadError(`${repo}: HTTP ${res.status} for ${what}${msg ? `: ${msg}` : ''}`);
  }

  /** The commit a branch, tag or commit names. */
  async commitOf(repo: string, revision: string): Promise<string> {
    const url = revision === 'main' ? `${this.endpoint}/api/models/${repo}` : `${this.endpoint}/api/models/${repo}/revision/${encodeURIComponent(revision)}`;
    const { res } = await this.http.request(url);
    if (!res.ok) return this.fail(res, repo, revision === 'main' ? 'repo' : `revision ${revision}`);
    const info = (await res.json()) as { sha?: unknown };
    if (typeof info.sha !== 'string') throw new DownloadError(`${url} gave no commit sha`);
    return info.sha;
  }

  /** Every file of the repo at a revision (recursively, following pages). */
  async listFiles(repo: string, revision: string): Promise<RepoFile[]> {
    const out: RepoFile[] = [];
    let url: string | undefined = `${this.endpoint}/api/models/${repo}/tree/${encodeURIComponent(revision)}?recursive=true`;
    while (url) {
      const { res } = await this.http.request(url);
      if (!res.ok) return this.fail(res, repo, `revision ${revision}`);
      const page = (await res.json()) as { type?: string; path?: string; size?: number; oid?: string; lfs?: { oid?: string; size?: number } }[];
      if (!Array.isArray(page)) throw new DownloadError(`${url} did not list files`);
      for (const e of page) {
        if (e.type !== 'file' || typeof e.path !== 'string') continue;
        out.push({ path: e.path, size: e.lfs?.size ?? e.size ?? 0, sha256: e.lfs?.oid, oid: e.oid });
      }
      const next = /<([^>]+)>\s*;\s*rel="next"/.exec(res.headers.get('link') ?? '');
      url = next ? new URL(next[1]!, url).href : undefined;
    }
    return out;
  }

  /** HEAD of a file: follows same-origin redirects (renamed repos), stops at the storage redirect. */
  async fileMeta(repo: string, revision: string, path: string): Promise<FileMeta> {
    const start = `${this.endpoint}/${repo}/resolve/${encodeURIComponent(revision)}/${enc(path)}`;
    const { res, url } = await this.http.request(start, { method: 'HEAD' }, (from, to) => from.origin === to.origin);
    if (res.status >= 400) return this.fail(res, repo, `file ${path} at ${revision}`);
    const h = res.headers;
    const etag = normalizeEtag(h.get('x-linked-etag')) ?? normalizeEtag(h.get('etag'));
    if (!etag) throw new DownloadError(`${url}: the hub sent no ETag, so the file cannot be verified or cached`);
    const sizeText = h.get('x-linked-size') ?? h.get('content-length');
    const location = res.status >= 300 && res.status < 400 ? h.get('location') : null;
    return {
      commit: h.get('x-repo-commit') ?? undefined,
      etag,
      size: sizeText !== null && /^\d+$/.test(sizeText) ? Number(sizeText) : undefined,
      url: location ? new URL(location, url).href : url,
    };
  }
}
