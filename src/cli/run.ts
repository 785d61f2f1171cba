import { existsSync, readFileSync } from 'node:fs';
import type { ResponseFormat } from '../generate/constrain-processor.js';
import { consume } from '../generate/consume.js';
import type { BackendName } from '../model/load.js';
import { BadArgumentError, FileNotFoundError } from '../errors/errors.js';
import { Conversation } from '../chat/conversation.js';
import { loadModelForCli } from './progress.js';
import { SpecialFilter } from './special-filter.js';
import { cliModelPath } from './model-ref.js';
import { checkFits } from './plan.js';
import { loadDraftForCli, type DraftFlags } from './draft.js';

export interface RunOptions extends DraftFlags {
  /** Path or hf: reference; absent: the default model. */
  readonly model?: string;
  /** --max-memory in bytes (default: free memory). */
  readonly maxMemory?: number;
  readonly prompt?: string;
  /** Read the prompt from this file (-f). */
  readonly file?: string;
  readonly ids?: readonly number[];
  readonly n: number;
  readonly temperature: number;
  readonly topK: number;
  readonly topP: number;
  readonly minP: number;
  readonly repetitionPenalty: number;
  readonly seed?: number;
  readonly stop: readonly string[];
  readonly json: boolean;
  readonly backend: BackendName;
  readonly threads?: number;
  readonly kvDType?: 'f32' | 'f16';
  readonly contextSize?: number;
  readonly tokenizer?: string;
  readonly bos?: boolean;
  readonly specials: boolean;
  readonly ignoreEos: boolean;
  /** System prompt (chat-template models only). */
  readonly system?: string;
  /** Plain completion: do not apply the model's chat template. */
  readonly raw?: boolean;
  /** --json-schema FILE: constrain the output to JSON matching this schema. */
  readonly jsonSchema?: string;
  /** --grammar FILE: constrain the output to this GBNF grammar. */
  readonly grammar?: string;
  /** Timing summary on stderr. */
  readonly verbose?: boolean;
  readonly checkTensors?: boolean;
  /** Where a prompt comes from when none is given (default process.stdin, when it is not a terminal). */
  readonly stdin?: NodeJS.ReadableStream & { isTTY?: boolean };
  /** Notices and timings (default process.stderr). */
  readonly stderr?: (s: string) => void;
}

async function readAll(stream: NodeJS.ReadableStream): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of stream) chunks.push(typeof c === 'string' ? Buffer.from(c) : (c as Buffer));
  return Buffer.concat(chunks).toString('utf8');
}

/** The prompt text from -p, -f or stdin; undefined when --ids gives token ids instead. */
async function promptText(o: RunOptions): Promise<string | undefined> {
  const given = [o.prompt !== undefined, o.file !== undefined, o.ids !== undefined].filter(Boolean).length;
  if (given > 1) throw new BadArgumentError('give only one of --prompt, --file or --ids');
  if (o.ids) return undefined;
  if (o.prompt !== undefined) return o.prompt;
  if (o.file !== undefined) {
    if (!existsSync(o.file)) throw new FileNotFoundError(o.file);
    return readFileSync(o.file, 'utf8');
  }
  const stdin = o.stdin ?? process.stdin;
  if (stdin.isTTY) throw new BadArgumentError('no prompt: give -p "text", -f file, --ids, or pipe the prompt on stdin');
  const text = await readAll(stdin);
  // A piped prompt ends with the newline of `echo`; a prompt that ends in a newline is rarely meant.
  return text.replace(/\r?\n$/, '');
}

/**
 * `llama-ts run`: stream a reply to (or a continuation of) a prompt to stdout. A model with a chat
 * template answers the prompt as a user message, as `ollama run` does; --raw continues it as plain text.
 */
export async function runCommand(o: RunOptions, write: (s: string) => void): Promise<void> {
  const err = o.stderr ?? ((s: string) => void process.stderr.write(s));
  const text = await promptText(o);
  const path = await cliModelPath(o.model, { allowDefault: true, quiet: o.json });
  // Refuse with numbers before loading; with no -c, the largest context that fits.
  const plan = await checkFits(path, { backend: o.backend, threads: o.threads, kvDType: o.kvDType, contextSize: o.contextSize, maxMemory: o.maxMemory, tokenizer: o.tokenizer });
  const { model, loadMs } = await loadModelForCli(path, {
    backend: o.backend,
    threads: o.threads,
    kvDType: o.kvDType,
    tokenizer: o.tokenizer,
    progress: !o.json,
    checkTensors: o.checkTensors ?? false,
  });
  let draft: Awaited<ReturnType<typeof loadDraftForCli>> | undefined;
  try {
    draft = await loadDraftForCli(o, model, { backend: o.backend, threads: o.threads, kvDType: o.kvDType, tokenizer: o.tokenizer, quiet: o.json });
    const templated = text !== undefined && !o.raw && model.chatTemplate !== undefined;
    if (o.system !== undefined && !templated) {
      throw new BadArgumentError(o.raw ? '--system applies the chat template, which --raw turns off' : '--system needs a chat template and this model has none');
    }
    let promptIds: number[];
    const stopIds: number[] = [];
    if (text === undefined) {
      promptIds = [...o.ids!];
    } else if (templated) {
      const tok = model.tokenizer;
      const conv = new Conversation(tok, { ...(o.system !== undefined ? { system: o.system } : {}), template: model.chatTemplate! });
      conv.addUser(text);
      promptIds = conv.toIds();
      // A templated reply ends at the end-of-turn tokens too.
      for (const s of ['<|eot_id|>', '<|eom_id|>']) {
        const id = tok.specialId(s);
        if (id !== undefined) stopIds.push(id);
      }
    } else {
      promptIds = model.tokenizer.encode(text, { addBos: o.bos, specials: o.specials ? 'parse' : 'plain' });
    }
    const session = model.session({ contextSize: plan.contextSize });
    const responseFormat = constraintFromFiles(o);
    const gen = model.generate(promptIds, {
      session,
      maxTokens: o.n,
      temperature: o.temperature,
      topK: o.topK,
      topP: o.topP,
      minP: o.minP,
      repetitionPenalty: o.repetitionPenalty,
      seed: o.seed,
      stop: o.stop,
      stopIds,
      ignoreEos: o.ignoreEos,
      ...(responseFormat ? { responseFormat } : {}),
      ...(draft.draft !== undefined ? { draft: draft.draft } : {}),
      ...(draft.draftMax !== undefined ? { draftMax: draft.draftMax } : {}),
    });
    // Special tokens are never printed as text (llama.cpp prints them only when asked to).
    const shown = model.hasTokenizer ? new SpecialFilter(model.tokenizer, o.stop.length > 0) : undefined;
    const result = await consume(gen, (chunk) => {
      if (!o.json) write(shown ? shown.push(chunk) : chunk.text);
    });
    if (!o.json && shown) write(shown.flush());
    const contextSize = session.contextSize;
    session.dispose();
    if (o.json) {
      write(
        JSON.stringify({
          prompt_ids: promptIds,
          ids: result.ids,
          text: result.text,
          finish_reason: result.finishReason,
          stopped_by: result.stoppedBy ?? null,
          context_size: contextSize,
          timings: {
            load_ms: round(loadMs),
            prefill_ms: round(result.timings.prefillMs),
            decode_ms: round(result.timings.decodeMs),
            prefill_tps: round(result.timings.prefillTps),
            decode_tps: round(result.timings.decodeTps),
          },
          ...(result.draft ? { draft: { drafted: result.draft.drafted, accepted: result.draft.accepted, steps: result.draft.steps } } : {}),
        }) + '\n',
      );
    } else {
      write('\n');
    }
    // generate() ends with 'length' both at maxTokens and when the context is full: only the latter is a surprise.
    if (result.finishReason === 'length' && result.ids.length < o.n) {
      err(`[stopped after ${result.ids.length} of ${o.n} tokens: the ${contextSize}-token context is full (prompt ${promptIds.length} tokens); raise --ctx-size]\n`);
    }
    if (o.verbose) {
      const t = result.timings;
      err(
        `load:       ${loadMs.toFixed(0)} ms\n` +
          `prompt:     ${promptIds.length} tokens in ${t.prefillMs.toFixed(1)} ms (${t.prefillTps.toFixed(2)} tok/s)\n` +
          `generation: ${result.ids.length} tokens in ${t.decodeMs.toFixed(1)} ms (${t.decodeTps.toFixed(2)} tok/s)\n`,
      );
      const d = result.draft;
      if (d) {
        const rate = d.drafted > 0 ? ((100 * d.accepted) / d.drafted).toFixed(1) : '0.0';
        err(`draft:      ${d.accepted} of ${d.drafted} drafted tokens accepted (${rate}%), ${(result.ids.length / Math.max(1, d.steps)).toFixed(2)} tokens per model step\n`);
      }
    }
  } finally {
    await draft?.dispose();
    await model.dispose();
  }
}

const round = (x: number): number => Math.round(x * 100) / 100;

/** --json-schema / --grammar files as a responseFormat (one of them at most). */
function constraintFromFiles(o: RunOptions): ResponseFormat | undefined {
  if (o.jsonSchema !== undefined && o.grammar !== undefined) throw new BadArgumentError('give --json-schema or --grammar, not both');
  const read = (f: string): string => {
    if (!existsSync(f)) throw new FileNotFoundError(f);
    return readFileSync(f, 'utf8');
  };
  if (o.jsonSchema !== undefined) {
    let schema: unknown;
    try {
      schema = JSON.parse(read(o.jsonSchema));
    } catch (e) {
      if (e instanceof SyntaxError) throw new BadArgumentError(`${o.jsonSchema} is not JSON: ${e.message}`);
      throw e;
    }
    return { type: 'json_schema', schema };
  }
  if (o.grammar !== undefined) return { type: 'grammar', grammar: read(o.grammar) };
  return undefined;
}
