/**
 * Side-by-side benchmark: llama-ts (wasm backend) vs llama.cpp (node-llama-cpp's prebuilt CPU
 * binaries) on the same synthetic GGUFs with the same thread count.
 *
 *   node --import tsx bench/vs-llamacpp/run.ts [--types q8_0,q4_0] [-p 512] [-n 128] [-t 2] [-r 3]
 *     [--rounds 1] [--shape llama3.2-1b] [--cache DIR]
 *
 * --rounds K runs the two engines K times in turn per type (each time -r repetitions): the ratio
 * columns are then the median of the K same-round ratios, which a host whose speed drifts from one
 * minute to the next (a shared VM) distorts far less than one run of each.
 *
 * node-llama-cpp is installed into DIR/nlc (never a dependency of this package); models are
 * generated into DIR with ../shared/tools/synth_gguf.py (f16, q8_0, q4_0), and `q4_k` / `q5_k`
 * (Q4_K or Q5_K layers, Q6_K embedding/output) are derived from the q4_0 file by ../synth-kquant.ts.
 * Prints a table and one JSON object.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { ensureSyntheticGguf, repoRoot } from '../synthetic-gguf.js';
import { ensureLlamaCpp as ensureLlamaCpp_ } from '../peers/llamacpp.js';
import type { BenchResult } from '../../src/cli/bench.js';
import { cpuInfo } from '../../src/backend/wasm/cpu-info.js';

const { values } = parseArgs({
  options: {
    types: { type: 'string', default: 'q8_0,q4_0' },
    shape: { type: 'string', default: 'llama3.2-1b' },
    p: { type: 'string', short: 'p', default: '512' },
    n: { type: 'string', short: 'n', default: '128' },
    t: { type: 'string', short: 't', default: '2' },
    r: { type: 'string', short: 'r', default: '3' },
    rounds: { type: 'string', default: '1' },
    cache: { type: 'string', default: join(tmpdir(), 'llama-ts-bench') },
  },
});
const root = repoRoot();
const cache = resolve(values.cache!);
const threads = Number(values.t);
const P = Number(values.p);
const N = Number(values.n);
const reps = Number(values.r);
const rounds = Number(values.rounds);
if (!Number.isInteger(rounds) || rounds < 1) throw new Error(`--rounds must be a positive integer, got ${values.rounds}`);
mkdirSync(cache, { recursive: true });

function ensureLlamaCpp(): string {
  return ensureLlamaCpp_(cache, [join(root, 'bench', 'vs-llamacpp', 'llamacpp-bench.mjs')]);
}

function ensureModel(type: string): string {
  return ensureSyntheticGguf(cache, values.shape!, type);
}

interface EngineResult {
  pp_tps: number | null;
  pp_tps_min: number | null;
  tg_tps: number | null;
  tg_tps_min: number | null;
}

async function runLlamaTs(model: string): Promise<BenchResult> {
  const { benchCommand } = await import('../../src/cli/bench.js');
  return benchCommand({ model, p: P, n: N, threads, reps, json: true, backend: 'wasm' }, () => {});
}

function runLlamaCpp(dir: string, model: string): EngineResult {
  const outp = execFileSync(process.execPath, [join(dir, 'llamacpp-bench.mjs'), model, String(P), String(N), String(threads), String(reps)], {
    cwd: dir,
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'inherit'],
    maxBuffer: 1 << 24,
  });
  const line = outp.trim().split('\n').filter((l) => l.startsWith('{')).pop();
  if (!line) throw new Error(`no result from llama.cpp run:\n${outp}`);
  return JSON.parse(line) as EngineResult;
}

const nlc = ensureLlamaCpp();
const rows: Record<string, unknown>[] = [];
const f = (x: number | null | undefined, d = 2): string => (x === null || x === undefined ? '-' : x.toFixed(d));
const cpu = cpuInfo();
const pct = (x: number | null): string => (x === null ? '-' : `${(100 * x).toFixed(0)} %`);
const table = [
  '| type | test | llama-ts t/s (min) | llama.cpp t/s (min) | ratio | llama-ts GB/s (of bandwidth) | llama.cpp GB/s (of bandwidth) |',
  '| --- | --- | ---: | ---: | ---: | ---: | ---: |',
];
const kernelsSeen = new Set<string>();
const median = (x: number[]): number | null => (x.length ? [...x].sort((a, b) => a - b)[(x.length - 1) >> 1]! : null);
const ratio = (a: number | null, b: number | null): number | null => (a !== null && b ? a / b : null);
const present = (x: (number | null)[]): number[] => x.filter((v): v is number => v !== null);
for (const type of values.types!.split(',')) {
  const model = ensureModel(type);
  const runs: { ts: BenchResult; cpp: EngineResult }[] = [];
  for (let k = 0; k < rounds; k++) runs.push({ ts: await runLlamaTs(model), cpp: runLlamaCpp(nlc, model) });
  // One round: that run's figures. Several: medians across rounds, ratios the median of each round's.
  const ts = runs.length === 1 ? runs[0]!.ts : {
    ...runs[0]!.ts,
    pp_tps: median(present(runs.map((r) => r.ts.pp_tps))), pp_tps_min: Math.min(...present(runs.map((r) => r.ts.pp_tps_min))),
    tg_tps: median(present(runs.map((r) => r.ts.tg_tps))), tg_tps_min: Math.min(...present(runs.map((r) => r.ts.tg_tps_min))),
    tg_gbps: median(present(runs.map((r) => r.ts.tg_gbps))), mem_read_gbps: median(present(runs.map((r) => r.ts.mem_read_gbps))),
    pp_runs: runs.flatMap((r) => r.ts.pp_runs), tg_runs: runs.flatMap((r) => r.ts.tg_runs),
  };
  const cpp: EngineResult = runs.length === 1 ? runs[0]!.cpp : {
    pp_tps: median(present(runs.map((r) => r.cpp.pp_tps))), pp_tps_min: Math.min(...present(runs.map((r) => r.cpp.pp_tps_min))),
    tg_tps: median(present(runs.map((r) => r.cpp.tg_tps))), tg_tps_min: Math.min(...present(runs.map((r) => r.cpp.tg_tps_min))),
  };
  const roundRatios = runs.map((r) => ({ pp: ratio(r.ts.pp_tps, r.cpp.pp_tps), tg: ratio(r.ts.tg_tps, r.cpp.tg_tps) }));
  const ratioPp = median(present(roundRatios.map((r) => r.pp)));
  const ratioTg = median(present(roundRatios.map((r) => r.tg)));
  // Both engines read the same weights per decoded token: the same bytes × their own speeds.
  const cppGbps = cpp.tg_tps !== null ? (cpp.tg_tps * ts.bytes_per_token) / 1e9 : null;
  const share = (g: number | null): number | null => (g !== null && ts.mem_read_gbps ? g / ts.mem_read_gbps : null);
  for (const r of runs) if (r.ts.kernels) kernelsSeen.add(`${r.ts.kernels} (${r.ts.kernels_source})`);
  rows.push({
    type, model, threads, llama_ts: ts, llama_cpp: { ...cpp, tg_gbps: cppGbps, tg_bandwidth_share: share(cppGbps) },
    ratio_pp: ratioPp, ratio_tg: ratioTg,
    ...(rounds > 1 ? { rounds: runs.map((r, k) => ({ llama_ts: { pp_tps: r.ts.pp_tps, tg_tps: r.ts.tg_tps }, llama_cpp: { pp_tps: r.cpp.pp_tps, tg_tps: r.cpp.tg_tps }, ratio_pp: roundRatios[k]!.pp, ratio_tg: roundRatios[k]!.tg })) } : {}),
  });
  const each = (f_: (r: { pp: number | null; tg: number | null }) => number | null): string => (rounds > 1 ? ` [${roundRatios.map((r) => f(f_(r))).join(' ')}]` : '');
  table.push(`| ${type} | pp${P} | ${f(ts.pp_tps)} (${f(ts.pp_tps_min)}) | ${f(cpp.pp_tps)} (${f(cpp.pp_tps_min)}) | ${f(ratioPp)}${each((r) => r.pp)} | | |`);
  table.push(`| ${type} | tg${N} | ${f(ts.tg_tps)} (${f(ts.tg_tps_min)}) | ${f(cpp.tg_tps)} (${f(cpp.tg_tps_min)}) | ${f(ratioTg)}${each((r) => r.tg)} | ${f(ts.tg_gbps)} of ${f(ts.mem_read_gbps)} (${pct(share(ts.tg_gbps))}) | ${f(cppGbps)} (${pct(share(cppGbps))}) |`);
}
console.log(`CPU: ${cpu.model} (${cpu.flags.filter((x) => /avx512|vnni|amx|avx2/.test(x)).join(' ') || 'no AVX2/AVX-512 flags'}); node ${process.version}; ${threads} threads`);
console.log(`llama-ts kernels: ${[...kernelsSeen].join('; ') || '-'}`);
console.log(table.join('\n'));
console.log(JSON.stringify({ cpu_model: cpu.model, cpu_flags: cpu.flags, node_version: process.version, threads, n_prompt: P, n_gen: N, reps, rounds, results: rows }));
