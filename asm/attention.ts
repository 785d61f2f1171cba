// Causal-by-position grouped-query attention over one thread's KV heads (flash-attention style:
// 64-slot tiles, running max/sum per query row, so K and V stream through once per row block).
import { exp4, fma, hmax, hsum, h2f, f2h } from './simd';

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
          // Four slots at a time: four dot products reduced together into one score vector.
          const T4 = T & ~3;
          let mx = f32x4.splat(ninf);
          const qpv = i32x4.splat(qp);
          const sv4 = f32x4.splat(scale);
          for (let s = 0; s < T4; s += 4) {
            const k0 = kt + <usize>(s * hd) * 4;
            const k1 = k0 + <usize>hd * 4;
            const k2 = k1 + <usize>hd * 4;
            const k3 = k2 + <usize>hd * 4;
            let a0 = f32x4.splat(0), a1 = f32x4.splat(0), a2 = f32x4.splat(0), a3 = f32x4.splat(0);
            for (let d: usize = 0; d < <usize>hd * 4; d += 16) {
              const qd = v128.load(qv + d);
              a0 = fma(qd, v128.load(k0 + d), a0);
              a1 = fma(qd, v128.load(k1 + d), a1);
              a2 = fma(qd, v128.load(k2 + d), a2);
              a3 = fma(qd, v128.load(k3 + d), a3);
            }
            const t01 = f32x4.add(v128.shuffle<f32>(a0, a1, 0, 4, 1, 5), v128.shuffle<f32>(a0, a1, 2, 6, 3, 7));
            const t23 = f32x4.add(v128.shuffle<f32>(a2, a3, 0, 4, 1, 5), v128.shuffle<f32>(a2, a3, 2, 6, 3, 7));
            const sc4 = f32x4.mul(f32x4.add(v128.shuffle<f32>(t01, t23, 0, 1, 4, 5), v128.shuffle<f32>(t01, t23, 2, 3, 6, 7)), sv4);
            const vis = i32x4.le_s(v128.load(kpos + (<usize>(s0 + s) << 2)), qpv);
            const r4 = v128.bitselect(sc4, f32x4.splat(ninf), vis);
            mx = f32x4.max(mx, r4);
            v128.store(Sr + (<usize>s << 2), r4);
          }
          rmax = hmax(mx);
          for (let s = T4; s < T; s++) {
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
          // O += Σ p_s · v_s, four slots per pass over O (padded slots have p = 0).
          for (let s = 0; s < T; s += 4) {
            const p4 = v128.load(Sr + (<usize>s << 2));
            if (!v128.any_true(p4)) continue;
            const p0 = f32x4.splat(f32x4.extract_lane(p4, 0));
            const p1 = f32x4.splat(f32x4.extract_lane(p4, 1));
            const p2 = f32x4.splat(f32x4.extract_lane(p4, 2));
            const p3 = f32x4.splat(f32x4.extract_lane(p4, 3));
            const v0 = vt + <usize>(s * hd) * 4;
            const n4 = min(4, T - s);
            if (n4 == 4) {
              const v1 = v0 + <usize>hd * 4;
              const v2 = v1 + <usize>hd * 4;
              const v3 = v2 + <usize>hd * 4;
              for (let d: usize = 0; d < <usize>hd * 4; d += 16) {
                let o = v128.load(Or + d);
                o = fma(p0, v128.load(v0 + d), o);
                o = fma(p1, v128.load(v1 + d), o);
                o = fma(p2, v128.load(v2 + d), o);
                o = fma(p3, v128.load(v3 + d), o);
                v128.store(Or + d, o);
              }
            } else {
              for (let j = 0; j < n4; j++) {
                const pj = f32x4.splat(load<f32>(Sr + (<usize>(s + j) << 2)));
                const vj = v0 + <usize>(j * hd) * 4;
                for (let d: usize = 0; d < <usize>hd * 4; d += 16) v128.store(Or + d, fma(pj, v128.load(vj + d), v128.load(Or + d)));
              }
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
