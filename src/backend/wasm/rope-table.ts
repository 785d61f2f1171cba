import type { Scratch, ThreadMemories } from './memory.js';

/**
 * The cos/sin table rope reads, in memory 0: angles formed in f64, stored in f32 pairs. Every
 * layer of a step ropes q and k at the same positions, so the table is rebuilt only when the
 * positions (or the frequencies or head size) change.
 */
export class RopeTable {
  private key: { pos: Int32Array; inv: ArrayLike<number>; hd: number } | undefined;
  private readonly tab: Scratch = { ptr: 0, size: 0 };

  constructor(private readonly mem: ThreadMemories) {}

  /** Pointer of the cos table ([n][hd] f32); the sin table (signed per pair) follows it. */
  get(n: number, hd: number, positions: Int32Array, inv: ArrayLike<number>): number {
    const key = this.key;
    const need = 2 * n * hd * 4;
    if (key && key.inv === inv && key.hd === hd && key.pos.length === n && this.tab.size >= need) {
      let same = true;
      for (let i = 0; i < n; i++) {
        if (key.pos[i] !== positions[i]) {
          same = false;
          break;
        }
      }
      if (same) return this.tab.ptr;
    }
    const ptr = this.mem.ensure(0, this.tab, need);
    const f = this.mem.f32;
    const cs = ptr / 4;
    const sn = cs + n * hd;
    for (let i = 0; i < n; i++) {
      const pos = positions[i]!;
      for (let j = 0; j < hd / 2; j++) {
        const a = pos * inv[j]!;
        const c = Math.cos(a);
        const s = Math.sin(a);
        const o = i * hd + 2 * j;
        f[cs + o] = c;
        f[cs + o + 1] = c;
        f[sn + o] = -s;
        f[sn + o + 1] = s;
      }
    }
    this.key = { pos: positions.slice(0, n), inv, hd };
    return ptr;
  }
}
