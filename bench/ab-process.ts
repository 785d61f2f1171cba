/**
 * A/B of two builds with each measurement in its own process, alternating A, B, A, B…: for designs
 * whose cost depends on what else shares the process (bench/ab.ts loads both builds into one
 * process; there a model whose engine runs on a worker thread measured ~6 % slower than alone,
 * while one process per build measured the same two builds within 1 %).
 *
 *   node dist/bench/ab-process.js MODEL DIST_A DIST_B [--rounds 8] [-n 24] [-t 2]
 * Prints each round's B/A and the median; decode = one token per eval, median of 3 runs per process.
 */
import { execFileSync } from 'node:child_process';
import { parseArgs } from 'node:util';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { pathToFileURL } from 'node:url';

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: { rounds: { type: 'string', default: '8' }, n: { type: 'string', short: 'n', default: '24' }, t: { type: 'string', short: 't', default: '2' } },
});
const [model, distA, distB] = positionals;
if (!model || !distA || !distB) throw new Error('usage: ab-process.js MODEL DIST_A DIST_B [--rounds 8] [-n 24] [-t 2]');
const n = Number(values.n);

/** Decode tok/s of one build in a fresh process. */
function once(dist: string): number {
  const load = pathToFileURL(join(dist, 'src', 'model', 'load.js')).href;
  const script = `
    const { loadModel } = await import(${JSON.stringify(load)});
    const m = await loadModel(${JSON.stringify(model)}, { backend: 'wasm', threads: ${Number(values.t)} });
    const speed = async (count, base) => {
      const s = m.session({ contextSize: count + 8 });
      const t0 = performance.now();
      for (let i = 0; i < count; i++) await s.eval([base + i], { logits: 'last' });
      const r = count / ((performance.now() - t0) / 1000);
      s.dispose();
      return r;
    };
    await speed(4, 50);
    const rs = [];
    for (let i = 0; i < 3; i++) rs.push(await speed(${n}, 100 + i * 40));
    console.log(rs.sort((a, b) => a - b)[1]);
    await m.dispose();
    process.exit(0);`;
  const file = join(mkdtempSync(join(tmpdir(), 'llama-ts-ab-')), 'one.mjs');
  writeFileSync(file, script);
  try {
    return Number(execFileSync(process.execPath, ['--experimental-wasm-relaxed-simd', file], { encoding: 'utf8' }).trim());
  } finally {
    rmSync(dirname(file), { recursive: true, force: true });
  }
}

const ratios: number[] = [];
const rows: [number, number][] = [];
for (let r = 0; r < Number(values.rounds); r++) {
  const a = once(distA);
  const b = once(distB);
  rows.push([a, b]);
  ratios.push(b / a);
  console.error(`round ${r + 1}: A ${a.toFixed(2)} B ${b.toFixed(2)} tok/s, B/A ${(b / a).toFixed(3)}`);
}
const median = (x: number[]): number => {
  const s = [...x].sort((p, q) => p - q);
  return s.length % 2 ? s[s.length >> 1]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};
console.log(JSON.stringify({ model, threads: Number(values.t), n, a: median(rows.map((x) => x[0])), b: median(rows.map((x) => x[1])), ratio: median(ratios), ratios: ratios.map((x) => Number(x.toFixed(3))) }));
