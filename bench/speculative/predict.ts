/**
 * The speedup model of Leviathan et al. (2023): with acceptance rate α (each draft token kept
 * independently with probability α), a round that drafts K tokens yields (1 − α^(K+1)) / (1 − α)
 * tokens on average, and costs K draft steps plus one verification of K + 1 tokens.
 */
export function expectedTokens(alpha: number, k: number): number {
  return alpha === 1 ? k + 1 : (1 - alpha ** (k + 1)) / (1 - alpha);
}

/** The best K and its speedup over plain decoding, given the measured verify ratios V(K) and the draft/target step cost c. */
export function predictSpeedup(alpha: number, draftCost: number, curve: readonly { k: number; verify: number }[]): { k: number; speedup: number } {
  let best = { k: 0, speedup: 1 };
  for (const { k, verify } of curve) {
    const s = expectedTokens(alpha, k) / (k * draftCost + verify);
    if (s > best.speedup) best = { k, speedup: s };
  }
  return best;
}
