import { resolveModel } from '../hub/resolve.js';
import { existsSync } from 'node:fs';
import { convertHFToGGUF, type ConvertResult } from '../convert/hf-to-gguf.js';
import { parseFileType } from '../convert/ftype.js';
import { defaultThreads } from '../convert/quant-pool.js';
import { BadArgumentError } from '../errors/errors.js';
import { tensorProgress } from './progress.js';

export interface ConvertCommandOptions {
  readonly input: string;
  readonly output: string;
  readonly type: string;
  readonly tokenizer?: string;
  readonly force?: boolean;
  readonly quiet?: boolean;
  /** Quantizing threads (default: every core, at most 16). */
  readonly threads?: number;
}

export function summary(label: string, out: string, r: ConvertResult): string {
  const counts = new Map<string, number>();
  for (const t of r.types.values()) counts.set(t, (counts.get(t) ?? 0) + 1);
  const mix = [...counts].map(([t, n]) => `${n} ${t}`).join(', ');
  return `${label} ${out}: ${r.tensors} tensors (${mix}), ${(r.bytes / 2 ** 20).toFixed(1)} MiB of tensor data\n`;
}

export function checkOutput(input: string, output: string, force: boolean | undefined): void {
  if (!output) throw new BadArgumentError('give the output file with -o <file.gguf>');
  if (output === input) throw new BadArgumentError('the output file must differ from the input');
  if (existsSync(output) && !force) throw new BadArgumentError(`${output} exists; pass --force to overwrite it`);
}

/** `llama-ts convert <hf-folder> -o out.gguf --type …` */
export async function convertCommand(o: ConvertCommandOptions, out: (s: string) => void): Promise<void> {
  const type = parseFileType(o.type);
  checkOutput(o.input, o.output, o.force);
  // An hf:owner/repo folder reference is fetched (or found in the cache) first.
  const input = await resolveModel(o.input);
  const p = tensorProgress('convert', !o.quiet);
  try {
    const r = await convertHFToGGUF(input, o.output, {
      type,
      threads: o.threads ?? defaultThreads(),
      ...(o.tokenizer === undefined ? {} : { tokenizer: o.tokenizer }),
      onProgress: (done, total, t, bytes, de, te) => p.onProgress(done, total, t.name, bytes, de, te),
    });
    p.stop();
    out(summary('wrote', o.output, r));
  } finally {
    p.stop();
  }
}
