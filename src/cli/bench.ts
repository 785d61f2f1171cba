import { loadModelForCli } from './progress.js';
import type { LlamaModel } from '../model/model.js';
import { BadArgumentError } from '../errors/errors.js';
import type { OpProfile } from '../engine/executor.js';
import type { WorkSharing } from '../backend/backend.js';
import { cpuInfo } from '../backend/wasm/cpu-info.js';

export interface BenchOptions {
  readonly model: string;
  /** Prompt tokens for the pp test (0 skips it). */
  readonly p: number;
  /** Generated tokens for the tg test (0 skips it). */
  readonly n: number;
  readonly threads?: number;
  readonly reps: number;
  readonly json: boolean;
  readonly backend?: 'wasm' | 'ref';
}

export interface BenchResult {
  model: string;
  backend: string;
  threads: number | null;
  relaxed_simd: boolean | null;
  /** The CPU the run landed on (numbers from different CPUs are not comparable). */
  cpu_model: string;
  /** Its SIMD-related flags (avx2, avx512*, *vnni*, amx*, …). */
  cpu_flags: string[];
  node_version: string;
  /** wasm: each decode kernel's variant (LLAMA_TS_KERNELS form) and how it was chosen (probe, cache, override). */
  kernels: string | null;
  kernels_source: string | null;
  model_bytes: number;
  /** Weight bytes one decode step reads (all matrices; the embedding only when tied to the output). */
  bytes_per_token: number;
  n_prompt: number;
  n_gen: number;
  reps: number;
  pp_tps: number | null;
  pp_tps_min: number | null;
  pp_runs: number[];
  tg_tps: number | null;
  tg_tps_min: number | null;
  tg_runs: number[];
  /** bytes_per_token × tg_tps (median). */
  tg_gbps: number | null;
  /** Measured memory read bandwidth of this machine with the same thread count (wasm backend). */
  mem_read_gbps: number | null;
  /** tg_gbps / mem_read_gbps: how close decode comes to the memory bound. */
  tg_bandwidth_share: number | null;
  load_s: number;
  /**
   * wasm, more than one thread: the share of the prefill's / decode's work chunks that a thread ran
   * for another (it had finished its own): how unevenly the threads ran during the measurement.
   */
  pp_work_stolen_share: number | null;
  tg_work_stolen_share: number | null;
  /** With LLAMA_TS_WASM_PROFILE=1 (wasm backend): wall ms per token spent in each op kind. */
  pp_profile_ms_per_token?: Record<string, number>;
  tg_profile_ms_per_token?: Record<string, number>;
}

/** Chunks run by another thread between two readings, as a share of all chunks run; null without threads or chunks. */
function stolenShare(a: WorkSharing | undefined, b: WorkSharing | undefined): number | null {
  if (!a || !b || b.chunks === a.chunks) return null;
  return (b.stolen - a.stolen) / (b.chunks - a.chunks);
}

function profileOf(p: OpProfile, tokens: number): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [k, v] of Object.entries(p).sort((a, b) => b[1].ms - a[1].ms)) out[k] = Number((v.ms / Math.max(1, tokens)).toFixed(4));
  return out;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

/** Deterministic token ids in [4, vocab) (content does not change the work done). */
function tokens(count: number, vocab: number, seed: number): number[] {
  let x = seed >>> 0 || 1;
  return Array.from({ length: count }, () => {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    return 4 + (x % (vocab - 4));
  });
}

function perTokenBytes(m: LlamaModel): number {
  return m.source.tiedOutput ? m.source.weightBytes : m.source.weightBytes - m.source.embedBytes;
}

async function pp(m: LlamaModel, p: number, seed: number): Promise<number> {
  const s = m.session({ contextSize: p });
  try {
    const ids = tokens(p, m.config.vocabSize, seed);
    const t0 = performance.now();
    await s.eval(ids, { logits: 'last' });
    return p / ((performance.now() - t0) / 1000);
  } finally {
    s.dispose();
  }
}

async function tg(m: LlamaModel, n: number, seed: number): Promise<number> {
  const s = m.session({ contextSize: n });
  try {
    const ids = tokens(n, m.config.vocabSize, seed);
    const t0 = performance.now();
    for (const id of ids) await s.eval([id], { logits: 'last' });
    return n / ((performance.now() - t0) / 1000);
  } finally {
    s.dispose();
  }
}

/**
 * llama-bench-like measurement: pp = one prompt of `p` tokens through a fresh session; tg = `n`
 * tokens decoded one at a time from an empty context. A short warm-up first lets V8 tier the
 * kernels up to optimized code. Reports min and median over `reps`.
 */
export async function benchCommand(opts: BenchOptions, out: (s: string) => void): Promise<BenchResult> {
  if (!Number.isInteger(opts.p) || opts.p < 0 || !Number.isInteger(opts.n) || opts.n < 0) throw new BadArgumentError('-p and -n must be non-negative integers');
  if (!Number.isInteger(opts.reps) || opts.reps < 1) throw new BadArgumentError('-r must be a positive integer');
  const backendName = opts.backend ?? 'wasm';
  const t0 = performance.now();
  // One eval per measurement, unchunked (a huge step budget): the engine's raw speed, as llama-bench.
  const { model: m } = await loadModelForCli(opts.model, { backend: backendName, threads: opts.threads, stepMs: 1e9, progress: !opts.json });
  const loadS = (performance.now() - t0) / 1000;
  try {
    const info = m.backendInfo;
    // Warm-up: a small prompt and a few decode steps.
    if (opts.p > 0) await pp(m, Math.min(opts.p, 32), 7);
    if (opts.n > 0) await tg(m, Math.min(opts.n, 8), 7);
    const ppRuns: number[] = [];
    const tgRuns: number[] = [];
    await m.profile(true);
    const ws0 = await m.workSharing();
    for (let r = 0; r < opts.reps && opts.p > 0; r++) ppRuns.push(await pp(m, opts.p, 100 + r));
    const ws1 = await m.workSharing();
    const pprof = await m.profile(true);
    const ppProfile = pprof ? profileOf(pprof, opts.reps * opts.p) : undefined;
    for (let r = 0; r < opts.reps && opts.n > 0; r++) tgRuns.push(await tg(m, opts.n, 200 + r));
    const ws2 = await m.workSharing();
    const tprof = await m.profile(true);
    const tgProfile = tprof ? profileOf(tprof, opts.reps * opts.n) : undefined;
    const bw = await m.measureReadBandwidth();
    const bpt = perTokenBytes(m);
    const cpu = cpuInfo();
    const tgMed = tgRuns.length ? median(tgRuns) : null;
    const res: BenchResult = {
      model: opts.model,
      backend: info.name,
      threads: info.name === 'wasm' ? info.threads : null,
      relaxed_simd: info.relaxedSimd ?? null,
      cpu_model: cpu.model,
      cpu_flags: [...cpu.flags],
      node_version: process.version,
      kernels: info.kernels ?? null,
      kernels_source: info.kernelsSource ?? null,
      model_bytes: m.source.weightBytes,
      bytes_per_token: bpt,
      n_prompt: opts.p,
      n_gen: opts.n,
      reps: opts.reps,
      pp_tps: ppRuns.length ? median(ppRuns) : null,
      pp_tps_min: ppRuns.length ? Math.min(...ppRuns) : null,
      pp_runs: ppRuns,
      tg_tps: tgMed,
      tg_tps_min: tgRuns.length ? Math.min(...tgRuns) : null,
      tg_runs: tgRuns,
      tg_gbps: tgMed === null ? null : (tgMed * bpt) / 1e9,
      mem_read_gbps: bw !== undefined ? bw / 1e9 : null,
      tg_bandwidth_share: bw && tgMed !== null ? (tgMed * bpt) / bw : null,
      load_s: loadS,
      pp_work_stolen_share: stolenShare(ws0, ws1),
      tg_work_stolen_share: stolenShare(ws1, ws2),
      ...(ppProfile ? { pp_profile_ms_per_token: ppProfile, tg_profile_ms_per_token: tgProfile } : {}),
    };
    out(opts.json ? JSON.stringify(res) + '\n' : table(res));
    return res;
  } finally {
    await m.dispose();
  }
}

function table(r: BenchResult): string {
  const f = (x: number | null, d = 2): string => (x === null ? '-' : x.toFixed(d));
  const gb = (r.model_bytes / 2 ** 30).toFixed(2);
  const lines = [
    `model: ${r.model} (${gb} GiB, ${(r.bytes_per_token / 1e9).toFixed(3)} GB read per token)`,
    `backend: ${r.backend}${r.threads !== null ? `, ${r.threads} threads` : ''}${r.relaxed_simd !== null ? `, ${r.relaxed_simd ? 'relaxed' : 'standard'} SIMD` : ''}, load ${r.load_s.toFixed(1)} s`,
    `cpu: ${r.cpu_model}${r.cpu_flags.length ? ` (${r.cpu_flags.filter((x) => /avx512|vnni|amx|avx2/.test(x)).join(' ') || r.cpu_flags.join(' ')})` : ''}, node ${r.node_version}`,
    ...(r.kernels ? [`kernels: ${r.kernels} (${r.kernels_source})`] : []),
    '| test | t/s (median) | t/s (min) | runs |',
    '| --- | ---: | ---: | ---: |',
  ];
  if (r.pp_tps !== null) lines.push(`| pp${r.n_prompt} | ${f(r.pp_tps)} | ${f(r.pp_tps_min)} | ${r.pp_runs.length} |`);
  if (r.tg_tps !== null) lines.push(`| tg${r.n_gen} | ${f(r.tg_tps)} | ${f(r.tg_tps_min)} | ${r.tg_runs.length} |`);
  if (r.tg_gbps !== null) {
    const bw = r.mem_read_gbps;
    lines.push(`decode reads ${f(r.tg_gbps)} GB/s${bw ? ` of ${f(bw)} GB/s measured read bandwidth (${((100 * r.tg_gbps) / bw).toFixed(0)}%)` : ''}`);
  }
  const pct = (x: number | null): string => (x === null ? '-' : `${(100 * x).toFixed(0)}%`);
  if (r.pp_work_stolen_share !== null || r.tg_work_stolen_share !== null) {
    lines.push(`work chunks a thread ran for another (it had finished its own): pp ${pct(r.pp_work_stolen_share)}, tg ${pct(r.tg_work_stolen_share)}`);
  }
  for (const [label, prof] of [['pp', r.pp_profile_ms_per_token], ['tg', r.tg_profile_ms_per_token]] as const) {
    if (!prof) continue;
    lines.push(`${label} profile (ms per token):`);
    for (const [k, v] of Object.entries(prof)) lines.push(`  ${v.toFixed(3).padStart(9)}  ${k}`);
  }
  return lines.join('\n') + '\n';
}
