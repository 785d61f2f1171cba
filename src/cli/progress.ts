import cliProgress from 'cli-progress';

/** A load progress bar on stderr (only on a terminal, and only for models worth waiting for). */
export function loadProgress(enabled: boolean): { onProgress: (done: number, total: number) => void; stop: () => void } {
  if (!enabled || !process.stderr.isTTY) return { onProgress: () => {}, stop: () => {} };
  let bar: cliProgress.SingleBar | undefined;
  return {
    onProgress(done, total) {
      if (!bar) {
        if (total < 64 * 2 ** 20) return;
        bar = new cliProgress.SingleBar(
          { stream: process.stderr, format: 'loading [{bar}] {percentage}% {value}/{total} MiB', hideCursor: true, clearOnComplete: true },
          cliProgress.Presets.shades_classic,
        );
        bar.start(Math.ceil(total / 2 ** 20), 0);
      }
      bar.update(Math.floor(done / 2 ** 20));
    },
    stop() {
      bar?.stop();
    },
  };
}

/**
 * Tensor-by-tensor progress for convert/quantize on stderr: a bar on a terminal, otherwise one
 * line per tenth of the tensors (so logs show it is alive without a line per tensor).
 */
export function tensorProgress(label: string, enabled: boolean): { onProgress: (done: number, total: number, name: string, bytes: number) => void; stop: () => void } {
  if (!enabled) return { onProgress: () => {}, stop: () => {} };
  const mib = (b: number): string => (b / 2 ** 20).toFixed(1);
  if (!process.stderr.isTTY) {
    let shown = 0;
    return {
      onProgress(done, total, name, bytes) {
        const tenth = Math.floor((done * 10) / total);
        if (tenth > shown || done === total) {
          shown = tenth;
          process.stderr.write(`${label}: ${done}/${total} tensors, ${mib(bytes)} MiB (${name})\n`);
        }
      },
      stop: () => {},
    };
  }
  const bar = new cliProgress.SingleBar(
    { stream: process.stderr, format: `${label} [{bar}] {value}/{total} tensors {mib} MiB {name}`, hideCursor: true, clearOnComplete: true },
    cliProgress.Presets.shades_classic,
  );
  let started = false;
  return {
    onProgress(done, total, name, bytes) {
      if (!started) {
        bar.start(total, 0, { mib: '0.0', name: '' });
        started = true;
      }
      bar.update(done, { mib: mib(bytes), name });
    },
    stop() {
      if (started) bar.stop();
    },
  };
}
