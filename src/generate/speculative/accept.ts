/**
 * Modified rejection sampling (Leviathan et al. 2023; Chen et al. 2023): a token d drafted from q
 * is kept with probability min(1, p(d)/q(d)); on rejection the replacement is drawn from
 * norm(max(0, p − q)). The kept-or-replaced token is then distributed exactly as p. A proposal
 * without q (prompt lookup: deterministic) is a point mass, so d is kept with probability p(d) and
 * the replacement comes from p with d removed.
 */

/** Decides acceptance from p(d), q(d) and a uniform u in [0, 1). Swappable so a test can show a wrong rule fails. */
export type AcceptRule = (pd: number, qd: number, u: number) => boolean;

/** The exact rule: u < p(d)/q(d) (always true when p(d) ≥ q(d)). */
export const exactAcceptRule: AcceptRule = (pd, qd, u) => u * qd < pd;

/** q(d) of a proposal: its probability under the draft distribution, 1 for a point mass. */
export function proposalProbability(id: number, q: Float64Array | undefined): number {
  return q ? q[id]! : 1;
}

/**
 * The weights to draw the replacement from after a rejection: max(0, p − q). When they vanish
 * (p ≤ q everywhere, which only happens when p = q and the rejection had probability zero up to
 * rounding) the target distribution itself is the right fallback.
 */
export function residual(p: Float64Array, id: number, q: Float64Array | undefined): Float64Array {
  const w = new Float64Array(p.length);
  let z = 0;
  if (q) {
    for (let i = 0; i < p.length; i++) {
      const x = p[i]! - q[i]!;
      if (x > 0) z += w[i] = x;
    }
  } else {
    w.set(p);
    w[id] = 0;
    for (let i = 0; i < w.length; i++) z += w[i]!;
  }
  return z > 0 ? w : Float64Array.from(p);
}
