import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ARENA_BASE } from '../src/backend/wasm/arena.js';
import { DEFAULT_SCRATCH, instantiateRaw, kernelMemory, loadKernelModule } from '../src/backend/wasm/module.js';

/**
 * The kernels keep constants and the repack staging rows as static data at low addresses, each
 * memory's default scratch block (sinks, tile factors; other instances over the memory get blocks
 * from the arena, set_scratch) at DEFAULT_SCRATCH after them; the arena allocates from ARENA_BASE up. Every active data segment of both
 * kernel modules must end below it, or weights would overwrite kernel state.
 */
function dataEnd(bytes: Uint8Array): number {
  let p = 8;
  const leb = (): number => {
    let r = 0;
    let s = 0;
    let x: number;
    do {
      x = bytes[p++]!;
      r |= (x & 0x7f) << s;
      s += 7;
    } while (x & 0x80);
    return r >>> 0;
  };
  let end = 0;
  while (p < bytes.length) {
    const id = bytes[p++]!;
    const len = leb();
    const next = p + len;
    if (id === 11) {
      const count = leb();
      for (let i = 0; i < count; i++) {
        const flags = leb();
        if (flags === 0) {
          assert.equal(bytes[p++], 0x41, 'segment offset is an i32.const');
          const offset = leb();
          assert.equal(bytes[p++], 0x0b, 'offset expression ends');
          const size = leb();
          p += size;
          end = Math.max(end, offset + size);
        } else {
          p += leb();
        }
      }
    }
    p = next;
  }
  return end;
}

test('kernel static data ends below the arena base in both modules', () => {
  const dir = join(dirname(fileURLToPath(import.meta.url)), '..', 'src', 'backend', 'wasm');
  for (const file of ['kernels-relaxed.wasm', 'kernels-simd.wasm']) {
    const end = dataEnd(readFileSync(join(dir, file)));
    assert.ok(end > 0 && end <= ARENA_BASE, `${file}: static data ends at ${end}, arena starts at ${ARENA_BASE}`);
  }
});

test('each memory\'s default kernel scratch lies between the static data and the arena', async () => {
  // The first instance over a memory uses the scratch block at DEFAULT_SCRATCH (not static data:
  // an imported memory's zeros would be carried in the binary); allocations start at ARENA_BASE.
  const km = await loadKernelModule();
  const k = instantiateRaw(km.module, kernelMemory());
  assert.ok(k.static_end() <= DEFAULT_SCRATCH, `static data ends at ${k.static_end()}, scratch starts at ${DEFAULT_SCRATCH}`);
  assert.ok(DEFAULT_SCRATCH + k.scratch_bytes() <= ARENA_BASE, `scratch ends at ${DEFAULT_SCRATCH + k.scratch_bytes()}, arena starts at ${ARENA_BASE}`);
  assert.ok(kernelMemory().buffer.byteLength >= ARENA_BASE, 'a kernel memory starts with the pages below the arena');
});
