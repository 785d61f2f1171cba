/**
 * Synthetic Llama-shaped GGUFs for benchmarks: generated on demand by ../shared/tools/synth_gguf.py
 * into a cache folder (never committed), reused by later runs.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The checkout's root (the folder with package.json), from bench/ or dist/bench/. */
export function repoRoot(): string {
  let d = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(d, 'package.json'))) d = dirname(d);
  return d;
}

/** `cache/<shape>-<type>.gguf`, generated first when missing (~1 min for the 1B shape). */
export function ensureSyntheticGguf(cache: string, shape: string, type: string): string {
  mkdirSync(cache, { recursive: true });
  const out = join(cache, `${shape}-${type}.gguf`);
  if (!existsSync(out)) {
    console.error(`generating ${out} …`);
    execFileSync('python3', [join(repoRoot(), '..', 'shared', 'tools', 'synth_gguf.py'), '--shape', shape, '--type', type, '--out', out], { stdio: ['ignore', 'ignore', 'inherit'] });
  }
  return out;
}
