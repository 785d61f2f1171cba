import { parseFileType } from '../convert/ftype.js';
import { requantizeGGUF } from '../convert/requantize.js';
import { checkOutput, summary, type ConvertCommandOptions } from './convert.js';
import { tensorProgress } from './progress.js';

/** `llama-ts quantize in.gguf out.gguf --type …` */
export function quantizeCommand(o: ConvertCommandOptions, out: (s: string) => void): void {
  const type = parseFileType(o.type);
  checkOutput(o.input, o.output, o.force);
  const p = tensorProgress('quantize', !o.quiet);
  try {
    const r = requantizeGGUF(o.input, o.output, { type, onProgress: (done, total, t, bytes) => p.onProgress(done, total, t.name, bytes) });
    p.stop();
    out(summary('wrote', o.output, r));
  } finally {
    p.stop();
  }
}
