/**
 * Synthetic Llama-shaped GGUFs for benchmarks: generated on demand by ../shared/tools/synth_gguf.py
 * into a cache folder (never committed), reused by later runs.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DType } from '../src/quant/dtype.js';
import { synthKQuant } from './synth-kquant.js';

/** The checkout's root (the folder with package.json), from bench/ or dist/bench/. */
export function repoRoot(): string {
  let d = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(d, 'package.json'))) d = dirname(d);
  return d;
}

/**
 * `cache/<shape>-<type>.gguf`, generated first when missing (~1 min for the 1B shape). The generator
 * writes F16/F32/Q8_0/Q4_0; `q4_k` / `q5_k` (Q4_K or Q5_K layers, Q6_K embedding/output, random
 * blocks) are derived from the q4_0 file by synth-kquant.ts.
 */
export function ensureSyntheticGguf(cache: string, shape: string, type: string): string {
  mkdirSync(cache, { recursive: true });
  const out = join(cache, `${shape}-${type}.gguf`);
  if (!existsSync(out) && (type === 'q4_k' || type === 'q5_k')) {
    const base = ensureSyntheticGguf(cache, shape, 'q4_0');
    console.error(`deriving ${out} from ${base} …`);
    synthKQuant(base, out, type === 'q4_k' ? DType.Q4_K : DType.Q5_K);
  } else if (!existsSync(out)) {
    console.error(`generating ${out} …`);
    execFileSync('python3', [join(repoRoot(), '..', 'shared', 'tools', 'synth_gguf.py'), '--shape', shape, '--type', type, '--out', out], { stdio: ['ignore', 'ignore', 'inherit'] });
  }
  return out;
}
