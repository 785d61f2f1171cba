import type { LlamaModel } from '../model/model.js';
import type { BackendName } from '../model/load.js';
import { BadArgumentError } from '../errors/errors.js';
import { checkDraftCompatible } from '../generate/speculative/compat.js';
import { cliModelPath } from './model-ref.js';
import { loadModelForCli } from './progress.js';

/** --draft-model / --lookup / --draft-max as given on the command line. */
export interface DraftFlags {
  readonly draftModel?: string;
  readonly lookup?: boolean;
  readonly draftMax?: number;
}

export interface CliDraft {
  /** What generate's `draft` takes (absent: plain decoding). */
  readonly draft?: LlamaModel | 'lookup';
  readonly draftMax?: number;
  dispose(): Promise<void>;
}

/**
 * Loads the draft model (or picks prompt lookup) for run, chat and serve, and checks it against
 * the target's vocabulary right away, so a mismatch is reported before any prompt is read.
 */
export async function loadDraftForCli(
  flags: DraftFlags,
  target: LlamaModel,
  load: { readonly backend: BackendName; readonly threads?: number; readonly kvDType?: 'f32' | 'f16'; readonly tokenizer?: string; readonly quiet?: boolean },
): Promise<CliDraft> {
  if (flags.draftModel !== undefined && flags.lookup) throw new BadArgumentError('give --draft-model or --lookup, not both');
  if (flags.draftMax !== undefined && flags.draftModel === undefined && !flags.lookup) throw new BadArgumentError('--draft-max needs --draft-model or --lookup');
  const draftMax = flags.draftMax !== undefined ? { draftMax: flags.draftMax } : {};
  if (flags.lookup) return { draft: 'lookup', ...draftMax, dispose: async () => {} };
  if (flags.draftModel === undefined) return { dispose: async () => {} };
  const path = await cliModelPath(flags.draftModel, { allowDefault: false, quiet: load.quiet ?? false });
  const { model } = await loadModelForCli(path, {
    backend: load.backend,
    ...(load.threads !== undefined ? { threads: load.threads } : {}),
    ...(load.kvDType !== undefined ? { kvDType: load.kvDType } : {}),
    ...(load.tokenizer !== undefined ? { tokenizer: load.tokenizer } : {}),
    progress: !(load.quiet ?? false),
  });
  try {
    checkDraftCompatible(target, model);
  } catch (e) {
    await model.dispose();
    throw e;
  }
  return { draft: model, ...draftMax, dispose: () => model.dispose() };
}
