/**
 * Cross-checks a config's counts against the tensors a file actually holds, before anything is
 * built per layer or sized by a count: a mutated `block_count = 2^31-1` or head count must fail
 * here, not after gigabytes of per-layer buffers. Only layer 0's shapes are checked (the loader
 * checks every tensor again when it reads weights); what matters here is that no count can
 * exceed what the file's bytes describe.
 */
import { BadConfigError, ShapeMismatchError } from '../errors/errors.js';
import type { TensorRecord } from '../formats/types.js';
import type { LlamaConfig } from './config.js';

interface Names {
  readonly layer: RegExp;
  readonly embed: string;
  readonly q: string;
  readonly k: string;
  readonly gate: string;
}

const NAMES: Readonly<Record<'gguf' | 'hf', Names>> = {
  gguf: { layer: /^blk\.(\d+)\./, embed: 'token_embd.weight', q: 'blk.0.attn_q.weight', k: 'blk.0.attn_k.weight', gate: 'blk.0.ffn_gate.weight' },
  hf: {
    layer: /^model\.layers\.(\d+)\./,
    embed: 'model.embed_tokens.weight',
    q: 'model.layers.0.self_attn.q_proj.weight',
    k: 'model.layers.0.self_attn.k_proj.weight',
    gate: 'model.layers.0.mlp.gate_proj.weight',
  },
};

/** Throws BadConfigError / ShapeMismatchError when `config` disagrees with the tensors present. */
export function checkConfigAgainstTensors(
  config: LlamaConfig,
  tensors: ReadonlyMap<string, TensorRecord>,
  layout: 'gguf' | 'hf',
  source: string,
): void {
  const n = NAMES[layout];
  const present = new Set<number>();
  let highest = -1;
  for (const name of tensors.keys()) {
    const m = n.layer.exec(name);
    if (!m) continue;
    const i = Number(m[1]);
    present.add(i);
    if (i > highest) highest = i;
  }
  const count = present.size;
  if (config.numLayers !== count || highest !== count - 1) {
    const held = count === 0 ? 'no layer tensors' : highest === count - 1 ? `tensors for ${count} layers` : `tensors for ${count} layers numbered up to ${highest}`;
    throw new BadConfigError(`${source} says ${config.numLayers} layers but the file holds ${held}`);
  }
  const expect = (name: string, shape: readonly number[]): void => {
    const t = tensors.get(name);
    if (t === undefined) return; // the weight loader names missing tensors
    if (t.shape.length !== shape.length || t.shape.some((d, i) => d !== shape[i])) throw new ShapeMismatchError(name, shape, t.shape);
  };
  const c = config;
  expect(n.embed, [c.vocabSize, c.hiddenSize]);
  expect(n.q, [c.numHeads * c.headDim, c.hiddenSize]);
  expect(n.k, [c.numKVHeads * c.headDim, c.hiddenSize]);
  expect(n.gate, [c.intermediateSize, c.hiddenSize]);
}
