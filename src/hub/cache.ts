/**
 * The on-disk cache, laid out like huggingface_hub's so a revision's files are stored once:
 *
 *   <root>/models--<owner>--<name>/
 *     blobs/<etag>                 content, named by LFS sha256 (or git blob sha1)
 *     blobs/<etag>.incomplete      a download in progress (resumed by Range)
 *     snapshots/<commit>/<path>    relative symlink to ../../blobs/<etag> (hard link or copy where symlinks fail)
 *     refs/<branch-or-tag>         the commit it last resolved to
 *     pulls.json                   what was asked for (ref selector → files, main file, last use)
 */
import { copyFileSync, existsSync, linkSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, symlinkSync, writeFileSync, lstatSync, readlinkSync } from 'node:fs';
import { dirname, join, relative, sep } from 'node:path';

export interface PullRecord {
  /** The file or quant tag asked for (null: the whole model folder / only GGUF). */
  readonly selector: string | null;
  readonly revision: string;
  readonly commit: string;
  /** Repo paths fetched for this ref. */
  readonly files: readonly string[];
  /** What resolveModel returns, relative to the snapshot ('' = the snapshot folder). */
  readonly main: string;
  readonly pulledAt: string;
  usedAt: string;
}

export const COMMIT = /^[0-9a-f]{40}$/;

export class HubCache {
  constructor(readonly root: string) {}

  repoDir(repo: string): string {
    return join(this.root, `models--${repo.replace('/', '--')}`);
  }
  blobPath(repo: string, etag: string): string {
    return join(this.repoDir(repo), 'blobs', etag);
  }
  snapshotDir(repo: string, commit: string): string {
    return join(this.repoDir(repo), 'snapshots', commit);
  }
  snapshotPath(repo: string, commit: string, path: string): string {
    return join(this.snapshotDir(repo, commit), ...path.split('/'));
  }

  /** The commit a revision last resolved to here (a commit id resolves to itself if present). */
  readRef(repo: string, revision: string): string | undefined {
    if (COMMIT.test(revision) && existsSync(this.snapshotDir(repo, revision))) return revision;
    const f = join(this.repoDir(repo), 'refs', ...revision.split('/'));
    return existsSync(f) ? readFileSync(f, 'utf8').trim() : undefined;
  }
  writeRef(repo: string, revision: string, commit: string): void {
    if (revision === commit) return;
    const f = join(this.repoDir(repo), 'refs', ...revision.split('/'));
    writeAtomic(f, commit);
  }

  /** True when the blob is complete (present at the expected size). */
  hasBlob(repo: string, etag: string, size: number | undefined): boolean {
    const p = this.blobPath(repo, etag);
    if (!existsSync(p)) return false;
    return size === undefined || statSync(p).size === size;
  }

  /** Puts `path` into the commit's snapshot, pointing at the blob. */
  link(repo: string, commit: string, path: string, etag: string): void {
    const dst = this.snapshotPath(repo, commit, path);
    const blob = this.blobPath(repo, etag);
    mkdirSync(dirname(dst), { recursive: true });
    if (lexists(dst)) rmSync(dst, { force: true });
    try {
      symlinkSync(relative(dirname(dst), blob).split(sep).join('/'), dst);
    } catch {
      try {
        linkSync(blob, dst);
      } catch {
        copyFileSync(blob, dst);
      }
    }
  }

  readPulls(repo: string): PullRecord[] {
    const f = join(this.repoDir(repo), 'pulls.json');
    if (!existsSync(f)) return [];
    try {
      const v = JSON.parse(readFileSync(f, 'utf8')) as unknown;
      return Array.isArray(v) ? (v as PullRecord[]) : [];
    } catch {
      return [];
    }
  }
  writePulls(repo: string, pulls: readonly PullRecord[]): void {
    writeAtomic(join(this.repoDir(repo), 'pulls.json'), JSON.stringify(pulls, null, 1));
  }
  /** Records a pull (replacing one for the same selector and revision). */
  recordPull(repo: string, rec: PullRecord): void {
    const pulls = this.readPulls(repo).filter((p) => !(p.selector === rec.selector && p.revision === rec.revision));
    pulls.push(rec);
    this.writePulls(repo, pulls);
  }

  /** Every cached repo (by folder name). */
  repos(): string[] {
    if (!existsSync(this.root)) return [];
    return readdirSync(this.root)
      .filter((d) => d.startsWith('models--') && d.split('--').length >= 3)
      .map((d) => {
        const [, owner, ...name] = d.split('--');
        return `${owner}/${name.join('--')}`;
      })
      .sort();
  }

  /** Blob names referenced by any snapshot entry. */
  referencedBlobs(repo: string): Set<string> {
    const used = new Set<string>();
    const snaps = join(this.repoDir(repo), 'snapshots');
    if (!existsSync(snaps)) return used;
    const walk = (dir: string): void => {
      for (const e of readdirSync(dir, { withFileTypes: true })) {
        const p = join(dir, e.name);
        if (e.isDirectory()) walk(p);
        else if (e.isSymbolicLink()) used.add(blobName(p));
        else used.add(`inode:${statSync(p).ino}`);
      }
    };
    for (const c of readdirSync(snaps)) walk(join(snaps, c));
    return used;
  }

  /** Deletes blobs no snapshot entry points at; returns the bytes freed. */
  collectGarbage(repo: string): number {
    const dir = join(this.repoDir(repo), 'blobs');
    if (!existsSync(dir)) return 0;
    const used = this.referencedBlobs(repo);
    let freed = 0;
    for (const b of readdirSync(dir)) {
      const p = join(dir, b);
      const st = statSync(p);
      if (used.has(b) || used.has(`inode:${st.ino}`)) continue;
      freed += st.size;
      rmSync(p, { force: true });
    }
    return freed;
  }
}

/** A relative symlink's last segment is the blob's name. */
function blobName(link: string): string {
  try {
    return readlinkSync(link).split(/[\\/]/).pop() ?? '';
  } catch {
    return '';
  }
}

export function lexists(p: string): boolean {
  try {
    lstatSync(p);
    return true;
  } catch {
    return false;
  }
}

/** Write to a temp file beside the target, then rename: readers never see half a file. */
export function writeAtomic(file: string, text: string): void {
  mkdirSync(dirname(file), { recursive: true });
  const tmp = `${file}.${process.pid}.tmp`;
  writeFileSync(tmp, text);
  renameSync(tmp, file);
}
