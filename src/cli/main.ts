import { Command, InvalidArgumentError, CommanderError } from 'commander';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { LlamaError } from '../errors/errors.js';
import type { BackendName } from '../model/load.js';
import { DEFAULT_MODEL } from '../hub/default-model.js';
import { parseMemorySize } from '../model/memory-plan.js';

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

function memSize(v: string): number {
  const n = parseMemorySize(v);
  if (n === undefined || n <= 0) throw new InvalidArgumentError('--max-memory takes a size such as 12G, 8000M or a byte count');
  return n;
}

/** The package version, from the package.json above this file (dist/src/cli or src/cli). */
export function packageVersion(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const p = join(dir, 'package.json');
    if (existsSync(p)) {
      const pkg = JSON.parse(readFileSync(p, 'utf8')) as { name?: string; version?: string };
      if (pkg.name === 'llama-ts' && pkg.version) return pkg.version;
    }
    const up = dirname(dir);
    if (up === dir) return 'unknown';
    dir = up;
  }
}

export function buildProgram(): Command {
  const program = new Command('llama-ts')
    .description('Llama 3.x / 2 inference in TypeScript')
    .version(packageVersion(), '-V, --version', 'print the version')
    .exitOverride()
    .configureOutput({ writeOut: (s) => process.stdout.write(s), writeErr: (s) => process.stderr.write(s) });

  program
    .command('run')
    .description('generate text from a prompt (streams to stdout)')
    .option('-m, --model <path>', `GGUF file, HF folder / .safetensors, llama2.c .bin, or hf:<owner>/<repo>[:<quant>] (default: ${DEFAULT_MODEL})`)
    .option('-p, --prompt <text>', 'prompt text (else -f, --ids, or stdin)')
    .option('-f, --file <path>', 'read the prompt from a file')
    .option('--ids <ids>', 'prompt as token ids, e.g. 1,2,3', ids)
    .option('--system <text>', 'system prompt (models with a chat template)')
    .option('--raw', 'plain completion: do not apply the chat template', false)
    .option('--json-schema <file>', 'constrain the output to JSON matching this JSON Schema')
    .option('--grammar <file>', 'constrain the output to this GBNF grammar (llama.cpp format)')
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
    .option('--json', 'print { prompt_ids, ids, text, finish_reason, stopped_by, context_size, timings } instead of streaming', false)
    .option('--max-memory <size>', 'memory the run may use, e.g. 12G (default: free memory)', memSize)
    .option('-v, --verbose', 'timing summary on stderr (load, prompt and generation tokens/s)', false)
    .option('--draft-model <ref>', 'speculative decoding: a smaller model with the same vocabulary drafts tokens this model verifies')
    .option('--draft-max <k>', 'most tokens drafted per step (K adapts below it)', int('--draft-max'))
    .option('--lookup', 'speculative decoding with prompt lookup: draft by copying earlier n-grams of the prompt and output', false)
    .option('--check-tensors', 'scan the weights for NaN/Inf before loading', false)
    .action(async (o) => {
      const { runCommand } = await import('./run.js');
      await runCommand(
        {
          model: o.model,
          maxMemory: o.maxMemory,
          prompt: o.prompt,
          file: o.file,
          system: o.system,
          raw: o.raw,
          jsonSchema: o.jsonSchema,
          grammar: o.grammar,
          verbose: o.verbose,
          checkTensors: o.checkTensors,
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
          draftModel: o.draftModel,
          draftMax: o.draftMax,
          lookup: o.lookup,
        },
        out,
      );
    });

  program
    .command('info')
    .description('print config, tensor table and memory needs (reads no weights)')
    .requiredOption('-m, --model <path>', 'model path or hf: reference')
    .option('--tokenizer <path>', 'tokenizer file')
    .option('-c, --ctx-size <n>', 'context size for the memory plan (default: the largest that fits)', int('--ctx-size'))
    .option('--ctx <n>', 'same as --ctx-size', int('--ctx'))
    .option('--backend <name>', 'backend the plan is for: wasm | ref', backend, 'wasm')
    .option('-t, --threads <n>', 'wasm threads the plan is for', int('--threads'))
    .option('--cache-type <t>', 'KV cache element type: f32 | f16', kvType, 'f32')
    .option('--max-memory <size>', 'memory to plan against, e.g. 12G (default: free memory)', memSize)
    .option('--json', 'machine-readable output', false)
    .option('--check-tensors', 'scan the weights for NaN/Inf first', false)
    .action(async (o) => {
      const { infoCommand } = await import('./info.js');
      const { cliModelPath } = await import('./model-ref.js');
      const model = await cliModelPath(o.model, { allowDefault: false, quiet: o.json });
      if (o.checkTensors) await (await import('./progress.js')).checkModelTensors(model, { tokenizer: o.tokenizer });
      await infoCommand(
        { model, tokenizer: o.tokenizer, json: o.json, contextSize: o.ctx ?? o.ctxSize, plan: { backend: o.backend, threads: o.threads, kvDType: o.cacheType, maxMemory: o.maxMemory } },
        out,
      );
    });

  program
    .command('tokenize')
    .description('print the token ids of a text')
    .requiredOption('-m, --model <path>', 'model, tokenizer file or folder, or hf: reference')
    .argument('<text>', 'text to tokenize')
    .option('-v, --verbose', 'one line per token: id, piece, readable text', false)
    .option('--specials', 'parse special-token text', false)
    .option('--bos', 'prepend BOS', false)
    .action(async (text: string, o) => {
      const { tokenizeCommand } = await import('./tokenize.js');
      const { cliModelPath } = await import('./model-ref.js');
      const model = await cliModelPath(o.model, { allowDefault: false, quiet: true });
      await tokenizeCommand({ model, text, verbose: o.verbose, specials: o.specials, bos: o.bos }, out);
    });

  program
    .command('chat')
    .description('interactive chat with the model’s own template')
    .option('-m, --model <path>', `model path or hf: reference (default: ${DEFAULT_MODEL})`)
    .option('--system <text>', 'system prompt (kept across turns and /reset)')
    .option('-n, --n-predict <n>', 'max tokens per reply', int('-n'), 512)
    .option('--temp <t>', 'temperature', num('--temp'), 0.7)
    .option('-s, --seed <n>', 'sampling seed', int('--seed'))
    .option('-c, --ctx-size <n>', 'context size in tokens', int('--ctx-size'))
    .option('--backend <name>', 'wasm | ref', backend, 'wasm')
    .option('-t, --threads <n>', 'worker threads', int('--threads'))
    .option('--max-memory <size>', 'memory the chat may use, e.g. 12G (default: free memory)', memSize)
    .option('--tokenizer <path>', 'tokenizer file')
    .option('--draft-model <ref>', 'speculative decoding: a smaller model with the same vocabulary drafts tokens this model verifies')
    .option('--draft-max <k>', 'most tokens drafted per step (K adapts below it)', int('--draft-max'))
    .option('--lookup', 'speculative decoding with prompt lookup: draft by copying earlier n-grams of the prompt and output', false)
    .option('--check-tensors', 'scan the weights for NaN/Inf before loading', false)
    .action(async (o) => {
      const { loadModelForCli } = await import('./progress.js');
      const { chatCommand } = await import('./chat.js');
      const { cliModelPath } = await import('./model-ref.js');
      const { checkFits } = await import('./plan.js');
      const { availableParallelism } = await import('node:os');
      const path = await cliModelPath(o.model, { allowDefault: true });
      const plan = await checkFits(path, { backend: o.backend, threads: o.threads, contextSize: o.ctxSize, maxMemory: o.maxMemory, tokenizer: o.tokenizer });
      const { model } = await loadModelForCli(path, { backend: o.backend, threads: o.threads, tokenizer: o.tokenizer, checkTensors: o.checkTensors });
      const { loadDraftForCli } = await import('./draft.js');
      let spec: Awaited<ReturnType<typeof loadDraftForCli>> | undefined;
      try {
        spec = await loadDraftForCli({ draftModel: o.draftModel, draftMax: o.draftMax, lookup: o.lookup }, model, { backend: o.backend, threads: o.threads, tokenizer: o.tokenizer });
        await chatCommand(model, {
          ...(spec.draft !== undefined ? { draft: spec.draft } : {}),
          ...(spec.draftMax !== undefined ? { draftMax: spec.draftMax } : {}),
          system: o.system,
          maxTokens: o.nPredict,
          temperature: o.temp,
          seed: o.seed,
          contextSize: plan.contextSize,
          banner: { model: path, backend: o.backend, threads: o.backend === 'ref' ? 1 : (o.threads ?? availableParallelism()) },
        });
      } finally {
        await spec?.dispose();
        await model.dispose();
      }
    });

  program
    .command('pull')
    .description('download a model into the cache (hf: prefix optional): owner/repo, owner/repo:Q4_K_M, owner/repo:file.gguf, …@revision')
    .argument('<ref>', 'model reference')
    .option('-q, --quiet', 'no progress output', false)
    .action(async (ref: string, o) => {
      const { pullCommand } = await import('./pull.js');
      await pullCommand(ref, { quiet: o.quiet }, out);
    });

  program
    .command('list')
    .description('cached models: reference, files, size, last used')
    .option('--json', 'machine-readable output', false)
    .action(async (o) => {
      const { listCommand } = await import('./list.js');
      listCommand({ json: o.json }, out);
    });

  program
    .command('rm')
    .description('remove a cached model (owner/repo: all of it; owner/repo:Q4_K_M: that quant)')
    .argument('<ref>', 'model reference')
    .action(async (ref: string) => {
      const { rmCommand } = await import('./rm.js');
      rmCommand(ref, out);
    });

  program
    .command('bench')
    .description('prompt-processing and generation speed (like llama-bench)')
    .requiredOption('-m, --model <path>', 'model path or hf: reference')
    .option('-p, --n-prompt <n>', 'prompt tokens', int('-p'), 512)
    .option('-n, --n-gen <n>', 'generated tokens', int('-n'), 128)
    .option('-t, --threads <n>', 'worker threads', int('--threads'))
    .option('-r, --reps <n>', 'repetitions', int('--reps'), 3)
    .option('--backend <name>', 'wasm | ref', backend, 'wasm')
    .option('--json', 'one JSON object', false)
    .option('--check-tensors', 'scan the weights for NaN/Inf before loading', false)
    .action(async (o) => {
      const { benchCommand } = await import('./bench.js');
      const { cliModelPath } = await import('./model-ref.js');
      const model = await cliModelPath(o.model, { allowDefault: false, quiet: o.json });
      if (o.checkTensors) await (await import('./progress.js')).checkModelTensors(model);
      await benchCommand({ model, p: o.nPrompt, n: o.nGen, threads: o.threads, reps: o.reps, json: o.json, backend: o.backend }, out);
    });

  program
    .command('serve')
    .description('OpenAI-compatible HTTP server with a chat page')
    .option('-m, --model <path>', 'model path or hf:owner/repo[:quant] (default: a small Llama 3.2 Instruct)')
    .option('--host <host>', 'address to listen on', '127.0.0.1')
    .option('--port <n>', 'port', int('--port'), 8080)
    .option('--parallel <n>', 'sequences decoded together', int('--parallel'), 4)
    .option('--queue <n>', 'requests that may wait for a sequence (more get 429)', int('--queue'), 64)
    .option('-c, --ctx <n>', 'context per sequence in tokens', int('--ctx'))
    .option('--api-key <key>', 'require this bearer key on /v1 routes')
    .option('--cors <origin>', "allow this browser origin ('*' for any)")
    .option('--backend <name>', 'wasm | ref', backend, 'wasm')
    .option('-t, --threads <n>', 'worker threads', int('--threads'))
    .option('--cache-type <t>', 'KV cache element type: f32 | f16', kvType, 'f32')
    .option('--tokenizer <path>', 'tokenizer file')
    .option('--grace <s>', 'seconds to let running requests finish on SIGTERM', num('--grace'), 10)
    .option('--escalate-to <ref-or-url>', 'verify-or-escalate: a bigger model (path, hf: reference) or an OpenAI-compatible URL (docs/cascade.md)')
    .option('--escalate-policy <policy>', 'preset (balanced, strict, always-verify, always-escalate), inline JSON, or a JSON file')
    .option('--escalate-api-key <key>', 'bearer key for an --escalate-to URL (or LLAMA_TS_ESCALATE_API_KEY)')
    .option('--escalate-model <name>', 'model field sent to an --escalate-to URL (default: its first model)')
    .option('--draft-model <ref>', 'speculative decoding: a smaller model with the same vocabulary drafts tokens this model verifies')
    .option('--draft-max <k>', 'most tokens drafted per step (K adapts below it)', int('--draft-max'))
    .option('--lookup', 'speculative decoding with prompt lookup: draft by copying earlier n-grams of the prompt and output', false)
    .action(async (o) => {
      const { serveCommand } = await import('./serve.js');
      await serveCommand(
        { model: o.model, host: o.host, port: o.port, parallel: o.parallel, queue: o.queue, contextSize: o.ctx, apiKey: o.apiKey ?? process.env.LLAMA_TS_API_KEY, cors: o.cors, backend: o.backend, threads: o.threads, kvDType: o.cacheType, tokenizer: o.tokenizer, grace: o.grace,
          escalateTo: o.escalateTo, escalatePolicy: o.escalatePolicy, escalateApiKey: o.escalateApiKey ?? process.env.LLAMA_TS_ESCALATE_API_KEY, escalateModel: o.escalateModel, draftModel: o.draftModel, draftMax: o.draftMax, lookup: o.lookup },
        (s) => process.stderr.write(s),
      );
    });

  program
    .command('convert')
    .description('Hugging Face Llama folder → GGUF (f32, f16, bf16, q8_0, q4_0, q4_k_m, q5_k_m, q6_k)')
    .argument('<hf-folder>', 'folder with config.json and safetensors')
    .requiredOption('-o, --output <file>', 'GGUF file to write')
    .option('--type <type>', 'f32 | f16 | bf16 | q8_0 | q4_0 | q4_k_m | q5_k_m | q6_k', 'f16')
    .option('--tokenizer <path>', 'tokenizer.json, tokenizer.model, a folder or a .gguf to take the vocabulary from')
    .option('-f, --force', 'overwrite the output file', false)
    .option('-q, --quiet', 'no progress output', false)
    .option('-t, --threads <n>', 'quantizing threads (default: all cores, at most 16)', int('--threads'))
    .action(async (input: string, o) => {
      const { convertCommand } = await import('./convert.js');
      await convertCommand({ input, output: o.output, type: o.type, tokenizer: o.tokenizer, force: o.force, quiet: o.quiet, threads: o.threads }, out);
    });

  program
    .command('quantize')
    .description('GGUF → GGUF of another type (requantized from float32, llama.cpp mixes)')
    .argument('<in.gguf>', 'input GGUF')
    .argument('<out.gguf>', 'output GGUF')
    .option('--type <type>', 'f32 | f16 | bf16 | q8_0 | q4_0 | q4_k_m | q5_k_m | q6_k', 'q4_k_m')
    .option('-f, --force', 'overwrite the output file', false)
    .option('-q, --quiet', 'no progress output', false)
    .option('-t, --threads <n>', 'quantizing threads (default: all cores, at most 16)', int('--threads'))
    .action(async (input: string, output: string, o) => {
      const { quantizeCommand } = await import('./quantize.js');
      await quantizeCommand({ input, output, type: o.type, force: o.force, quiet: o.quiet, threads: o.threads }, out);
    });

  program
    .command('eval')
    .description('evaluate a model: perplexity, multiple choice, generative tasks, IFEval, BFCL function calling (docs/eval.md)')
    .requiredOption('-m, --model <path>', 'model path, or an OpenAI-compatible endpoint URL (http://host:port)')
    .requiredOption('--task <name>', 'perplexity | mc | a built-in task (mmlu, arc_challenge, hellaswag, winogrande, gsm8k, humaneval, mbpp, ifeval, bfcl-simple, *_llama) | a .json/.yaml definition')
    .option('--data <file>', 'dataset: text file / JSONL (perplexity), JSONL (mc)')
    .option('--limit <n>', 'evaluate at most n items (perplexity: windows per document)', int('--limit'))
    .option('--json', 'print only the result JSON on stdout', false)
    .option('--ctx <n>', 'perplexity window in tokens (default: the model context)', int('--ctx'))
    .option('--stride <n>', 'perplexity window advance (default ctx/2)', int('--stride'))
    .option('--field <name>', 'perplexity on JSONL: the text field', 'text')
    .option('--records <file>', 'write per-item JSON records (prompt, scores) to a JSONL file')
    .option('--html <file>', 'write a self-contained HTML report with a bar chart (and published figures with --compare published)')
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
        { model: o.model, task: o.task, data: o.data, limit: o.limit, json: o.json, ctx: o.ctx, stride: o.stride, field: o.field, records: o.records, html: o.html, concurrency: o.concurrency, numFewshot: o.numFewshot, fewshotData: o.fewshotData, modelName: o.modelName, apiKey: o.apiKey, compare: o.compare, backend: o.backend, threads: o.threads, progress: o.progress },
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
