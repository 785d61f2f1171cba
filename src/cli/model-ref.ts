/**
 * `-m` for every command: a path, or an `hf:` reference fetched (with a progress bar on stderr)
 * and cached; for run/chat/serve an absent `-m` means the default model.
 */
import { resolveModel, isHubRef, DownloadProgress } from '../hub/index.js';
import { defaultModelRef } from '../hub/default-model.js';
import { BadArgumentError } from '../errors/errors.js';

const note = (s: string): void => {
  process.stderr.write(`${s}\n`);
};

export async function cliModelPath(model: string | undefined, opts: { allowDefault: boolean; quiet?: boolean }): Promise<string> {
  let ref = model;
  if (ref === undefined) {
    if (!opts.allowDefault) throw new BadArgumentError('give a model with -m <path or hf:owner/repo[:quant]>');
    ref = defaultModelRef();
  }
  if (!isHubRef(ref)) return ref;
  const path = await resolveModel(ref, { progress: opts.quiet ? 'none' : DownloadProgress.auto(), log: note });
  if (model === undefined) note(`no -m given: using the default model ${ref}\n  cached at ${path}`);
  else if (!opts.quiet) note(`model ${ref}: ${path}`);
  return path;
}
