import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { KernelChoiceError } from '../../errors/errors.js';
import { writeAtomic } from '../../hub/cache.js';
import { hubSettings } from '../../hub/settings.js';
import { DType } from '../../quant/dtype.js';
import { Arena } from './arena.js';
import { cpuInfo } from './cpu-info.js';
import { DEFAULT_CHOICE, KERNEL_OPS, KERNEL_VARIANTS, applyChoice, formatChoice, opIndex, parseKernelSpec, type KernelChoice, type KernelOp, type KernelVariant } from './kernel-choice.js';
import { instantiateRaw, kernelMemory, loadKernelModule, type Kernels } from './module.js';
import { Layout } from './protocol.js';

/** How the decode kernels were chosen, for `llama-ts bench` and `info`. */
export interface KernelSelection {
  readonly choice: KernelChoice;
  /**
   * `override` (LLAMA_TS_KERNELS named every op), `cache` (an earlier probe on this CPU and runtime),
   * `probe`; `model-probe` / `model-cache` once some ops were timed on a loaded model's own weights
   * (tuneOnModel), now or by an earlier run.
   */
  readonly source: 'override' | 'cache' | 'probe' | 'model-probe' | 'model-cache';
  /** The ops whose variant was chosen by timing decode on the model's weights. */
  readonly modelOps?: readonly KernelOp[];
  /** Variants whose output disagreed with the reference form on this runtime: never chosen. */
  readonly rejected: readonly string[];
  /** The probe's µs per call for each op and variant (absent when nothing was timed now or cached). */
  readonly timings?: Readonly<Record<string, Readonly<Record<string, number>>>>;
  /** The cache entry's key: CPU model, Node version, kernel build. */
  readonly key: string;
}

/** Matrix the probe times each variant on (~1 MB per type): the kernels' compute rate, ~0.1–0.2 s in all. */
const PROBE_ROWS = 512;
const PROBE_COLS = 2048;
/** Rows and columns of the correctness check: an odd group count (g2's tail) and two K-quant superblocks. */
const CHECK_ROWS = 22;
const CHECK_COLS = 512;
/**
 * A variant must beat the default by this fraction to be chosen. The probe times one thread on
 * cache-resident matrices, which flatters some variants: on an AVX-512 EPYC `g2` was 2–11 % faster
 * there for Q8_0 yet 15 % slower in real 2-thread decode streaming from DRAM. Only a large win in
 * the probe (such as one vpdpbusd replacing three instructions) is trusted.
 */
const MARGIN = 0.1;

const SPEC: Record<KernelOp, { layout: Layout; kind: DType; blockElems: number; blockBytes: number }> = {
  q8_0: { layout: Layout.Q8x4, kind: DType.Q8_0, blockElems: 32, blockBytes: 34 },
  q4_0: { layout: Layout.Q4x4, kind: DType.Q4_0, blockElems: 32, blockBytes: 18 },
  q4_k: { layout: Layout.KX4, kind: DType.Q4_K, blockElems: 256, blockBytes: 144 },
  q6_k: { layout: Layout.KX4, kind: DType.Q6_K, blockElems: 256, blockBytes: 210 },
};

/** A deterministic generator (the probe's data must not vary between runs). */
function rng(seed: number): () => number {
  let x = seed >>> 0 || 1;
  return () => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return (x >>> 0) / 4294967296;
  };
}

/** ggml blocks of random quants with small positive f16 scales. */
function synthBlocks(op: KernelOp, rows: number, cols: number, r: () => number): Uint8Array {
  const s = SPEC[op];
  const nb = cols / s.blockElems;
  const out = new Uint8Array(rows * nb * s.blockBytes);
  const dv = new DataView(out.buffer);
  for (let b = 0; b < rows * nb; b++) {
    const o = b * s.blockBytes;
    for (let i = 0; i < s.blockBytes; i++) out[o + i] = Math.floor(r() * 256);
    if (op === 'q8_0') {
      dv.setUint16(o, 0x2000 + Math.floor(r() * 0x400), true);
      for (let i = 2; i < 34; i++) out[o + i] = (Math.floor(r() * 255) - 127) & 0xff;
    } else if (op === 'q4_0') {
      dv.setUint16(o, 0x2000 + Math.floor(r() * 0x400), true);
    } else if (op === 'q4_k') {
      dv.setUint16(o, 0x2000 + Math.floor(r() * 0x400), true);
      dv.setUint16(o + 2, 0x1c00 + Math.floor(r() * 0x400), true);
    } else {
      dv.setUint16(o + 208, 0x2000 + Math.floor(r() * 0x400), true);
    }
  }
  return out;
}

/** One op's repacked weight and one token's activation records in the probe instance's memory. */
interface Case {
  op: KernelOp;
  rows: number;
  cols: number;
  w: number;
  x: number;
  out: number;
}

function makeCase(k: Kernels, arena: Arena, mem: WebAssembly.Memory, op: KernelOp, rows: number, cols: number, seed: number): Case {
  const r = rng(seed);
  const s = SPEC[op];
  const src = synthBlocks(op, rows, cols, r);
  const raw = arena.alloc(src.length + 384);
  new Uint8Array(mem.buffer).set(src, raw);
  const groups = Math.ceil(rows / 4);
  const w = arena.alloc(groups * k.group_bytes(s.layout, s.kind, cols));
  if (op === 'q8_0') {
    if (k.repack_q8_0(raw, rows, cols, w) !== 0) throw new Error('probe: repack_q8_0 refused its synthetic blocks');
  } else if (op === 'q4_0') k.repack_q4_0(raw, rows, cols, w);
  else if (op === 'q4_k') k.repack_q4_k(raw, rows, cols, w, raw + src.length);
  else k.repack_q6_k(raw, rows, cols, w, raw + src.length);
  arena.release(raw);
  const xf = arena.alloc(cols * 4);
  const xv = new Float32Array(mem.buffer, xf, cols);
  for (let i = 0; i < cols; i++) xv[i] = (r() - 0.5) * 4;
  const x = arena.alloc(k.rec_bytes(1, cols));
  k.quant_act(s.layout, s.kind, xf, 1, cols, x);
  arena.release(xf);
  return { op, rows, cols, w, x, out: arena.alloc(rows * 4) };
}

function run(k: Kernels, c: Case): void {
  const s = SPEC[c.op];
  k.mm(s.layout, s.kind, c.w, Math.ceil(c.rows / 4), c.rows, c.cols, 1, c.x, c.out, c.rows);
}

function setVariant(k: Kernels, op: KernelOp, v: KernelVariant): void {
  if (!k.set_variant(opIndex(op), KERNEL_VARIANTS.indexOf(v))) throw new Error(`kernel module has no variant ${v} for ${op}: rebuild asm/`);
}

/**
 * Runs every variant once on a small matrix, in the runtime's baseline tier (the first calls of
 * a freshly compiled module run there), against the default variant: a variant that differs
 * (beyond f32 rounding of fused vs unfused multiply-adds) is broken on this runtime.
 */
function verify(k: Kernels, arena: Arena, mem: WebAssembly.Memory): string[] {
  const rejected: string[] = [];
  for (const op of KERNEL_OPS) {
    const c = makeCase(k, arena, mem, op, CHECK_ROWS, CHECK_COLS, 7 + opIndex(op));
    setVariant(k, op, 'i16');
    run(k, c);
    const want = new Float32Array(mem.buffer, c.out, c.rows).slice();
    for (const v of KERNEL_VARIANTS) {
      if (v === 'i16') continue;
      setVariant(k, op, v);
      new Float32Array(mem.buffer, c.out, c.rows).fill(Number.NaN);
      run(k, c);
      const got = new Float32Array(mem.buffer, c.out, c.rows);
      let ok = true;
      for (let i = 0; i < c.rows; i++) {
        if (!(Math.abs(got[i]! - want[i]!) <= 1e-4 * Math.max(1, Math.abs(want[i]!)))) ok = false;
      }
      if (!ok) rejected.push(`${op}=${v}`);
    }
    setVariant(k, op, 'i16');
  }
  return rejected;
}

/** Per op and variant: µs per call in each round (interleaved rounds, after warm-up). */
type Rounds = Record<KernelOp, Partial<Record<KernelVariant, number[]>>>;

const ROUNDS = 5;

function time(k: Kernels, arena: Arena, mem: WebAssembly.Memory, usable: (op: KernelOp, v: KernelVariant) => boolean): Rounds {
  const out = {} as Rounds;
  for (const op of KERNEL_OPS) {
    const c = makeCase(k, arena, mem, op, PROBE_ROWS, PROBE_COLS, 101 + opIndex(op));
    const vs = KERNEL_VARIANTS.filter((v) => usable(op, v));
    const rounds: Partial<Record<KernelVariant, number[]>> = {};
    // Enough warm-up calls for V8 to tier each variant up to its optimizing compiler.
    for (const v of vs) {
      setVariant(k, op, v);
      for (let i = 0; i < 10; i++) run(k, c);
      rounds[v] = [];
    }
    for (let round = 0; round < ROUNDS; round++) {
      for (const v of vs) {
        setVariant(k, op, v);
        const t0 = performance.now();
        for (let i = 0; i < 6; i++) run(k, c);
        rounds[v]!.push(((performance.now() - t0) * 1000) / 6);
      }
    }
    setVariant(k, op, 'i16');
    out[op] = rounds;
  }
  return out;
}

/** Each variant's best round, µs (what the cache and `bench` keep). */
function bestOf(r: Rounds): Record<string, Record<string, number>> {
  return Object.fromEntries(KERNEL_OPS.map((op) => [op, Object.fromEntries(Object.entries(r[op]).map(([v, ts]) => [v, Number(Math.min(...ts!).toFixed(1))]))]));
}

/**
 * The default unless another variant's best round beats the default's by MARGIN (10 %) and it was faster
 * in at least 4 of 5 paired rounds: on a busy machine one lucky round must not pick a variant
 * that is then cached for good.
 */
export function pick(r: Partial<Record<KernelVariant, number[]>>, margin = MARGIN): KernelVariant {
  const base = r.i16;
  if (!base) return 'i16';
  let best: KernelVariant = 'i16';
  let bestT = Math.min(...base);
  for (const v of KERNEL_VARIANTS) {
    const ts = r[v];
    if (v === 'i16' || !ts) continue;
    const t = Math.min(...ts);
    const wins = ts.filter((x, i) => x < base[i]!).length;
    if (t < Math.min(...base) * (1 - margin) && wins >= Math.ceil(0.8 * ts.length) && t < bestT) {
      best = v;
      bestT = t;
    }
  }
  return best;
}

interface CacheFile {
  entries: Record<string, { choice: KernelChoice; timings: Record<string, Record<string, number>>; at: string; model?: ModelTuning }>;
}

/** Per op, the variant decode on a large model's weights ran fastest with, and each variant's best ms per pass. */
type ModelTuning = Partial<Record<KernelOp, { variant: KernelVariant; ms: Record<string, number> }>>;

function readCache(file: string): CacheFile {
  try {
    if (!existsSync(file)) return { entries: {} };
    const j = JSON.parse(readFileSync(file, 'utf8')) as Partial<CacheFile>;
    return { entries: j.entries && typeof j.entries === 'object' ? j.entries : {} };
  } catch {
    return { entries: {} };
  }
}

function writeCache(file: string, cache: CacheFile): void {
  try {
    writeAtomic(file, JSON.stringify(cache, null, 2) + '\n');
  } catch {
    // A read-only cache folder only costs a probe per process.
  }
}

function validChoice(c: unknown): c is KernelChoice {
  if (!c || typeof c !== 'object') return false;
  const r = c as Record<string, unknown>;
  return KERNEL_OPS.every((op) => typeof r[op] === 'string' && (KERNEL_VARIANTS as readonly string[]).includes(r[op] as string));
}

export interface SelectOptions {
  readonly env?: NodeJS.ProcessEnv;
  /** Folder of kernels.json (default: the model cache folder, LLAMA_TS_CACHE or ~/.cache/llama-ts). */
  readonly cacheDir?: string;
}

/** Per process and kernel build: the correctness check and the timings run once. */
const memo = new Map<WebAssembly.Module, { rejected: string[]; rounds?: Rounds }>();

/**
 * Chooses each decode kernel's variant: LLAMA_TS_KERNELS where it names the op, else the cached
 * probe result for this CPU model, Node version and kernel build, else a probe now (~100 ms),
 * whose result is cached in `<cacheDir>/kernels.json`. A variant that fails the correctness
 * check is never chosen; forcing one throws KernelChoiceError.
 */
export function selectKernels(module: WebAssembly.Module, wasmBytes: Uint8Array, relaxed: boolean, o: SelectOptions = {}): KernelSelection {
  const env = o.env ?? process.env;
  const forced = parseKernelSpec(env['LLAMA_TS_KERNELS']);
  const build = createHash('sha256').update(wasmBytes).digest('hex').slice(0, 12);
  const key = `${cpuInfo().model} | node ${process.version} | kernels ${build}${relaxed ? ' relaxed' : ' standard'}`;
  let state = memo.get(module);
  const mem = kernelMemory();
  const arena = new Arena(mem, 'kernel probe memory');
  const k = instantiateRaw(module, mem);
  if (!state) {
    state = { rejected: verify(k, arena, mem) };
    memo.set(module, state);
  }
  const rejected = state.rejected;
  for (const [op, v] of Object.entries(forced)) {
    if (rejected.includes(`${op}=${v}`)) throw new KernelChoiceError(`${op}=${v} computes wrong results on this runtime (Node ${process.version}); choose another variant`);
  }
  const usable = (op: KernelOp, v: KernelVariant): boolean => !rejected.includes(`${op}=${v}`);
  if (KERNEL_OPS.every((op) => forced[op] !== undefined)) {
    return { choice: { ...DEFAULT_CHOICE, ...forced }, source: 'override', rejected, key };
  }
  const file = join(o.cacheDir ?? hubSettings({}, env).cacheDir, 'kernels.json');
  const cache = readCache(file);
  const hit = cache.entries[key];
  if (hit && validChoice(hit.choice) && KERNEL_OPS.every((op) => usable(op, hit.choice[op]))) {
    return { choice: { ...hit.choice, ...forced }, source: 'cache', rejected, timings: hit.timings, key };
  }
  state.rounds ??= time(k, arena, mem, usable);
  const rounds = state.rounds;
  const timings = bestOf(rounds);
  const probed = Object.fromEntries(KERNEL_OPS.map((op) => [op, pick(rounds[op])])) as Record<KernelOp, KernelVariant>;
  cache.entries[key] = { choice: probed, timings, at: new Date().toISOString(), ...(hit?.model ? { model: hit.model } : {}) };
  writeCache(file, cache);
  return { choice: { ...probed, ...forced }, source: 'probe', rejected, timings, key };
}

/** The choice a wasm backend created now would run (for `llama-ts info`, which loads no weights). */
export async function currentKernelSelection(o: SelectOptions = {}): Promise<KernelSelection> {
  const km = await loadKernelModule();
  return selectKernels(km.module, km.bytes, km.relaxed, o);
}

export { applyChoice, formatChoice };

/**
 * Weights of an op below this total are not timed on the model: they stay cache-resident, where
 * the matrix probe above already measured the right thing.
 */
export const MODEL_TUNE_MIN_BYTES = 64 * 2 ** 20;
/** A variant must beat the default by this much in decode on the model itself (real conditions, so a small margin). */
const MODEL_MARGIN = 0.03;
/** A pass reads at most this much (70B: ~3 s per full pass otherwise); still far more than any cache. */
export const MODEL_TUNE_MAX_BYTES = 2 ** 30;
const MODEL_ROUNDS = 5;
/** Time per op after which the timing stops early (at least 3 rounds are kept). */
const MODEL_BUDGET_MS = 2500;

/** Per process: model timings by cache file and machine key (for cache folders that cannot be written). */
const modelMemo = new Map<string, ModelTuning>();

/** What tuneOnModel drives: a backend with a model's weights loaded. */
export interface ModelTuneTarget {
  readonly selection: KernelSelection;
  /** Bytes of the model's matmul weights that run `op`'s kernel. */
  bytes(op: KernelOp): number;
  /** Runs `choice` on every thread from the next op on. */
  setChoice(choice: KernelChoice): void;
  /** One decode-like pass: the matrices of `op` (up to MODEL_TUNE_MAX_BYTES of them) times one token, on all threads. */
  pass(op: KernelOp): void;
}

export interface ModelTuneOptions extends SelectOptions {
  /** Ops with fewer weight bytes are not timed (default MODEL_TUNE_MIN_BYTES). */
  readonly minBytes?: number;
  /** Milliseconds now (default performance.now; tests give a fake clock so timing does not depend on load). */
  readonly clock?: () => number;
}

/**
 * The matrix probe times each variant on a 1 MB matrix that stays in cache; decode instead streams
 * every weight from DRAM once per token, and which variant wins there can differ (on an Intel
 * Xeon with a 260 MB L3, `g2` was 8 % slower in the probe and 11 % faster in Q4_0 decode: two
 * row groups per pass are two memory streams). So for each op with at least `minBytes` of weights
 * in the loaded model, the accepted variants are timed in alternating decode passes over the
 * model's own matrices (a pass reads them all, as a decode step does), and the fastest by
 * MODEL_MARGIN in 80 % of paired rounds is kept. The result is cached beside the probe's (same
 * CPU, Node and kernel build) and applied to the target; ops named in LLAMA_TS_KERNELS are left
 * alone. Costs ~5 decode steps per variant once per machine.
 */
export function tuneOnModel(target: ModelTuneTarget, o: ModelTuneOptions = {}): KernelSelection {
  const env = o.env ?? process.env;
  const sel = target.selection;
  const forced = parseKernelSpec(env['LLAMA_TS_KERNELS']);
  const min = o.minBytes ?? MODEL_TUNE_MIN_BYTES;
  const usable = (op: KernelOp, v: KernelVariant): boolean => !sel.rejected.includes(`${op}=${v}`);
  const ops = KERNEL_OPS.filter((op) => forced[op] === undefined && target.bytes(op) > 0 && target.bytes(op) >= min && KERNEL_VARIANTS.filter((v) => usable(op, v)).length > 1);
  if (ops.length === 0) return sel;
  const file = join(o.cacheDir ?? hubSettings({}, env).cacheDir, 'kernels.json');
  const cache = readCache(file);
  const entry = cache.entries[sel.key];
  // A read-only cache folder must not cost the timing on every load in one process.
  const cached = entry?.model ?? modelMemo.get(`${file} | ${sel.key}`);
  const choice: Record<KernelOp, KernelVariant> = { ...sel.choice };
  // Every op an earlier model settled applies (it is the same machine); ops of this model not yet settled are timed.
  const settled = (t: ModelTuning | undefined): KernelOp[] => KERNEL_OPS.filter((op) => forced[op] === undefined && t?.[op] !== undefined && usable(op, t[op]!.variant));
  const known = settled(cached);
  for (const op of known) choice[op] = cached![op]!.variant;
  if (ops.every((op) => known.includes(op))) {
    target.setChoice(choice);
    return { ...sel, choice, source: 'model-cache', modelOps: known };
  }
  const tuning: ModelTuning = { ...(cached ?? {}) };
  const now = o.clock ?? ((): number => performance.now());
  for (const op of ops.filter((op) => !known.includes(op))) {
    const vs = KERNEL_VARIANTS.filter((v) => usable(op, v));
    const rounds: Partial<Record<KernelVariant, number[]>> = {};
    const runWith = (v: KernelVariant): number => {
      target.setChoice({ ...choice, [op]: v });
      const t0 = now();
      target.pass(op);
      return now() - t0;
    };
    for (const v of vs) {
      runWith(v);
      rounds[v] = [];
    }
    const t0 = now();
    for (let r = 0; r < MODEL_ROUNDS && (r < 3 || now() - t0 < MODEL_BUDGET_MS); r++) {
      for (const v of vs) rounds[v]!.push(runWith(v));
    }
    choice[op] = pick(rounds, MODEL_MARGIN);
    tuning[op] = { variant: choice[op], ms: Object.fromEntries(vs.map((v) => [v, Number(Math.min(...rounds[v]!).toFixed(2))])) };
  }
  target.setChoice(choice);
  modelMemo.set(`${file} | ${sel.key}`, tuning);
  if (entry) {
    entry.model = tuning;
    writeCache(file, cache);
  }
  return { ...sel, choice, source: 'model-probe', modelOps: settled(tuning) };
}
