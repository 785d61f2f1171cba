import { openModelFiles } from '../model/load.js';
import { dtypeName } from '../quant/dtype.js';
import type { LlamaConfig } from '../config/config.js';
import { formatPlan } from '../model/memory-plan.js';
import { planFor, type CliPlanOptions } from './plan.js';
import { cpuInfo } from '../backend/wasm/cpu-info.js';
import { currentKernelSelection, formatChoice } from '../backend/wasm/kernel-probe.js';

export interface InfoOptions {
  readonly model: string;
  readonly tokenizer?: string;
  readonly json: boolean;
  /** Context the memory plan is for (default: the largest that fits). */
  readonly contextSize?: number;
  /** Backend, threads, KV type and memory limit the plan is for. */
  readonly plan?: Omit<CliPlanOptions, 'contextSize'>;
}

const mib = (b: number): string => `${(b / 2 ** 20).toFixed(2)} MiB`;

/** Bytes of one session's KV cache. */
export function kvCacheBytes(c: LlamaConfig, contextSize: number, bytesPerElem: number): number {
  return 2 * c.numLayers * contextSize * c.numKVHeads * c.headDim * bytesPerElem;
}

/** `llama-ts info`: config, tensor table and the memory the model needs, without loading weights. */
export async function infoCommand(o: InfoOptions, write: (s: string) => void): Promise<void> {
  const m = await openModelFiles(o.model, { tokenizer: o.tokenizer });
  try {
    const c = m.config;
    const plan = planFor(m, { ...o.plan, contextSize: o.contextSize }, false);
    const ctx = plan.contextSize;
    const tensors = [...m.tensors.values()];
    const weightBytes = tensors.reduce((a, t) => a + t.byteLength, 0);
    const kvF32 = kvCacheBytes(c, ctx, 4);
    const kvF16 = kvCacheBytes(c, ctx, 2);
    // The wasm backend's decode kernels for this machine (cached after the first probe).
    const sel = (o.plan?.backend ?? 'wasm') === 'wasm' ? await currentKernelSelection() : undefined;
    const cpu = cpuInfo();
    const kernels = sel ? { choice: formatChoice(sel.choice), source: sel.source, cpu: cpu.model, node: process.version } : null;
    const tokenizer = m.tokenizer ? { kind: m.tokenizer.kind, vocabSize: m.tokenizer.vocabSize, bos: m.tokenizer.bosId ?? null, eos: m.tokenizer.eosIds } : null;
    if (o.json) {
      write(
        JSON.stringify(
          {
            path: o.model,
            format: m.format,
            config: { ...c, ropeScaling: c.ropeScaling.type === 'freqs' ? { type: 'freqs', divisors: Array.from(c.ropeScaling.divisors) } : c.ropeScaling },
            tokenizer,
            hasChatTemplate: m.chatTemplate !== undefined,
            tensors: tensors.map((t) => ({ name: t.name, dtype: dtypeName(t.dtype), shape: t.shape, bytes: t.byteLength })),
            memory: { weightBytes, contextSize: ctx, kvCacheBytesF32: kvF32, kvCacheBytesF16: kvF16 },
            plan,
            kernels,
          },
          null,
          2,
        ) + '\n',
      );
      return;
    }
    const lines: string[] = [];
    lines.push(`model      ${o.model} (${m.format})`);
    lines.push(`arch       ${c.architecture}: ${c.numLayers} layers, hidden ${c.hiddenSize}, ffn ${c.intermediateSize}, heads ${c.numHeads} (kv ${c.numKVHeads}), head_dim ${c.headDim}`);
    lines.push(`vocab      ${c.vocabSize}  bos ${c.bosTokenId ?? '-'}  eos [${c.eosTokenIds.join(', ')}]  ${c.tiedEmbeddings ? 'tied output' : 'separate output'}`);
    const rs = c.ropeScaling;
    const scaling =
      rs.type === 'llama3'
        ? `llama3 (factor ${rs.factor}, low ${rs.lowFreqFactor}, high ${rs.highFreqFactor}, original ${rs.originalMaxPositionEmbeddings})`
        : rs.type === 'freqs'
          ? `rope_freqs [${Array.from(rs.divisors, (x) => +x.toPrecision(6)).join(', ')}]`
          : rs.type === 'linear'
            ? `linear ×${rs.factor}`
            : 'none';
    lines.push(`rope       theta ${c.ropeTheta}, scaling ${scaling}; context ${c.contextLength}; rms eps ${c.rmsNormEps}`);
    lines.push(`tokenizer  ${tokenizer ? `${tokenizer.kind}, ${tokenizer.vocabSize} tokens` : 'none'}${m.chatTemplate ? ', chat template' : ''}`);
    lines.push('');
    const w = Math.max(4, ...tensors.map((t) => t.name.length));
    lines.push(`${'name'.padEnd(w)}  ${'dtype'.padEnd(7)}  ${'shape'.padEnd(16)}  bytes`);
    for (const t of tensors) lines.push(`${t.name.padEnd(w)}  ${dtypeName(t.dtype).padEnd(7)}  ${`[${t.shape.join(', ')}]`.padEnd(16)}  ${t.byteLength}`);
    lines.push('');
    lines.push(`memory     weights ${mib(weightBytes)}; KV cache for ${ctx} tokens: ${mib(kvF32)} (f32) / ${mib(kvF16)} (f16)`);
    lines.push(formatPlan(plan));
    if (kernels) lines.push(`kernels    ${kernels.choice} (${kernels.source}; ${kernels.cpu}, node ${kernels.node})`);
    write(lines.join('\n') + '\n');
  } finally {
    m.close();
  }
}
