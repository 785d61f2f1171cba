/**
 * Memory plans for Llama-shaped models at sizes no fixture has (8B, 70B, 1B), as `llama-ts info`
 * prints them, from synthetic tensor tables (bench/synthetic-llama.ts).
 *
 *   node dist/bench/memory-plan.js [--model 8b|70b|1b] [--quant Q4_K_M] [--ctx 8192] [-t 16] [--max-memory 64G] [--cache-type f32]
 *   (no --ctx: the largest context that fits)
 */
import { parseArgs } from 'node:util';
import { availableParallelism } from 'node:os';
import { planMemory, formatPlan, requireMemory, availableMemory, parseMemorySize } from '../src/model/memory-plan.js';
import { LlamaError } from '../src/errors/errors.js';
import { LLAMA_3_1_8B, LLAMA_3_1_70B, LLAMA_3_2_1B, syntheticTensors, type SyntheticQuant } from './synthetic-llama.js';

const { values } = parseArgs({
  options: {
    model: { type: 'string', default: '8b' },
    quant: { type: 'string', default: 'Q4_K_M' },
    ctx: { type: 'string' },
    t: { type: 'string', short: 't' },
    'max-memory': { type: 'string' },
    'cache-type': { type: 'string', default: 'f32' },
    backend: { type: 'string', default: 'wasm' },
  },
});
const config = { '8b': LLAMA_3_1_8B, '70b': LLAMA_3_1_70B, '1b': LLAMA_3_2_1B }[values.model as '8b' | '70b' | '1b'];
if (!config) throw new Error('--model is 8b, 70b or 1b');
const avail = availableMemory(values['max-memory'] !== undefined ? parseMemorySize(values['max-memory']) : undefined);
const input = {
  config,
  tensors: syntheticTensors(config, values.quant as SyntheticQuant),
  backend: values.backend as 'wasm' | 'ref',
  threads: values.t !== undefined ? Number(values.t) : availableParallelism(),
  contextSize: values.ctx !== undefined ? Number(values.ctx) : undefined,
  kvDType: values['cache-type'] as 'f32' | 'f16',
  available: avail.bytes,
  availableSource: avail.source,
};
process.stdout.write(`Llama ${values.model} shape, ${values.quant}:\n${formatPlan(planMemory(input))}\n`);
try {
  requireMemory(input);
} catch (e) {
  if (!(e instanceof LlamaError)) throw e;
  process.stdout.write(`\nrefused: [${e.code}] ${e.message}\n`);
}
