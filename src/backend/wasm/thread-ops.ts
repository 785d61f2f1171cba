/**
 * One thread's share of an op, run against that thread's memory, as seen from the thread running
 * it: the share's owner, or another thread that runs the share (its StoreKV or Attention share when
 * it claims it first, pool.ts; chunks of its matmul share, chunks.ts). Every address comes from the
 * parameter block and each instance has its own kernel scratch (set_scratch), so instances over one
 * memory never share hidden state.
 */
import type { ChunkRunner } from './chunks.js';
import type { Kernels } from './module.js';
import { claim } from './claim.js';
import { AT, RD, MM, MM_W, Op, PARAMS, PARAM_SLOTS, PULL, READY, RowFn, RW, SK } from './protocol.js';

/** Polls of READY before a thread waiting for another's activation copy starts sleeping. */
const PULL_SPIN = 20_000;

export class ThreadOps implements ChunkRunner {
  private own: Uint8Array;
  private main: Uint8Array;
  private readonly ctrl: Int32Array;
  private readonly ctrlU: Uint32Array;
  private readonly ctrlF: Float32Array;
  private readonly base: number;

  /**
   * k: a kernel instance over `memory`, the memory of share `index` (the main memory for share 0);
   * mainMemory: where activations come from and results go.
   */
  constructor(
    private readonly k: Kernels,
    private readonly memory: WebAssembly.Memory,
    private readonly mainMemory: WebAssembly.Memory,
    ctrl: SharedArrayBuffer,
    private readonly index: number,
  ) {
    this.own = new Uint8Array(memory.buffer);
    this.main = new Uint8Array(mainMemory.buffer);
    this.ctrl = new Int32Array(ctrl);
    this.ctrlU = new Uint32Array(ctrl);
    this.ctrlF = new Float32Array(ctrl);
    this.base = PARAMS + index * PARAM_SLOTS;
  }

  /** Runs the op whose parameters are in this share's block (not Matmul: its chunks run through runChunk). */
  run(): void {
    const op = this.ctrlU[this.base]!;
    if (op === Op.StoreKV) this.storeKV();
    else if (op === Op.Attention) this.attention();
    else if (op === Op.Read) for (let r = 0; r < this.p(RD.reps); r++) this.k.read_bytes(this.p(RD.ptr), this.p(RD.bytes));
  }

  /** Views go stale when the main thread grows a memory: refresh before touching [0, end). */
  private ownBytes(end: number): Uint8Array {
    if (end > this.own.length) this.own = new Uint8Array(this.memory.buffer);
    return this.own;
  }

  private mainBytes(end: number): Uint8Array {
    if (end > this.main.length) this.main = new Uint8Array(this.mainMemory.buffer);
    return this.main;
  }

  private pull(src: number, dst: number, bytes: number): void {
    this.ownBytes(dst + bytes).set(this.mainBytes(src + bytes).subarray(src, src + bytes), dst);
  }

  /** Copies n rows of `width` floats from own[src] (stride srcStride floats) to main[dst] (stride dstStride). */
  private push(src: number, srcStride: number, dst: number, dstStride: number, width: number, n: number): void {
    const o = this.ownBytes(src + ((n - 1) * srcStride + width) * 4);
    const m = this.mainBytes(dst + ((n - 1) * dstStride + width) * 4);
    if (srcStride === width && dstStride === width) {
      m.set(o.subarray(src, src + n * width * 4), dst);
      return;
    }
    for (let i = 0; i < n; i++) {
      const s = src + i * srcStride * 4;
      m.set(o.subarray(s, s + width * 4), dst + i * dstStride * 4);
    }
  }

  private p(slot: number): number {
    return this.ctrlU[this.base + slot]!;
  }

  slot(slot: number): number {
    return this.base + slot;
  }

  chunkCount(): number {
    return this.p(MM.chunks);
  }

  /**
   * Chunk i of this share of the matmul op seq: weight j's row groups [g0, g1) over tokens
   * [t0, t1) (chunks.ts). Share 0 lives in the main memory, which holds x and the outputs; any
   * other share computes into its memory and copies the rows out.
   */
  runChunk(i: number, seq: number): void {
    if (this.ctrlU[this.base] === Op.Rows) {
      this.rowsChunk(i);
      return;
    }
    const p = (s: number): number => this.p(s);
    const n = p(MM.n);
    const cg = p(MM.chunkGroups);
    const ct = p(MM.chunkTokens);
    // Chunks go weight by weight, each weight's row-group ranges in turn, each range's token ranges in turn.
    const tokenChunks = Math.ceil(n / ct);
    const count = p(MM.count);
    let j = 0;
    let groups = 0;
    let rowsValid = 0;
    for (; j < count; j++) {
      rowsValid = p(MM.weights + j * MM_W.stride + MM_W.rowsValid);
      if (rowsValid === 0) continue;
      groups = p(MM.weights + j * MM_W.stride + MM_W.groups);
      const c = Math.ceil(groups / cg) * tokenChunks;
      if (i < c) break;
      i -= c;
    }
    if (j === count) throw new Error(`matmul chunk past the share's ${this.p(MM.chunks)} chunks`);
    const at = (f: number): number => p(MM.weights + j * MM_W.stride + f);
    const g0 = Math.floor(i / tokenChunks) * cg;
    const t0 = (i % tokenChunks) * ct;
    const gs = Math.min(cg, groups - g0);
    const ts = Math.min(ct, n - t0);
    const rows = Math.min(rowsValid - 4 * g0, 4 * gs);
    const w = at(MM_W.w) + g0 * p(MM.groupBytes);
    const ldoMain = at(MM_W.ldoMain);
    const outMain = at(MM_W.outMain) + (t0 * ldoMain + 4 * g0) * 4;
    const xOff = t0 * (p(MM.xBytes) / n);
    if (this.index === 0) {
      this.k.mm(p(MM.layout), p(MM.kind), w, gs, rows, p(MM.cols), ts, p(MM.xSrc) + xOff, outMain, ldoMain);
      return;
    }
    this.pulled(seq);
    const out = at(MM_W.outLocal) + (t0 * rowsValid + 4 * g0) * 4;
    this.k.mm(p(MM.layout), p(MM.kind), w, gs, rows, p(MM.cols), ts, p(MM.xLocal) + xOff, out, rowsValid);
    this.push(out, rowsValid, outMain, ldoMain, rows, ts);
  }

  /**
   * Chunk i of a row-wise op over memory 0 (share 0 only): items [s0, s0 + m) of its tokens, or of
   * its elements for siluMul and add. Each kernel works per token or per element, so any cut gives
   * the bits one call over all items gives (token cuts of the quantization fall on 4-token tiles).
   */
  private rowsChunk(i: number): void {
    const k = this.k;
    const a = (j: number): number => this.p(RW.args + j);
    const n = this.p(RW.n);
    const per = this.p(RW.per);
    const s0 = i * per;
    const m = Math.min(per, n - s0);
    switch (this.p(RW.fn)) {
      case RowFn.RmsNorm: {
        const off = s0 * a(3) * 4;
        k.rmsnorm(a(0) + off, a(1), a(2) + off, m, a(3), this.ctrlF[this.base + RW.args + 4]!);
        break;
      }
      case RowFn.Rope: {
        const [heads, hd] = [a(1), a(2)];
        k.rope(a(0) + s0 * heads * hd * 4, m, heads, hd, a(3) + s0 * hd * 4, a(4) + s0 * hd * 4);
        break;
      }
      case RowFn.SiluMul:
        k.silu_mul(a(0) + s0 * 4, a(1) + s0 * 4, a(2) + s0 * 4, m);
        break;
      case RowFn.Add:
        k.add(a(0) + s0 * 4, a(1) + s0 * 4, a(2) + s0 * 4, m);
        break;
      case RowFn.Quant:
        k.quant_act(a(0), a(1), a(2) + s0 * a(3) * 4, m, a(3), a(4) + s0 * a(5));
        break;
      default:
        throw new Error(`unknown row op ${this.p(RW.fn)}`);
    }
  }

  /**
   * Makes sure op seq's activations are in this memory: the first thread to run a chunk of the
   * share copies them, any other waits for that copy (microseconds; if the copying thread was
   * preempted, the waiting one sleeps in 1 ms steps rather than hold a core it may need).
   */
  private pulled(seq: number): void {
    const c = this.ctrl;
    const ready = this.base + READY;
    if (Atomics.load(c, ready) === seq) return;
    if (claim(c, this.base + PULL, seq)) {
      this.pull(this.p(MM.xSrc), this.p(MM.xLocal), this.p(MM.xBytes));
      Atomics.store(c, ready, seq);
      return;
    }
    let spins = 0;
    for (let r: number; (r = Atomics.load(c, ready)) !== seq; ) if (++spins > PULL_SPIN) Atomics.wait(c, ready, r, 1);
  }

  private storeKV(): void {
    const { k } = this;
    const p = (s: number): number => this.p(s);
    const n = p(SK.n);
    const kvDim = p(SK.kvDim);
    const local = p(SK.local);
    const bytes = n * kvDim * 4;
    const off = p(SK.h0) * p(SK.hd) * 4;
    this.pull(p(SK.kSrc), local, bytes);
    k.store_kv(local + off, kvDim, n, p(SK.nkv), p(SK.hd), p(SK.kDst), p(SK.headStride), p(SK.slot), p(SK.f16));
    this.pull(p(SK.vSrc), local, bytes);
    k.store_kv(local + off, kvDim, n, p(SK.nkv), p(SK.hd), p(SK.vDst), p(SK.headStride), p(SK.slot), p(SK.f16));
  }

  private attention(): void {
    const p = (s: number): number => this.p(s);
    const n = p(AT.n);
    const hd = p(AT.hd);
    const grp = p(AT.grp);
    const nkv = p(AT.nkv);
    const len = p(AT.len);
    const qStride = p(AT.qStride);
    const colOff = p(AT.colOff);
    const local = p(AT.local);
    // local: q [n, qStride] | out [n, qStride] | qpos [n] | kpos [len] | kernel scratch
    const qL = local;
    const oL = qL + n * qStride * 4;
    const qpL = oL + n * qStride * 4;
    const kpL = qpL + n * 4;
    const scr = kpL + len * 4 + 64;
    this.pull(p(AT.qMain), qL, n * qStride * 4);
    this.pull(p(AT.qposMain), qpL, n * 4);
    this.pull(p(AT.kposMain), kpL, len * 4);
    this.k.attn(n, hd, grp, nkv, len, this.ctrlF[this.base + AT.scale]!, p(AT.f16), qL + colOff * 4, qStride, qpL, kpL,
      p(AT.kbase), p(AT.vbase), p(AT.headStride), oL + colOff * 4, qStride, scr);
    this.push(oL + colOff * 4, qStride, p(AT.outMain) + colOff * 4, qStride, nkv * grp * hd, n);
  }
}
