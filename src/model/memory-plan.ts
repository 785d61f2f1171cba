/**
 * Memory planning before a load: what a model will take as the chosen backend holds it (weights
 * after repacking or widening, KV cache, activation scratch) and whether that fits, both in the
 * machine's memory and, for the wasm backend, in each thread's wasm32 memory (4 GiB at most).
 * A pure function of its inputs; `availableMemory()` is the one place that asks the OS.
 */
import { freemem, availableParallelism } from 'node:os';
import type { LlamaConfig } from '../config/config.js';
import { DType, dtypeName, rowBytes } from '../quant/dtype.js';
import { layoutOf, shardBytes, shardRows } from '../backend/wasm/layout.js';
import { Layout } from '../backend/wasm/protocol.js';
import { ARENA_BASE } from '../backend/wasm/arena.js';
import { LlamaError } from '../errors/errors.js';

/** What the plan needs of a tensor (a TensorRecord satisfies it). */
export interface PlanTensor {
  readonly name: string;
  readonly dtype: DType;
  readonly shape: readonly number[];
  readonly byteLength: number;
}

export interface MemoryPlanInput {
  readonly config: LlamaConfig;
  readonly tensors: Iterable<PlanTensor>;
  readonly backend: 'wasm' | 'ref';
  /** wasm compute threads (the calling thread included). */
  readonly threads: number;
  /** Requested context; undefined: the largest that fits, up to the model's trained maximum. */
  readonly contextSize?: number;
  readonly kvDType: 'f32' | 'f16';
  /** Bytes the run may use. */
  readonly available: number;
  /** Where `available` came from, for messages ('free memory', '--max-memory'). */
  readonly availableSource?: string;
  /** Tokens per forward chunk (Session's CHUNK). */
  readonly chunk?: number;
}

export interface ThreadMemory {
  readonly thread: number;
  readonly weights: number;
  readonly kv: number;
  readonly scratch: number;
  readonly total: number;
}

export interface MemoryPlan {
  readonly backend: 'wasm' | 'ref';
  readonly threads: number;
  readonly contextSize: number;
  /** The context was chosen by the plan (none was requested). */
  readonly contextChosen: boolean;
  readonly kvDType: 'f32' | 'f16';
  /** Weight bytes in the file. */
  readonly fileWeights: number;
  /** Weight bytes as the backend holds them (repacked / widened). */
  readonly weights: number;
  /** Tensors without a kernel layout, held as F32. */
  readonly widened: readonly string[];
  readonly kv: number;
  /** Activations, quantized-activation records, per-thread staging and scratch. */
  readonly scratch: number;
  /** Node, V8, tokenizer and code: a fixed allowance. */
  readonly runtime: number;
  readonly total: number;
  readonly available: number;
  readonly availableSource: string;
  /** wasm only: per-thread memories (each ≤ wasmLimit). */
  readonly perThread: readonly ThreadMemory[];
  readonly wasmLimit: number;
  readonly fits: boolean;
  /** Why it does not fit (empty when it does). */
  readonly problems: readonly string[];
}

export const WASM_MEMORY_LIMIT = 65536 * 65536;
/** Node + V8 + tokenizer tables + compiled kernels, measured order of magnitude. */
export const RUNTIME_ALLOWANCE = 256 * 2 ** 20;
/** Bytes per token and 32 values of a quantized activation record (asm/quant.ts REC). */
const REC = 176;
/** Scratch buffers grow by 1.5× when outgrown (backend.ts ensure). */
const GROWTH = 1.5;
/** When choosing a context, leave this share of available memory to the rest of the system. */
const AUTO_HEADROOM = 0.9;

const align = (b: number): number => Math.max(64, Math.ceil(b / 64) * 64);

/** Bytes for people: GiB from 1 GiB up, else MiB. */
export const gib = (b: number): string => (b >= 2 ** 30 ? `${(b / 2 ** 30).toFixed(2)} GiB` : `${(b / 2 ** 20).toFixed(1)} MiB`);

/** How many bytes memory the process may use: free memory, capped by a cgroup limit. */
export function availableMemory(maxMemory?: number): { bytes: number; source: string } {
  if (maxMemory !== undefined) return { bytes: maxMemory, source: '--max-memory' };
  const free = freemem();
  // process.constrainedMemory (Node ≥ 19.6): the cgroup limit, 0 or undefined when there is none.
  const limit = (process as { constrainedMemory?: () => number | undefined }).constrainedMemory?.() ?? 0;
  if (limit && limit > 0 && limit < free) return { bytes: limit, source: 'the cgroup memory limit' };
  return { bytes: free, source: 'free memory' };
}

/** Parses `--max-memory` values: bytes, or with K/M/G/T (binary) suffix: `12G`, `8000M`, `6.5GiB`. */
export function parseMemorySize(text: string): number | undefined {
  const m = /^\s*(\d+(?:\.\d+)?)\s*([kmgt]?)(?:i?b)?\s*$/i.exec(text);
  if (!m) return undefined;
  const mult = { '': 1, k: 2 ** 10, m: 2 ** 20, g: 2 ** 30, t: 2 ** 40 }[m[2]!.toLowerCase() as '' | 'k' | 'm' | 'g' | 't'];
  return Math.floor(Number(m[1]) * mult);
}

interface Static {
  fileWeights: number;
  weights: number;
  widened: string[];
  /** Per thread: weight bytes; thread 0 also holds the norm vectors. */
  threadWeights: number[];
  /** Per thread: the largest raw staging block during repack. */
  staging: number[];
  /** Transient JS-heap copies during load (widening, HF q/k permutation). */
  jsTransient: number;
  maxCols: number;
}

function staticPart(input: MemoryPlanInput): Static {
  const T = input.backend === 'wasm' ? input.threads : 1;
  const s: Static = { fileWeights: 0, weights: 0, widened: [], threadWeights: new Array<number>(T).fill(0), staging: new Array<number>(T).fill(0), jsTransient: 0, maxCols: 0 };
  for (const t of input.tensors) {
    if (/rope_freqs|rotary_emb/.test(t.name)) continue;
    s.fileWeights += t.byteLength;
    const cols = t.shape[t.shape.length - 1]!;
    const rows = t.shape.length === 1 ? 1 : t.byteLength / rowBytes(t.dtype, cols);
    s.maxCols = Math.max(s.maxCols, cols);
    if (input.backend === 'ref') {
      // The reference backend keeps the raw bytes (F32 as views) and norm vectors as f32.
      const held = t.shape.length === 1 ? t.byteLength + cols * 4 : t.byteLength;
      s.weights += held;
      s.threadWeights[0]! += held;
      continue;
    }
    if (t.shape.length === 1) {
      s.weights += align(cols * 4);
      s.threadWeights[0]! += align(cols * 4);
      continue;
    }
    let layout = layoutOf(t.dtype);
    let kind = t.dtype;
    if (layout === undefined) {
      layout = Layout.Float;
      kind = DType.F32;
      s.widened.push(`${t.name} (${dtypeName(t.dtype)})`);
      s.jsTransient = Math.max(s.jsTransient, rows * cols * 4);
    }
    if (/self_attn\.(q|k)_proj/.test(t.name)) s.jsTransient = Math.max(s.jsTransient, 2 * t.byteLength);
    const repacked = layout !== Layout.Float;
    for (const [th, { rows: n }] of shardRows(rows, T).entries()) {
      if (n === 0) continue;
      const b = align(shardBytes(layout, kind, n, cols));
      s.threadWeights[th]! += b;
      s.weights += b;
      if (repacked) s.staging[th] = Math.max(s.staging[th]!, align(n * rowBytes(t.dtype, cols) + 384));
    }
  }
  return s;
}

function kvHeadsOf(t: number, T: number, kvHeads: number): number {
  return Math.floor((kvHeads * (t + 1)) / T) - Math.floor((kvHeads * t) / T);
}

function evaluate(input: MemoryPlanInput, st: Static, ctx: number): MemoryPlan {
  const c = input.config;
  const wasm = input.backend === 'wasm';
  const T = wasm ? input.threads : 1;
  const esz = wasm && input.kvDType === 'f16' ? 2 : 4;
  const n = Math.min(input.chunk ?? 512, ctx);
  const qDim = c.numHeads * c.headDim;
  const kvDim = c.numKVHeads * c.headDim;
  // Activations of one chunk (model/llama.ts) plus the logits of every row of it.
  const acts = 4 * n * (3 * c.hiddenSize + 2 * qDim + 2 * kvDim + 2 * c.intermediateSize) + 4 * n * c.vocabSize;
  const records = wasm ? Math.ceil(n / 4) * 4 * Math.ceil(st.maxCols / 32) * REC : 0;
  const attnLocal = (rowsQ: number): number => 2 * n * rowsQ * 4 + (n + ctx) * 4 + 16384;
  const perThread: ThreadMemory[] = [];
  let kv = 0;
  let scratch = 0;
  for (let t = 0; t < T; t++) {
    const heads = wasm ? kvHeadsOf(t, T, c.numKVHeads) : c.numKVHeads;
    const kvT = 2 * c.numLayers * heads * ctx * c.headDim * esz + (t === 0 ? ctx * 4 : 0);
    let scr: number;
    if (t === 0) {
      scr = acts + GROWTH * (records + attnLocal(0)) + st.staging[0]! + ARENA_BASE;
    } else {
      // A worker's matmul output rows land in its memory first: gate+up together, or its share of the output head.
      const ffnRows = Math.ceil(c.intermediateSize / T);
      const vocabRows = Math.ceil(c.vocabSize / T);
      const mm = records + Math.max(2 * ffnRows, vocabRows) * n * 4;
      scr = GROWTH * Math.max(mm, attnLocal(qDim), 2 * n * kvDim * 4) + st.staging[t]! + ARENA_BASE;
    }
    scr = Math.ceil(scr);
    kv += kvT;
    scratch += scr;
    perThread.push({ thread: t, weights: st.threadWeights[t]!, kv: kvT, scratch: scr, total: st.threadWeights[t]! + kvT + scr });
  }
  scratch += st.jsTransient;
  const total = st.weights + kv + scratch + RUNTIME_ALLOWANCE;
  const problems: string[] = [];
  if (wasm) {
    const over = perThread.filter((p) => p.total > WASM_MEMORY_LIMIT);
    if (over.length > 0) {
      const w = over.reduce((a, b) => (b.total > a.total ? b : a));
      const which = T === 1 ? 'the one wasm memory' : `${over.length} of ${T} wasm thread memories (largest: thread ${w.thread})`;
      problems.push(`${which} would hold ${gib(w.total)} (weights ${gib(w.weights)}, KV ${gib(w.kv)}, scratch ${gib(w.scratch)}), over the ${gib(WASM_MEMORY_LIMIT)} a wasm32 memory can address`);
    }
  }
  const available = input.available;
  if (total > available) problems.push(`the run needs ${gib(total)} but ${gib(available)} is available (${input.availableSource ?? 'free memory'})`);
  return {
    backend: input.backend,
    threads: T,
    contextSize: ctx,
    contextChosen: input.contextSize === undefined,
    kvDType: wasm ? input.kvDType : 'f32',
    fileWeights: st.fileWeights,
    weights: st.weights,
    widened: st.widened,
    kv,
    scratch,
    runtime: RUNTIME_ALLOWANCE,
    total,
    available,
    availableSource: input.availableSource ?? 'free memory',
    perThread: wasm ? perThread : [],
    wasmLimit: WASM_MEMORY_LIMIT,
    fits: problems.length === 0,
    problems,
  };
}

/** The largest context in [1, max] for which `ok` holds (ok is monotone: true below some point), rounded down to a multiple of 256 above 256. */
function largest(max: number, ok: (ctx: number) => boolean): number {
  if (!ok(1)) return 0;
  let lo = 1;
  let hi = max;
  while (lo < hi) {
    const mid = Math.ceil((lo + hi) / 2);
    if (ok(mid)) lo = mid;
    else hi = mid - 1;
  }
  return lo >= 256 && lo < max ? lo - (lo % 256) : lo;
}

/**
 * The memory plan for a model and run settings. With no context given, the largest that fits
 * (leaving 10% of available memory to the system), up to the model's trained context.
 */
export function planMemory(input: MemoryPlanInput): MemoryPlan {
  const st = staticPart(input);
  if (input.contextSize !== undefined) {
    if (!Number.isInteger(input.contextSize) || input.contextSize < 1) throw new LlamaError('BAD_ARGUMENT', `context size must be a positive integer, got ${input.contextSize}`);
    return evaluate(input, st, input.contextSize);
  }
  const headroom = { ...input, available: input.available * AUTO_HEADROOM };
  const ctx = largest(input.config.contextLength, (x) => evaluate(headroom, st, x).fits);
  if (ctx === 0) return evaluate(input, st, Math.min(input.config.contextLength, 256));
  return { ...evaluate(input, st, ctx), contextChosen: true };
}

/** Bytes per weight of a Q4_K_M file (Q4_K with some Q6_K), for the "smaller quant" hint. */
const Q4_K_M_BITS = 4.85;

export class OutOfMemoryError extends LlamaError {
  constructor(readonly plan: MemoryPlan, message: string) {
    super('OUT_OF_MEMORY', message);
    this.name = 'OutOfMemoryError';
  }
}

/** What would make it fit, computed by re-planning with each change. */
function options(input: MemoryPlanInput, plan: MemoryPlan): string[] {
  const out: string[] = [];
  const st = staticPart(input);
  const fitsAt = (inp: MemoryPlanInput, ctx: number): boolean => evaluate(inp, st, ctx).fits;
  const ctx = largest(Math.max(1, plan.contextSize - 1), (x) => fitsAt(input, x));
  if (ctx > 0) out.push(`a smaller context: -c ${ctx} fits (KV cache ${gib(evaluate(input, st, ctx).kv)})`);
  if (input.backend === 'wasm' && input.kvDType === 'f32') {
    const f16 = { ...input, kvDType: 'f16' as const };
    const p16 = evaluate(f16, st, plan.contextSize);
    out.push(`an f16 KV cache (--cache-type f16): KV ${gib(p16.kv)} instead of ${gib(plan.kv)}${p16.fits ? ', which fits' : ''}`);
  }
  if (input.backend === 'wasm' && plan.perThread.some((p) => p.total > WASM_MEMORY_LIMIT)) {
    let t = input.threads + 1;
    for (; t <= 256; t++) {
      const p = evaluate({ ...input, threads: t, available: Number.POSITIVE_INFINITY }, staticPart({ ...input, threads: t }), plan.contextSize);
      if (p.perThread.every((x) => x.total <= WASM_MEMORY_LIMIT)) break;
    }
    if (t <= 256) out.push(`more threads: -t ${t} splits weights and KV cache so each wasm memory stays under 4 GiB`);
    else {
      const c = input.config;
      const perHead = 2 * c.numLayers * plan.contextSize * c.headDim * (input.kvDType === 'f16' ? 2 : 4);
      out.push(`more threads cannot help: a thread holds at least one KV head, and one head's cache for ${plan.contextSize} tokens is ${gib(perHead)}`);
    }
  }
  const params = [...input.tensors].reduce((a, t) => a + (t.shape.length === 2 ? t.shape[0]! * t.shape[1]! : 0), 0);
  const q4 = (params * Q4_K_M_BITS) / 8;
  if (plan.fileWeights > q4 * 1.15) out.push(`a smaller quant: weights take ${gib(plan.weights)} here; a Q4_K_M file holds this model in ≈ ${gib(q4)}`);
  if (plan.total > plan.available) out.push(input.availableSource === '--max-memory' ? 'a larger --max-memory' : 'closing other programs to free memory');
  return out;
}

/** The plan, or an OUT_OF_MEMORY error giving the numbers and what would make it fit. */
export function requireMemory(input: MemoryPlanInput): MemoryPlan {
  const plan = planMemory(input);
  if (plan.fits) return plan;
  const head = input.contextSize === undefined
    ? `the model does not fit even with a ${plan.contextSize}-token context`
    : `the model does not fit with a ${plan.contextSize}-token context`;
  const lines = [
    `${head}: ${plan.problems.join('; ')}.`,
    `  needs: weights ${gib(plan.weights)} (${gib(plan.fileWeights)} in the file), KV cache ${gib(plan.kv)} (${plan.kvDType}), scratch ${gib(plan.scratch)}, runtime ${gib(plan.runtime)} = ${gib(plan.total)}`,
    `  options: ${options(input, plan).join('; ') || 'none found'}`,
  ];
  throw new OutOfMemoryError(plan, lines.join('\n'));
}

/** The plan as `llama-ts info` prints it. */
export function formatPlan(p: MemoryPlan): string {
  const lines = [
    `memory plan (${p.backend}${p.backend === 'wasm' ? `, ${p.threads} threads` : ''}, context ${p.contextSize}${p.contextChosen ? ' (largest that fits)' : ''}, ${p.kvDType} KV):`,
    `  weights  ${gib(p.weights).padStart(10)}  (${gib(p.fileWeights)} in the file${p.widened.length ? `; widened to F32: ${p.widened.length} tensor(s)` : ''})`,
    `  KV cache ${gib(p.kv).padStart(10)}`,
    `  scratch  ${gib(p.scratch).padStart(10)}`,
    `  runtime  ${gib(p.runtime).padStart(10)}`,
    `  total    ${gib(p.total).padStart(10)}  of ${gib(p.available)} available (${p.availableSource}): ${p.fits ? 'fits' : 'does NOT fit'}`,
  ];
  if (p.perThread.length) {
    const max = p.perThread.reduce((a, b) => (b.total > a.total ? b : a));
    lines.push(`  per wasm memory: largest is thread ${max.thread} at ${gib(max.total)} (weights ${gib(max.weights)}, KV ${gib(max.kv)}, scratch ${gib(max.scratch)}) of ${gib(p.wasmLimit)}`);
  }
  for (const pr of p.problems) lines.push(`  ! ${pr}`);
  return lines.join('\n');
}

/** Run settings as loadModel / the CLI know them. */
export interface FitOptions {
  /** Backend name; a Backend instance counts as wasm-like only if named 'wasm'. */
  readonly backend?: 'wasm' | 'ref' | { readonly name: string };
  /** wasm threads (default: os.availableParallelism(), as the wasm backend). */
  readonly threads?: number;
  readonly kvDType?: 'f32' | 'f16';
  /** Context to plan for; undefined: the largest that fits. */
  readonly contextSize?: number;
  /** Bytes the run may use (default: free memory, capped by a cgroup limit). */
  readonly maxMemory?: number;
}

/**
 * The plan for an opened model (config + tensor records) and run settings; with `strict` it throws
 * OUT_OF_MEMORY when the model does not fit. loadModel's hook: `checkModelFits(opened, options, true)`.
 */
export function checkModelFits(
  model: { readonly config: LlamaConfig; readonly tensors: ReadonlyMap<string, PlanTensor> },
  o: FitOptions = {},
  strict = true,
): MemoryPlan {
  const avail = availableMemory(o.maxMemory);
  const b = o.backend ?? 'wasm';
  const name = typeof b === 'string' ? b : b.name === 'wasm' ? 'wasm' : 'ref';
  const input: MemoryPlanInput = {
    config: model.config,
    tensors: [...model.tensors.values()],
    backend: name,
    threads: o.threads ?? availableParallelism(),
    contextSize: o.contextSize,
    kvDType: o.kvDType ?? 'f32',
    available: avail.bytes,
    availableSource: avail.source,
  };
  return strict ? requireMemory(input) : planMemory(input);
}
