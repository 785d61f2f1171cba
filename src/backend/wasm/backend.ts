import { checkCopyKV, type Backend, type BackendInfo, type KVCache, type KVCacheSpec, type OpName, type Tensor, type Weight, type WeightSpec } from '../backend.js';
import { DType, dtypeName, rowBytes } from '../../quant/dtype.js';
import { canDequantize, dequantizeRow } from '../../quant/dequant.js';
import { BadArgumentError, UnsupportedTensorTypeError } from '../../errors/errors.js';
import { Arena } from './arena.js';
import { layoutOf, shardBytes, shardRows, type RowShard } from './layout.js';
import { instantiate, type Kernels } from './module.js';
import type { Pool } from './pool.js';
import { AT, Layout, MM, MM_MAX, MM_W, Op, RD, SK } from './protocol.js';

class WTensor implements Tensor {
  constructor(
    readonly length: number,
    readonly ptr: number,
  ) {}
}

class WWeight implements Weight {
  constructor(
    readonly name: string,
    readonly dtype: DType,
    readonly shape: readonly number[],
    readonly rows: number,
    readonly cols: number,
    /** Storage layout; vectors are f32 in the main memory (`vec`). */
    readonly layout: Layout,
    /** ggml type id the kernels dispatch on (after any load-time conversion). */
    readonly kind: DType,
    readonly shards: RowShard[],
    readonly vec: number,
  ) {
    for (const sh of shards) this.byThread[sh.thread] = sh;
  }
  /** shards indexed by thread (undefined: no rows of this weight on that thread). */
  readonly byThread: (RowShard | undefined)[] = [];
}

interface KVPart {
  readonly h0: number;
  readonly nkv: number;
  /** [layers][nkv][capacity][hd] keys, then the same for values, in the thread's memory. */
  readonly k: number;
  readonly v: number;
}

class WKVCache implements KVCache {
  length = 0;
  constructor(
    readonly spec: KVCacheSpec,
    readonly positions: Int32Array,
    readonly posPtr: number,
    readonly parts: KVPart[],
    /** Bytes between consecutive heads of one layer. */
    readonly headStride: number,
  ) {}
  freed = false;
}

/** Copies bytes [from, from + length) of a weight's source into dst at `at`. */
type RowSource = (dst: Uint8Array, at: number, from: number, length: number) => void;

const w_ = (w: Weight): WWeight => w as WWeight;
const t_ = (t: Tensor): WTensor => t as WTensor;
const c_ = (c: KVCache): WKVCache => c as WKVCache;

/** storeKV of at most this many values per tensor runs on the calling thread (see storeKVInline). */
const STORE_KV_INLINE = 16384;

/** Per-thread scratch regions (reallocated larger on demand). */
interface Scratch {
  ptr: number;
  size: number;
}

/**
 * The WebAssembly backend. Thread t owns memories[t] (memories[0] is the calling thread's and
 * also holds every activation tensor); matrices are split by rows across threads and KV caches
 * by KV head, so capacity grows with the thread count. Matmul, storeKV and attention run on all
 * threads; the cheap elementwise ops run on the calling thread without a dispatch.
 */
export class WasmBackend implements Backend {
  readonly name = 'wasm';
  private readonly k0: Kernels;
  /** One kernel instance per thread memory, all callable from this thread (load-time work, embed). */
  private readonly kAll: Kernels[];
  private readonly scratch: Scratch[];
  private f32 = new Float32Array(0);
  private i32 = new Int32Array(0);
  private u8 = new Uint8Array(0);
  /** Cached byte views of the worker memories (bytesOf). */
  private readonly views: (Uint8Array | undefined)[] = [];
  /** Per-op wall time (LLAMA_TS_WASM_PROFILE=1): where a token's time goes. */
  readonly profile: Map<string, { calls: number; ms: number }> | undefined =
    process.env['LLAMA_TS_WASM_PROFILE'] === '1' ? new Map() : undefined;
  private ropeKey: { pos: Int32Array; inv: ArrayLike<number>; hd: number } | undefined;
  private ropeTab: Scratch = { ptr: 0, size: 0 };

  constructor(
    private readonly pool: Pool,
    private readonly memories: WebAssembly.Memory[],
    private readonly arenas: Arena[],
    module: WebAssembly.Module,
    readonly relaxedSimd: boolean,
  ) {
    this.kAll = memories.map((m) => instantiate(module, m));
    this.k0 = this.kAll[0]!;
    this.scratch = memories.map(() => ({ ptr: 0, size: 0 }));
    this.refresh();
  }

  private note(name: string, t0: number): void {
    const e = this.profile!.get(name);
    const ms = performance.now() - t0;
    if (e) {
      e.calls++;
      e.ms += ms;
    } else this.profile!.set(name, { calls: 1, ms });
  }

  get threads(): number {
    return this.pool.threads;
  }

  /** Bytes held in each thread's memory (weights, caches, scratch). */
  memoryUse(): number[] {
    return this.arenas.map((a) => a.bytesInUse);
  }

  private refresh(): void {
    const buf = this.memories[0]!.buffer;
    if (this.u8.buffer !== buf || this.u8.length !== buf.byteLength) {
      this.f32 = new Float32Array(buf);
      this.i32 = new Int32Array(buf);
      this.u8 = new Uint8Array(buf);
    }
  }

  /** A byte view of thread t's memory, made anew only after the memory grew. */
  private bytesOf(t: number): Uint8Array {
    if (t === 0) {
      this.refresh();
      return this.u8;
    }
    const buf = this.memories[t]!.buffer;
    let v = this.views[t];
    if (!v || v.buffer !== buf || v.length !== buf.byteLength) {
      v = new Uint8Array(buf);
      this.views[t] = v;
    }
    return v;
  }

  private ensure(t: number, s: Scratch, bytes: number): number {
    if (s.size < bytes) {
      if (s.size) this.arenas[t]!.release(s.ptr);
      s.size = Math.max(bytes, Math.ceil(s.size * 1.5));
      s.ptr = this.arenas[t]!.alloc(s.size);
      if (t === 0) this.refresh();
    }
    return s.ptr;
  }

  supports(op: OpName, dtype?: DType): boolean {
    if (op === 'embed' || op === 'matmul' || op === 'matmulMany') return dtype === undefined || layoutOf(dtype) !== undefined || canDequantize(dtype);
    return true;
  }

  loadWeight(spec: WeightSpec): Weight {
    const { dtype, shape, name } = spec;
    const cols = shape[shape.length - 1]!;
    const rows = shape.length === 1 ? 1 : shape.slice(0, -1).reduce((a, b) => a * b, 1);
    if (layoutOf(dtype) === undefined && !canDequantize(dtype)) throw new UnsupportedTensorTypeError(name, dtypeName(dtype));
    const rb = rowBytes(dtype, cols);
    const byteLength = spec.byteLength ?? spec.data.byteLength;
    if (rows * rb !== byteLength) {
      throw new BadArgumentError(`weight ${name}: ${byteLength} bytes do not hold shape [${shape.join(', ')}] of ${dtypeName(dtype)}`);
    }
    if (shape.length === 1) {
      // Vectors (norm weights) live as f32 in the main memory.
      const vec = this.arenas[0]!.alloc(cols * 4);
      this.refresh();
      dequantizeRow(dtype, spec.data, 0, this.f32, vec / 4, cols, name);
      return new WWeight(name, dtype, shape, 1, cols, Layout.Float, DType.F32, [], vec);
    }
    const layout = layoutOf(dtype);
    if (layout !== undefined) {
      // Rows go from the source straight into each thread's memory when the spec can read them so.
      const read = spec.readInto ?? ((dst: Uint8Array, at: number, from: number, length: number) => dst.set(spec.data.subarray(from, from + length), at));
      const shards = this.placeShards(layout, dtype, read, rows, cols);
      if (shards) return new WWeight(name, dtype, shape, rows, cols, layout, dtype, shards, 0);
      // A Q8_0 block the kernel layout cannot hold exactly (see asm/repack.ts): widen instead.
    }
    // Types without a kernel are widened to F32 once, here: exact, larger, never per token.
    const f = new Float32Array(rows * cols);
    const data = spec.data;
    for (let r = 0; r < rows; r++) dequantizeRow(dtype, data, r * rb, f, r * cols, cols, name);
    const wide = new Uint8Array(f.buffer);
    const shards = this.placeShards(Layout.Float, DType.F32, (dst, at, from, length) => dst.set(wide.subarray(from, from + length), at), rows, cols)!;
    return new WWeight(name, dtype, shape, rows, cols, Layout.Float, DType.F32, shards, 0);
  }

  /** Copies (or repacks) each thread's rows into its memory; undefined if a repack refuses. */
  private placeShards(layout: Layout, kind: DType, read: RowSource, rows: number, cols: number): RowShard[] | undefined {
    const srcRb = rowBytes(kind, cols);
    const shards: RowShard[] = [];
    let refused = false;
    for (const [t, { rowStart, rows: n }] of shardRows(rows, this.threads).entries()) {
      if (n === 0) continue;
      const bytes = shardBytes(this.k0, layout, kind, n, cols);
      const ptr = this.arenas[t]!.alloc(bytes);
      shards.push({ thread: t, rowStart, rows: n, groups: Math.ceil(n / 4), bytes, ptr });
      const srcBytes = n * srcRb;
      if (layout === Layout.Q8x4 || layout === Layout.Q4x4 || layout === Layout.KX4) {
        // Stage the raw rows in the same memory (plus 384 bytes of scratch), then repack there in wasm.
        const raw = this.arenas[t]!.alloc(srcBytes + 384);
        read(this.bytesOf(t), raw, rowStart * srcRb, srcBytes);
        const kt = this.kAll[t]!;
        if (layout === Layout.Q8x4) refused = kt.repack_q8_0(raw, n, cols, ptr) !== 0;
        else if (layout === Layout.Q4x4) kt.repack_q4_0(raw, n, cols, ptr);
        else if (kind === DType.Q4_K) kt.repack_q4_k(raw, n, cols, ptr, raw + srcBytes);
        else if (kind === DType.Q5_K) kt.repack_q5_k(raw, n, cols, ptr, raw + srcBytes);
        else kt.repack_q6_k(raw, n, cols, ptr, raw + srcBytes);
        this.arenas[t]!.release(raw);
        if (refused) break;
      } else {
        read(this.bytesOf(t), ptr, rowStart * srcRb, srcBytes);
      }
    }
    if (!refused) return shards;
    for (const sh of shards) this.arenas[sh.thread]!.release(sh.ptr);
    return undefined;
  }

  get info(): BackendInfo {
    return { name: this.name, threads: this.threads, relaxedSimd: this.relaxedSimd };
  }

  view(t: Tensor, offset: number, length: number): Tensor {
    const w = t_(t);
    if (offset < 0 || offset + length > w.length) throw new BadArgumentError(`view [${offset}, ${offset + length}) is outside a tensor of ${w.length}`);
    return new WTensor(length, w.ptr + offset * 4);
  }

  copyKV(dst: KVCache, src: KVCache, n: number): void {
    const d = c_(dst);
    const s = c_(src);
    checkCopyKV(d.spec, s.spec, n);
    const bytes = n * s.spec.headDim * (s.spec.dtype === 'f16' ? 2 : 4);
    // Both caches split KV heads across threads the same way (same kvHeads, same thread count).
    s.parts.forEach((p, t) => {
      if (p.nkv === 0) return;
      const q = d.parts[t]!;
      const mem = this.bytesOf(t);
      for (let h = 0; h < s.spec.layers * p.nkv; h++) {
        const from = h * s.headStride;
        const to = h * d.headStride;
        mem.copyWithin(q.k + to, p.k + from, p.k + from + bytes);
        mem.copyWithin(q.v + to, p.v + from, p.v + from + bytes);
      }
    });
    this.refresh();
    d.positions.set(s.positions.subarray(0, n));
  }

  alloc(length: number): Tensor {
    const ptr = this.arenas[0]!.alloc(Math.max(1, length) * 4);
    this.refresh();
    return new WTensor(length, ptr);
  }
  free(t: Tensor): void {
    this.arenas[0]!.release(t_(t).ptr);
  }
  write(dst: Tensor, src: Float32Array, dstOffset = 0): void {
    const d = t_(dst);
    if (dstOffset + src.length > d.length) throw new BadArgumentError(`write of ${src.length} values at ${dstOffset} overflows a tensor of ${d.length}`);
    this.refresh();
    this.f32.set(src, d.ptr / 4 + dstOffset);
  }
  read(src: Tensor, offset = 0, length?: number): Float32Array {
    const s = t_(src);
    const n = length ?? s.length - offset;
    this.refresh();
    return this.f32.slice(s.ptr / 4 + offset, s.ptr / 4 + offset + n);
  }

  createKVCache(spec: KVCacheSpec): KVCache {
    if (spec.headDim % 4 !== 0) throw new BadArgumentError(`the wasm backend needs headDim to be a multiple of 4, got ${spec.headDim}`);
    const dtype = spec.dtype;
    const s = { ...spec };
    const T = this.threads;
    const esz = dtype === 'f16' ? 2 : 4;
    const headStride = spec.capacity * spec.headDim * esz;
    const parts: KVPart[] = [];
    for (let t = 0; t < T; t++) {
      const h0 = Math.floor((spec.kvHeads * t) / T);
      const nkv = Math.floor((spec.kvHeads * (t + 1)) / T) - h0;
      if (nkv === 0) {
        parts.push({ h0, nkv, k: 0, v: 0 });
        continue;
      }
      const bytes = spec.layers * nkv * headStride;
      const k = this.arenas[t]!.alloc(bytes);
      const v = this.arenas[t]!.alloc(bytes);
      parts.push({ h0, nkv, k, v });
    }
    const posPtr = this.arenas[0]!.alloc(spec.capacity * 4);
    this.refresh();
    const positions = new Int32Array(this.memories[0]!.buffer, posPtr, spec.capacity);
    return new WKVCache(s, positions, posPtr, parts, headStride);
  }

  freeKVCache(cache: KVCache): void {
    const c = c_(cache);
    if (c.freed) return;
    c.freed = true;
    c.parts.forEach((p, t) => {
      if (p.nkv === 0) return;
      this.arenas[t]!.release(p.k);
      this.arenas[t]!.release(p.v);
    });
    this.arenas[0]!.release(c.posPtr);
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
      const kt = this.kAll[t]!;
      const dst = t === 0 ? o.ptr + i * cols * 4 : this.ensure(t, this.scratch[t]!, cols * 4 + 64);
      kt.deq_row(w.layout, w.kind, sh.ptr, r, cols, dst);
      if (t !== 0) {
        const b = this.bytesOf(t);
        this.refresh();
        this.u8.set(b.subarray(dst, dst + cols * 4), o.ptr + i * cols * 4);
      }
    }
    if (this.profile) this.note('embed', t0);
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
    const a = this.quantizeActivations(layout, t_(x).ptr, n, cols);
    const pool = this.pool;
    const cu = pool.ctrlU;
    for (let t = 1; t < this.threads; t++) {
      const mine = wts.map((w) => w.byThread[t]);
      if (mine.every((sh) => sh === undefined)) {
        cu[pool.index(t, 0)] = Op.Nop;
        continue;
      }
      const outBytes = mine.map((sh) => (sh ? align64(n * sh.rows * 4) : 0));
      const base = this.ensure(t, this.scratch[t]!, a.xBytes + outBytes.reduce((p, b) => p + b, 0) + 128);
      const i = (s: number): number => pool.index(t, s);
      cu[i(0)] = Op.Matmul;
      cu[i(MM.layout)] = layout;
      cu[i(MM.kind)] = kind;
      cu[i(MM.cols)] = cols;
      cu[i(MM.n)] = n;
      cu[i(MM.xSrc)] = a.xSrc;
      cu[i(MM.xBytes)] = a.xBytes;
      cu[i(MM.xLocal)] = base;
      cu[i(MM.count)] = wts.length;
      let outLocal = align64(base + a.xBytes);
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
      });
    }
    const k = this.k0;
    pool.run(() => {
      wts.forEach((wt, j) => {
        const own = wt.byThread[0];
        if (!own) return;
        const o = ops[j]! + own.rowStart * 4;
        const rows = wt.rows;
        k.mm(layout, kind, own.ptr, own.groups, own.rows, cols, n, a.xSrc, o, rows);
      });
    });
    if (this.profile) this.note(`matmul ${dtypeName(w0.dtype)} ${wts.map((w) => w.rows).join('+')}x${cols}${n === 1 ? '' : ' prefill'}`, t0);
  }

  /**
   * Activations in the form `layout`'s kernels read, in this thread's scratch (f32 x itself for
   * float weights); workers copy [xSrc, xSrc + xBytes) into their own memory.
   */
  private quantizeActivations(layout: Layout, xp: number, n: number, cols: number): { xSrc: number; xBytes: number } {
    if (layout === Layout.Float) return { xSrc: xp, xBytes: n * cols * 4 };
    const t0 = this.profile ? performance.now() : 0;
    // Records (asm/quant.ts): each 4-value chunk pre-broadcast, with its block's scale and offsets.
    const xBytes = this.k0.rec_bytes(n, cols);
    const xSrc = this.ensure(0, this.scratch[0]!, xBytes + 128);
    if (layout === Layout.Q8x4) this.k0.quant_rec_q7s(xp, n, cols, xSrc);
    else this.k0.quant_rec_q8s(xp, n, cols, xSrc);
    if (this.profile) this.note('quantize activations', t0);
    return { xSrc, xBytes };
  }

  rmsnorm(out: Tensor, x: Tensor, w: Weight, n: number, dim: number, eps: number): void {
    const t0 = this.profile ? performance.now() : 0;
    this.k0.rmsnorm(t_(x).ptr, w_(w).vec, t_(out).ptr, n, dim, eps);
    if (this.profile) this.note('rmsnorm', t0);
  }

  rope(x: Tensor, n: number, heads: number, headDim: number, positions: Int32Array, invFreq: ArrayLike<number>): void {
    const t0 = this.profile ? performance.now() : 0;
    const tab = this.ropeTable(n, headDim, positions, invFreq);
    this.k0.rope(t_(x).ptr, n, heads, headDim, tab, tab + n * headDim * 4);
    if (this.profile) this.note('rope', t0);
  }

  /** cos/sin tables for these positions (angles in f64), reused while the positions repeat. */
  private ropeTable(n: number, hd: number, positions: Int32Array, inv: ArrayLike<number>): number {
    const key = this.ropeKey;
    const need = 2 * n * hd * 4;
    if (key && key.inv === inv && key.hd === hd && key.pos.length === n && this.ropeTab.size >= need) {
      let same = true;
      for (let i = 0; i < n; i++) {
        if (key.pos[i] !== positions[i]) {
          same = false;
          break;
        }
      }
      if (same) return this.ropeTab.ptr;
    }
    const ptr = this.ensure(0, this.ropeTab, need);
    const f = this.f32;
    const cs = ptr / 4;
    const sn = cs + n * hd;
    for (let i = 0; i < n; i++) {
      const pos = positions[i]!;
      for (let j = 0; j < hd / 2; j++) {
        const a = pos * inv[j]!;
        const c = Math.cos(a);
        const s = Math.sin(a);
        const o = i * hd + 2 * j;
        f[cs + o] = c;
        f[cs + o + 1] = c;
        f[sn + o] = -s;
        f[sn + o + 1] = s;
      }
    }
    this.ropeKey = { pos: positions.slice(0, n), inv, hd };
    return ptr;
  }

  /**
   * Writes `op` and its parameters into each worker's control slots for a KV-sharded op; workers that
   * own no KV head of this cache get a no-op. `fill` receives the worker, its shard, a slot indexer
   * and the byte offset of `layer` in the shard.
   */
  private forKVWorkers(c: WKVCache, layer: number, op: Op, fill: (t: number, p: WKVCache['parts'][number], i: (slot: number) => number, layerOff: number) => void): void {
    const pool = this.pool;
    const cu = pool.ctrlU;
    for (let t = 1; t < this.threads; t++) {
      const p = c.parts[t]!;
      const i = (s: number): number => pool.index(t, s);
      if (p.nkv === 0) {
        cu[i(0)] = Op.Nop;
        continue;
      }
      cu[i(0)] = op;
      fill(t, p, i, layer * p.nkv * c.headStride);
    }
  }

  storeKV(cache: KVCache, layer: number, k: Tensor, v: Tensor, n: number, slot: number): void {
    const t0 = this.profile ? performance.now() : 0;
    const c = c_(cache);
    const { kvHeads, headDim, capacity } = c.spec;
    if (slot < 0 || slot + n > capacity) throw new BadArgumentError(`KV cache holds ${capacity} slots; cannot store ${n} at slot ${slot}`);
    const kvDim = kvHeads * headDim;
    const f16 = c.spec.dtype === 'f16' ? 1 : 0;
    const pool = this.pool;
    const cu = pool.ctrlU;
    const kp = t_(k).ptr;
    const vp = t_(v).ptr;
    if (n * kvDim <= STORE_KV_INLINE) {
      this.storeKVInline(c, layer, kp, vp, n, slot);
      if (this.profile) this.note('storeKV', t0);
      return;
    }
    this.forKVWorkers(c, layer, Op.StoreKV, (t, p, i, layerOff) => {
      cu[i(SK.kSrc)] = kp;
      cu[i(SK.vSrc)] = vp;
      cu[i(SK.n)] = n;
      cu[i(SK.kvDim)] = kvDim;
      cu[i(SK.h0)] = p.h0;
      cu[i(SK.nkv)] = p.nkv;
      cu[i(SK.hd)] = headDim;
      cu[i(SK.kDst)] = p.k + layerOff;
      cu[i(SK.vDst)] = p.v + layerOff;
      cu[i(SK.headStride)] = c.headStride;
      cu[i(SK.slot)] = slot;
      cu[i(SK.f16)] = f16;
      cu[i(SK.local)] = this.ensure(t, this.scratch[t]!, n * kvDim * 4 + 64);
    });
    const p0 = c.parts[0]!;
    pool.run(() => {
      if (p0.nkv === 0) return;
      const layerOff = layer * p0.nkv * c.headStride;
      const off = p0.h0 * headDim * 4;
      this.k0.store_kv(kp + off, kvDim, n, p0.nkv, headDim, p0.k + layerOff, c.headStride, slot, f16);
      this.k0.store_kv(vp + off, kvDim, n, p0.nkv, headDim, p0.v + layerOff, c.headStride, slot, f16);
    });
    if (this.profile) this.note('storeKV', t0);
  }

  /**
   * Small stores (decode) stay on this thread: each worker memory's KV heads are written through
   * this thread's kernel instance for that memory, while the workers are idle between ops. A
   * dispatch would cost more than the copy.
   */
  private storeKVInline(c: WKVCache, layer: number, kp: number, vp: number, n: number, slot: number): void {
    const { kvHeads, headDim } = c.spec;
    const kvDim = kvHeads * headDim;
    const f16 = c.spec.dtype === 'f16' ? 1 : 0;
    const bytes = n * kvDim * 4;
    c.parts.forEach((p, t) => {
      if (p.nkv === 0) return;
      const layerOff = layer * p.nkv * c.headStride;
      const off = p.h0 * headDim * 4;
      let kSrc = kp;
      let vSrc = vp;
      if (t !== 0) {
        // Stage this thread's copy of k and v in memory t (both whole: the kernel strides by kvDim).
        const local = this.ensure(t, this.scratch[t]!, 2 * bytes + 64);
        const mem = this.bytesOf(t);
        this.refresh();
        mem.set(this.u8.subarray(kp, kp + bytes), local);
        mem.set(this.u8.subarray(vp, vp + bytes), local + bytes);
        kSrc = local;
        vSrc = local + bytes;
      }
      const kt = this.kAll[t]!;
      kt.store_kv(kSrc + off, kvDim, n, p.nkv, headDim, p.k + layerOff, c.headStride, slot, f16);
      kt.store_kv(vSrc + off, kvDim, n, p.nkv, headDim, p.v + layerOff, c.headStride, slot, f16);
    });
  }

  attention(out: Tensor, q: Tensor, cache: KVCache, layer: number, n: number, queryPositions: Int32Array, heads: number, scale: number): void {
    const t0 = this.profile ? performance.now() : 0;
    const c = c_(cache);
    const { kvHeads, headDim } = c.spec;
    const grp = heads / kvHeads;
    const qStride = heads * headDim;
    const len = c.length;
    const f16 = c.spec.dtype === 'f16' ? 1 : 0;
    const attnScratch = this.k0.attn_scratch_bytes(headDim, grp);
    // Main scratch: query positions, then the kernel's own scratch.
    const base0 = this.ensure(0, this.scratch[0]!, n * 4 + 64 + attnScratch);
    this.i32.set(queryPositions.subarray(0, n), base0 / 4);
    const qpos = base0;
    const scr0 = align64(base0 + n * 4);
    const pool = this.pool;
    const cu = pool.ctrlU;
    const qp = t_(q).ptr;
    const op = t_(out).ptr;
    this.forKVWorkers(c, layer, Op.Attention, (t, p, i, layerOff) => {
      cu[i(AT.n)] = n;
      cu[i(AT.hd)] = headDim;
      cu[i(AT.grp)] = grp;
      cu[i(AT.nkv)] = p.nkv;
      cu[i(AT.len)] = len;
      pool.ctrlF[i(AT.scale)] = scale;
      cu[i(AT.f16)] = f16;
      cu[i(AT.qMain)] = qp;
      cu[i(AT.qStride)] = qStride;
      cu[i(AT.qposMain)] = qpos;
      cu[i(AT.kposMain)] = c.posPtr;
      cu[i(AT.kbase)] = p.k + layerOff;
      cu[i(AT.vbase)] = p.v + layerOff;
      cu[i(AT.headStride)] = c.headStride;
      cu[i(AT.outMain)] = op;
      cu[i(AT.colOff)] = p.h0 * grp * headDim;
      cu[i(AT.local)] = this.ensure(t, this.scratch[t]!, 2 * n * qStride * 4 + (n + len) * 4 + attnScratch + 256);
    });
    const p0 = c.parts[0]!;
    pool.run(() => {
      if (p0.nkv === 0) return;
      const layerOff = layer * p0.nkv * c.headStride;
      const col = p0.h0 * grp * headDim * 4;
      this.k0.attn(n, headDim, grp, p0.nkv, len, scale, f16, qp + col, qStride, qpos, c.posPtr,
        p0.k + layerOff, p0.v + layerOff, c.headStride, op + col, qStride, scr0);
    });
    if (this.profile) this.note('attention', t0);
  }

  siluMul(out: Tensor, gate: Tensor, up: Tensor, length: number): void {
    const t0 = this.profile ? performance.now() : 0;
    this.k0.silu_mul(t_(out).ptr, t_(gate).ptr, t_(up).ptr, length);
    if (this.profile) this.note('siluMul', t0);
  }

  add(out: Tensor, a: Tensor, b: Tensor, length: number): void {
    const t0 = this.profile ? performance.now() : 0;
    this.k0.add(t_(out).ptr, t_(a).ptr, t_(b).ptr, length);
    if (this.profile) this.note('add', t0);
  }

  copy(dst: Tensor, src: Tensor, length: number, dstOffset = 0, srcOffset = 0): void {
    this.refresh();
    const s = t_(src).ptr / 4 + srcOffset;
    this.f32.copyWithin(t_(dst).ptr / 4 + dstOffset, s, s + length);
  }

  /**
   * Measures memory read bandwidth (bytes/s): every thread repeatedly reads its own
   * `bytesPerThread` region (far larger than the caches) at the same time; best of `trials`.
   */
  measureReadBandwidth(bytesPerThread = 256 * 2 ** 20, trials = 5): number {
    const bytes = Math.floor(bytesPerThread / 64) * 64;
    const ptrs = this.arenas.map((a) => a.alloc(bytes));
    try {
      // Touch every page first so the timing sees reads, not page faults.
      ptrs.forEach((p, t) => this.bytesOf(t).fill(1, p, p + bytes));
      this.refresh();
      const reps = 2;
      const cu = this.pool.ctrlU;
      for (let t = 1; t < this.threads; t++) {
        cu[this.pool.index(t, 0)] = Op.Read;
        cu[this.pool.index(t, RD.ptr)] = ptrs[t]!;
        cu[this.pool.index(t, RD.bytes)] = bytes;
        cu[this.pool.index(t, RD.reps)] = reps;
      }
      let best = 0;
      for (let i = 0; i < trials; i++) {
        const t0 = performance.now();
        this.pool.run(() => {
          for (let r = 0; r < reps; r++) this.k0.read_bytes(ptrs[0]!, bytes);
        });
        const s = (performance.now() - t0) / 1000;
        best = Math.max(best, (bytes * reps * this.threads) / s);
      }
      return best;
    } finally {
      ptrs.forEach((p, t) => this.arenas[t]!.release(p));
    }
  }

  async dispose(): Promise<void> {
    await this.pool.close();
  }
}

function align64(p: number): number {
  return Math.ceil(p / 64) * 64;
}
