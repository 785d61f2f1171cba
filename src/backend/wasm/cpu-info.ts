import { readFileSync } from 'node:fs';
import { cpus } from 'node:os';

/** The CPU a run lands on, as benchmarks report it: the model name and its SIMD-related flags. */
export interface CpuInfo {
  readonly model: string;
  /** SIMD and dot-product flags from /proc/cpuinfo (sse*, avx*, fma, f16c, amx*, *vnni*); empty where unreadable. */
  readonly flags: readonly string[];
}

const SIMD_FLAG = /^(sse|ssse|avx|fma|f16c|amx|vnni|asimd|sve|i8mm|dotprod)/;

export function cpuInfo(): CpuInfo {
  const model = cpus()[0]?.model.trim() || 'unknown CPU';
  let flags: string[] = [];
  try {
    const text = readFileSync('/proc/cpuinfo', 'utf8');
    const line = text.split('\n').find((l) => /^(flags|Features)\s*:/.test(l));
    if (line) flags = line.slice(line.indexOf(':') + 1).trim().split(/\s+/).filter((f) => SIMD_FLAG.test(f) || f.includes('vnni'));
  } catch {
    // Not Linux: the model name alone.
  }
  return { model, flags };
}

/** The first core's L2 size (Linux sysfs), undefined where unreadable. */
export function l2Bytes(): number | undefined {
  try {
    for (let i = 0; i < 8; i++) {
      const dir = `/sys/devices/system/cpu/cpu0/cache/index${i}`;
      if (readFileSync(`${dir}/level`, 'utf8').trim() !== '2') continue;
      const m = /^(\d+)([KMG]?)/.exec(readFileSync(`${dir}/size`, 'utf8').trim());
      if (!m) return undefined;
      return Number(m[1]) * ({ '': 1, K: 1024, M: 1 << 20, G: 1 << 30 } as const)[m[2] as '' | 'K' | 'M' | 'G'];
    }
  } catch {
    // Not Linux, or no cache description.
  }
  return undefined;
}
