// Load-time repacking of ggml's Q4_K / Q5_K / Q6_K rows into the 4-row groups of matmul-kx4.ts
// (layouts there), and the way back for embedding lookups. Runs once per weight, in the owning memory.
import { h2fs } from './simd';
import { Q4KX4_SB, Q4K_MIN, Q4K_NIB, Q4K_SC, Q5KX4_SB, Q6KX4_SB } from './matmul-kx4';

/** Q4_K / Q5_K 6-bit scale (or min) j of the 12 packed bytes at s. */
@inline function scaleMin(s: usize, j: i32, wantMin: bool): u32 {
  if (j < 4) return wantMin ? <u32>load<u8>(s + j + 4) & 63 : <u32>load<u8>(s + j) & 63;
  if (wantMin) return (<u32>load<u8>(s + j + 4) >> 4) | ((<u32>load<u8>(s + j) >> 6) << 4);
  return (<u32>load<u8>(s + j + 4) & 0xf) | ((<u32>load<u8>(s + j - 4) >> 6) << 4);
}

/** The 256 quants (0..31) of one ggml Q5_K block into q: nibbles from qs, fifth bits from qh. */
function q5kValues(p: usize, q: usize): void {
  for (let j: usize = 0; j < 4; j++) {
    for (let l: usize = 0; l < 32; l++) {
      const b = <u32>load<u8>(p + 48 + (j << 5) + l);
      const h = <u32>load<u8>(p + 16 + l) >> <u32>(j << 1);
      store<u8>(q + (j << 6) + l, (b & 15) | ((h & 1) << 4));
      store<u8>(q + (j << 6) + 32 + l, (b >> 4) | ((h & 2) << 3));
    }
  }
}

/** Row r's 256 quants of one ggml Q4_K block into q (u8 each). */
function q4kValues(p: usize, q: usize): void {
  for (let j: usize = 0; j < 4; j++) {
    for (let l: usize = 0; l < 32; l++) {
      const b = load<u8>(p + 16 + (j << 5) + l);
      store<u8>(q + (j << 6) + l, b & 15);
      store<u8>(q + (j << 6) + 32 + l, b >> 4);
    }
  }
}

/** Row r's 256 quants (0..63) of one ggml Q6_K block into q. */
function q6kValues(p: usize, q: usize): void {
  for (let h: usize = 0; h < 2; h++) {
    const ql = p + (h << 6);
    const qh = p + 128 + (h << 5);
    const o = q + (h << 7);
    for (let l: usize = 0; l < 32; l++) {
      const a = <u32>load<u8>(ql + l);
      const b = <u32>load<u8>(ql + 32 + l);
      const hb = <u32>load<u8>(qh + l);
      store<u8>(o + l, (a & 15) | ((hb & 3) << 4));
      store<u8>(o + 32 + l, (b & 15) | (((hb >> 2) & 3) << 4));
      store<u8>(o + 64 + l, (a >> 4) | (((hb >> 4) & 3) << 4));
      store<u8>(o + 96 + l, (b >> 4) | (((hb >> 6) & 3) << 4));
    }
  }
}

/**
 * Q4_K (five = false) or Q5_K rows of `cols` → ceil(rows/4) Q4Kx4 / Q5Kx4 groups (layouts in
 * matmul-kx4.ts; Q5_K's with a fifth-bit plane after each block's nibbles). tmp: 256 bytes of scratch.
 */
function repackQ45(src: usize, rows: i32, cols: i32, dst: usize, tmp: usize, five: bool): void {
  const ib: usize = five ? 176 : 144;
  const sb = five ? Q5KX4_SB : Q4KX4_SB;
  const nsb = cols >> 8;
  const rb = <usize>nsb * ib;
  memory.fill(dst, 0, <usize>((rows + 3) >> 2) * nsb * sb);
  for (let r = 0; r < rows; r++) {
    const lane = <usize>(r & 3);
    for (let s = 0; s < nsb; s++) {
      const p = src + <usize>r * rb + <usize>s * ib;
      const o = dst + (<usize>(r >> 2) * nsb + s) * sb;
      store<f32>(o + (lane << 2), h2fs(load<u16>(p)));
      store<f32>(o + 16 + (lane << 2), -h2fs(load<u16>(p, 2)));
      if (five) q5kValues(p, tmp);
      else q4kValues(p, tmp);
      for (let j = 0; j < 8; j++) {
        // Scales at 32 + 4j + row, mins in pairs of blocks at 64 + 8·(j/2) + 2·row + j%2 (matmul-kx4.ts).
        store<u8>(o + Q4K_SC + (<usize>j << 2) + lane, <u8>scaleMin(p + 4, j, false));
        store<u8>(o + Q4K_MIN + (<usize>(j >> 1) << 3) + (lane << 1) + <usize>(j & 1), <u8>scaleMin(p + 4, j, true));
        const nib = o + Q4K_NIB + <usize>j * (five ? 80 : 64);
        const q = tmp + (<usize>j << 5);
        for (let i: usize = 0; i < 4; i++) {
          for (let k: usize = 0; k < 4; k++) {
            store<u8>(nib + (k << 4) + (lane << 2) + i, (load<u8>(q + (k << 2) + i) & 15) | ((load<u8>(q + 16 + (k << 2) + i) & 15) << 4));
          }
          if (five) {
            let bits: u32 = 0;
            for (let c: usize = 0; c < 8; c++) bits |= ((<u32>load<u8>(q + (c << 2) + i) >> 4) & 1) << <u32>c;
            store<u8>(nib + 64 + (lane << 2) + i, <u8>bits);
          }
        }
      }
    }
  }
}

/** src: `rows` Q4_K rows of `cols`; dst: ceil(rows/4) Q4Kx4 groups; tmp: 256 bytes of scratch. */
export function repack_q4_k(src: usize, rows: i32, cols: i32, dst: usize, tmp: usize): void {
  repackQ45(src, rows, cols, dst, tmp, false);
}

/** As repack_q4_k for Q5_K (176-byte blocks → Q5Kx4). */
export function repack_q5_k(src: usize, rows: i32, cols: i32, dst: usize, tmp: usize): void {
  repackQ45(src, rows, cols, dst, tmp, true);
}

/** As repack_q4_k for Q6_K (210-byte blocks → Q6Kx4). Padding rows hold q = 32 (value 0). */
export function repack_q6_k(src: usize, rows: i32, cols: i32, dst: usize, tmp: usize): void {
  const nsb = cols >> 8;
  const rb = <usize>nsb * 210;
  const groups = (rows + 3) >> 2;
  memory.fill(dst, 0, <usize>groups * nsb * Q6KX4_SB);
  for (let r = 0; r < groups << 2; r++) {
    const lane = <usize>(r & 3);
    for (let s = 0; s < nsb; s++) {
      const o = dst + (<usize>(r >> 2) * nsb + s) * Q6KX4_SB;
      const real = r < rows;
      const p = src + <usize>r * rb + <usize>s * 210;
      if (real) {
        store<f32>(o + (lane << 2), h2fs(load<u16>(p, 208)));
        q6kValues(p, tmp);
      } else {
        memory.fill(tmp, 32, 256);
      }
      for (let j = 0; j < 8; j++) {
        const b = o + 16 + <usize>j * 136;
        if (real) {
          store<i8>(b + (lane << 1), load<i8>(p + 192 + (j << 1)));
          store<i8>(b + (lane << 1) + 1, load<i8>(p + 192 + (j << 1) + 1));
        }
        const q = tmp + (<usize>j << 5);
        for (let k: usize = 0; k < 8; k++) store<u32>(b + 8 + (k << 4) + (lane << 2), load<u32>(q + (k << 2)));
      }
    }
  }
}

/** Row `lane` of a Q4Kx4 / Q5Kx4 / Q6Kx4 group as f32 (embedding lookups), bit-exact with ggml's dequantization. */
export function deq_kx4(kind: i32, w: usize, lane: i32, cols: i32, out: usize): void {
  const nsb = cols >> 8;
  const l = <usize>lane;
  for (let s = 0; s < nsb; s++) {
    if (kind == 12 || kind == 13) {
      // Q4Kx4 and Q5Kx4 share the header; Q5_K adds each value's fifth bit from the plane.
      const five = kind == 13;
      const o = w + <usize>s * (five ? Q5KX4_SB : Q4KX4_SB);
      const d = load<f32>(o + (l << 2));
      const dmin = -load<f32>(o + 16 + (l << 2));
      for (let j = 0; j < 8; j++) {
        const a = d * <f32>load<u8>(o + Q4K_SC + (<usize>j << 2) + l);
        const m = dmin * <f32>load<u8>(o + Q4K_MIN + (<usize>(j >> 1) << 3) + (l << 1) + <usize>(j & 1));
        const b = o + Q4K_NIB + <usize>j * (five ? 80 : 64);
        for (let i: usize = 0; i < 4; i++) {
          const bits = five ? <u32>load<u8>(b + 64 + (l << 2) + i) : 0;
          for (let k: usize = 0; k < 4; k++) {
            const by = <u32>load<u8>(b + (k << 4) + (l << 2) + i);
            const c = <usize>(s * 256 + j * 32) + (k << 2) + i;
            store<f32>(out + (c << 2), a * <f32>((by & 15) | (((bits >> <u32>k) & 1) << 4)) - m);
            store<f32>(out + ((c + 16) << 2), a * <f32>((by >> 4) | (((bits >> <u32>(k + 4)) & 1) << 4)) - m);
          }
        }
      }
    } else {
      const o = w + <usize>s * Q6KX4_SB;
      const d = load<f32>(o + (l << 2));
      for (let j = 0; j < 8; j++) {
        const b = o + 16 + <usize>j * 136;
        for (let k: usize = 0; k < 8; k++) {
          const a = d * <f32>load<i8>(b + (l << 1) + (k < 4 ? 0 : 1));
          for (let i: usize = 0; i < 4; i++) {
            const q = <i32>load<u8>(b + 8 + (k << 4) + (l << 2) + i) - 32;
            store<f32>(out + ((<usize>(s * 256 + j * 32) + (k << 2) + i) << 2), a * <f32>q);
          }
        }
      }
    }
  }
}
