import type { CascadePath } from './cascade.js';

/** Latency buckets in seconds (Prometheus histogram upper bounds; +Inf is implied). */
export const LATENCY_BUCKETS = [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60] as const;

export interface LatencyHistogram {
  /** Cumulative counts per bucket of LATENCY_BUCKETS. */
  readonly buckets: number[];
  count: number;
  sumSeconds: number;
}

/** Running counters of a cascade: what /metrics shows. */
export class CascadeStats {
  readonly paths: Record<CascadePath, number> = { accept: 0, 'verify-accept': 0, escalate: 0, degraded: 0 };
  /** Answers scored by the big model, and how many passed its threshold. */
  verified = 0;
  verifyAccepted = 0;
  readonly latency: Record<CascadePath, LatencyHistogram> = {
    accept: hist(),
    'verify-accept': hist(),
    escalate: hist(),
    degraded: hist(),
  };

  record(path: CascadePath, totalMs: number, verification: { readonly accepted: boolean } | undefined): void {
    this.paths[path]++;
    if (verification) {
      this.verified++;
      if (verification.accepted) this.verifyAccepted++;
    }
    const h = this.latency[path];
    const s = totalMs / 1000;
    h.count++;
    h.sumSeconds += s;
    LATENCY_BUCKETS.forEach((b, i) => {
      if (s <= b) h.buckets[i]!++;
    });
  }

  get total(): number {
    return Object.values(this.paths).reduce((a, b) => a + b, 0);
  }

  /** Share of answers the big model generated (0 when none yet). */
  get escalationRate(): number {
    return this.total === 0 ? 0 : this.paths.escalate / this.total;
  }

  /** Share of verified answers the big model accepted (0 when none yet). */
  get verifyAcceptRate(): number {
    return this.verified === 0 ? 0 : this.verifyAccepted / this.verified;
  }
}

function hist(): LatencyHistogram {
  return { buckets: LATENCY_BUCKETS.map(() => 0), count: 0, sumSeconds: 0 };
}
