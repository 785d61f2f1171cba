import { DType } from '../../quant/dtype.js';
import { KernelChoiceError } from '../../errors/errors.js';

/**
 * Decode matvec kernels (Q6_K: the output matrix of most K-quant files) that come in several variants (asm/variants.ts), and the variants. Every
 * variant computes the same integer sums and rounds the same way; which is fastest depends on the
 * CPU (and on whether V8 lowers the relaxed dot-add to vpdpbusd there), so the loader times them
 * (kernel-probe.ts) unless LLAMA_TS_KERNELS names them.
 */
export const KERNEL_OPS = ['q8_0', 'q4_0', 'q4_k', 'q6_k'] as const;
export type KernelOp = (typeof KERNEL_OPS)[number];

/**
 * - `i16`: pmaddubsw-style pair dots widened with pmaddwd (or summed in i16 first where they fit);
 * - `dotadd`: `i32x4.relaxed_dot_i8x16_i7x16_add_s` (vpdpbusd where V8 has AVX-VNNI);
 * - `g2`: as `i16`, two 4-row groups per pass sharing each activation load.
 * Indices match the V_* constants in asm/variants.ts.
 */
export const KERNEL_VARIANTS = ['i16', 'dotadd', 'g2'] as const;
export type KernelVariant = (typeof KERNEL_VARIANTS)[number];

export type KernelChoice = Readonly<Record<KernelOp, KernelVariant>>;

export const DEFAULT_CHOICE: KernelChoice = { q8_0: 'i16', q4_0: 'i16', q4_k: 'i16', q6_k: 'i16' };

/** The part of the kernel exports this file drives. */
export interface VariantKernels {
  set_variant(op: number, variant: number): number;
  get_variant(op: number): number;
}

/**
 * Parses LLAMA_TS_KERNELS: empty or `auto` (probe, or the cached probe result); one variant name
 * for every op (`i16`); or `op=variant` pairs separated by commas (`q8_0=g2,q4_k=i16`), the ops
 * left out being probed. Returns the forced part.
 */
export function parseKernelSpec(spec: string | undefined): Partial<Record<KernelOp, KernelVariant>> {
  const s = (spec ?? '').trim();
  if (s === '' || s === 'auto') return {};
  if (isVariant(s)) return Object.fromEntries(KERNEL_OPS.map((op) => [op, s]));
  const out: Partial<Record<KernelOp, KernelVariant>> = {};
  for (const part of s.split(',')) {
    const [op, v, extra] = part.split('=').map((x) => x.trim());
    if (op === undefined || v === undefined || extra !== undefined || op === '' || v === '') {
      throw new KernelChoiceError(`"${part}" is not op=variant (ops: ${KERNEL_OPS.join(', ')}; variants: ${KERNEL_VARIANTS.join(', ')})`);
    }
    if (!isOp(op)) throw new KernelChoiceError(`unknown kernel op "${op}" (ops: ${KERNEL_OPS.join(', ')})`);
    if (!isVariant(v)) throw new KernelChoiceError(`unknown variant "${v}" for ${op} (variants: ${KERNEL_VARIANTS.join(', ')})`);
    if (out[op] !== undefined) throw new KernelChoiceError(`${op} is named twice`);
    out[op] = v;
  }
  return out;
}

function isOp(s: string): s is KernelOp {
  return (KERNEL_OPS as readonly string[]).includes(s);
}
function isVariant(s: string): s is KernelVariant {
  return (KERNEL_VARIANTS as readonly string[]).includes(s);
}

/** `q8_0=i16,q4_0=g2,q4_k=i16`: the form LLAMA_TS_KERNELS accepts, so a printed choice can be forced. */
export function formatChoice(c: KernelChoice): string {
  return KERNEL_OPS.map((op) => `${op}=${c[op]}`).join(',');
}

/**
 * Sets the choice in the memory under kernel instance k (asm/variants.ts): every instance over
 * that memory, a worker's included, runs it from the next op on.
 */
export function applyChoice(k: VariantKernels, c: KernelChoice): void {
  KERNEL_OPS.forEach((op, i) => {
    if (!k.set_variant(i, KERNEL_VARIANTS.indexOf(c[op]))) throw new Error(`kernel module rejects variant ${c[op]} for ${op}: rebuild asm/`);
  });
}

/** The op index asm/variants.ts uses (OP_Q8_0 …). */
export function opIndex(op: KernelOp): number {
  return KERNEL_OPS.indexOf(op);
}

/** The kernel op whose variant runs weights of ggml type `kind` (Q5_K has one kernel). */
export function kernelOpOf(kind: DType): KernelOp | undefined {
  return kind === DType.Q8_0 ? 'q8_0' : kind === DType.Q4_0 ? 'q4_0' : kind === DType.Q4_K ? 'q4_k' : kind === DType.Q6_K ? 'q6_k' : undefined;
}
