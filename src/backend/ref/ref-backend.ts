import { checkCopyKV, intoView, type Backend, type KVCache, type KVCacheSpec, type OpName, type Tensor, type Weight, type WeightSpec } from '../backend.js';
import { BLOCK, DType, dtypeName, rowBytes } from '../../quant/dtype.js';
import { dequantizeRow } from '../../quant/dequant.js';
import { f32ToF16, f16ToF32 } from '../../quant/half.js';
import { BadArgumentError, UnsupportedTensorTypeError } from '../../errors/errors.js';

/**
 * The plain-TypeScript reference backend: the oracle every other backend is tested against.
 * Plain loops over f32 storage with f64 accumulation in reductions, so its own error against
 * the float64 reference stays far below any fast backend's.
 */

class RefTensor implements Tensor {
  constructor(readonly data: Float32Array) {}
  get length(): number {
    return this.data.length;
  }
}

class RefWeight implements Weight {
  constructor(
    readonly name: string,
    readonly dtype: DType,
    readonly shape: readonly number[],
    readonly rows: number,
    readonly cols: number,
    /** Raw blocks, row-major. */
    readonly bytes: Uint8Array,
    readonly rowStride: number,
    /** The whole weight as f32 when it is F32 (a view) or a vector (decoded once). */
    readonly f32: Float32Array | undefined,
  ) {}
}

class RefKVCache implements KVCache {
  length = 0;
  readonly positions: Int32Array;
  /** Per layer: [capacity, kvHeads · headDim]. An f16 cache keeps f16-rounded values. */
  readonly k: Float32Array[];
  readonly v: Float32Array[];
  constructor(readonly spec: KVCacheSpec) {
    this.positions = new Int32Array(spec.capacity);
    const row = spec.kvHeads * spec.headDim;
    this.k = Array.from({ length: spec.layers }, () => new Float32Array(spec.capacity * row));
    this.v = Array.from({ length: spec.layers }, () => new Float32Array(spec.capacity * row));
  }
}

const td = (x: Tensor): Float32Array => (x as RefTensor).data;
const rw = (x: Weight): RefWeight => x as RefWeight;
const rc = (x: KVCache): RefKVCache => x as RefKVCache;

/** Types the reference can compute with: every type the dequantizer knows. */
const SUPPORTED: ReadonlySet<DType> = new Set(
  Object.keys(BLOCK)
    .map(Number)
    .filter((d) => d !== DType.Q8_1 && d !== DType.Q8_K),
);

function roundF16(x: number): number {
  return f16ToF32(f32ToF16(x));
}

export class RefBackend implements Backend {
  readonly name = 'ref';
  /** Scratch holding one dequantized weight row. */
  private rowBuf = new Float32Array(0);

  supports(op: OpName, dtype?: DType): boolean {
    if (op === 'embed' || op === 'matmul' || op === 'matmulMany') return dtype === undefined || SUPPORTED.has(dtype);
    return true;
  }

  loadWeight(spec: WeightSpec): Weight {
    if (!SUPPORTED.has(spec.dtype)) throw new UnsupportedTensorTypeError(spec.name, dtypeName(spec.dtype));
    const cols = spec.shape[spec.shape.length - 1]!;
    const stride = rowBytes(spec.dtype, cols);
    const rows = spec.shape.length === 1 ? 1 : spec.shape[0]!;
    if (rows * stride !== spec.data.byteLength) {
      throw new BadArgumentError(`weight ${spec.name}: ${spec.data.byteLength} bytes do not hold shape [${spec.shape.join(', ')}] of ${dtypeName(spec.dtype)}`);
    }
    let f32: Float32Array | undefined;
    if (spec.dtype === DType.F32) {
      f32 =
        spec.data.byteOffset % 4 === 0
          ? new Float32Array(spec.data.buffer, spec.data.byteOffset, spec.data.byteLength / 4)
          : new Float32Array(spec.data.slice().buffer);
    } else if (rows === 1) {
      f32 = new Float32Array(cols);
      dequantizeRow(spec.dtype, spec.data, 0, f32, 0, cols);
    }
    return new RefWeight(spec.name, spec.dtype, spec.shape, rows, cols, spec.data, stride, f32);
  }

  readonly info = { name: 'ref', threads: 1 };
  /** A small form for JSON.stringify / util.inspect (weights are plain arrays of any size). */
  toJSON(): object {
    return { kind: 'RefBackend' };
  }
  [Symbol.for('nodejs.util.inspect.custom')](): string {
    return 'RefBackend {}';
  }
  alloc(length: number): Tensor {
    return new RefTensor(new Float32Array(length));
  }
  view(t: Tensor, offset: number, length: number): Tensor {
    if (offset < 0 || offset + length > t.length) throw new BadArgumentError(`view [${offset}, ${offset + length}) is outside a tensor of ${t.length}`);
    return new RefTensor(td(t).subarray(offset, offset + length));
  }
  copyKV(dst: KVCache, src: KVCache, n: number): void {
    const d = rc(dst);
    const s = rc(src);
    checkCopyKV(d.spec, s.spec, n);
    const row = s.spec.kvHeads * s.spec.headDim;
    for (let l = 0; l < s.spec.layers; l++) {
      d.k[l]!.set(s.k[l]!.subarray(0, n * row));
      d.v[l]!.set(s.v[l]!.subarray(0, n * row));
    }
    d.positions.set(s.positions.subarray(0, n));
  }
  free(_t: Tensor): void {}
  write(dst: Tensor, src: Float32Array, dstOffset = 0): void {
    td(dst).set(src, dstOffset);
  }
  read(src: Tensor, offset = 0, length?: number, into?: Float32Array): Float32Array {
    const d = td(src);
    const part = d.subarray(offset, offset + (length ?? d.length - offset));
    if (!into) return part.slice();
    return intoView(into, part);
  }
  createKVCache(spec: KVCacheSpec): KVCache {
    return new RefKVCache(spec);
  }
  freeKVCache(_cache: KVCache): void {}

  /** Row r of w as f32 (a view for F32 weights, else decoded into scratch). */
  private weightRow(wt: RefWeight, r: number): Float32Array {
    if (wt.f32) return wt.f32.subarray(r * wt.cols, (r + 1) * wt.cols);
    if (this.rowBuf.length < wt.cols) this.rowBuf = new Float32Array(wt.cols);
    const out = this.rowBuf.subarray(0, wt.cols);
    dequantizeRow(wt.dtype, wt.bytes, r * wt.rowStride, out, 0, wt.cols);
    return out;
  }

  embed(out: Tensor, table: Weight, ids: Int32Array): void {
    const wt = rw(table);
    const o = td(out);
    for (let i = 0; i < ids.length; i++) {
      const id = ids[i]!;
      if (id < 0 || id >= wt.rows) throw new BadArgumentError(`token id ${id} is outside the vocabulary (0..${wt.rows - 1})`);
      o.set(this.weightRow(wt, id), i * wt.cols);
    }
  }

  matmulMany(outs: readonly Tensor[], x: Tensor, ws: readonly Weight[], n: number): void {
    if (outs.length !== ws.length) throw new BadArgumentError(`matmulMany: ${outs.length} outputs for ${ws.length} weights`);
    ws.forEach((w, j) => this.matmul(outs[j]!, x, w, n));
  }

  matmul(out: Tensor, x: Tensor, w: Weight, n: number): void {
    const wt = rw(w);
    const o = td(out);
    const xs = td(x);
    const { rows, cols } = wt;
    // Weight-row outer loop: each quantized row is decoded once and reused for all n tokens.
    for (let r = 0; r < rows; r++) {
      const row = this.weightRow(wt, r);
      for (let i = 0; i < n; i++) {
        const xo = i * cols;
        let s = 0;
        for (let c = 0; c < cols; c++) s += row[c]! * xs[xo + c]!;
        o[i * rows + r] = s;
      }
    }
  }

  rmsnorm(out: Tensor, x: Tensor, w: Weight, n: number, dim: number, eps: number): void {
    const o = td(out);
    const xs = td(x);
    const g = rw(w).f32!;
    for (let i = 0; i < n; i++) {
      const base = i * dim;
      let ss = 0;
      for (let j = 0; j < dim; j++) ss += xs[base + j]! * xs[base + j]!;
      const scale = 1 / Math.sqrt(ss / dim + eps);
      for (let j = 0; j < dim; j++) o[base + j] = xs[base + j]! * scale * g[j]!;
    }
  }

  rope(x: Tensor, n: number, heads: number, headDim: number, positions: Int32Array, invFreq: Float64Array): void {
    const xs = td(x);
    const half = headDim / 2;
    const rowLen = heads * headDim;
    for (let i = 0; i < n; i++) {
      const pos = positions[i]!;
      for (let j = 0; j < half; j++) {
        // Angle in f64: positions reach 1e5+, where f32 angles would lose ~1e-2 rad.
        const a = pos * invFreq[j]!;
        const c = Math.cos(a);
        const s = Math.sin(a);
        for (let h = 0; h < heads; h++) {
          const p = i * rowLen + h * headDim + 2 * j;
          const x0 = xs[p]!;
          const x1 = xs[p + 1]!;
          xs[p] = x0 * c - x1 * s;
          xs[p + 1] = x0 * s + x1 * c;
        }
      }
    }
  }

  storeKV(cache: KVCache, layer: number, k: Tensor, v: Tensor, n: number, slot: number): void {
    const c = rc(cache);
    const row = c.spec.kvHeads * c.spec.headDim;
    if (slot + n > c.spec.capacity) throw new BadArgumentError(`KV cache holds ${c.spec.capacity} slots; cannot store ${n} at slot ${slot}`);
    const ks = td(k).subarray(0, n * row);
    const vs = td(v).subarray(0, n * row);
    const kd = c.k[layer]!;
    const vd = c.v[layer]!;
    if (c.spec.dtype === 'f16') {
      for (let i = 0; i < n * row; i++) {
        kd[slot * row + i] = roundF16(ks[i]!);
        vd[slot * row + i] = roundF16(vs[i]!);
      }
    } else {
      kd.set(ks, slot * row);
      vd.set(vs, slot * row);
    }
  }

  attention(out: Tensor, q: Tensor, cache: KVCache, layer: number, n: number, queryPositions: Int32Array, heads: number, scale: number): void {
    const c = rc(cache);
    const { kvHeads, headDim } = c.spec;
    const group = heads / kvHeads;
    const kvRow = kvHeads * headDim;
    const qRow = heads * headDim;
    const kd = c.k[layer]!;
    const vd = c.v[layer]!;
    const qs = td(q);
    const o = td(out);
    const len = c.length;
    const scores = new Float64Array(len);
    const acc = new Float64Array(headDim);
    for (let i = 0; i < n; i++) {
      const qp = queryPositions[i]!;
      for (let h = 0; h < heads; h++) {
        const kvh = Math.floor(h / group);
        const qo = i * qRow + h * headDim;
        let max = -Infinity;
        for (let s = 0; s < len; s++) {
          if (c.positions[s]! > qp) {
            scores[s] = -Infinity;
            continue;
          }
          const ko = s * kvRow + kvh * headDim;
          let dot = 0;
          for (let d = 0; d < headDim; d++) dot += qs[qo + d]! * kd[ko + d]!;
          const sc = dot * scale;
          scores[s] = sc;
          if (sc > max) max = sc;
        }
        acc.fill(0);
        let sum = 0;
        for (let s = 0; s < len; s++) {
          if (scores[s] === -Infinity) continue;
          const p = Math.exp(scores[s]! - max);
          sum += p;
          const vo = s * kvRow + kvh * headDim;
          for (let d = 0; d < headDim; d++) acc[d] += p * vd[vo + d]!;
        }
        for (let d = 0; d < headDim; d++) o[qo + d] = sum > 0 ? acc[d]! / sum : 0;
      }
    }
  }

  siluMul(out: Tensor, gate: Tensor, up: Tensor, length: number): void {
    const o = td(out);
    const g = td(gate);
    const u = td(up);
    for (let i = 0; i < length; i++) {
      const x = g[i]!;
      o[i] = (x / (1 + Math.exp(-x))) * u[i]!;
    }
  }

  add(out: Tensor, a: Tensor, b: Tensor, length: number): void {
    const o = td(out);
    const x = td(a);
    const y = td(b);
    for (let i = 0; i < length; i++) o[i] = x[i]! + y[i]!;
  }

  copy(dst: Tensor, src: Tensor, length: number, dstOffset = 0, srcOffset = 0): void {
    td(dst).set(td(src).subarray(srcOffset, srcOffset + length), dstOffset);
  }

  async dispose(): Promise<void> {}
}
