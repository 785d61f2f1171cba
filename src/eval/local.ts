/**
 * The local engine as an evaluation backend. Log-likelihood requests are prefill only: the
 * choices of one item share their context, so it is evaluated once (no logits) and each choice
 * continues in a fork of that cache. Items run concurrently (bounded), so the engine's scheduler
 * batches their prefills into shared forward steps. Logits are only asked for the rows that are
 * scored, in chunks, so a 128k vocabulary does not need a [window × vocab] block at once.
 */
import type { Model } from '../model/types.js';
import type { Session } from '../model/session.js';
import { renderChat } from '../chat/encode.js';
import type { Tokenizer } from '../tokenizer/types.js';
import type { ChatPrompt } from './types.js';
import { consume } from '../generate/consume.js';
import { BadArgumentError } from '../errors/errors.js';
import { encodePair } from './encode-pair.js';
import { rowArgmax, tokenLogprob } from './logprob.js';
import { mapBounded } from './pool.js';
import { planWindows } from './windows.js';
import type { EvalBackend, GenerateRequest, LoglikRequest, LoglikResult, RollingResult, WindowOptions } from './types.js';

export interface LocalBackendOptions {
  /** Items (or windows, or generations) in flight at once (default 16). */
  readonly concurrency?: number;
  /** Prepend BOS to every input (default: the tokenizer's own setting). */
  readonly addBos?: boolean;
  /** Rows of logits asked for at once (default 64). */
  readonly chunk?: number;
  /** Items whose contexts share at least this many leading tokens share their evaluation (default 32). */
  readonly minShared?: number;
}

/** A scored sequence: tokens[from..] are scored, each from the logits of the token before it. */
interface Scoring {
  readonly tokens: readonly number[];
  readonly from: number;
}

interface TokenScores {
  readonly logprobs: number[];
  readonly greedy: boolean;
}

export class LocalBackend implements EvalBackend {
  readonly name = 'local';
  private readonly concurrency: number;
  private readonly addBos: boolean;
  private readonly chunk: number;
  private readonly minShared: number;

  constructor(
    private readonly model: Model,
    options: LocalBackendOptions = {},
  ) {
    this.concurrency = options.concurrency ?? 16;
    this.addBos = options.addBos ?? model.tokenizer.addBosByDefault;
    this.chunk = options.chunk ?? 64;
    this.minShared = options.minShared ?? 32;
    if (!Number.isInteger(this.concurrency) || this.concurrency < 1) throw new BadArgumentError(`concurrency must be a positive integer, got ${this.concurrency}`);
  }

  /** The model's default sequence length (LlamaModel has it; any other Model: min(context, 4096) as loadModel picks). */
  get contextSize(): number {
    const c = (this.model as { readonly contextSize?: unknown }).contextSize;
    return typeof c === 'number' ? c : Math.min(this.model.config.contextLength, 4096);
  }

  async loglikelihood(requests: readonly LoglikRequest[], onDone?: (index: number) => void): Promise<LoglikResult[]> {
    // Requests with the same context (the choices of one item) form a group sharing one prefill.
    const groups = new Map<string, number[]>();
    requests.forEach((r, i) => {
      const g = groups.get(r.context);
      if (g) g.push(i);
      else groups.set(r.context, [i]);
    });
    const out = new Array<LoglikResult>(requests.length);
    const maxLen = this.contextSize;
    const built = [...groups.values()].map((idx) => {
      const scorings = idx.map((i) => {
        const r = requests[i]!;
        const p = encodePair(this.model.tokenizer, r.context, r.continuation, this.addBos);
        let tokens = [...p.context, ...p.continuation];
        // As the harness: keep the last maxLen + 1 tokens (the last one is only a target).
        const cut = Math.max(0, tokens.length - (maxLen + 1));
        tokens = tokens.slice(cut);
        return { tokens, from: tokens.length - p.continuation.length };
      });
      return { idx, scorings, prefix: groupPrefix(scorings) };
    });
    // Items whose contexts start alike (the same few-shot examples) sit next to each other in
    // token order and share one evaluation of their common prefix.
    built.sort((a, b) => compareIds(a.prefix, b.prefix));
    const families = formFamilies(built.map((g) => g.prefix), this.minShared);
    const parents = families.map((f) => new SharedPrefix(this.model, f.prefix, f.members));
    const familyOf = new Array<number>(built.length);
    families.forEach((f, k) => f.groups.forEach((g) => (familyOf[g] = k)));
    await mapBounded(built, this.concurrency, async (g, gi) => {
      const parent = parents[familyOf[gi]!]!;
      let scores: TokenScores[];
      try {
        scores = await this.scoreGroup(g.scorings, parent.members > 1 ? parent : undefined);
      } finally {
        parent.release();
      }
      g.idx.forEach((i, k) => {
        const s = scores[k]!;
        out[i] = { logprob: s.logprobs.reduce((a, b) => a + b, 0), greedy: s.greedy, tokens: s.logprobs.length };
        onDone?.(i);
      });
    });
    return out;
  }

  async rolling(text: string, window: WindowOptions, limitWindows?: number, onWindow?: (done: number, total: number) => void): Promise<RollingResult> {
    const tok = this.model.tokenizer;
    const bos = tok.bosId;
    if (bos === undefined) throw new BadArgumentError('perplexity needs a BOS token to condition the first token on');
    const ids = [bos, ...tok.encode(text, { addBos: false, specials: 'plain' })];
    let windows = planWindows(ids.length, window.ctx, window.stride);
    if (limitWindows !== undefined) windows = windows.slice(0, limitWindows);
    let done = 0;
    const scores = await mapBounded(windows, this.concurrency, async (w) => {
      const s = await this.scoreGroup([{ tokens: ids.slice(w.begin, w.end), from: w.from - w.begin }]);
      onWindow?.(++done, windows.length);
      return s;
    });
    let nllSum = 0;
    let tokens = 0;
    for (const s of scores) {
      for (const lp of s[0]!.logprobs) nllSum -= lp;
      tokens += s[0]!.logprobs.length;
    }
    return { nllSum, tokens };
  }

  async generate(requests: readonly GenerateRequest[], onDone?: (index: number) => void): Promise<string[]> {
    return mapBounded(requests, this.concurrency, async (r, i) => {
      const ids = this.promptIds(r);
      const res = await consume(this.model.generate(ids, { maxTokens: r.maxTokens, stop: r.stop, stopIds: this.stopIds(), temperature: r.temperature ?? 0, ...(r.seed !== undefined ? { seed: r.seed } : {}) }), () => {});
      onDone?.(i);
      return res.text;
    });
  }

  /** Prompt ids: plain text with BOS, or a chat rendered by the model's template plus the prefill. */
  promptIds(r: GenerateRequest): number[] {
    const tok = this.model.tokenizer;
    if (typeof r.prompt === 'string') return tok.encode(r.prompt, { addBos: this.addBos, specials: 'plain' });
    const ids = renderChat(tok, this.model.chatTemplate, r.prompt.messages, { addGenerationPrompt: true, addBos: this.addBos, ...(r.prompt.tools ? { tools: r.prompt.tools } : {}) }).ids;
    const prefill = r.prompt.prefill ?? '';
    return prefill === '' ? ids : [...ids, ...tok.encode(prefill, { addBos: false, specials: 'plain' })];
  }

  /** The prompt as text (special tokens as their text), for records and format checks. */
  promptText(r: GenerateRequest): string {
    return promptText(this.model.tokenizer, this.model.chatTemplate, r.prompt, this.addBos);
  }

  private stopIds(): number[] {
    const tok = this.model.tokenizer;
    return ['<|eot_id|>', '<|eom_id|>'].map((s) => tok.specialId(s)).filter((x): x is number => x !== undefined);
  }

  /**
   * Scores sequences that share a prefix: the longest common prefix not needing logits is
   * evaluated once; each sequence continues in a fork of it (the last one in the base session).
   */
  private async scoreGroup(group: readonly Scoring[], parent?: SharedPrefix): Promise<TokenScores[]> {
    for (const g of group) {
      if (g.from < 1 || g.from > g.tokens.length) throw new BadArgumentError('a scored sequence needs a context token before its first target');
    }
    const first = group[0]!.tokens;
    const shared = groupPrefix(group).length;
    const cap = Math.max(...group.map((g) => g.tokens.length - 1), 1);
    // Start from the family's shared prefix when there is one (a copy of its cache), else empty.
    const base = parent ? await parent.fork(cap) : this.model.session({ contextSize: cap });
    const done = parent ? parent.prefix.length : 0;
    const forks: Session[] = [];
    try {
      if (shared > done) await base.eval(first.slice(done, shared), { logits: 'none' });
      for (let k = 0; k < group.length - 1; k++) forks.push(await base.fork());
      forks.push(base);
      return await Promise.all(group.map((g, k) => this.scoreRest(forks[k]!, g, shared)));
    } finally {
      for (const s of forks) s.dispose();
      base.dispose();
    }
  }

  /** Continues a session holding tokens[0, done) and returns the log-probs of tokens[from..]. */
  private async scoreRest(s: Session, g: Scoring, done: number): Promise<TokenScores> {
    const { tokens, from } = g;
    const vocab = this.model.config.vocabSize;
    // Rows from (from - 1) on predict the targets; the input stops one before the last token.
    if (from - 1 > done) await s.eval(tokens.slice(done, from - 1), { logits: 'none' });
    const logprobs: number[] = [];
    let greedy = true;
    for (let p = from - 1; p < tokens.length - 1; p += this.chunk) {
      const end = Math.min(p + this.chunk, tokens.length - 1);
      const rows = await s.eval(tokens.slice(p, end), { logits: 'all' });
      for (let r = 0; r < end - p; r++) {
        const target = tokens[p + r + 1]!;
        logprobs.push(tokenLogprob(rows, r, vocab, target));
        if (greedy && rowArgmax(rows, r, vocab) !== target) greedy = false;
      }
    }
    return { logprobs, greedy };
  }
}

/** A generation prompt as text: plain text as is; a chat rendered by `template` (or the built-in format) plus its prefill. */
export function promptText(tok: Tokenizer, template: string | undefined, prompt: string | ChatPrompt, addBos = true): string {
  if (typeof prompt === 'string') return prompt;
  return renderChat(tok, template, prompt.messages, { addGenerationPrompt: true, addBos, ...(prompt.tools ? { tools: prompt.tools } : {}) }).text + (prompt.prefill ?? '');
}

/** The tokens every sequence of a group holds before its first scored row (its shareable prefix). */
function groupPrefix(group: readonly Scoring[]): readonly number[] {
  let n = Math.min(...group.map((g) => g.from - 1));
  const first = group[0]!.tokens;
  for (const g of group) {
    let i = 0;
    while (i < n && g.tokens[i] === first[i]) i++;
    n = i;
  }
  return first.slice(0, n);
}

function compareIds(a: readonly number[], b: readonly number[]): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return a[i]! - b[i]!;
  return a.length - b.length;
}

/** Runs of adjacent (sorted) prefixes that keep at least `min` common leading tokens. */
function formFamilies(prefixes: readonly (readonly number[])[], min: number): { prefix: readonly number[]; groups: number[]; members: number }[] {
  const out: { prefix: readonly number[]; groups: number[]; members: number }[] = [];
  for (let g = 0; g < prefixes.length; g++) {
    const p = prefixes[g]!;
    const last = out[out.length - 1];
    if (last) {
      let l = 0;
      while (l < last.prefix.length && l < p.length && last.prefix[l] === p[l]) l++;
      if (l >= min) {
        last.prefix = last.prefix.slice(0, l);
        last.groups.push(g);
        last.members++;
        continue;
      }
    }
    out.push({ prefix: p, groups: [g], members: 1 });
  }
  return out;
}

/**
 * A prefix shared by several groups: evaluated once (on first use) in its own session, copied
 * into each group's session, freed when the last group is done with it.
 */
class SharedPrefix {
  private session: Promise<Session> | undefined;
  private left: number;

  constructor(
    private readonly model: Model,
    readonly prefix: readonly number[],
    readonly members: number,
  ) {
    this.left = members;
  }

  async fork(capacity: number): Promise<Session> {
    if (!this.session) {
      const s = this.model.session({ contextSize: Math.max(1, this.prefix.length) });
      this.session = (this.prefix.length > 0 ? s.eval(this.prefix, { logits: 'none' }) : Promise.resolve()).then(() => s);
      this.session.catch(() => s.dispose());
    }
    return (await this.session).fork({ contextSize: capacity });
  }

  release(): void {
    if (--this.left === 0 && this.session) void this.session.then((s) => s.dispose(), () => {});
  }
}
