/**
 * In-process A/B of two builds of llama-ts on one model: both are loaded side by side and decode
 * (and optionally prefill) alternate round by round, so a noisy shared machine moves both alike and
 * the per-round ratio B/A holds where absolute tok/s do not. Build A elsewhere first, e.g.
 *   git worktree add /tmp/a <commit> && (cd /tmp/a && npm ci && npm run build)
 *
 *   node --experimental-wasm-relaxed-simd dist/bench/ab.js MODEL DIST_A DIST_B [--rounds 6] [-n 24] [--pp 0] [-t 2]
 * DIST_* are `dist` folders (absolute paths).
 */
import { parseArgs } from 'node:util';
import { pathToFileURL } from 'node:url';
import { join } from 'node:path';

interface Session {
  eval(ids: number[], opts: { logits: 'last' }): Promise<unknown>;
  dispose?(): void;
}
interface Model {
  session(opts: { contextSize: number }): Session;
}
type Loader = (path: string, opts: { backend: 'wasm'; threads: number }) => Promise<Model>;

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    rounds: { type: 'string', default: '6' },
    n: { type: 'string', short: 'n', default: '24' },
    pp: { type: 'string', default: '0' },
    t: { type: 'string', short: 't', default: '2' },
  },
});
const [model, distA, distB] = positionals;
if (!model || !distA || !distB) throw new Error('usage: ab.js MODEL DIST_A DIST_B [--rounds 6] [-n 24] [--pp 0] [-t 2]');
const rounds = Number(values.rounds);
const n = Number(values.n);
const pp = Number(values.pp);
const threads = Number(values.t);

const load = async (dist: string): Promise<Model> => {
  const mod = (await import(pathToFileURL(join(dist, 'src', 'model', 'load.js')).href)) as { loadModel: Loader };
  return mod.loadModel(model, { backend: 'wasm', threads });
};
const [a, b] = [await load(distA), await load(distB)];

/** Tokens per second of `count` tokens: one prompt (prefill) or one token per eval (decode). */
async function speed(m: Model, count: number, prefill: boolean): Promise<number> {
  const s = m.session({ contextSize: count + 8 });
  const ids = Array.from({ length: count }, (_, i) => 100 + i);
  const t0 = performance.now();
  if (prefill) await s.eval(ids, { logits: 'last' });
  else for (const id of ids) await s.eval([id], { logits: 'last' });
  const ms = performance.now() - t0;
  s.dispose?.();
  return count / (ms / 1000);
}

const median = (x: number[]): number => [...x].sort((p, q) => p - q)[x.length >> 1]!;
await speed(a, 4, false);
await speed(b, 4, false);
const tg: [number, number][] = [];
const pf: [number, number][] = [];
for (let r = 0; r < rounds; r++) {
  tg.push([await speed(a, n, false), await speed(b, n, false)]);
  if (pp > 0) pf.push([await speed(a, pp, true), await speed(b, pp, true)]);
}
const summary = (rows: [number, number][]): { a: number; b: number; ratio: number; ratios: number[] } => ({
  a: median(rows.map((x) => x[0])),
  b: median(rows.map((x) => x[1])),
  ratio: median(rows.map((x) => x[1] / x[0])),
  ratios: rows.map((x) => Number((x[1] / x[0]).toFixed(3))),
});
const out = { model, rounds, threads, tg: summary(tg), ...(pp > 0 ? { pp: summary(pf) } : {}) };
console.log(`tg${n}: A ${out.tg.a.toFixed(2)} B ${out.tg.b.toFixed(2)} tok/s, B/A ${out.tg.ratio.toFixed(3)} (median of per-round ratios)`);
if (out.pp) console.log(`pp${pp}: A ${out.pp.a.toFixed(2)} B ${out.pp.b.toFixed(2)} tok/s, B/A ${out.pp.ratio.toFixed(3)}`);
console.log(JSON.stringify(out));
process.exit(0);
