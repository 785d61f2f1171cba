import type { Backend, KVCache, Tensor } from '../backend/backend.js';
import type { ForwardBatch } from '../engine/batch.js';
import type { LlamaConfig } from '../config/config.js';
import type { ModelWeights } from './weights.js';
import { ropeInvFreq } from './rope.js';

/** Called with every intermediate when tracing is on (diff against a reference dump). */
export type TraceHook = (name: string, layer: number, tensor: Float32Array) => void;

/** Activations for a chunk of up to `n` tokens; reused across calls. */
interface Scratch {
  readonly n: number;
  readonly x: Tensor; // [n, dim] residual stream
  readonly xb: Tensor; // [n, dim] normed input of a sub-block
  readonly q: Tensor; // [n, heads·hd]
  readonly k: Tensor; // [n, kvHeads·hd]
  readonly v: Tensor; // [n, kvHeads·hd]
  readonly att: Tensor; // [n, heads·hd]
  readonly proj: Tensor; // [n, dim] output of wo / wDown
  readonly gate: Tensor; // [n, ffn]
  readonly up: Tensor; // [n, ffn]
}

/**
 * The Llama decoder (Touvron et al. 2023; Llama 3 report 2024):
 *   h = x + Attn(RMSNorm(x)),  out = h + SwiGLU(RMSNorm(h)),  logits = RMSNorm(out) · Eᵀ
 * with RoPE on q and k and grouped-query attention over a KV cache.
 */
export class LlamaForward {
  readonly invFreq: Float64Array; // [hd/2]
  private scratch: Scratch | undefined;
  trace: TraceHook | undefined;

  constructor(
    readonly config: LlamaConfig,
    readonly backend: Backend,
    readonly weights: ModelWeights,
  ) {
    this.invFreq = ropeInvFreq(config);
  }

  /**
   * One forward step over a batch: every row's token at its position, each row belonging to one
   * sequence. Matmuls run over all rows at once; storeKV and attention run per sequence against
   * its own cache. A row's arithmetic never depends on the other rows, so a sequence's logits are
   * bit-identical alone or batched. caches[i] is seqs[i]'s cache; the caller (engine/executor) has
   * set its length and positions to include the new rows. Returns logits [logitRows.length × vocab],
   * written into the start of `out` when it is given and long enough (a buffer reused across steps).
   */
  forward(batch: ForwardBatch, caches: readonly KVCache[], out?: Float32Array): Float32Array {
    const c = this.config;
    const be = this.backend;
    const n = batch.tokens.length;
    const dim = c.hiddenSize;
    const qDim = c.numHeads * c.headDim;
    const kvDim = c.numKVHeads * c.headDim;
    const s = this.scratchFor(n);
    const scale = 1 / Math.sqrt(c.headDim);
    be.embed(s.x, this.weights.embed, batch.tokens); // x: [n, dim]
    this.emit('embed', -1, s.x, n * dim);
    for (let l = 0; l < c.numLayers; l++) {
      const w = this.weights.layers[l]!;
      // --- attention block ---
      be.rmsnorm(s.xb, s.x, w.attnNorm, n, dim, c.rmsNormEps); // xb: [n, dim]
      // q: [n, heads·hd], k: [n, kvHeads·hd], v: [n, kvHeads·hd]
      be.matmulMany([s.q, s.k, s.v], s.xb, [w.wq, w.wk, w.wv], n);
      be.rope(s.q, n, c.numHeads, c.headDim, batch.positions, this.invFreq);
      be.rope(s.k, n, c.numKVHeads, c.headDim, batch.positions, this.invFreq);
      for (let i = 0; i < batch.seqs.length; i++) {
        const seq = batch.seqs[i]!;
        const cache = caches[i]!;
        const r0 = seq.row;
        const m = seq.rows;
        // this sequence's rows: k, v: [m, kvHeads·hd] → cache slots [slot, slot + m)
        be.storeKV(cache, l, be.view(s.k, r0 * kvDim, m * kvDim), be.view(s.v, r0 * kvDim, m * kvDim), m, seq.slot);
        // att rows [r0, r0 + m): [m, heads·hd], causal by position over the sequence's own cache
        be.attention(be.view(s.att, r0 * qDim, m * qDim), be.view(s.q, r0 * qDim, m * qDim), cache, l, m, batch.positions.subarray(r0, r0 + m), c.numHeads, scale);
      }
      this.emit('attn_out', l, s.att, n * qDim);
      be.matmul(s.proj, s.att, w.wo, n); // proj: [n, dim]
      be.add(s.x, s.x, s.proj, n * dim); // x = x + Attn(...)
      // --- feed-forward block (SwiGLU) ---
      be.rmsnorm(s.xb, s.x, w.ffnNorm, n, dim, c.rmsNormEps);
      be.matmulMany([s.gate, s.up], s.xb, [w.wGate, w.wUp], n); // gate, up: [n, ffn]
      be.siluMul(s.gate, s.gate, s.up, n * c.intermediateSize); // gate = silu(gate) · up
      be.matmul(s.proj, s.gate, w.wDown, n); // proj: [n, dim]
      be.add(s.x, s.x, s.proj, n * dim);
      this.emit('layer_out', l, s.x, n * dim);
    }
    return this.head(s, batch.logitRows, out);
  }

  /** Final norm and output projection of the wanted rows only. logits: [rows.length, vocab]. */
  private head(s: Scratch, rows: Int32Array, out?: Float32Array): Float32Array {
    const c = this.config;
    const be = this.backend;
    const dim = c.hiddenSize;
    const m = rows.length;
    if (m === 0) return out ? out.subarray(0, 0) : new Float32Array(0); // an intermediate prefill chunk: no output head at all
    for (let i = 0; i < m; i++) be.copy(s.xb, s.x, dim, i * dim, rows[i]! * dim); // xb: [m, dim] gathered
    be.rmsnorm(s.proj, s.xb, this.weights.norm, m, dim, c.rmsNormEps);
    const logits = be.alloc(m * c.vocabSize); // [m, vocab]
    try {
      be.matmul(logits, s.proj, this.weights.output, m);
      const n = m * c.vocabSize;
      return be.read(logits, 0, n, out && out.length >= n ? out : undefined);
    } finally {
      be.free(logits);
    }
  }

  private emit(name: string, layer: number, t: Tensor, length: number): void {
    if (this.trace) this.trace(name, layer, this.backend.read(t, 0, length));
  }

  private scratchFor(n: number): Scratch {
    if (this.scratch && this.scratch.n >= n) return this.scratch;
    if (this.scratch) this.freeScratch();
    const c = this.config;
    const be = this.backend;
    const qDim = c.numHeads * c.headDim;
    const kvDim = c.numKVHeads * c.headDim;
    this.scratch = {
      n,
      x: be.alloc(n * c.hiddenSize),
      xb: be.alloc(n * c.hiddenSize),
      q: be.alloc(n * qDim),
      k: be.alloc(n * kvDim),
      v: be.alloc(n * kvDim),
      att: be.alloc(n * qDim),
      proj: be.alloc(n * c.hiddenSize),
      gate: be.alloc(n * c.intermediateSize),
      up: be.alloc(n * c.intermediateSize),
    };
    return this.scratch;
  }

  freeScratch(): void {
    const s = this.scratch;
    if (!s) return;
    for (const t of [s.x, s.xb, s.q, s.k, s.v, s.att, s.proj, s.gate, s.up]) this.backend.free(t);
    this.scratch = undefined;
  }
}
