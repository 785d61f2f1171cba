/** Per-op wall time: calls and milliseconds by op name (Backend.profile). */
export type OpTimes = Map<string, { calls: number; ms: number }>;

/**
 * A table when LLAMA_TS_WASM_PROFILE=1, else undefined: ops then test one field and skip the
 * clock, so profiling costs nothing when off.
 */
export function createProfile(): OpTimes | undefined {
  return process.env['LLAMA_TS_WASM_PROFILE'] === '1' ? new Map() : undefined;
}

/** Adds the time since `t0` (performance.now()) to `name`'s entry. */
export function note(profile: OpTimes, name: string, t0: number): void {
  const e = profile.get(name);
  const ms = performance.now() - t0;
  if (e) {
    e.calls++;
    e.ms += ms;
  } else profile.set(name, { calls: 1, ms });
}
