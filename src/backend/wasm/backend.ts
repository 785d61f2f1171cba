import { intoView, type Backend, type BackendInfo, type KVCache, type KVCacheSpec, type OpName, type Tensor, type Weight, type WeightSpec, type WorkSharing } from '../backend.js';
import { DType, dtypeName } from '../../quant/dtype.js';
import { canDequantize } from '../../quant/dequant.js';
import { BadArgumentError, LlamaError } from '../../errors/errors.js';
import type { Arena } from './arena.js';
import { measureReadBandwidth } from './bandwidth.js';
import { chunksOf, MAX_CHUNKS, planChunks } from './chunks.js';
import { KVCaches, type WKVCache } from './kv-cache.js';
import { layoutOf } from './layout.js';
import { align64, ThreadMemories } from './memory.js';
import type { Kernels } from './module.js';
import { applyChoice, formatChoice, kernelOpOf, type KernelOp } from './kernel-choice.js';
import { MODEL_TUNE_MAX_BYTES, tuneOnModel, type KernelSelection, type ModelTuneOptions } from './kernel-probe.js';
import type { Pool } from './pool.js';
import { createProfile, note, type OpTimes } from './profiler.js';
import { Layout, MM, MM_MAX, MM_W, Op, RowFn, RW } from './protocol.js';
import { RopeTable } from './rope-table.js';
import { loadWeight, type WWeight } from './weights.js';

class WTensor implements Tensor {
  constructor(
    readonly length: number,
    readonly ptr: number,
  ) {}
}

/**
 * Row-wise ops (rmsnorm, rope, activation quantization from this many tokens; siluMul and add from
 * this many elements) run on every thread: below, waking the workers costs more than they save.
 */
const ROWS_MIN_TOKENS = 32;
const ROWS_MIN_ELEMENTS = 65536;
/** Chunks per thread of a row-wise op: enough to even out threads running at different speeds. */
const ROW_CHUNKS_PER_THREAD = 4;

const w_ = (w: Weight): WWeight => w as WWeight;
const t_ = (t: Tensor): WTensor => t as WTensor;
const c_ = (c: KVCache): WKVCache => c as WKVCache;

/**
 * The WebAssembly backend. Thread t owns memories[t] (memories[0] is the calling thread's and
 * also holds every activation tensor); matrices are split by rows across threads (weights.ts) and
 * KV caches by KV head (kv-cache.ts), so capacity grows with the thread count. Matmul, storeKV and
 * attention run on all threads; the cheap elementwise ops run on the calling thread without a dispatch.
 */
export class WasmBackend implements Backend {
  readonly name = 'wasm';

  /** A small form for JSON.stringify / util.inspect: the memories behind it are hundreds of MB. */
  toJSON(): object {
    return { kind: 'WasmBackend', threads: this.threads, relaxedSimd: this.relaxedSimd, kernels: formatChoice(this.kernels.choice), memoryBytes: this.memoryUse() };
  }
  [Symbol.for('nodejs.util.inspect.custom')](): string {
    return `WasmBackend ${JSON.stringify(this.toJSON())}`;
  }
  private readonly mem: ThreadMemories;
  /** mem.k0, kept here too: the elementwise ops call it once per op. */
  private readonly k0: Kernels;
  private readonly kv: KVCaches;
  private readonly ropeTable: RopeTable;
  /** Per-op wall time (LLAMA_TS_WASM_PROFILE=1): where a token's time goes. */
  readonly profile: OpTimes | undefined = createProfile();

  constructor(
    private readonly pool: Pool,
    memories: WebAssembly.Memory[],
    private readonly arenas: Arena[],
    module: WebAssembly.Module,
    readonly relaxedSimd: boolean,
    /** Which variant of each decode kernel runs, and how it was chosen. */
    private selection: KernelSelection,
  ) {
    this.mem = new ThreadMemories(memories, arenas, module, selection.choice);
    this.k0 = this.mem.k0;
    this.kv = new KVCaches(pool, this.mem);
    this.ropeTable = new RopeTable(this.mem);
  }

  /** Which variant of each decode kernel runs, and how it was chosen. */
  get kernels(): KernelSelection {
    return this.selection;
  }

  /**
   * Times the decode kernel variants on these weights (a loaded model's matrices, streamed as
   * decode streams them) and keeps the fastest per op: see tuneOnModel. Call between ops.
   */
  tuneKernels(ws: readonly Weight[], o: ModelTuneOptions = {}): KernelSelection {
    const byOp = new Map<KernelOp, WWeight[]>();
    const bytes = new Map<KernelOp, number>();
    for (const w of new Set(ws.map(w_))) {
      const op = kernelOpOf(w.kind);
      if (!op || w.layout === Layout.Float) continue;
      const b = w.shards.reduce((s, sh) => s + sh.bytes, 0);
      if ((bytes.get(op) ?? 0) < MODEL_TUNE_MAX_BYTES) {
        const list = byOp.get(op) ?? [];
        list.push(w);
        byOp.set(op, list);
      }
      bytes.set(op, (bytes.get(op) ?? 0) + b);
    }
    const maxCols = Math.max(1, ...ws.map((w) => w_(w).cols));
    const maxRows = Math.max(1, ...ws.map((w) => w_(w).rows));
    let x: Tensor | undefined;
    let out: Tensor | undefined;
    try {
      this.selection = tuneOnModel(
        {
          selection: this.selection,
          bytes: (op) => bytes.get(op) ?? 0,
          setChoice: (c) => this.mem.kAll.forEach((k) => applyChoice(k, c)),
          pass: (op) => {
            x ??= this.alloc(maxCols);
            out ??= this.alloc(maxRows);
            for (const w of byOp.get(op) ?? []) this.matmul(out, x, w, 1);
          },
        },
        o,
      );
    } finally {
      if (x) this.free(x);
      if (out) this.free(out);
    }
    return this.selection;
  }

  get threads(): number {
    return this.pool.threads;
  }

  /** Bytes held in each thread's memory (weights, caches, scratch). */
  memoryUse(): number[] {
    return this.arenas.map((a) => a.bytesInUse);
  }

  supports(op: OpName, dtype?: DType): boolean {
    if (op === 'embed' || op === 'matmul' || op === 'matmulMany') return dtype === undefined || layoutOf(dtype) !== undefined || canDequantize(dtype);
    return true;
  }

  loadWeight(spec: WeightSpec): Weight {
    return loadWeight(this.mem, this.threads, spec);
  }

  get info(): BackendInfo {
    return { name: this.name, threads: this.threads, relaxedSimd: this.relaxedSimd, kernels: formatChoice(this.kernels.choice), kernelsSource: this.kernels.source };
  }

  view(t: Tensor, offset: number, length: number): Tensor {
    const w = t_(t);
    if (offset < 0 || offset + length > w.length) throw new BadArgumentError(`view [${offset}, ${offset + length}) is outside a tensor of ${w.length}`);
    return new WTensor(length, w.ptr + offset * 4);
  }

  alloc(length: number): Tensor {
    const ptr = this.arenas[0]!.alloc(Math.max(1, length) * 4);
    this.mem.refresh();
    return new WTensor(length, ptr);
  }
  free(t: Tensor): void {
    this.arenas[0]!.release(t_(t).ptr);
  }
  write(dst: Tensor, src: Float32Array, dstOffset = 0): void {
    const d = t_(dst);
    if (dstOffset + src.length > d.length) throw new BadArgumentError(`write of ${src.length} values at ${dstOffset} overflows a tensor of ${d.length}`);
    this.mem.refresh();
    this.mem.f32.set(src, d.ptr / 4 + dstOffset);
  }
  read(src: Tensor, offset = 0, length?: number, into?: Float32Array): Float32Array {
    const s = t_(src);
    const n = length ?? s.length - offset;
    this.mem.refresh();
    const part = this.mem.f32.subarray(s.ptr / 4 + offset, s.ptr / 4 + offset + n);
    return into ? intoView(into, part) : part.slice();
  }

  createKVCache(spec: KVCacheSpec): KVCache {
    return this.kv.create(spec);
  }

  freeKVCache(cache: KVCache): void {
    this.kv.free(c_(cache));
  }

  copyKV(dst: KVCache, src: KVCache, n: number): void {
    this.kv.copy(c_(dst), c_(src), n);
  }

  embed(out: Tensor, table: Weight, ids: Int32Array): void {
    const t0 = this.profile ? performance.now() : 0;
    const w = w_(table);
    const o = t_(out);
    const { cols } = w;
    for (let i = 0; i < ids.length; i++) {
      const id = ids[i]!;
      if (!Number.isInteger(id) || id < 0 || id >= w.rows) throw new BadArgumentError(`token id ${id} is outside the vocabulary (0..${w.rows - 1})`);
      const sh = w.shards.find((s) => id >= s.rowStart && id < s.rowStart + s.rows)!;
      const r = id - sh.rowStart;
      // Dequantize inside the owning memory with that memory's instance, then copy the f32 row here.
      const t = sh.thread;
      const kt = this.mem.kAll[t]!;
      const dst = t === 0 ? o.ptr + i * cols * 4 : this.mem.ensure(t, this.mem.scratch[t]!, cols * 4 + 64);
      kt.deq_row(w.layout, w.kind, sh.ptr, r, cols, dst);
      if (t !== 0) {
        const b = this.mem.bytesOf(t);
        this.mem.refresh();
        this.mem.u8.set(b.subarray(dst, dst + cols * 4), o.ptr + i * cols * 4);
      }
    }
    if (this.profile) note(this.profile, 'embed', t0);
  }

  matmul(out: Tensor, x: Tensor, w: Weight, n: number): void {
    this.matmulMany([out], x, [w], n);
  }

  /**
   * Weights that share x and a kernel (same layout, type and width: q/k/v, gate/up) run as one op:
   * one activation quantization, one dispatch, one copy of x per worker. Others go one by one.
   */
  matmulMany(outs: readonly Tensor[], x: Tensor, ws: readonly Weight[], n: number): void {
    if (outs.length !== ws.length) throw new BadArgumentError(`matmulMany: ${outs.length} outputs for ${ws.length} weights`);
    if (ws.length === 0) return;
    const w0 = w_(ws[0]!);
    const fusable = ws.length <= MM_MAX && ws.every((w) => w_(w).layout === w0.layout && w_(w).kind === w0.kind && w_(w).cols === w0.cols);
    if (!fusable) {
      ws.forEach((w, j) => this.matmulMany([outs[j]!], x, [w], n));
      return;
    }
    const t0 = this.profile ? performance.now() : 0;
    const { cols, layout, kind } = w0;
    const wts = ws.map(w_);
    const ops = outs.map((o) => t_(o).ptr);
    const a = this.quantizeActivations(layout, kind, t_(x).ptr, n, cols);
    if (this.threads === 1) {
      for (const [j, wt] of wts.entries()) {
        const sh = wt.byThread[0]!;
        this.k0.mm(layout, kind, sh.ptr, sh.groups, sh.rows, cols, n, a.xSrc, ops[j]!, wt.rows);
      }
    } else {
      this.pool.runChunked(this.writeMatmul(wts, ops, a, n));
    }
    if (this.profile) note(this.profile, `matmul ${dtypeName(w0.dtype)} ${wts.map((w) => w.rows).join('+')}x${cols}${n === 1 ? '' : ' prefill'}`, t0);
  }

  /**
   * Every share's matmul parameters, its chunk plan included (chunks.ts); returns the chunks in all.
   * Share 0 reads x and writes the outputs in place; another share copies x into its memory first
   * and computes into its scratch before its rows are copied out.
   */
  private writeMatmul(wts: readonly WWeight[], ops: readonly number[], a: { xSrc: number; xBytes: number }, n: number): number {
    const pool = this.pool;
    const cu = pool.ctrlU;
    const { layout, kind, cols } = wts[0]!;
    const groupBytes = (layout === Layout.Float ? 4 : 1) * this.k0.group_bytes(layout, kind, cols);
    let total = 0;
    for (let t = 0; t < this.threads; t++) {
      const mine = wts.map((w) => w.byThread[t]);
      const i = (s: number): number => pool.index(t, s);
      const outBytes = mine.map((sh) => (sh ? align64(n * sh.rows * 4) : 0));
      const has = mine.some((sh) => sh !== undefined);
      const base = t === 0 || !has ? a.xSrc : this.mem.ensure(t, this.mem.scratch[t]!, a.xBytes + outBytes.reduce((p, b) => p + b, 0) + 128);
      const plan = planChunks(mine.reduce((g, sh) => g + (sh?.groups ?? 0), 0), groupBytes, n);
      cu[i(0)] = Op.Matmul;
      cu[i(MM.layout)] = layout;
      cu[i(MM.kind)] = kind;
      cu[i(MM.cols)] = cols;
      cu[i(MM.n)] = n;
      cu[i(MM.xSrc)] = a.xSrc;
      cu[i(MM.xBytes)] = a.xBytes;
      cu[i(MM.xLocal)] = base;
      cu[i(MM.count)] = wts.length;
      cu[i(MM.chunkGroups)] = plan.groups;
      cu[i(MM.chunkTokens)] = plan.tokens;
      cu[i(MM.groupBytes)] = groupBytes;
      let outLocal = align64(base + a.xBytes);
      let chunks = 0;
      mine.forEach((sh, j) => {
        const at = (f: number): number => i(MM.weights + j * MM_W.stride + f);
        cu[at(MM_W.rowsValid)] = sh ? sh.rows : 0;
        if (!sh) return;
        cu[at(MM_W.w)] = sh.ptr;
        cu[at(MM_W.groups)] = sh.groups;
        cu[at(MM_W.outLocal)] = outLocal;
        cu[at(MM_W.outMain)] = ops[j]! + sh.rowStart * 4;
        cu[at(MM_W.ldoMain)] = wts[j]!.rows;
        outLocal += outBytes[j]!;
        chunks += chunksOf(sh.groups, n, plan);
      });
      if (chunks > MAX_CHUNKS) throw new LlamaError('BACKEND_ERROR', `a matmul share of ${chunks} chunks (at most ${MAX_CHUNKS})`);
      cu[i(MM.chunks)] = chunks;
      total += chunks;
    }
    return total;
  }

  /** Whether a row-wise op over `items` (tokens, or elements for siluMul and add) is worth waking the workers for. */
  private spread(fn: RowFn, items: number): boolean {
    const elementwise = fn === RowFn.SiluMul || fn === RowFn.Add;
    return this.threads > 1 && items >= (elementwise ? ROWS_MIN_ELEMENTS : ROWS_MIN_TOKENS);
  }

  /**
   * Runs a row-wise kernel over memory 0 on every thread, cut into ranges of `items` in multiples of
   * `unit` (callers check `spread` first). `f32` goes to the argument slot after `args` (rmsnorm's eps).
   */
  private onAllThreads(fn: RowFn, items: number, unit: number, args: readonly number[], f32?: number): void {
    const pool = this.pool;
    const cu = pool.ctrlU;
    const per = Math.ceil(items / (this.threads * ROW_CHUNKS_PER_THREAD) / unit) * unit;
    const chunks = Math.ceil(items / per);
    for (let t = 0; t < this.threads; t++) {
      cu[pool.index(t, 0)] = Op.Rows;
      cu[pool.index(t, MM.chunks)] = t === 0 ? chunks : 0;
    }
    const i = (s: number): number => pool.index(0, s);
    cu[i(RW.fn)] = fn;
    cu[i(RW.n)] = items;
    cu[i(RW.per)] = per;
    args.forEach((v, j) => (cu[i(RW.args + j)] = v));
    if (f32 !== undefined) pool.ctrlF[i(RW.args + args.length)] = f32;
    pool.runChunked(chunks);
  }

  /**
   * Activations in the form `layout`'s kernels read, in this thread's scratch (f32 x itself for
   * float weights); workers copy [xSrc, xSrc + xBytes) into their own memory.
   */
  private quantizeActivations(layout: Layout, kind: number, xp: number, n: number, cols: number): { xSrc: number; xBytes: number } {
    if (layout === Layout.Float) return { xSrc: xp, xBytes: n * cols * 4 };
    const t0 = this.profile ? performance.now() : 0;
    // Records (asm/quant.ts): each 4-value chunk pre-broadcast, with its block's scale and offsets.
    const xBytes = this.k0.rec_bytes(n, cols);
    const xSrc = this.mem.ensure(0, this.mem.scratch[0]!, xBytes + 128);
    if (this.spread(RowFn.Quant, n)) this.onAllThreads(RowFn.Quant, n, 4, [layout, kind, xp, cols, xSrc, xBytes / n]);
    else this.k0.quant_act(layout, kind, xp, n, cols, xSrc);
    if (this.profile) note(this.profile, 'quantize activations', t0);
    return { xSrc, xBytes };
  }

  rmsnorm(out: Tensor, x: Tensor, w: Weight, n: number, dim: number, eps: number): void {
    const t0 = this.profile ? performance.now() : 0;
    if (this.spread(RowFn.RmsNorm, n)) this.onAllThreads(RowFn.RmsNorm, n, 1, [t_(x).ptr, w_(w).vec, t_(out).ptr, dim], eps);
    else this.k0.rmsnorm(t_(x).ptr, w_(w).vec, t_(out).ptr, n, dim, eps);
    if (this.profile) note(this.profile, 'rmsnorm', t0);
  }

  rope(x: Tensor, n: number, heads: number, headDim: number, positions: Int32Array, invFreq: ArrayLike<number>): void {
    const t0 = this.profile ? performance.now() : 0;
    const tab = this.ropeTable.get(n, headDim, positions, invFreq);
    const sn = tab + n * headDim * 4;
    if (this.spread(RowFn.Rope, n)) this.onAllThreads(RowFn.Rope, n, 1, [t_(x).ptr, heads, headDim, tab, sn]);
    else this.k0.rope(t_(x).ptr, n, heads, headDim, tab, sn);
    if (this.profile) note(this.profile, 'rope', t0);
  }

  storeKV(cache: KVCache, layer: number, k: Tensor, v: Tensor, n: number, slot: number): void {
    const t0 = this.profile ? performance.now() : 0;
    this.kv.store(c_(cache), layer, t_(k).ptr, t_(v).ptr, n, slot);
    if (this.profile) note(this.profile, 'storeKV', t0);
  }

  attention(out: Tensor, q: Tensor, cache: KVCache, layer: number, n: number, queryPositions: Int32Array, heads: number, scale: number): void {
    const t0 = this.profile ? performance.now() : 0;
    this.kv.attend(t_(out).ptr, t_(q).ptr, c_(cache), layer, n, queryPositions, heads, scale);
    if (this.profile) note(this.profile, 'attention', t0);
  }

  siluMul(out: Tensor, gate: Tensor, up: Tensor, length: number): void {
    const t0 = this.profile ? performance.now() : 0;
    if (this.spread(RowFn.SiluMul, length)) this.onAllThreads(RowFn.SiluMul, length, 16, [t_(out).ptr, t_(gate).ptr, t_(up).ptr]);
    else this.k0.silu_mul(t_(out).ptr, t_(gate).ptr, t_(up).ptr, length);
    if (this.profile) note(this.profile, 'siluMul', t0);
  }

  add(out: Tensor, a: Tensor, b: Tensor, length: number): void {
    const t0 = this.profile ? performance.now() : 0;
    if (this.spread(RowFn.Add, length)) this.onAllThreads(RowFn.Add, length, 16, [t_(out).ptr, t_(a).ptr, t_(b).ptr]);
    else this.k0.add(t_(out).ptr, t_(a).ptr, t_(b).ptr, length);
    if (this.profile) note(this.profile, 'add', t0);
  }

  copy(dst: Tensor, src: Tensor, length: number, dstOffset = 0, srcOffset = 0): void {
    this.mem.refresh();
    const s = t_(src).ptr / 4 + srcOffset;
    this.mem.f32.copyWithin(t_(dst).ptr / 4 + dstOffset, s, s + length);
  }

  /** Chunks run so far (matmuls and row-wise ops), and how many by a thread other than their share's owner (chunks.ts). */
  workSharing(): WorkSharing {
    return this.pool.workSharing();
  }

  /**
   * Memory read bandwidth (bytes/s): every thread repeatedly reads its own `bytesPerThread` region
   * (far larger than the caches) at the same time; best of `trials`.
   */
  measureReadBandwidth(bytesPerThread = 256 * 2 ** 20, trials = 5): number {
    return measureReadBandwidth(this.pool, this.mem, bytesPerThread, trials);
  }

  async dispose(): Promise<void> {
    await this.pool.close();
  }
}
