/**
 * The llama.cpp peer: node-llama-cpp 3.22.1's prebuilt CPU binaries, installed into `cacheDir/nlc`
 * (never a dependency of this package). `scripts` (files that `import 'node-llama-cpp'`) are copied
 * beside that install so they resolve it; run them with `node <dir>/<script>`.
 */
import { execFileSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';

export function ensureLlamaCpp(cacheDir: string, scripts: readonly string[]): string {
  const dir = join(cacheDir, 'nlc');
  if (!existsSync(join(dir, 'node_modules', 'node-llama-cpp'))) {
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: 'nlc', private: true, type: 'module' }));
    console.error(`installing node-llama-cpp 3.22.1 (CPU prebuilt) into ${dir} …`);
    execFileSync('npm', ['install', '--omit=optional', '--no-audit', '--no-fund', 'node-llama-cpp@3.22.1', '@node-llama-cpp/linux-x64@3.22.1'], {
      cwd: dir,
      stdio: ['ignore', 'ignore', 'inherit'],
      env: { ...process.env, NODE_LLAMA_CPP_SKIP_DOWNLOAD: 'true' },
    });
  }
  for (const s of scripts) copyFileSync(s, join(dir, basename(s)));
  return dir;
}
