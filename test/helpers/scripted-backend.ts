import type { EvalBackend, GenerateRequest } from '../../src/eval/types.js';

/** A scripted eval backend: fixed outputs per prompt, to test extraction and scoring without a model. */
export class Scripted implements EvalBackend {
  readonly name = 'scripted';
  readonly contextSize = 128;
  seen: GenerateRequest[] = [];
  constructor(private readonly outputs: string[]) {}
  loglikelihood(): never {
    throw new Error('not used');
  }
  rolling(): never {
    throw new Error('not used');
  }
  async generate(reqs: readonly GenerateRequest[], onDone?: (i: number) => void): Promise<string[]> {
    this.seen.push(...reqs);
    reqs.forEach((_, i) => onDone?.(i));
    return reqs.map((_, i) => this.outputs[i]!);
  }
}
