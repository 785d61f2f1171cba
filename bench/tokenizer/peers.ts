/**
 * The JavaScript tokenizers llama-ts is measured against. They are not dependencies of the
 * package: they are installed into a folder outside the repository at bench time and imported
 * from there.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export const PEERS = { '@huggingface/transformers': '4.3.2', 'llama3-tokenizer-js': '1.2.0' } as const;
export type PeerName = keyof typeof PEERS;

export function defaultPeersDir(): string {
  return join(tmpdir(), 'llama-ts-bench-peers');
}

function installedVersion(dir: string, name: string): string | undefined {
  const p = join(dir, 'node_modules', name, 'package.json');
  return existsSync(p) ? (JSON.parse(readFileSync(p, 'utf8')) as { version: string }).version : undefined;
}

/**
 * Installs the pinned peers into `dir` unless they are already there. Install scripts are
 * skipped: onnxruntime-node's postinstall downloads binaries, and tokenizers never need them.
 */
export function ensurePeers(dir: string, log: (s: string) => void): void {
  const missing = Object.entries(PEERS).filter(([n, v]) => installedVersion(dir, n) !== v);
  if (missing.length === 0) return;
  mkdirSync(dir, { recursive: true });
  log(`installing ${missing.map(([n, v]) => `${n}@${v}`).join(' ')} into ${dir} …`);
  const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
  execFileSync(
    npm,
    ['install', '--prefix', dir, '--ignore-scripts', '--no-audit', '--no-fund', '--no-save', ...Object.entries(PEERS).map(([n, v]) => `${n}@${v}`)],
    { stdio: ['ignore', 'ignore', 'inherit'] },
  );
}

/** The file import() needs for a package installed in `dir`. */
export function resolvePeer(dir: string, name: string): string {
  return createRequire(join(dir, 'package.json')).resolve(name);
}
