/**
 * Download progress on stderr: a cli-progress bar on a terminal, else a plain line per file at
 * most every few seconds (logs and CI stay readable). Bytes, speed and ETA over all files at once,
 * since shards download in parallel.
 */
import cliProgress from 'cli-progress';
import type { DownloadEvents } from './download.js';

export type ProgressMode = 'bar' | 'lines' | 'none';

const MiB = 2 ** 20;
const fmtBytes = (b: number): string => (b >= 2 ** 30 ? `${(b / 2 ** 30).toFixed(2)} GiB` : `${(b / MiB).toFixed(1)} MiB`);
export function fmtDuration(s: number): string {
  if (!Number.isFinite(s)) return '?';
  if (s < 60) return `${Math.round(s)}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${String(Math.round(s % 60)).padStart(2, '0')}s`;
  return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
}

export class DownloadProgress implements DownloadEvents {
  private total = 0;
  private done_ = 0;
  private readonly files = new Map<string, { total: number | undefined; have: number; lastLine: number }>();
  private bar: cliProgress.SingleBar | undefined;
  private readonly t0 = Date.now();
  /** Bytes that were already on disk (resumed) do not count toward speed. */
  private resumed = 0;

  constructor(
    private readonly mode: ProgressMode,
    private readonly out: NodeJS.WritableStream = process.stderr,
    private readonly lineEveryMs = 3000,
  ) {}

  static auto(out: NodeJS.WritableStream & { isTTY?: boolean } = process.stderr): DownloadProgress {
    return new DownloadProgress(out.isTTY ? 'bar' : 'lines', out);
  }

  private speed(): number {
    const s = (Date.now() - this.t0) / 1000;
    return s > 0 ? (this.done_ - this.resumed) / s : 0;
  }

  /** `remaining`, not `eta`: cli-progress fills its own {eta} token (bare seconds) over a payload's. */
  private status(): { speed: string; remaining: string } {
    const sp = this.speed();
    return { speed: `${fmtBytes(sp)}/s`, remaining: sp > 0 ? fmtDuration((this.total - this.done_) / sp) : '?' };
  }

  start(label: string, total: number | undefined, have: number): void {
    // The first progress line comes after lineEveryMs: an early speed says little.
    this.files.set(label, { total, have, lastLine: Date.now() });
    this.total += total ?? 0;
    this.done_ += have;
    this.resumed += have;
    if (this.mode === 'lines') {
      this.out.write(`downloading ${label}${total !== undefined ? ` (${fmtBytes(total)})` : ''}${have > 0 ? `, resuming at ${fmtBytes(have)}` : ''}\n`);
    } else if (this.mode === 'bar') {
      if (!this.bar) {
        this.bar = new cliProgress.SingleBar(
          { stream: this.out, format: 'downloading [{bar}] {percentage}% {done}/{size} {speed} ETA {remaining}', hideCursor: true, clearOnComplete: false, etaBuffer: 50 },
          cliProgress.Presets.shades_classic,
        );
        this.bar.start(this.total, this.done_, { done: fmtBytes(this.done_), size: fmtBytes(this.total), ...this.status() });
      } else {
        this.bar.setTotal(this.total);
      }
    }
  }

  bytes(label: string, n: number): void {
    this.done_ += n;
    const f = this.files.get(label);
    if (f) f.have += n;
    if (this.mode === 'bar') this.bar?.update(this.done_, { done: fmtBytes(this.done_), size: fmtBytes(this.total), ...this.status() });
    else if (this.mode === 'lines' && f) {
      const now = Date.now();
      if (now - f.lastLine >= this.lineEveryMs) {
        f.lastLine = now;
        const st = this.status();
        const pct = f.total ? ` (${Math.floor((100 * f.have) / f.total)}%)` : '';
        this.out.write(`  ${label}: ${fmtBytes(f.have)}${f.total !== undefined ? ` of ${fmtBytes(f.total)}` : ''}${pct}; all files ${st.speed}, ETA ${st.remaining}\n`);
      }
    }
  }

  reset(label: string): void {
    const f = this.files.get(label);
    if (!f) return;
    this.done_ -= f.have;
    this.resumed = Math.min(this.resumed, this.done_);
    f.have = 0;
  }

  done(label: string): void {
    const f = this.files.get(label);
    if (this.mode === 'lines' && f) this.out.write(`  ${label}: done (${fmtBytes(f.have)}, ${fmtDuration((Date.now() - this.t0) / 1000)})\n`);
  }

  stop(): void {
    this.bar?.stop();
    this.bar = undefined;
  }
}

/** Events that go nowhere (library use without a reporter). */
export const silentProgress: DownloadEvents = { start() {}, bytes() {}, reset() {}, done() {} };
