import assert from 'node:assert/strict';
import { test } from 'node:test';
import { bf16ToF32, f16ToF32, f32ToBF16, f32ToF16 } from '../src/quant/half.js';

/** Independent f16 decoder by formula. */
function f16Formula(h: number): number {
  const s = h & 0x8000 ? -1 : 1;
  const e = (h >> 10) & 31;
  const m = h & 1023;
  if (e === 31) return m ? NaN : s * Infinity;
  if (e === 0) return s * m * 2 ** -24;
  return s * (1 + m / 1024) * 2 ** (e - 15);
}

test('f16ToF32 is exact for all 65536 patterns', () => {
  for (let h = 0; h < 65536; h++) {
    const a = f16ToF32(h);
    const b = f16Formula(h);
    if (Number.isNaN(b)) assert.ok(Number.isNaN(a), `h=${h}`);
    else assert.ok(Object.is(a, b), `h=${h.toString(16)}: ${a} vs ${b}`);
  }
});

test('f32ToF16 round-trips every finite f16 and inf', () => {
  for (let h = 0; h < 65536; h++) {
    if ((h & 0x7c00) === 0x7c00 && h & 0x3ff) continue;
    assert.equal(f32ToF16(f16ToF32(h)), h, `h=${h.toString(16)}`);
  }
  assert.equal(f32ToF16(NaN) & 0x7e00, 0x7e00);
});

test('f32ToF16 rounds to nearest, ties to even (normals, subnormals, overflow)', () => {
  // 1 + 2^-11 is halfway between 1 and 1+2^-10: ties to even → 1.
  assert.equal(f32ToF16(1 + 2 ** -11), 0x3c00);
  // 1 + 3·2^-11 is halfway between 1+2^-10 (odd) and 1+2^-9: → 1+2^-9.
  assert.equal(f32ToF16(1 + 3 * 2 ** -11), 0x3c02);
  assert.equal(f32ToF16(1 + 2 ** -11 + 2 ** -20), 0x3c01);
  // Subnormals: 2^-25 is half the smallest subnormal → 0 (even); slightly more → 1.
  assert.equal(f32ToF16(2 ** -25), 0);
  assert.equal(f32ToF16(2 ** -25 * 1.0001), 1);
  assert.equal(f32ToF16(3 * 2 ** -25), 2); // 1.5 ulp → ties to even 2
  assert.equal(f32ToF16(-(2 ** -24)), 0x8001);
  // Largest subnormal rounding up into the smallest normal.
  assert.equal(f32ToF16(2 ** -14 - 2 ** -26), 0x0400);
  // Overflow: 65504 + half an ulp (65520) rounds to inf; just below stays 65504.
  assert.equal(f32ToF16(65520), 0x7c00);
  assert.equal(f32ToF16(65519), 0x7bff);
  assert.equal(f32ToF16(1e10), 0x7c00);
  assert.equal(f32ToF16(-Infinity), 0xfc00);
  assert.equal(f32ToF16(-0), 0x8000);
  assert.equal(f32ToF16(1e-30), 0);
});

test('f32ToF16 matches brute-force nearest-even on random values', () => {
  let seed = 12345;
  const rnd = () => ((seed = (seed * 1103515245 + 12345) >>> 0) / 2 ** 32);
  for (let i = 0; i < 20000; i++) {
    const x = Math.fround((rnd() - 0.5) * 2 ** (Math.floor(rnd() * 44) - 28));
    const h = f32ToF16(x);
    const v = f16ToF32(h);
    // Neighbours must not be closer; on a tie the chosen one is even.
    for (const nb of [h - 1, h + 1]) {
      if ((nb & 0x7fff) > 0x7c00 || nb < 0 || ((nb ^ h) & 0x8000)) continue;
      const w = f16ToF32(nb);
      const dv = Math.abs(v - x);
      const dw = Math.abs(w - x);
      assert.ok(dv < dw || (dv === dw && (h & 1) === 0), `x=${x} h=${h} nb=${nb}`);
    }
  }
});

test('bf16 conversions', () => {
  assert.equal(bf16ToF32(0x3f80), 1);
  assert.equal(bf16ToF32(0xc040), -3);
  assert.ok(Object.is(bf16ToF32(0x8000), -0));
  assert.equal(bf16ToF32(0x7f80), Infinity);
  assert.equal(f32ToBF16(1), 0x3f80);
  assert.equal(f32ToBF16(1 + 2 ** -8), 0x3f80); // tie → even
  assert.equal(f32ToBF16(1 + 3 * 2 ** -8), 0x3f82);
  assert.ok(Number.isNaN(bf16ToF32(f32ToBF16(NaN))));
});
