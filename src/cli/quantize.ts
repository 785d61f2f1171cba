import { parseFileType } from '../convert/ftype.js';
import { defaultThreads } from '../convert/quant-pool.js';
import { requantizeGGUF } from '../convert/requantize.js';
import { checkOutput, summary, type ConvertCommandOptions } from './convert.js';
import { tensorProgress } from './progress.js';

/** `llama-ts quantize in.gguf out.gguf --type …` */
export async function quantizeCommand(o: ConvertCommandOptions, out: (s: string) => void): Promise<void> {
  const type = parseFileType(o.type);
  checkOutput(o.input, o.output, o.force);
  const p = tensorProgress('quantize', !o.quiet);
  try {
    const r = await requantizeGGUF(o.input, o.output, { type, threads: o.threads ?? defaultThreads(), onProgress: (done, total, t, bytes, de, te) => p.onProgress(done, total, t.name, bytes, de, te) });
    p.stop();
    out(summary('wrote', o.output, r));
  } finally {
    p.stop();
  }
}
