import { BadArgumentError } from '../errors/errors.js';

/** A parsed `hf:` model reference. */
export interface ModelRef {
  /** `owner/name` as the hub spells it. */
  readonly repo: string;
  /** Branch, tag or commit (default `main`). */
  readonly revision: string;
  /** A file path in the repo, or a quant tag (`Q4_K_M`) matched against its .gguf files; absent: the whole model folder (or the repo's only GGUF). */
  readonly selector: string | undefined;
}

const NAME = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;
const REVISION = /^[A-Za-z0-9][A-Za-z0-9._/-]*$/;

/** True for strings that name a hub model (`hf:` prefix). */
export function isHubRef(ref: string): boolean {
  return ref.startsWith('hf:');
}

/**
 * Parses `[hf:]owner/repo[@rev][:file-or-quant][@rev]`. The revision may sit after the repo or after
 * the selector (`owner/repo@v2:Q4_K_M` and `owner/repo:Q4_K_M@v2` mean the same), but only once.
 * `requirePrefix: false` is for `pull`, where the `hf:` is optional.
 */
export function parseModelRef(input: string, options: { requirePrefix?: boolean } = {}): ModelRef {
  const requirePrefix = options.requirePrefix ?? true;
  let s = input.trim();
  if (s.startsWith('hf:')) s = s.slice(3);
  else if (requirePrefix) throw new BadArgumentError(`not a hub reference (expected hf:<owner>/<repo>[:<file-or-quant>][@<revision>]): ${input}`);
  const bad = (why: string): BadArgumentError =>
    new BadArgumentError(`bad model reference ${JSON.stringify(input)}: ${why} (expected hf:<owner>/<repo>[:<file-or-quant>][@<revision>])`);
  const slash = s.indexOf('/');
  if (slash < 0) throw bad('no owner/repo');
  const owner = s.slice(0, slash);
  let rest = s.slice(slash + 1);
  // The repo name ends at the first ':' or '@'.
  const end = rest.search(/[:@]/);
  const name = end < 0 ? rest : rest.slice(0, end);
  rest = end < 0 ? '' : rest.slice(end);
  if (!NAME.test(owner) || !NAME.test(name)) throw bad('owner and repo are letters, digits, ".", "_" and "-"');
  let revision: string | undefined;
  let selector: string | undefined;
  if (rest.startsWith('@')) {
    const colon = rest.indexOf(':');
    revision = colon < 0 ? rest.slice(1) : rest.slice(1, colon);
    rest = colon < 0 ? '' : rest.slice(colon);
  }
  if (rest.startsWith(':')) {
    const at = rest.lastIndexOf('@');
    selector = at < 0 ? rest.slice(1) : rest.slice(1, at);
    if (at >= 0) {
      if (revision !== undefined) throw bad('two revisions');
      revision = rest.slice(at + 1);
    }
    if (selector === '') throw bad('empty file or quant after ":"');
    if (selector.split('/').some((p) => p === '..' || p === '.' || p === '')) throw bad('the file path must stay inside the repo');
  } else if (rest !== '') {
    throw bad(`unexpected ${JSON.stringify(rest)}`);
  }
  if (revision !== undefined && !REVISION.test(revision)) throw bad('bad revision');
  return { repo: `${owner}/${name}`, revision: revision ?? 'main', selector };
}

/** The canonical spelling of a reference (what `list` prints and messages name). */
export function formatModelRef(r: ModelRef): string {
  return `hf:${r.repo}${r.selector !== undefined ? `:${r.selector}` : ''}${r.revision !== 'main' ? `@${r.revision}` : ''}`;
}
