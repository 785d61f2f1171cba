import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** Repository root, whether tests run from test/ (tsx) or dist/test/ (compiled). */
function findRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, 'package.json'))) {
    const up = dirname(dir);
    if (up === dir) throw new Error('package.json not found above ' + fileURLToPath(import.meta.url));
    dir = up;
  }
  return dir;
}

export const REPO_ROOT = findRoot();
/** ../shared beside the checkout (as in CI); LLAMA_TS_SHARED overrides. */
export const SHARED = resolve(process.env.LLAMA_TS_SHARED ?? join(REPO_ROOT, '..', 'shared'));
export const FIXTURES = join(SHARED, 'fixtures');
export const HAVE_FIXTURES = existsSync(FIXTURES);

export function fixture(...parts: string[]): string {
  return join(FIXTURES, ...parts);
}

/** For `test(name, { skip: skipNoFixtures }, ...)`: a reason string when ../shared is absent. */
export const skipNoFixtures: string | false = HAVE_FIXTURES ? false : 'fixtures not found (../shared/fixtures)';
