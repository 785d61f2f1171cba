import { availableParallelism } from 'node:os';
import { openModelFiles, type BackendName, type OpenedModel } from '../model/load.js';
import { availableMemory, planMemory, requireMemory, type MemoryPlan } from '../model/memory-plan.js';

export interface CliPlanOptions {
  readonly backend?: BackendName;
  readonly threads?: number;
  readonly kvDType?: 'f32' | 'f16';
  readonly contextSize?: number;
  /** --max-memory in bytes (default: free memory). */
  readonly maxMemory?: number;
}

/** The memory plan for an opened model and CLI settings; `strict` throws OUT_OF_MEMORY when it does not fit. */
export function planFor(m: OpenedModel, o: CliPlanOptions, strict: boolean): MemoryPlan {
  const avail = availableMemory(o.maxMemory);
  const input = {
    config: m.config,
    tensors: m.tensors.values(),
    backend: o.backend ?? 'wasm',
    threads: o.threads ?? availableParallelism(),
    contextSize: o.contextSize,
    kvDType: o.kvDType ?? 'f32',
    available: avail.bytes,
    availableSource: avail.source,
  } as const;
  // tensors is an iterator: give each call its own.
  return strict ? requireMemory({ ...input, tensors: [...m.tensors.values()] }) : planMemory({ ...input, tensors: [...m.tensors.values()] });
}

/** Checks that a model fits before loading it; returns the context to use. */
export async function checkFits(path: string, o: CliPlanOptions & { tokenizer?: string }): Promise<MemoryPlan> {
  const m = await openModelFiles(path, { tokenizer: o.tokenizer });
  try {
    return planFor(m, o, true);
  } finally {
    m.close();
  }
}
