import { LlamaError } from '../../errors/errors.js';
import { INITIAL_PAGES, MAX_PAGES } from './module.js';

const PAGE = 65536;
const ALIGN = 64;
/** Below this: the kernels' static data and the memory's default kernel scratch (module.ts INITIAL_PAGES). */
export const ARENA_BASE = INITIAL_PAGES * PAGE;
const BASE = ARENA_BASE;

/**
 * First-fit allocator over one shared WebAssembly.Memory, driven entirely from the main thread
 * (workers never allocate), growing the memory on demand. Freed ranges coalesce.
 */
export class Arena {
  private top = BASE;
  /** Free ranges sorted by offset. */
  private free: { off: number; size: number }[] = [];
  private sizes = new Map<number, number>();

  constructor(
    readonly memory: WebAssembly.Memory,
    readonly label: string,
  ) {}

  get bytesInUse(): number {
    let f = 0;
    for (const r of this.free) f += r.size;
    return this.top - BASE - f;
  }

  alloc(bytes: number): number {
    const size = Math.max(ALIGN, Math.ceil(bytes / ALIGN) * ALIGN);
    for (let i = 0; i < this.free.length; i++) {
      const r = this.free[i]!;
      if (r.size >= size) {
        const off = r.off;
        if (r.size === size) this.free.splice(i, 1);
        else {
          r.off += size;
          r.size -= size;
        }
        this.sizes.set(off, size);
        return off;
      }
    }
    const off = this.top;
    const end = off + size;
    const have = this.memory.buffer.byteLength;
    if (end > have) {
      const pages = Math.ceil((end - have) / PAGE);
      if (have / PAGE + pages > MAX_PAGES) {
        throw new LlamaError(
          'BACKEND_ERROR',
          `${this.label} would need ${end} bytes, beyond the 4 GiB a wasm32 memory holds; weights and KV caches are split across threads, so use more threads (or a smaller context)`,
        );
      }
      this.memory.grow(pages);
    }
    this.top = end;
    this.sizes.set(off, size);
    return off;
  }

  release(off: number): void {
    const size = this.sizes.get(off);
    if (size === undefined) return;
    this.sizes.delete(off);
    let i = 0;
    while (i < this.free.length && this.free[i]!.off < off) i++;
    this.free.splice(i, 0, { off, size });
    // Coalesce with neighbours; a free range ending at `top` gives the space back to the bump pointer.
    if (i + 1 < this.free.length && this.free[i]!.off + this.free[i]!.size === this.free[i + 1]!.off) {
      this.free[i]!.size += this.free[i + 1]!.size;
      this.free.splice(i + 1, 1);
    }
    if (i > 0 && this.free[i - 1]!.off + this.free[i - 1]!.size === this.free[i]!.off) {
      this.free[i - 1]!.size += this.free[i]!.size;
      this.free.splice(i, 1);
      i--;
    }
    const last = this.free[this.free.length - 1];
    if (last && last.off + last.size === this.top) {
      this.top = last.off;
      this.free.pop();
    }
  }
}
