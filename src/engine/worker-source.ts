import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/**
 * What to hand `new Worker` for a worker module: the compiled .js when it exists; run from source
 * under tsx, a worker thread does not inherit tsx's loader hooks, so a small bootstrap registers
 * them and imports the .ts file.
 */
export function workerSource(js: URL): { code: URL | string; eval: boolean } {
  if (existsSync(fileURLToPath(js))) return { code: js, eval: false };
  const ts = js.href.replace(/\.js$/, '.ts');
  const api = import.meta.resolve('tsx/esm/api');
  const code = `import(${JSON.stringify(api)}).then((m) => m.tsImport(${JSON.stringify(ts)}, ${JSON.stringify(ts)}));`;
  return { code, eval: true };
}
