// Causal-by-position grouped-query attention over one thread's KV heads (flash-attention style:
// 64-slot tiles, running max/sum per query row, so K and V stream through once per row block).
import { exp4, fma, hsum, h2f, f2h } from './simd';

const TILE = 64;

/** Query rows processed together per KV head: all grp heads of up to ⌊32/grp⌋ tokens. */
export function attn_rows(grp: i32): i32 {
  const tq = 32 / grp;
  return grp * (tq < 1 ? 1 : tq);
}

/** Scratch bytes attn needs. */
export function attn_scratch_bytes(hd: i32, grp: i32): i32 {
  const R = attn_rows(grp);
  return 4 * (R * TILE + 2 * R + R * hd + 2 * TILE * hd) + 64;
}

@inline function dotf(a: usize, b: usize, hd: i32): f32 {
  let acc = f32x4.splat(0);
  for (let d: usize = 0; d < <usize>hd; d += 4) acc = fma(v128.load(a + (d << 2)), v128.load(b + (d << 2)), acc);
  return hsum(acc);
}

function toF32(src: usize, dst: usize, count: i32): void {
  for (let i: usize = 0; i < <usize>count; i += 4) {
    v128.store(dst + (i << 2), h2f(i32x4.extend_low_i16x8_u(v128.load64_zero(src + (i << 1)))));
  }
}

/**
 * q, out: [n, *] f32 with row strides qStride/oStride floats, pointing at this thread's first
 * query head; kbase/vbase: this layer's first KV head, [nkv][capacity][hd] (f32 or f16),
 * headStride bytes apart; kpos: [len] slot positions; qpos: [n] query positions.
 */
export function attn(
  n: i32, hd: i32, grp: i32, nkv: i32, len: i32, scale: f32, f16: i32,
  q: usize, qStride: i32, qpos: usize, kpos: usize, kbase: usize, vbase: usize, headStride: usize,
  out: usize, oStride: i32, scratch: usize,
): void {
  const R = attn_rows(grp);
  const tq = R / grp;
  const S = scratch;
  const M = S + <usize>(R * TILE) * 4;
  const L = M + <usize>R * 4;
  const O = L + <usize>R * 4;
  const Kt = O + <usize>(R * hd) * 4;
  const Vt = Kt + <usize>(TILE * hd) * 4;
  const esz: usize = f16 ? 2 : 4;
  const rowB = <usize>hd * esz;
  const ninf: f32 = -Infinity;
  for (let g = 0; g < nkv; g++) {
    const kh = kbase + <usize>g * headStride;
    const vh = vbase + <usize>g * headStride;
    for (let i0 = 0; i0 < n; i0 += tq) {
      const rows = min(tq, n - i0) * grp;
      for (let r = 0; r < rows; r++) {
        store<f32>(M + (<usize>r << 2), ninf);
        store<f32>(L + (<usize>r << 2), 0);
        memory.fill(O + <usize>(r * hd) * 4, 0, <usize>hd * 4);
      }
      // Largest query position in this row block: tiles entirely beyond it are skipped.
      let qmax = load<i32>(qpos + (<usize>i0 << 2));
      for (let t = 1; t < rows / grp; t++) qmax = max(qmax, load<i32>(qpos + (<usize>(i0 + t) << 2)));
      for (let s0 = 0; s0 < len; s0 += TILE) {
        const T = min(TILE, len - s0);
        let anyVisible = false;
        for (let s = 0; s < T; s++) if (load<i32>(kpos + (<usize>(s0 + s) << 2)) <= qmax) { anyVisible = true; break; }
        if (!anyVisible) continue;
        let kt = kh + <usize>s0 * rowB;
        let vt = vh + <usize>s0 * rowB;
        if (f16) {
          toF32(kt, Kt, T * hd);
          toF32(vt, Vt, T * hd);
          kt = Kt;
          vt = Vt;
        }
        for (let r = 0; r < rows; r++) {
          const ti = i0 + r / grp;
          const hh = r % grp;
          const qp = load<i32>(qpos + (<usize>ti << 2));
          const qv = q + ((<usize>ti * qStride + <usize>(g * grp + hh) * hd) << 2);
          const Sr = S + <usize>(r * TILE) * 4;
          let rmax: f32 = ninf;
          for (let s = 0; s < T; s++) {
            let sc: f32 = ninf;
            if (load<i32>(kpos + (<usize>(s0 + s) << 2)) <= qp) {
              sc = dotf(qv, kt + <usize>(s * hd) * 4, hd) * scale;
              rmax = max(rmax, sc);
            }
            store<f32>(Sr + (<usize>s << 2), sc);
          }
          if (rmax == ninf) continue;
          // Pad the tile's last vector so stale scores past T become exact zeros below.
          for (let s = T; s < ((T + 3) & ~3); s++) store<f32>(Sr + (<usize>s << 2), ninf);
          const mo = load<f32>(M + (<usize>r << 2));
          const mn = max(mo, rmax);
          const Or = O + <usize>(r * hd) * 4;
          let l = load<f32>(L + (<usize>r << 2));
          if (mo != ninf && mo != mn) {
            const alpha = f32x4.extract_lane(exp4(f32x4.splat(mo - mn)), 0);
            l *= alpha;
            const av = f32x4.splat(alpha);
            for (let d: usize = 0; d < <usize>hd; d += 4) v128.store(Or + (d << 2), f32x4.mul(v128.load(Or + (d << 2)), av));
          }
          // p = exp(s − max) four slots at a time; masked slots (−inf) become exactly 0.
          const mv = f32x4.splat(mn);
          const zero = f32x4.splat(0);
          let ls = zero;
          for (let s = 0; s < T; s += 4) {
            const sv = v128.load(Sr + (<usize>s << 2));
            const p = v128.bitselect(exp4(f32x4.sub(sv, mv)), zero, f32x4.ne(sv, f32x4.splat(ninf)));
            v128.store(Sr + (<usize>s << 2), p);
            ls = f32x4.add(ls, p);
          }
          l += hsum(ls);
          store<f32>(L + (<usize>r << 2), l);
          store<f32>(M + (<usize>r << 2), mn);
          for (let s = 0; s < T; s++) {
            const p = load<f32>(Sr + (<usize>s << 2));
            if (p == 0) continue;
            const pv = f32x4.splat(p);
            const vp = vt + <usize>(s * hd) * 4;
            for (let d: usize = 0; d < <usize>hd; d += 4) {
              v128.store(Or + (d << 2), fma(pv, v128.load(vp + (d << 2)), v128.load(Or + (d << 2))));
            }
          }
        }
      }
      for (let r = 0; r < rows; r++) {
        const ti = i0 + r / grp;
        const hh = r % grp;
        const l = load<f32>(L + (<usize>r << 2));
        const inv = f32x4.splat(l > 0 ? 1 / l : 0);
        const Or = O + <usize>(r * hd) * 4;
        const op = out + ((<usize>ti * oStride + <usize>(g * grp + hh) * hd) << 2);
        for (let d: usize = 0; d < <usize>hd; d += 4) v128.store(op + (d << 2), f32x4.mul(v128.load(Or + (d << 2)), inv));
      }
    }
  }
}

/**
 * Writes n rows of k or v (src: [n, *] f32, row stride srcStride floats, at this thread's first
 * KV head) into slots [slot, slot+n) of dst ([nkv][capacity][hd], headStride bytes apart).
 */
export function store_kv(src: usize, srcStride: i32, n: i32, nkv: i32, hd: i32, dst: usize, headStride: usize, slot: i32, f16: i32): void {
  for (let i = 0; i < n; i++) {
    for (let h = 0; h < nkv; h++) {
      const sp = src + ((<usize>i * srcStride + <usize>h * hd) << 2);
      if (f16) {
        const dp = dst + <usize>h * headStride + ((<usize>(slot + i) * hd) << 1);
        for (let d: usize = 0; d < <usize>hd; d++) store<u16>(dp + (d << 1), <u16>f2h(load<f32>(sp + (d << 2))));
      } else {
        memory.copy(dst + <usize>h * headStride + ((<usize>(slot + i) * hd) << 2), sp, <usize>hd << 2);
      }
    }
  }
}
