import type { Arena } from './arena.js';
import { instantiate, type Kernels } from './module.js';
import type { KernelChoice } from './kernel-choice.js';

/** A per-thread scratch region, reallocated larger on demand (`ThreadMemories.ensure`). */
export interface Scratch {
  ptr: number;
  size: number;
}

/**
 * The threads' wasm memories as the calling thread sees them: thread t's memory, its arena and a
 * kernel instance over it (all callable from this thread), typed views of memory 0 and byte views
 * of the others, and one scratch region per thread. Views are cached and made anew only after a
 * memory grew: ops read them per call, so a fresh view per op would be an allocation on the hot path.
 */
export class ThreadMemories {
  /** The kernel instance over memory 0 (the calling thread's; every activation tensor lives there). */
  readonly k0: Kernels;
  /** One kernel instance per thread memory (load-time repacks, embed, inline KV stores). */
  readonly kAll: Kernels[];
  /** Per-thread scratch (activation copies, attention and store staging). */
  readonly scratch: Scratch[];
  /** Views of memory 0; valid after `refresh()` (an arena alloc may have grown the memory). */
  f32 = new Float32Array(0);
  i32 = new Int32Array(0);
  u8 = new Uint8Array(0);
  /** Cached byte views of the worker memories (bytesOf). */
  private readonly views: (Uint8Array | undefined)[] = [];

  constructor(
    readonly memories: WebAssembly.Memory[],
    readonly arenas: Arena[],
    module: WebAssembly.Module,
    choice: KernelChoice,
  ) {
    this.kAll = memories.map((m) => instantiate(module, m, choice));
    this.k0 = this.kAll[0]!;
    this.scratch = memories.map(() => ({ ptr: 0, size: 0 }));
    this.refresh();
  }

  /** Remakes the views of memory 0 if it grew since they were made. */
  refresh(): void {
    const buf = this.memories[0]!.buffer;
    if (this.u8.buffer !== buf || this.u8.length !== buf.byteLength) {
      this.f32 = new Float32Array(buf);
      this.i32 = new Int32Array(buf);
      this.u8 = new Uint8Array(buf);
    }
  }

  /** A byte view of thread t's memory, made anew only after the memory grew. */
  bytesOf(t: number): Uint8Array {
    if (t === 0) {
      this.refresh();
      return this.u8;
    }
    const buf = this.memories[t]!.buffer;
    let v = this.views[t];
    if (!v || v.buffer !== buf || v.length !== buf.byteLength) {
      v = new Uint8Array(buf);
      this.views[t] = v;
    }
    return v;
  }

  /** The pointer of scratch `s` in thread t's memory, grown (×1.5 at least) to `bytes` if smaller. */
  ensure(t: number, s: Scratch, bytes: number): number {
    if (s.size < bytes) {
      if (s.size) this.arenas[t]!.release(s.ptr);
      s.size = Math.max(bytes, Math.ceil(s.size * 1.5));
      s.ptr = this.arenas[t]!.alloc(s.size);
      if (t === 0) this.refresh();
    }
    return s.ptr;
  }
}

export function align64(p: number): number {
  return Math.ceil(p / 64) * 64;
}
