// Compiles the AssemblyScript kernels (asm/*.ts) into two modules: one using relaxed SIMD and a
// standard-SIMD fallback. Usage: node asm/build.mjs [outDir] (default dist/src/backend/wasm).
import { mkdirSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));

export const VARIANTS = {
  'kernels-relaxed.wasm': 'simd,threads,relaxed-simd',
  'kernels-simd.wasm': 'simd,threads',
};

export const ROW_KERNELS = 'row-kernels.wasm';

export async function buildKernels(outDir) {
  const asc = (await import('assemblyscript/asc')).default;
  mkdirSync(outDir, { recursive: true });
  for (const [file, features] of Object.entries(VARIANTS)) {
    const { error, stderr } = await asc.main([
      join(here, 'index.ts'), '-O3', '--noAssert', '--enable', features, '--runtime', 'stub',
      '--importMemory', '--sharedMemory', '--initialMemory', '1', '--maximumMemory', '65536',
      '--outFile', join(outDir, file),
    ]);
    if (error) throw new Error(`asc failed for ${file}: ${error.message}\n${stderr.toString()}`);
  }
  // The sampler's row passes: standard SIMD only (the same bits on every CPU), its own memory.
  const { error, stderr } = await asc.main([
    join(here, 'sampling.ts'), '-O3', '--noAssert', '--enable', 'simd', '--runtime', 'stub',
    '--initialMemory', '1', '--outFile', join(outDir, ROW_KERNELS),
  ]);
  if (error) throw new Error(`asc failed for ${ROW_KERNELS}: ${error.message}\n${stderr.toString()}`);
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const out = resolve(process.argv[2] ?? join(here, '..', 'dist', 'src', 'backend', 'wasm'));
  await buildKernels(out);
  console.log(`wasm kernels → ${out}`);
}
