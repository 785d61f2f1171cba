import { LATENCY_BUCKETS, type CascadeStats } from '../cascade/stats.js';

/** The cascade's counters as Prometheus text: requests per path, rates, latency histogram by path. */
export function renderCascadeMetrics(s: CascadeStats): string[] {
  const lines: string[] = [];
  const head = (name: string, type: string, help: string): void => {
    lines.push(`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`);
  };
  head('llama_ts_cascade_requests_total', 'counter', 'Cascade answers by path (accept, verify-accept, escalate, degraded)');
  for (const [path, n] of Object.entries(s.paths)) lines.push(`llama_ts_cascade_requests_total{path="${path}"} ${n}`);
  head('llama_ts_cascade_escalation_rate', 'gauge', 'Share of cascade answers written by the big model');
  lines.push(`llama_ts_cascade_escalation_rate ${s.escalationRate}`);
  head('llama_ts_cascade_verifications_total', 'counter', 'Small answers scored by the big model, by outcome');
  lines.push(`llama_ts_cascade_verifications_total{outcome="accept"} ${s.verifyAccepted}`, `llama_ts_cascade_verifications_total{outcome="reject"} ${s.verified - s.verifyAccepted}`);
  head('llama_ts_cascade_verify_accept_rate', 'gauge', 'Share of verified small answers the big model accepted');
  lines.push(`llama_ts_cascade_verify_accept_rate ${s.verifyAcceptRate}`);
  head('llama_ts_cascade_latency_seconds', 'histogram', 'Cascade request latency by path');
  for (const [path, h] of Object.entries(s.latency)) {
    LATENCY_BUCKETS.forEach((b, i) => lines.push(`llama_ts_cascade_latency_seconds_bucket{path="${path}",le="${b}"} ${h.buckets[i]}`));
    lines.push(`llama_ts_cascade_latency_seconds_bucket{path="${path}",le="+Inf"} ${h.count}`);
    lines.push(`llama_ts_cascade_latency_seconds_sum{path="${path}"} ${h.sumSeconds}`, `llama_ts_cascade_latency_seconds_count{path="${path}"} ${h.count}`);
  }
  return lines;
}
