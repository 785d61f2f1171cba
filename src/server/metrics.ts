import type { ModelStats } from '../model/model.js';
import type { CascadeStats } from '../cascade/stats.js';
import { renderCascadeMetrics } from './cascade-metrics.js';

/** Server counters, exposed as Prometheus text at /metrics with the scheduler's own. */
export class Metrics {
  private readonly byStatus = new Map<string, number>();
  promptTokens = 0;
  generatedTokens = 0;
  private readonly started = Date.now();
  /** Generated tokens with their time, for a recent tokens/s figure. */
  private readonly recent: { t: number; n: number }[] = [];

  /** `cascade`: the counters of the server's cascade, rendered with the rest when present. */
  constructor(private readonly cascade?: CascadeStats) {}

  request(route: string, status: number): void {
    const k = `${route}|${status}`;
    this.byStatus.set(k, (this.byStatus.get(k) ?? 0) + 1);
  }

  tokens(prompt: number, generated: number): void {
    this.promptTokens += prompt;
    this.generatedTokens += generated;
  }

  generated(n: number): void {
    const t = Date.now();
    this.recent.push({ t, n });
    while (this.recent.length > 0 && this.recent[0]!.t < t - 10_000) this.recent.shift();
  }

  /** Generated tokens per second over the last 10 s. */
  tokensPerSecond(): number {
    const t = Date.now();
    const live = this.recent.filter((r) => r.t >= t - 10_000);
    return live.reduce((a, r) => a + r.n, 0) / 10;
  }

  render(s: ModelStats): string {
    const lines: string[] = [];
    const metric = (name: string, type: 'counter' | 'gauge', help: string, samples: [string, number][]): void => {
      lines.push(`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`);
      for (const [labels, v] of samples) lines.push(`${name}${labels} ${v}`);
    };
    metric('llama_ts_requests_total', 'counter', 'HTTP requests by route and status', [...this.byStatus].map(([k, v]) => {
      const [route, status] = k.split('|');
      return [`{route="${route}",status="${status}"}`, v];
    }));
    metric('llama_ts_prompt_tokens_total', 'counter', 'Prompt tokens of finished requests', [['', this.promptTokens]]);
    metric('llama_ts_generated_tokens_total', 'counter', 'Tokens generated', [['', this.generatedTokens]]);
    metric('llama_ts_queue_depth', 'gauge', 'Requests waiting for a sequence', [['', s.queued]]);
    metric('llama_ts_running_sequences', 'gauge', 'Sequences being decoded', [['', s.running]]);
    metric('llama_ts_prefix_cache_hits_total', 'counter', 'Requests that reused a cached prompt prefix', [['', s.prefixCache.hits]]);
    metric('llama_ts_prefix_cache_reused_tokens_total', 'counter', 'Prompt tokens served from the prefix cache', [['', s.prefixCache.reusedTokens]]);
    metric('llama_ts_prefix_cache_bytes', 'gauge', 'KV bytes kept for prefix reuse', [['', s.prefixCache.bytes]]);
    metric('llama_ts_evaluated_tokens_total', 'counter', 'Token rows evaluated by forward steps', [['', s.evaluatedTokens]]);
    metric('llama_ts_steps_total', 'counter', 'Forward steps', [['', s.steps]]);
    metric('llama_ts_tokens_per_second', 'gauge', 'Generated tokens per second (last 10 s)', [['', this.tokensPerSecond()]]);
    metric('llama_ts_finished_total', 'counter', 'Requests by finish reason', Object.entries(s.finished).map(([k, v]) => [`{reason="${k}"}`, v]));
    metric('llama_ts_draft_tokens_total', 'counter', 'Tokens proposed by speculative decoding (draft model or lookup)', [['', s.draft.drafted]]);
    metric('llama_ts_draft_accepted_total', 'counter', 'Proposed tokens the model accepted', [['', s.draft.accepted]]);
    metric('llama_ts_draft_steps_total', 'counter', 'Verification steps of speculative requests', [['', s.draft.steps]]);
    metric('llama_ts_draft_requests_total', 'counter', 'Finished requests that used speculative decoding', [['', s.draft.requests]]);
    metric('llama_ts_draft_acceptance_rate', 'gauge', 'Accepted / drafted tokens since start', [['', s.draft.drafted > 0 ? s.draft.accepted / s.draft.drafted : 0]]);
    metric('llama_ts_uptime_seconds', 'gauge', 'Seconds since start', [['', (Date.now() - this.started) / 1000]]);
    if (this.cascade) lines.push(...renderCascadeMetrics(this.cascade));
    return lines.join('\n') + '\n';
  }
}
