import { parentPort, workerData } from 'node:worker_threads';
import { instantiate, type Kernels } from './module.js';
import { SpinBudget } from './spin.js';
import { AT, RD, DONE, ERROR, Layout, MAIN_WAITING, MM, MM_W, Op, PARAMS, PARAM_SLOTS, QUIT, SEQ, SK, SLEEPERS } from './protocol.js';

/**
 * A compute thread: owns one WebAssembly.Memory (its row shard of every weight, its KV heads,
 * scratch), reads inputs from the main thread's memory and writes its share of outputs back.
 */
interface Init {
  module: WebAssembly.Module;
  memory: WebAssembly.Memory;
  main: WebAssembly.Memory;
  ctrl: SharedArrayBuffer;
  index: number;
  spin: number;
}

const init = workerData as Init;
const k: Kernels = instantiate(init.module, init.memory);
const ctrl = new Int32Array(init.ctrl);
const ctrlU = new Uint32Array(init.ctrl);
const ctrlF = new Float32Array(init.ctrl);
const base = PARAMS + init.index * PARAM_SLOTS;

let own = new Uint8Array(init.memory.buffer);
let main = new Uint8Array(init.main.buffer);

/** Views go stale when the main thread grows a memory: refresh before touching [0, end). */
function ownBytes(end: number): Uint8Array {
  if (end > own.length) own = new Uint8Array(init.memory.buffer);
  return own;
}
function mainBytes(end: number): Uint8Array {
  if (end > main.length) main = new Uint8Array(init.main.buffer);
  return main;
}

function pull(src: number, dst: number, bytes: number): void {
  ownBytes(dst + bytes).set(mainBytes(src + bytes).subarray(src, src + bytes), dst);
}

/** Copies n rows of `width` floats from own[src] (stride srcStride floats) to main[dst] (stride dstStride). */
function push(src: number, srcStride: number, dst: number, dstStride: number, width: number, n: number): void {
  const o = ownBytes(src + ((n - 1) * srcStride + width) * 4);
  const m = mainBytes(dst + ((n - 1) * dstStride + width) * 4);
  if (srcStride === width && dstStride === width) {
    m.set(o.subarray(src, src + n * width * 4), dst);
    return;
  }
  for (let i = 0; i < n; i++) {
    const s = src + i * srcStride * 4;
    m.set(o.subarray(s, s + width * 4), dst + i * dstStride * 4);
  }
}

function p(slot: number): number {
  return ctrlU[base + slot]!;
}

function matmul(): void {
  const layout = p(MM.layout);
  const kind = p(MM.kind);
  const n = p(MM.n);
  const cols = p(MM.cols);
  const x = p(MM.xLocal);
  pull(p(MM.xSrc), x, p(MM.xBytes));
  for (let j = 0; j < p(MM.count); j++) {
    const at = (f: number): number => p(MM.weights + j * MM_W.stride + f);
    const rowsValid = at(MM_W.rowsValid);
    if (rowsValid === 0) continue;
    const w = at(MM_W.w);
    const out = at(MM_W.outLocal);
    switch (layout) {
      case Layout.Q8x4:
        k.mm_q8x4(w, at(MM_W.groups), rowsValid, cols, n, x, out, rowsValid);
        break;
      case Layout.Q4x4:
        k.mm_q4x4(w, at(MM_W.groups), rowsValid, cols, n, x, out, rowsValid);
        break;
      case Layout.KX4:
        k.mm_kx4(kind, w, at(MM_W.groups), rowsValid, cols, n, x, out, rowsValid);
        break;
      default:
        k.mm_f(kind, w, rowsValid, cols, n, x, out, rowsValid);
    }
    push(out, rowsValid, at(MM_W.outMain), at(MM_W.ldoMain), rowsValid, n);
  }
}

function storeKV(): void {
  const n = p(SK.n);
  const kvDim = p(SK.kvDim);
  const local = p(SK.local);
  const bytes = n * kvDim * 4;
  const off = p(SK.h0) * p(SK.hd) * 4;
  pull(p(SK.kSrc), local, bytes);
  k.store_kv(local + off, kvDim, n, p(SK.nkv), p(SK.hd), p(SK.kDst), p(SK.headStride), p(SK.slot), p(SK.f16));
  pull(p(SK.vSrc), local, bytes);
  k.store_kv(local + off, kvDim, n, p(SK.nkv), p(SK.hd), p(SK.vDst), p(SK.headStride), p(SK.slot), p(SK.f16));
}

function attention(): void {
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
  pull(p(AT.qMain), qL, n * qStride * 4);
  pull(p(AT.qposMain), qpL, n * 4);
  pull(p(AT.kposMain), kpL, len * 4);
  k.attn(n, hd, grp, nkv, len, ctrlF[base + AT.scale]!, p(AT.f16), qL + colOff * 4, qStride, qpL, kpL,
    p(AT.kbase), p(AT.vbase), p(AT.headStride), oL + colOff * 4, qStride, scr);
  push(oL + colOff * 4, qStride, p(AT.outMain) + colOff * 4, qStride, nkv * grp * hd, n);
}

let last = Atomics.load(ctrl, SEQ);
const spin = new SpinBudget(init.spin);
parentPort?.postMessage({ ready: true });
for (;;) {
  let spins = 0;
  let sleptAt = -1;
  while (Atomics.load(ctrl, SEQ) === last) {
    if (++spins > spin.current) {
      if (sleptAt < 0) sleptAt = performance.now();
      Atomics.add(ctrl, SLEEPERS, 1);
      Atomics.wait(ctrl, SEQ, last);
      Atomics.sub(ctrl, SLEEPERS, 1);
      spins = 0;
    }
  }
  if (sleptAt >= 0) spin.slept(performance.now() - sleptAt);
  else spin.caught();
  last = Atomics.load(ctrl, SEQ);
  if (Atomics.load(ctrl, QUIT)) break;
  try {
    const op = ctrl[base]!;
    if (op === Op.Matmul) matmul();
    else if (op === Op.StoreKV) storeKV();
    else if (op === Op.Attention) attention();
    else if (op === Op.Read) for (let r = 0; r < p(RD.reps); r++) k.read_bytes(p(RD.ptr), p(RD.bytes));
  } catch (e) {
    Atomics.store(ctrl, ERROR, 1);
    parentPort?.postMessage({ error: String((e as Error)?.stack ?? e) });
  }
  Atomics.add(ctrl, DONE, 1);
  if (Atomics.load(ctrl, MAIN_WAITING)) Atomics.notify(ctrl, DONE);
}
parentPort?.postMessage({ exited: true });
