import { availableParallelism } from 'node:os';
import type { Backend } from '../backend.js';
import { BadArgumentError } from '../../errors/errors.js';
import { Arena } from './arena.js';
import { WasmBackend } from './backend.js';
import { kernelMemory, loadKernelModule } from './module.js';
import { selectKernels } from './kernel-probe.js';
import { Pool } from './pool.js';

export { WasmBackend } from './backend.js';

export interface WasmBackendOptions {
  /** Compute threads including the calling one (default: os.availableParallelism()). */
  readonly threads?: number;
}

/**
 * Starts the WebAssembly backend: compiles the kernels (relaxed SIMD when the runtime allows,
 * else standard SIMD), creates one shared wasm32 memory per thread and threads − 1 workers.
 */
export async function createWasmBackend(options: WasmBackendOptions = {}): Promise<Backend & WasmBackend> {
  const threads = options.threads ?? availableParallelism();
  if (!Number.isInteger(threads) || threads < 1 || threads > 256) throw new BadArgumentError(`threads must be an integer in 1..256, got ${threads}`);
  const km = await loadKernelModule();
  const kernels = selectKernels(km.module, km.bytes, km.relaxed);
  const memories = Array.from({ length: threads }, () => kernelMemory());
  const arenas = memories.map((m, t) => new Arena(m, `wasm thread ${t} memory`));
  const pool = await Pool.start(threads, km.module, memories, arenas, kernels.choice);
  return new WasmBackend(pool, memories, arenas, km.module, km.relaxed, kernels);
}
