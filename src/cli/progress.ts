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
