/**
 * One thread's share of an op, run against that thread's memory: the code every worker runs, and
 * what the main thread runs in a worker's place when it claims that worker's share first (the
 * worker was asleep or preempted; see pool.ts). Kernels are pure: every address comes from the
 * parameter block, so two instances on one memory never share hidden state.
 */
import type { Kernels } from './module.js';
import { AT, RD, MM, MM_W, Op, PARAMS, PARAM_SLOTS, SK } from './protocol.js';

export class ThreadOps {
  private own: Uint8Array;
  private main: Uint8Array;
  private readonly ctrlU: Uint32Array;
  private readonly ctrlF: Float32Array;
  private readonly base: number;

  constructor(
    private readonly k: Kernels,
    private readonly memory: WebAssembly.Memory,
    private readonly mainMemory: WebAssembly.Memory,
    ctrl: SharedArrayBuffer,
    index: number,
  ) {
    this.own = new Uint8Array(memory.buffer);
    this.main = new Uint8Array(mainMemory.buffer);
    this.ctrlU = new Uint32Array(ctrl);
    this.ctrlF = new Float32Array(ctrl);
    this.base = PARAMS + index * PARAM_SLOTS;
  }

  /** Runs the op whose parameters are in this thread's block. */
  run(): void {
    const op = this.ctrlU[this.base]!;
    if (op === Op.Matmul) this.matmul();
    else if (op === Op.StoreKV) this.storeKV();
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

  private matmul(): void {
    const { k } = this;
    const p = (s: number): number => this.p(s);
    const layout = p(MM.layout);
    const kind = p(MM.kind);
    const n = p(MM.n);
    const cols = p(MM.cols);
    const x = p(MM.xLocal);
    this.pull(p(MM.xSrc), x, p(MM.xBytes));
    for (let j = 0; j < p(MM.count); j++) {
      const at = (f: number): number => p(MM.weights + j * MM_W.stride + f);
      const rowsValid = at(MM_W.rowsValid);
      if (rowsValid === 0) continue;
      const w = at(MM_W.w);
      const out = at(MM_W.outLocal);
      k.mm(layout, kind, w, at(MM_W.groups), rowsValid, cols, n, x, out, rowsValid);
      this.push(out, rowsValid, at(MM_W.outMain), at(MM_W.ldoMain), rowsValid, n);
    }
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

/**
 * Takes thread t's share of op `seq` for the caller: true for exactly one of the worker and the
 * main thread (a compare-and-swap of the op's sequence number into the thread's claim slot).
 */
export function claim(ctrl: Int32Array, slot: number, seq: number): boolean {
  for (;;) {
    const old = Atomics.load(ctrl, slot);
    if (((old - seq) | 0) >= 0) return false; // int32 difference: SEQ wraps
    if (Atomics.compareExchange(ctrl, slot, old, seq) === old) return true;
  }
}
