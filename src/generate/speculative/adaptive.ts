/**
 * Chooses how many tokens to draft next from how the last rounds went: a round that kept every
 * draft grows K by one, a round that lost more than half shrinks it by one, within 1..max. The
 * break-even depends on the verify-cost curve (bench/speculative). When even K = 1 keeps nothing
 * for several rounds in a row, drafting pauses (K = 0: plain decode steps) for a number of rounds
 * that doubles each time it happens again, then K = 1 probes once more, so a draft that never
 * agrees costs little.
 */
export class AdaptiveK {
  private k: number;
  private misses = 0;
  private pause = 0;
  private pauseLength = 4;

  constructor(
    private readonly max: number,
    private readonly fixed = false,
  ) {
    this.k = fixed ? max : Math.max(1, Math.min(max, 4));
  }

  /** Tokens to draft this round (0: a plain decode step). */
  get value(): number {
    if (this.fixed) return this.k;
    return this.pause > 0 ? 0 : this.k;
  }

  update(drafted: number, accepted: number): void {
    if (this.fixed) return;
    if (this.pause > 0) {
      this.pause--;
      return;
    }
    if (drafted === 0) return;
    if (accepted === drafted && drafted >= this.k) this.k = Math.min(this.max, this.k + 1);
    else if (accepted * 2 < drafted) this.k = Math.max(1, this.k - 1);
    if (accepted > 0) {
      this.misses = 0;
      this.pauseLength = 4;
    } else if (drafted === 1 && ++this.misses >= 3) {
      this.misses = 0;
      this.pause = this.pauseLength;
      this.pauseLength = Math.min(64, this.pauseLength * 2);
    }
  }
}
