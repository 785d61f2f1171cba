import type { LlamaConfig } from '../../config/config.js';
import type { Tokenizer } from '../../tokenizer/types.js';
import { DraftMismatchError } from '../../errors/errors.js';

/** What the check reads from each model. */
export interface VocabularyOwner {
  readonly config: LlamaConfig;
  readonly hasTokenizer: boolean;
  readonly tokenizer: Tokenizer;
}

const checked = new WeakMap<object, WeakSet<object>>();

/**
 * A draft's token ids must mean the same as the target's, or its proposals are noise (and its q
 * would be over another alphabet): vocabulary size, BOS/EOS and every token's piece and special
 * flag must match. Throws DraftMismatchError naming the first difference; remembers pairs that pass.
 */
export function checkDraftCompatible(target: VocabularyOwner, draft: VocabularyOwner): void {
  if (checked.get(target)?.has(draft)) return;
  const a = target.config;
  const b = draft.config;
  if (a.vocabSize !== b.vocabSize) throw new DraftMismatchError(`vocabulary size ${b.vocabSize} (draft) vs ${a.vocabSize} (target)`);
  if (a.bosTokenId !== b.bosTokenId) throw new DraftMismatchError(`BOS id ${String(b.bosTokenId)} (draft) vs ${String(a.bosTokenId)} (target)`);
  const ea = [...a.eosTokenIds].sort((x, y) => x - y).join(',');
  const eb = [...b.eosTokenIds].sort((x, y) => x - y).join(',');
  if (ea !== eb) throw new DraftMismatchError(`EOS ids [${eb}] (draft) vs [${ea}] (target)`);
  if (target.hasTokenizer !== draft.hasTokenizer) throw new DraftMismatchError(`${target.hasTokenizer ? 'the draft' : 'the target'} has no tokenizer to compare`);
  if (target.hasTokenizer) {
    const ta = target.tokenizer;
    const tb = draft.tokenizer;
    if (ta.kind !== tb.kind) throw new DraftMismatchError(`tokenizer kind ${tb.kind} (draft) vs ${ta.kind} (target)`);
    if (ta.vocabSize !== tb.vocabSize) throw new DraftMismatchError(`tokenizer vocabulary ${tb.vocabSize} (draft) vs ${ta.vocabSize} (target)`);
    for (let id = 0; id < ta.vocabSize; id++) {
      const pa = ta.idToPiece(id);
      const pb = tb.idToPiece(id);
      if (pa !== pb) throw new DraftMismatchError(`token ${id} is ${JSON.stringify(pb)} in the draft but ${JSON.stringify(pa)} in the target`);
      if (ta.isSpecial(id) !== tb.isSpecial(id)) throw new DraftMismatchError(`token ${id} (${JSON.stringify(pa)}) is special in only one of them`);
    }
  }
  let set = checked.get(target);
  if (!set) checked.set(target, (set = new WeakSet()));
  set.add(draft);
}
