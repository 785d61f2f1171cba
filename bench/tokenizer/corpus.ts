/**
 * The benchmark text: ~5 MB of mixed prose, code and multilingual text, built deterministically
 * (seeded PRNG) from the fixture corpus and this repository's sources. Numbers are redrawn and some
 * words scrambled, so the text keeps producing words never seen before (the merge loop runs, not
 * only the per-word caches), as real input does.
 */
import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { uniformSource } from '../../src/generate/rng.js';

/** Deterministic uniform [0, 1) source (the project's seeded RNG). */
export function prng(seed: number): () => number {
  return uniformSource(seed);
}

function walk(dir: string, keep: (path: string) => boolean, out: string[]): void {
  if (!existsSync(dir)) return;
  for (const name of readdirSync(dir).sort()) {
    if (name === 'node_modules' || name === 'dist' || name.startsWith('.')) continue;
    const p = join(dir, name);
    if (statSync(p).isDirectory()) walk(p, keep, out);
    else if (keep(p)) out.push(p);
  }
}

interface Sources {
  /** Each entry: the lines of one file or one corpus string. */
  readonly prose: string[][];
  readonly code: string[][];
  readonly multilingual: string[][];
  readonly files: string[];
}

export function collectSources(repoRoot: string, fixtures: string): Sources {
  const code: string[] = [];
  const prose: string[] = [];
  for (const d of ['src', 'test', 'bench', 'asm']) walk(join(repoRoot, d), (p) => /\.(ts|js|mjs|wat|c|json)$/.test(p) && statSync(p).size < 1 << 20, code);
  walk(repoRoot, (p) => p.endsWith('.md') && !relative(repoRoot, p).includes('node_modules'), prose);
  walk(join(fixtures, 'chat'), (p) => p.endsWith('.jinja'), code);
  const fixtureReadme = join(fixtures, 'README.md');
  if (existsSync(fixtureReadme)) prose.push(fixtureReadme);
  const lines = (p: string): string[] => readFileSync(p, 'utf8').split('\n');
  const multilingual: string[][] = [];
  for (const g of ['llama3.1.golden.json', 'llama2.golden.json']) {
    const p = join(fixtures, 'tokenizers', g);
    if (!existsSync(p)) continue;
    const cases = (JSON.parse(readFileSync(p, 'utf8')) as { cases: { text: string }[] }).cases;
    for (const c of cases) if (c.text.length > 0) multilingual.push([c.text]);
  }
  return {
    prose: prose.map(lines),
    code: code.map(lines),
    multilingual,
    files: [...code, ...prose].map((p) => relative(repoRoot, p)),
  };
}

/** Shuffle the characters inside each word: new words in the same scripts. */
function scramble(line: string, rnd: () => number): string {
  return line.replace(/\p{L}{3,}/gu, (w) => {
    if (rnd() < 0.5) return w;
    const cs = [...w];
    for (let i = cs.length - 1; i > 0; i--) {
      const j = Math.floor(rnd() * (i + 1));
      [cs[i], cs[j]] = [cs[j]!, cs[i]!];
    }
    return cs.join('');
  });
}

/** Builds `targetBytes` of text as chunks of 1–8 KB (documents, as a server would see them). */
export function buildChunks(src: Sources, targetBytes: number, seed = 20240726): string[] {
  const rnd = prng(seed);
  const pick = <T>(a: readonly T[]): T => a[Math.floor(rnd() * a.length)]!;
  const chunks: string[] = [];
  let total = 0;
  while (total < targetBytes) {
    const want = 1024 + Math.floor(rnd() * 7 * 1024);
    let chunk = '';
    while (Buffer.byteLength(chunk) < want) {
      const r = rnd();
      let para: string;
      if (r < 0.35 && src.prose.length > 0) {
        const f = pick(src.prose);
        const at = Math.floor(rnd() * f.length);
        para = f.slice(at, at + 2 + Math.floor(rnd() * 10)).join('\n');
      } else if (r < 0.8 && src.code.length > 0) {
        const f = pick(src.code);
        const at = Math.floor(rnd() * f.length);
        para = f.slice(at, at + 3 + Math.floor(rnd() * 20)).join('\n');
      } else {
        para = Array.from({ length: 1 + Math.floor(rnd() * 4) }, () => scramble(pick(src.multilingual)[0]!, rnd)).join(rnd() < 0.5 ? ' ' : '\n');
      }
      // Fresh numbers and identifiers keep the vocabulary of the text open-ended.
      para = para.replace(/\d+/g, (d) => (rnd() < 0.5 ? d : String(Math.floor(rnd() * 10 ** Math.min(d.length + 1, 9)))));
      if (rnd() < 0.3) para = scramble(para, rnd);
      chunk += para + (rnd() < 0.7 ? '\n\n' : '\n');
    }
    chunks.push(chunk);
    total += Buffer.byteLength(chunk);
  }
  return chunks;
}
