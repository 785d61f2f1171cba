import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import v8 from 'node:v8';
import { Layout } from './protocol.js';
import { groupBytes } from './layout.js';
import { DType } from '../../quant/dtype.js';
import { applyChoice, type KernelChoice } from './kernel-choice.js';
import { kernelDir } from './kernel-files.js';
import { l2Bytes } from './cpu-info.js';

/** The kernel exports (asm/index.ts). Pointers are byte offsets into the instance's memory. */
export interface Kernels {
  /** Activation records of n tokens in the form `layout` and `kind`'s kernels read (asm/layout.ts). */
  quant_act(layout: number, kind: number, x: number, n: number, cols: number, dst: number): void;
  dot8_probe(a: number, b: number): number;
  rec_bytes(n: number, cols: number): number;
  /** Bytes of one 4-row group (interleaved layouts) or one row (Float) of `cols` columns. */
  group_bytes(layout: number, kind: number, cols: number): number;
  /** out[t, r] = Σ_c x[t, c] · w[r, c] with the kernel of `layout` (asm/layout.ts). */
  mm(layout: number, kind: number, w: number, groups: number, rows: number, cols: number, n: number, x: number, out: number, ldo: number): void;
  /** Row `row` of a shard at w → f32 (embedding lookups). */
  deq_row(layout: number, kind: number, w: number, row: number, cols: number, out: number): void;
  repack_q4_k(src: number, rows: number, cols: number, dst: number, tmp: number): void;
  repack_q5_k(src: number, rows: number, cols: number, dst: number, tmp: number): void;
  repack_q6_k(src: number, rows: number, cols: number, dst: number, tmp: number): void;
  attn(
    n: number, hd: number, grp: number, nkv: number, len: number, scale: number, f16: number,
    q: number, qStride: number, qpos: number, kpos: number, kbase: number, vbase: number, headStride: number,
    out: number, oStride: number, scratch: number,
  ): void;
  attn_scratch_bytes(hd: number, grp: number): number;
  store_kv(src: number, srcStride: number, n: number, nkv: number, hd: number, dst: number, headStride: number, slot: number, f16: number): void;
  rmsnorm(x: number, w: number, out: number, n: number, dim: number, eps: number): void;
  silu_mul(out: number, g: number, u: number, len: number): void;
  add(out: number, a: number, b: number, len: number): void;
  rope(x: number, n: number, heads: number, hd: number, cs: number, sn: number): void;
  read_bytes(p: number, bytes: number): number;
  /** 0, or 1 when a block cannot be held exactly (the weight is then widened to F32). */
  repack_q8_0(src: number, rows: number, cols: number, dst: number): number;
  repack_q4_0(src: number, rows: number, cols: number, dst: number): void;
  /** Sets the variant of decode kernel `op` (asm/variants.ts); 0 for an unknown op or variant. */
  set_variant(op: number, variant: number): number;
  get_variant(op: number): number;
  /** Moves the instance's kernel scratch (asm/kernel-util.ts) to a block of scratch_bytes() at p. */
  set_scratch(p: number): void;
  scratch_bytes(): number;
  /** Activation-record bytes per token block of a many-token matmul (0: 384 KiB). */
  set_token_block_bytes(bytes: number): void;
  /** End of the module's static data. */
  static_end(): number;
}

export interface KernelModule {
  readonly module: WebAssembly.Module;
  /** Whether the relaxed-SIMD build is in use (else the standard-SIMD fallback). */
  readonly relaxed: boolean;
  /** The module's bytes (the kernel-choice cache is keyed by their hash). */
  readonly bytes: Uint8Array;
}

/** Largest wasm32 memory: 65536 pages of 64 KiB. */
export const MAX_PAGES = 65536;
/**
 * A kernel memory's first pages: the module's static data (below 64 KiB), then from
 * DEFAULT_SCRATCH the kernel scratch of the instance that owns the memory (asm/kernel-util.ts);
 * the arena allocates after them (arena.ts).
 */
export const INITIAL_PAGES = 4;
export const DEFAULT_SCRATCH = 65536;

/** A memory for one thread's kernels. */
export function kernelMemory(): WebAssembly.Memory {
  return new WebAssembly.Memory({ initial: INITIAL_PAGES, maximum: MAX_PAGES, shared: true });
}

let cached: Promise<KernelModule> | undefined;

/**
 * Compiles the kernel module once per process. Relaxed SIMD sits behind a V8 flag in Node 20;
 * V8 flags are process-wide, so setting it before the first compile also covers the workers.
 * LLAMA_TS_WASM_SIMD=standard forces the fallback (for tests and comparisons).
 */
export function loadKernelModule(): Promise<KernelModule> {
  cached ??= (async () => {
    const dir = kernelDir();
    const wantRelaxed = process.env['LLAMA_TS_WASM_SIMD'] !== 'standard';
    if (wantRelaxed) {
      const bytes = readFileSync(join(dir, 'kernels-relaxed.wasm'));
      // Node 20 has relaxed SIMD behind a flag; Node 24 has it on and reports the flag's name as
      // unrecognized on stderr, so the flag is set only where the module does not validate.
      if (!WebAssembly.validate(bytes)) v8.setFlagsFromString('--experimental-wasm-relaxed-simd');
      if (WebAssembly.validate(bytes)) {
        const module = new WebAssembly.Module(bytes);
        // The Q8_0 kernels need the relaxed dot to read its second operand as unsigned (x64
        // does); elsewhere the standard-SIMD module computes the same integers.
        const probe = instantiateRaw(module, kernelMemory());
        if (probe.dot8_probe(1, 0xff) === 510) return { module, relaxed: true, bytes };
      }
    }
    const bytes = readFileSync(join(dir, 'kernels-simd.wasm'));
    return { module: new WebAssembly.Module(bytes), relaxed: false, bytes };
  })();
  return cached;
}

/** An instance running `choice`'s variant of each decode kernel (kernel-probe.ts chooses). */
export function instantiate(module: WebAssembly.Module, memory: WebAssembly.Memory, choice: KernelChoice): Kernels {
  const k = instantiateRaw(module, memory);
  applyChoice(k, choice);
  k.set_token_block_bytes(tokenBlockBytes());
  return k;
}

let tokenBlock: number | undefined;

/**
 * Activation-record bytes a prefill's token block keeps in L2 (asm/kernel-util.ts tokenBlock): 3/8
 * of the core's L2, between 384 KiB (the default where the size is unknown, and all a 1 MB L2
 * holds beside the weight tiles) and 1 MiB. The weights stream once per token block, so a 2 MB L2
 * (Sapphire/Emerald Rapids) takes half as many passes (docs/kernels.md, "Token blocks").
 */
export function tokenBlockBytes(): number {
  // LLAMA_TS_TOKEN_BLOCK_BYTES: a fixed size (tuning; the tests use a small one to cross blocks).
  const forced = Number(process.env['LLAMA_TS_TOKEN_BLOCK_BYTES']);
  tokenBlock ??= forced > 0 ? forced : Math.min(1 << 20, Math.max(393216, Math.floor(((l2Bytes() ?? 0) * 3) / 8 / 65536) * 65536));
  return tokenBlock;
}

/** An instance with the default variants (the probe sets its own). */
export function instantiateRaw(module: WebAssembly.Module, memory: WebAssembly.Memory): Kernels {
  const inst = new WebAssembly.Instance(module, { env: { memory, abort: () => { throw new Error('wasm abort'); } } });
  checkLayoutIds(inst.exports as Record<string, unknown>);
  const k = inst.exports as unknown as Kernels;
  if (k.static_end() > DEFAULT_SCRATCH || DEFAULT_SCRATCH + k.scratch_bytes() > INITIAL_PAGES * 65536) {
    throw new Error(`kernel static data (to ${k.static_end()}) or scratch (${k.scratch_bytes()} bytes from ${DEFAULT_SCRATCH}) outgrew the first ${INITIAL_PAGES} pages: move DEFAULT_SCRATCH / INITIAL_PAGES with asm/kernel-util.ts`);
  }
  return k;
}

/** The JS Layout enum must name the same layouts as the kernels' LAYOUT_* globals (asm/layout.ts). */
function checkLayoutIds(ex: Record<string, unknown>): void {
  const want: [string, Layout][] = [['LAYOUT_Q8X4', Layout.Q8x4], ['LAYOUT_Q4X4', Layout.Q4x4], ['LAYOUT_FLOAT', Layout.Float], ['LAYOUT_KX4', Layout.KX4]];
  for (const [name, id] of want) {
    const g = ex[name] as { value?: unknown } | undefined;
    if (g?.value !== id) throw new Error(`kernel module's ${name} is not ${id}: rebuild asm/ and protocol.ts together`);
  }
  const k = ex as unknown as Kernels;
  const cases: [Layout, DType][] = [[Layout.Q8x4, DType.Q8_0], [Layout.Q4x4, DType.Q4_0], [Layout.KX4, DType.Q4_K], [Layout.KX4, DType.Q5_K], [Layout.KX4, DType.Q6_K], [Layout.Float, DType.F16], [Layout.Float, DType.F32]];
  for (const [layout, dtype] of cases) {
    if (k.group_bytes(layout, dtype, 512) !== groupBytes(layout, dtype, 512)) throw new Error(`layout.ts's group size for layout ${layout} / type ${dtype} disagrees with the kernels'`);
  }
}
