import { existsSync, statSync, readdirSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));

function findRoot(): string {
  let dir = here;
  while (!existsSync(join(dir, 'package.json'))) {
    const up = dirname(dir);
    if (up === dir) return here;
    dir = up;
  }
  return dir;
}

function newestSource(asmDir: string): number {
  let t = 0;
  for (const f of readdirSync(asmDir)) t = Math.max(t, statSync(join(asmDir, f)).mtimeMs);
  return t;
}

let dir: string | undefined;

/**
 * The folder holding the compiled wasm modules (asm/build.mjs): beside this file in dist (built by
 * `npm run build:wasm`), else a cache under node_modules built from asm/ when missing or older
 * than its sources (runs from source through tsx). Synchronous, so the sampler can load its row
 * kernels from a constructor; the build runs in a child process, once.
 */
export function kernelDir(): string {
  if (dir) return dir;
  if (existsSync(join(here, 'kernels-simd.wasm'))) return (dir = here);
  const root = findRoot();
  const asmDir = join(root, 'asm');
  const cache = join(root, 'node_modules', '.cache', 'llama-ts-wasm');
  const probe = join(cache, 'kernels-simd.wasm');
  if (existsSync(asmDir) && (!existsSync(probe) || statSync(probe).mtimeMs < newestSource(asmDir))) {
    execFileSync(process.execPath, [join(asmDir, 'build.mjs'), cache], { stdio: ['ignore', 'ignore', 'inherit'] });
  }
  return (dir = cache);
}
