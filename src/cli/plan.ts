import { openModelFiles, type BackendName, type OpenedModel } from '../model/load.js';
import { checkModelFits, type MemoryPlan } from '../model/memory-plan.js';

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
  return checkModelFits(m, o, strict);
}

/** Checks that a model fits before loading it (the plan's contextSize is the context to use). */
export async function checkFits(path: string, o: CliPlanOptions & { tokenizer?: string }): Promise<MemoryPlan> {
  const m = await openModelFiles(path, { tokenizer: o.tokenizer });
  try {
    return planFor(m, o, true);
  } finally {
    m.close();
  }
}
