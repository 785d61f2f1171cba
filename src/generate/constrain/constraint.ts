/**
 * Public face of the engine: a compiled Constraint (grammar + tokenizer index + caches) and the
 * per-sequence ConstraintState, which is just an interned parser-state number, so clone() is free
 * and states can be kept for rollback.
 */
import { LlamaError } from '../../errors/errors.js';
import type { Tokenizer } from '../../tokenizer/types.js';
import { Engine } from './engine.js';
import type { FlatGrammar } from './grammar.js';
import { tokenIndexFor } from './token-index.js';

export class Constraint {
  /** @internal */
  readonly engine: Engine;
  constructor(grammar: FlatGrammar, readonly tokenizer: Tokenizer) {
    this.engine = new Engine(grammar, tokenIndexFor(tokenizer));
  }
  start(): ConstraintState {
    return new ConstraintState(this, this.engine.startState);
  }
}

export class ConstraintState {
  constructor(readonly constraint: Constraint, private state: number) {}

  /** Bit `id` (bit id & 31 of word id >>> 5) set when the token keeps the output a valid prefix. */
  mask(): Uint32Array {
    return this.constraint.engine.mask(this.state).slice();
  }
  /** The engine's cached mask without a copy; valid until the next call, must not be modified. */
  maskView(): Uint32Array {
    return this.constraint.engine.mask(this.state);
  }
  /** Same answer as the mask bit, computed by running the token's bytes through the parser. */
  allows(id: number): boolean {
    const tk = this.constraint.tokenizer;
    if (!Number.isInteger(id) || id < 0 || id >= tk.vocabSize || tk.isSpecial(id)) return false;
    const bytes = tk.tokenBytes(id);
    return bytes.length > 0 && this.constraint.engine.stepBytes(this.state, bytes) >= 0;
  }
  advance(id: number): void {
    if (!this.allows(id)) throw new LlamaError('TOKEN_NOT_ALLOWED', `token ${id} is not allowed by the constraint here`);
    const next = this.constraint.engine.stepBytes(this.state, this.constraint.tokenizer.tokenBytes(id));
    if (next < 0) throw new LlamaError('TOKEN_NOT_ALLOWED', `token ${id} is not allowed by the constraint here`);
    this.state = next;
  }
  /** EOS is allowed now: the output so far is a complete value. */
  canFinish(): boolean {
    return this.constraint.engine.accepts(this.state);
  }
  /** True when nothing but EOS can follow. */
  isDone(): boolean {
    return this.canFinish() && this.constraint.engine.mask(this.state).every((w) => w === 0);
  }
  clone(): ConstraintState {
    return new ConstraintState(this.constraint, this.state);
  }
  /** The bytes that are the only possible continuation (empty when there is a choice). */
  forcedBytes(limit = 256): Uint8Array {
    const e = this.constraint.engine;
    const out: number[] = [];
    let s = this.state;
    while (out.length < limit) {
      const b = e.forcedByte(s);
      if (b < 0) break;
      out.push(b);
      s = e.step(s, b);
    }
    return Uint8Array.from(out);
  }
  /**
   * Tokens that spell a prefix of the forced bytes (longest allowed token first), for
   * fast-forwarding several tokens in one step. A stretch's last bytes may be left out when no
   * token ends exactly there; the caller samples from there as usual.
   */
  forced(limit = 256): number[] {
    const bytes = this.forcedBytes(limit);
    const ix = this.constraint.engine.index.full;
    const out: number[] = [];
    const probe = this.clone();
    let pos = 0;
    while (pos < bytes.length) {
      let node = 0;
      let best = -1;
      let bestLen = 0;
      for (let k = pos; k < bytes.length; k++) {
        let c = node + 1;
        const end = ix.end[node]!;
        let found = -1;
        while (c < end) {
          if (ix.byte[c] === bytes[k]) {
            found = c;
            break;
          }
          c = ix.end[c]!;
        }
        if (found < 0) break;
        node = found;
        if (ix.tok[node]! >= 0 && probe.allows(ix.tok[node]!)) {
          best = ix.tok[node]!;
          bestLen = k - pos + 1;
        }
      }
      if (best < 0) break;
      out.push(best);
      probe.advance(best);
      pos += bestLen;
    }
    return out;
  }
}

/**
 * In place: logits of tokens the state does not allow become -Infinity; EOS ids stay only when
 * the value is complete.
 */
export function applyMask(logits: Float32Array, state: ConstraintState, eosIds: readonly number[]): void {
  const m = state.maskView();
  const n = logits.length;
  const finish = state.canFinish();
  const eos = finish ? eosIds.filter((id) => id >= 0 && id < n).map((id) => [id, logits[id]!] as const) : [];
  for (let w = 0; w < m.length; w++) {
    const bits = m[w]! | 0;
    if (bits === -1) continue;
    const base = w << 5;
    const end = Math.min(base + 32, n);
    if (bits === 0) {
      for (let i = base; i < end; i++) logits[i] = -Infinity;
      continue;
    }
    for (let i = base; i < end; i++) if (((bits >>> (i - base)) & 1) === 0) logits[i] = -Infinity;
  }
  for (let i = m.length * 32; i < n; i++) logits[i] = -Infinity;
  for (const [id, v] of eos) logits[id] = v;
}
