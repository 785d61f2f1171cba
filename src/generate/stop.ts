/** Finds stop strings in streamed text and says how much text is safe to release. */
export class StopMatcher {
  private readonly maxLen: number;
  constructor(private readonly stops: readonly string[]) {
    this.maxLen = stops.reduce((m, s) => Math.max(m, s.length), 0);
  }

  get active(): boolean {
    return this.stops.length > 0;
  }

  /** Earliest stop occurrence in `text` that may overlap text after `from`; -1 if none. */
  find(text: string, from: number): { index: number; stop: string } | undefined {
    const start = Math.max(0, from - this.maxLen + 1);
    let best: { index: number; stop: string } | undefined;
    for (const s of this.stops) {
      if (s.length === 0) continue;
      const i = text.indexOf(s, start);
      if (i >= 0 && (!best || i < best.index)) best = { index: i, stop: s };
    }
    return best;
  }

  /** Length of the longest suffix of `text` that is a proper prefix of some stop string. */
  heldBack(text: string): number {
    let hold = 0;
    for (const s of this.stops) {
      for (let k = Math.min(s.length - 1, text.length); k > hold; k--) {
        if (text.endsWith(s.slice(0, k))) {
          hold = k;
          break;
        }
      }
    }
    return hold;
  }
}
