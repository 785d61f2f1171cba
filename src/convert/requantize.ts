/**
 * GGUF → GGUF in another file type (`llama-ts quantize`): metadata copied with its on-disk types
 * (general.file_type and general.quantization_version updated), tensors kept in file order, each
 * 2-D weight dequantized to float32 and quantized to the type llama.cpp's mix would give it;
 * tensors already in that type, and 1-D tensors, are copied byte for byte.
 */
import { NotAModelError } from '../errors/errors.js';
import { readGGUF } from '../formats/gguf.js';
import { GGUFValueType, type GGUFType } from '../formats/gguf-types.js';
import type { GGUFValue } from '../formats/types.js';
import { dtypeName } from '../quant/dtype.js';
import { tensorType, type FileType, type MixContext } from './ftype.js';
import type { ConvertResult } from './hf-to-gguf.js';
import { writeModel, type PlannedTensor, type WriteProgress } from './pipeline.js';
import { fileRows } from './rows.js';

export async function requantizeGGUF(input: string, out: string, opts: { readonly type: FileType; readonly onProgress?: WriteProgress; readonly threads?: number }): Promise<ConvertResult> {
  const f = readGGUF(input);
  try {
    const arch = f.metadata.get('general.architecture');
    if (arch !== 'llama') throw new NotAModelError(input, `architecture ${JSON.stringify(arch)}: only llama GGUFs are requantized`);
    const num = (k: string): number => Number(f.metadata.get(k) ?? 0);
    const names = new Set(f.tensors.map((t) => t.name));
    const layers = num('llama.block_count');
    const ctx: MixContext = {
      numLayers: layers,
      hasOutput: names.has('output.weight'),
      is70B: layers === 80 && num('llama.attention.head_count') !== num('llama.attention.head_count_kv'),
    };
    const metadata = new Map<string, GGUFValue>();
    const types = new Map<string, GGUFType>();
    for (const [k, v] of f.metadata) {
      if (k === 'general.alignment') continue;
      metadata.set(k, v);
      types.set(k, f.metadataTypes.get(k)!);
    }
    const u32: GGUFType = { type: GGUFValueType.UINT32 };
    metadata.set('general.file_type', opts.type.id);
    types.set('general.file_type', u32);
    metadata.set('general.quantization_version', 2);
    types.set('general.quantization_version', u32);
    const plan: PlannedTensor[] = f.tensors.map((t) => {
      const want = t.shape.length < 2 ? t.dtype : tensorType(t.name, t.shape, opts.type, ctx);
      return { name: t.name, type: want, shape: t.shape, source: want === t.dtype ? { copy: t } : fileRows(t) };
    });
    const bytes = await writeModel(out, metadata, types, plan, opts.onProgress, opts.threads ?? 1);
    return { tensors: plan.length, bytes, types: new Map(plan.map((t) => [t.name, dtypeName(t.type)])) };
  } finally {
    f.close();
  }
}
