import { checkCopyKV, type KVCache, type KVCacheSpec } from '../backend.js';
import { BadArgumentError } from '../../errors/errors.js';
import { align64, type ThreadMemories } from './memory.js';
import type { Pool } from './pool.js';
import { AT, Op, SK } from './protocol.js';

/** One thread's KV heads [h0, h0 + nkv) of a cache, in that thread's memory. */
interface KVPart {
  readonly h0: number;
  readonly nkv: number;
  /** [layers][nkv][capacity][hd] keys, then the same for values, in the thread's memory. */
  readonly k: number;
  readonly v: number;
}

export class WKVCache implements KVCache {
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

/** storeKV of at most this many values per tensor runs on the calling thread (see storeInline). */
const STORE_KV_INLINE = 16384;

/**
 * KV caches split by KV head across the threads (capacity grows with the thread count), and the
 * ops on them: store (inline on this thread when small, else on all threads) and attention (on
 * all threads, each against its own heads). Positions live in memory 0, where every thread reads them.
 */
export class KVCaches {
  constructor(
    private readonly pool: Pool,
    private readonly mem: ThreadMemories,
  ) {}

  create(spec: KVCacheSpec): WKVCache {
    if (spec.headDim % 4 !== 0) throw new BadArgumentError(`the wasm backend needs headDim to be a multiple of 4, got ${spec.headDim}`);
    const dtype = spec.dtype;
    const s = { ...spec };
    const T = this.pool.threads;
    const esz = dtype === 'f16' ? 2 : 4;
    const headStride = spec.capacity * spec.headDim * esz;
    const parts: KVPart[] = [];
    const arenas = this.mem.arenas;
    for (let t = 0; t < T; t++) {
      const h0 = Math.floor((spec.kvHeads * t) / T);
      const nkv = Math.floor((spec.kvHeads * (t + 1)) / T) - h0;
      if (nkv === 0) {
        parts.push({ h0, nkv, k: 0, v: 0 });
        continue;
      }
      const bytes = spec.layers * nkv * headStride;
      const k = arenas[t]!.alloc(bytes);
      const v = arenas[t]!.alloc(bytes);
      parts.push({ h0, nkv, k, v });
    }
    const posPtr = arenas[0]!.alloc(spec.capacity * 4);
    this.mem.refresh();
    const positions = new Int32Array(this.mem.memories[0]!.buffer, posPtr, spec.capacity);
    return new WKVCache(s, positions, posPtr, parts, headStride);
  }

  free(c: WKVCache): void {
    if (c.freed) return;
    c.freed = true;
    const arenas = this.mem.arenas;
    c.parts.forEach((p, t) => {
      if (p.nkv === 0) return;
      arenas[t]!.release(p.k);
      arenas[t]!.release(p.v);
    });
    arenas[0]!.release(c.posPtr);
  }

  copy(d: WKVCache, s: WKVCache, n: number): void {
    checkCopyKV(d.spec, s.spec, n);
    const bytes = n * s.spec.headDim * (s.spec.dtype === 'f16' ? 2 : 4);
    // Both caches split KV heads across threads the same way (same kvHeads, same thread count).
    s.parts.forEach((p, t) => {
      if (p.nkv === 0) return;
      const q = d.parts[t]!;
      const mem = this.mem.bytesOf(t);
      for (let h = 0; h < s.spec.layers * p.nkv; h++) {
        const from = h * s.headStride;
        const to = h * d.headStride;
        mem.copyWithin(q.k + to, p.k + from, p.k + from + bytes);
        mem.copyWithin(q.v + to, p.v + from, p.v + from + bytes);
      }
    });
    this.mem.refresh();
    d.positions.set(s.positions.subarray(0, n));
  }

  /**
   * Writes `op` and its parameters into each worker's control slots for a KV-sharded op; workers that
   * own no KV head of this cache get a no-op. `fill` receives the worker, its shard, a slot indexer
   * and the byte offset of `layer` in the shard.
   */
  private forKVWorkers(c: WKVCache, layer: number, op: Op, fill: (t: number, p: KVPart, i: (slot: number) => number, layerOff: number) => void): void {
    const pool = this.pool;
    const cu = pool.ctrlU;
    for (let t = 1; t < pool.threads; t++) {
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

  /** Writes n rows of k and v (at kp, vp in memory 0) into `layer`'s slots [slot, slot + n). */
  store(c: WKVCache, layer: number, kp: number, vp: number, n: number, slot: number): void {
    const { kvHeads, headDim, capacity } = c.spec;
    if (slot < 0 || slot + n > capacity) throw new BadArgumentError(`KV cache holds ${capacity} slots; cannot store ${n} at slot ${slot}`);
    const kvDim = kvHeads * headDim;
    const f16 = c.spec.dtype === 'f16' ? 1 : 0;
    const pool = this.pool;
    const cu = pool.ctrlU;
    const mem = this.mem;
    if (n * kvDim <= STORE_KV_INLINE) {
      this.storeInline(c, layer, kp, vp, n, slot);
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
      cu[i(SK.local)] = mem.ensure(t, mem.scratch[t]!, n * kvDim * 4 + 64);
    });
    const p0 = c.parts[0]!;
    pool.run(() => {
      if (p0.nkv === 0) return;
      const layerOff = layer * p0.nkv * c.headStride;
      const off = p0.h0 * headDim * 4;
      mem.k0.store_kv(kp + off, kvDim, n, p0.nkv, headDim, p0.k + layerOff, c.headStride, slot, f16);
      mem.k0.store_kv(vp + off, kvDim, n, p0.nkv, headDim, p0.v + layerOff, c.headStride, slot, f16);
    });
  }

  /**
   * Small stores (decode) stay on this thread: each worker memory's KV heads are written through
   * this thread's kernel instance for that memory, while the workers are idle between ops. A
   * dispatch would cost more than the copy.
   */
  private storeInline(c: WKVCache, layer: number, kp: number, vp: number, n: number, slot: number): void {
    const { kvHeads, headDim } = c.spec;
    const kvDim = kvHeads * headDim;
    const f16 = c.spec.dtype === 'f16' ? 1 : 0;
    const bytes = n * kvDim * 4;
    const m = this.mem;
    c.parts.forEach((p, t) => {
      if (p.nkv === 0) return;
      const layerOff = layer * p.nkv * c.headStride;
      const off = p.h0 * headDim * 4;
      let kSrc = kp;
      let vSrc = vp;
      if (t !== 0) {
        // Stage this thread's copy of k and v in memory t (both whole: the kernel strides by kvDim).
        const local = m.ensure(t, m.scratch[t]!, 2 * bytes + 64);
        const dst = m.bytesOf(t);
        m.refresh();
        dst.set(m.u8.subarray(kp, kp + bytes), local);
        dst.set(m.u8.subarray(vp, vp + bytes), local + bytes);
        kSrc = local;
        vSrc = local + bytes;
      }
      const kt = m.kAll[t]!;
      kt.store_kv(kSrc + off, kvDim, n, p.nkv, headDim, p.k + layerOff, c.headStride, slot, f16);
      kt.store_kv(vSrc + off, kvDim, n, p.nkv, headDim, p.v + layerOff, c.headStride, slot, f16);
    });
  }

  /** Attention of n queries (q at qp, out at op in memory 0) against `layer`'s slots [0, c.length). */
  attend(op: number, qp: number, c: WKVCache, layer: number, n: number, queryPositions: Int32Array, heads: number, scale: number): void {
    const { kvHeads, headDim } = c.spec;
    const grp = heads / kvHeads;
    const qStride = heads * headDim;
    const len = c.length;
    const f16 = c.spec.dtype === 'f16' ? 1 : 0;
    const mem = this.mem;
    const attnScratch = mem.k0.attn_scratch_bytes(headDim, grp);
    // Main scratch: query positions, then the kernel's own scratch.
    const base0 = mem.ensure(0, mem.scratch[0]!, n * 4 + 64 + attnScratch);
    mem.i32.set(queryPositions.subarray(0, n), base0 / 4);
    const qpos = base0;
    const scr0 = align64(base0 + n * 4);
    const pool = this.pool;
    const cu = pool.ctrlU;
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
      cu[i(AT.local)] = mem.ensure(t, mem.scratch[t]!, 2 * n * qStride * 4 + (n + len) * 4 + attnScratch + 256);
    });
    const p0 = c.parts[0]!;
    pool.run(() => {
      if (p0.nkv === 0) return;
      const layerOff = layer * p0.nkv * c.headStride;
      const col = p0.h0 * grp * headDim * 4;
      mem.k0.attn(n, headDim, grp, p0.nkv, len, scale, f16, qp + col, qStride, qpos, c.posPtr,
        p0.k + layerOff, p0.v + layerOff, c.headStride, op + col, qStride, scr0);
    });
  }
}
