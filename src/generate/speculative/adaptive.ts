/**
 * Chooses how many tokens to draft next from how the last rounds went: a round that kept every
 * draft grows K by one, a round that lost more than half shrinks it by one, within 1..max. The
 * break-even depends on the verify-cost curve (bench/speculative), which grows slowly in K on a
 * CPU, so erring long costs little.
 */
export class AdaptiveK {
  private k: number;
  constructor(
    private readonly max: number,
    private readonly fixed = false,
  ) {
    this.k = fixed ? max : Math.max(1, Math.min(max, 4));
  }

  get value(): number {
    return this.k;
  }

  update(drafted: number, accepted: number): void {
    if (this.fixed || drafted === 0) return;
    if (accepted === drafted && drafted >= this.k) this.k = Math.min(this.max, this.k + 1);
    else if (accepted * 2 < drafted) this.k = Math.max(1, this.k - 1);
  }
}
