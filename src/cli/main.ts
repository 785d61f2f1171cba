import { Command, InvalidArgumentError, CommanderError } from 'commander';
import { LlamaError } from '../errors/errors.js';
import type { BackendName } from '../model/load.js';

const out = (s: string): void => {
  process.stdout.write(s);
};

function int(name: string) {
  return (v: string): number => {
    const n = Number(v);
    if (!Number.isInteger(n)) throw new InvalidArgumentError(`${name} must be an integer`);
    return n;
  };
}
function num(name: string) {
  return (v: string): number => {
    const n = Number(v);
    if (!Number.isFinite(n)) throw new InvalidArgumentError(`${name} must be a number`);
    return n;
  };
}
function ids(v: string): number[] {
  const parts = v.split(/[\s,]+/).filter(Boolean);
  const r = parts.map(Number);
  if (r.length === 0 || r.some((x) => !Number.isInteger(x) || x < 0)) throw new InvalidArgumentError('--ids takes comma-separated non-negative integers');
  return r;
}
function backend(v: string): BackendName {
  if (v !== 'ref' && v !== 'wasm') throw new InvalidArgumentError("--backend is 'wasm' or 'ref'");
  return v;
}
const collect = (v: string, prev: string[]): string[] => [...prev, v];
function kvType(v: string): 'f32' | 'f16' {
  if (v !== 'f32' && v !== 'f16') throw new InvalidArgumentError("--cache-type is 'f32' or 'f16'");
  return v;
}

export function buildProgram(): Command {
  const program = new Command('llama-ts')
    .description('Llama 3.x / 2 inference in TypeScript')
    .exitOverride()
    .configureOutput({ writeOut: (s) => process.stdout.write(s), writeErr: (s) => process.stderr.write(s) });

  program
    .command('run')
    .description('generate text from a prompt (streams to stdout)')
    .requiredOption('-m, --model <path>', 'GGUF file, HF folder / .safetensors, or llama2.c .bin')
    .option('-p, --prompt <text>', 'prompt text')
    .option('--ids <ids>', 'prompt as token ids, e.g. 1,2,3', ids)
    .option('-n, --n-predict <n>', 'tokens to generate', int('-n'), 128)
    .option('--temp <t>', 'temperature (0 = greedy)', num('--temp'), 0)
    .option('--top-k <k>', 'top-k (0 = off)', int('--top-k'), 0)
    .option('--top-p <p>', 'top-p (1 = off)', num('--top-p'), 1)
    .option('--min-p <p>', 'min-p (0 = off)', num('--min-p'), 0)
    .option('--repeat-penalty <x>', 'repetition penalty (1 = off)', num('--repeat-penalty'), 1)
    .option('-s, --seed <n>', 'sampling seed', int('--seed'))
    .option('--stop <text>', 'stop string (repeatable)', collect, [])
    .option('--ignore-eos', 'keep generating past end-of-sequence tokens', false)
    .option('--no-bos', 'do not prepend BOS to a text prompt')
    .option('--specials', 'parse special-token text in the prompt (e.g. <|eot_id|>)', false)
    .option('-c, --ctx-size <n>', 'context size in tokens', int('--ctx-size'))
    .option('--tokenizer <path>', 'tokenizer file (llama2.c tokenizer.bin, tokenizer.json, …)')
    .option('--backend <name>', 'wasm | ref', backend, 'wasm')
    .option('-t, --threads <n>', 'worker threads', int('--threads'))
    .option('--cache-type <t>', 'KV cache element type: f32 | f16', kvType, 'f32')
    .option('--json', 'print { ids, text, timings } instead of streaming', false)
    .action(async (o) => {
      const { runCommand } = await import('./run.js');
      await runCommand(
        {
          model: o.model,
          prompt: o.prompt,
          ids: o.ids,
          n: o.nPredict,
          temperature: o.temp,
          topK: o.topK,
          topP: o.topP,
          minP: o.minP,
          repetitionPenalty: o.repeatPenalty,
          seed: o.seed,
          stop: o.stop,
          json: o.json,
          backend: o.backend,
          threads: o.threads,
          kvDType: o.cacheType,
          contextSize: o.ctxSize,
          tokenizer: o.tokenizer,
          bos: o.bos === false ? false : undefined,
          specials: o.specials,
          ignoreEos: o.ignoreEos,
        },
        out,
      );
    });

  program
    .command('info')
    .description('print config, tensor table and memory needs (reads no weights)')
    .requiredOption('-m, --model <path>', 'model path')
    .option('--tokenizer <path>', 'tokenizer file')
    .option('-c, --ctx-size <n>', 'context size for the memory estimate', int('--ctx-size'))
    .option('--json', 'machine-readable output', false)
    .action(async (o) => {
      const { infoCommand } = await import('./info.js');
      await infoCommand({ model: o.model, tokenizer: o.tokenizer, json: o.json, contextSize: o.ctxSize }, out);
    });

  program
    .command('tokenize')
    .description('print the token ids of a text')
    .requiredOption('-m, --model <path>', 'model, tokenizer file or folder')
    .argument('<text>', 'text to tokenize')
    .option('-v, --verbose', 'print id and piece per line', false)
    .option('--specials', 'parse special-token text', false)
    .option('--bos', 'prepend BOS', false)
    .action(async (text: string, o) => {
      const { tokenizeCommand } = await import('./tokenize.js');
      await tokenizeCommand({ model: o.model, text, verbose: o.verbose, specials: o.specials, bos: o.bos }, out);
    });

  program
    .command('chat')
    .description('interactive chat with the model’s own template')
    .requiredOption('-m, --model <path>', 'model path')
    .option('--system <text>', 'system prompt (kept across turns and /reset)')
    .option('-n, --n-predict <n>', 'max tokens per reply', int('-n'), 512)
    .option('--temp <t>', 'temperature', num('--temp'), 0.7)
    .option('-s, --seed <n>', 'sampling seed', int('--seed'))
    .option('-c, --ctx-size <n>', 'context size in tokens', int('--ctx-size'))
    .option('--backend <name>', 'wasm | ref', backend, 'wasm')
    .option('-t, --threads <n>', 'worker threads', int('--threads'))
    .action(async (o) => {
      const { loadModel } = await import('../model/load.js');
      const { chatCommand } = await import('./chat.js');
      const model = await loadModel(o.model, { backend: o.backend, threads: o.threads });
      try {
        await chatCommand(model, { system: o.system, maxTokens: o.nPredict, temperature: o.temp, seed: o.seed, contextSize: o.ctxSize });
      } finally {
        await model.dispose();
      }
    });

  program
    .command('bench')
    .description('prompt-processing and generation speed (like llama-bench)')
    .requiredOption('-m, --model <path>', 'model path')
    .option('-p, --n-prompt <n>', 'prompt tokens', int('-p'), 512)
    .option('-n, --n-gen <n>', 'generated tokens', int('-n'), 128)
    .option('-t, --threads <n>', 'worker threads', int('--threads'))
    .option('-r, --reps <n>', 'repetitions', int('--reps'), 3)
    .option('--backend <name>', 'wasm | ref', backend, 'wasm')
    .option('--json', 'one JSON object', false)
    .action(async (o) => {
      const { benchCommand } = await import('./bench.js');
      await benchCommand({ model: o.model, p: o.nPrompt, n: o.nGen, threads: o.threads, reps: o.reps, json: o.json, backend: o.backend }, out);
    });

  program
    .command('eval')
    .description('evaluate a model: perplexity, multiple choice (lm-evaluation-harness conventions)')
    .requiredOption('-m, --model <path>', 'model path, or an OpenAI-compatible endpoint URL (http://host:port)')
    .requiredOption('--task <name>', 'perplexity | mc | a built-in task (mmlu, arc_challenge, hellaswag, winogrande, gsm8k, *_llama) | a .json/.yaml definition')
    .option('--data <file>', 'dataset: text file / JSONL (perplexity), JSONL (mc)')
    .option('--limit <n>', 'evaluate at most n items (perplexity: windows per document)', int('--limit'))
    .option('--json', 'print only the result JSON on stdout', false)
    .option('--ctx <n>', 'perplexity window in tokens (default: the model context)', int('--ctx'))
    .option('--stride <n>', 'perplexity window advance (default ctx/2)', int('--stride'))
    .option('--field <name>', 'perplexity on JSONL: the text field', 'text')
    .option('--records <file>', 'write per-item JSON records (prompt, scores) to a JSONL file')
    .option('--concurrency <n>', 'requests in flight (batched by the engine)', int('--concurrency'))
    .option('--num-fewshot <n>', 'override the task definition\'s few-shot count', int('--num-fewshot'))
    .option('--compare <what>', "'published': Meta's Llama 3.1 figure for the task beside the result")
    .option('--model-name <id>', 'endpoint: the model field of requests (default: first of /v1/models)')
    .option('--api-key <key>', 'endpoint: bearer token')
    .option('--fewshot-data <file>', 'few-shot pool file (default: the definition\'s fewshot_split beside --data)')
    .option('--no-progress', 'no progress bar')
    .option('--backend <name>', 'wasm | ref', backend, 'wasm')
    .option('-t, --threads <n>', 'worker threads', int('--threads'))
    .action(async (o) => {
      const { evalCommand } = await import('./eval.js');
      await evalCommand(
        { model: o.model, task: o.task, data: o.data, limit: o.limit, json: o.json, ctx: o.ctx, stride: o.stride, field: o.field, records: o.records, concurrency: o.concurrency, numFewshot: o.numFewshot, fewshotData: o.fewshotData, modelName: o.modelName, apiKey: o.apiKey, compare: o.compare, backend: o.backend, threads: o.threads, progress: o.progress },
        out,
      );
    });

  return program;
}

/** Runs the CLI; returns the exit code (0 ok, 1 error, 2 usage). */
export async function main(argv: readonly string[]): Promise<number> {
  const program = buildProgram();
  try {
    await program.parseAsync([...argv], { from: 'user' });
    return 0;
  } catch (e) {
    if (e instanceof CommanderError) return e.exitCode === 0 ? 0 : 2;
    if (e instanceof LlamaError) {
      process.stderr.write(`error [${e.code}]: ${e.message}\n`);
      return 1;
    }
    throw e;
  }
}
