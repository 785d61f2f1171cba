import cliProgress from 'cli-progress';
import { loadModel, openModelFiles, type LoadOptions } from '../model/load.js';
import type { LlamaModel } from '../model/model.js';
import { checkTensorsFinite } from '../quant/check-finite.js';

/** A progress bar on stderr (only on a terminal, and only for models worth waiting for). */
export function loadProgress(enabled: boolean, label = 'loading'): { onProgress: (done: number, total: number) => void; stop: () => void } {
  if (!enabled || !process.stderr.isTTY) return { onProgress: () => {}, stop: () => {} };
  let bar: cliProgress.SingleBar | undefined;
  return {
    onProgress(done, total) {
      if (!bar) {
        if (total < 64 * 2 ** 20) return;
        bar = new cliProgress.SingleBar(
          { stream: process.stderr, format: `${label} [{bar}] {percentage}% {value}/{total} MiB`, hideCursor: true, clearOnComplete: true },
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
 * Convert/quantize progress on stderr, by elements (a big tensor takes minutes to K-quantize): a
 * bar on a terminal, otherwise a line at every tenth (so logs show it is alive without a line per
 * chunk).
 */
export function tensorProgress(
  label: string,
  enabled: boolean,
): { onProgress: (done: number, total: number, name: string, bytes: number, doneElems: number, totalElems: number) => void; stop: () => void } {
  if (!enabled) return { onProgress: () => {}, stop: () => {} };
  const mib = (b: number): string => (b / 2 ** 20).toFixed(1);
  if (!process.stderr.isTTY) {
    let shown = 0;
    return {
      onProgress(done, total, name, bytes, doneElems, totalElems) {
        const tenth = Math.floor((doneElems * 10) / totalElems);
        if (tenth > shown || done === total) {
          shown = tenth;
          process.stderr.write(`${label}: ${Math.round((100 * doneElems) / totalElems)}%, ${done}/${total} tensors, ${mib(bytes)} MiB written (${name})\n`);
        }
      },
      stop: () => {},
    };
  }
  const bar = new cliProgress.SingleBar(
    { stream: process.stderr, format: `${label} [{bar}] {percentage}% {tensors} tensors {mib} MiB {eta_formatted} {name}`, hideCursor: true, clearOnComplete: true, etaBuffer: 50 },
    cliProgress.Presets.shades_classic,
  );
  let started = false;
  return {
    onProgress(done, total, name, bytes, doneElems, totalElems) {
      if (!started) {
        bar.start(totalElems, 0, { mib: '0.0', name: '', tensors: `0/${total}` });
        started = true;
      }
      bar.update(doneElems, { mib: mib(bytes), name, tensors: `${done}/${total}` });
    },
    stop() {
      if (started) bar.stop();
    },
  };
}

/**
 * `--check-tensors`: scan every weight for NaN/Inf before loading (reads the files once more),
 * throwing NonFiniteTensorError naming the first bad tensor.
 */
export async function checkModelTensors(path: string, options: { tokenizer?: string; progress?: boolean } = {}): Promise<void> {
  const opened = await openModelFiles(path, options.tokenizer !== undefined ? { tokenizer: options.tokenizer } : {});
  const bar = loadProgress(options.progress ?? true, 'checking');
  try {
    checkTensorsFinite(opened.tensors, bar.onProgress);
  } finally {
    bar.stop();
    opened.close();
  }
}

export interface CliLoadOptions extends Omit<LoadOptions, 'onProgress'> {
  /** Show a progress bar on stderr (when it is a terminal). Default true. */
  readonly progress?: boolean;
  /** Scan the weights for NaN/Inf first (--check-tensors). */
  readonly checkTensors?: boolean;
}

/**
 * How every CLI command that needs a model loads it (run, chat, and the server / eval commands
 * to come): optional tensor check, a progress bar, and the load time for timing summaries.
 */
export async function loadModelForCli(path: string, options: CliLoadOptions = {}): Promise<{ model: LlamaModel; loadMs: number }> {
  const { progress = true, checkTensors = false, ...load } = options;
  const t0 = performance.now();
  if (checkTensors) await checkModelTensors(path, { ...(load.tokenizer !== undefined ? { tokenizer: load.tokenizer } : {}), progress });
  const bar = loadProgress(progress);
  try {
    const model = await loadModel(path, { ...load, onProgress: bar.onProgress });
    return { model, loadMs: performance.now() - t0 };
  } finally {
    bar.stop();
  }
}
