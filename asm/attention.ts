// Causal-by-position grouped-query attention over one thread's KV heads (flash-attention style:
// 64-slot tiles, running max/sum per query row, so K and V stream through once per row block).
import { exp4, fma, hmax, hsum, h2f, h2fMask, h2fScale, f2h } from './simd';

const TILE = 64;

/**
 * Softmax weights below e^UNDERFLOW (~1.8e−35 of the row's largest) are set to 0. They cannot move
 * an f32 sum whose largest term is 1, but their products with V land in the subnormal range,
 * where x86 FMAs take microcode assists: a head whose scores spread over more than ~87 made
 * attention 5× slower (seen on random-weight K-quant models, and possible with real attention sinks).
 */
const UNDERFLOW: f32 = -80;

/** Query rows processed together per KV head: all grp heads of up to ⌊32/grp⌋ tokens. */
export function attn_rows(grp: i32): i32 {
  const tq = 32 / grp;
  return grp * (tq < 1 ? 1 : tq);
}

/** Scratch bytes attn needs (R + 1 rows: an odd row count pairs its last row with a dummy). */
export function attn_scratch_bytes(hd: i32, grp: i32): i32 {
  const R = attn_rows(grp) + 1;
  return 4 * (R * TILE + 3 * R + R * hd + 2 * TILE * hd) + 64;
}

/** [Σa0, Σa1, Σa2, Σa3]: four horizontal sums in one vector. */
@inline function reduce4(a0: v128, a1: v128, a2: v128, a3: v128): v128 {
  const t01 = f32x4.add(v128.shuffle<f32>(a0, a1, 0, 4, 1, 5), v128.shuffle<f32>(a0, a1, 2, 6, 3, 7));
  const t23 = f32x4.add(v128.shuffle<f32>(a2, a3, 0, 4, 1, 5), v128.shuffle<f32>(a2, a3, 2, 6, 3, 7));
  return f32x4.add(v128.shuffle<f32>(t01, t23, 0, 1, 4, 5), v128.shuffle<f32>(t01, t23, 2, 3, 6, 7));
}

@inline function dotf(a: usize, b: usize, hd: i32): f32 {
  let acc = f32x4.splat(0);
  for (let d: usize = 0; d < <usize>hd; d += 4) acc = fma(v128.load(a + (d << 2)), v128.load(b + (d << 2)), acc);
  return hsum(acc);
}

function toF32(src: usize, dst: usize, count: i32): void {
  const mask = h2fMask(), scale = h2fScale();
  for (let i: usize = 0; i < <usize>count; i += 4) {
    v128.store(dst + (i << 2), h2f(i32x4.extend_low_i16x8_s(v128.load64_zero(src + (i << 1))), mask, scale));
  }
}

/**
 * Scores of two query rows (qa, qb at positions pa, pb) against the tile's T keys, times scale,
 * −inf where a key's position is past the query's: into sa/sb (padded to a multiple of 4 with
 * −inf); each row's maximum into ma/mb.
 */
function scorePair(qa: usize, qb: usize, pa: i32, pb: i32, kt: usize, kpos: usize, T: i32, hd: i32, scale: f32, sa: usize, sb: usize, ma: usize, mb: usize): void {
  const ninf = f32x4.splat(-Infinity);
  const sv = f32x4.splat(scale);
  const pav = i32x4.splat(pa);
  const pbv = i32x4.splat(pb);
  let mxa = ninf, mxb = ninf;
  const T4 = T & ~3;
  const hb = <usize>hd << 2;
  for (let s = 0; s < T4; s += 4) {
    const k0 = kt + <usize>s * hb;
    const k1 = k0 + hb, k2 = k1 + hb, k3 = k2 + hb;
    let a0 = f32x4.splat(0), a1 = f32x4.splat(0), a2 = f32x4.splat(0), a3 = f32x4.splat(0);
    let b0 = f32x4.splat(0), b1 = f32x4.splat(0), b2 = f32x4.splat(0), b3 = f32x4.splat(0);
    for (let d: usize = 0; d < hb; d += 16) {
      const x = v128.load(qa + d), y = v128.load(qb + d);
      const u0 = v128.load(k0 + d), u1 = v128.load(k1 + d), u2 = v128.load(k2 + d), u3 = v128.load(k3 + d);
      a0 = fma(x, u0, a0);
      a1 = fma(x, u1, a1);
      a2 = fma(x, u2, a2);
      a3 = fma(x, u3, a3);
      b0 = fma(y, u0, b0);
      b1 = fma(y, u1, b1);
      b2 = fma(y, u2, b2);
      b3 = fma(y, u3, b3);
    }
    const kp = v128.load(kpos + (<usize>s << 2));
    const ra = v128.bitselect(f32x4.mul(reduce4(a0, a1, a2, a3), sv), ninf, i32x4.le_s(kp, pav));
    const rb = v128.bitselect(f32x4.mul(reduce4(b0, b1, b2, b3), sv), ninf, i32x4.le_s(kp, pbv));
    v128.store(sa + (<usize>s << 2), ra);
    v128.store(sb + (<usize>s << 2), rb);
    mxa = f32x4.max(mxa, ra);
    mxb = f32x4.max(mxb, rb);
  }
  let xa = hmax(mxa), xb = hmax(mxb);
  for (let s = T4; s < T; s++) {
    const kp = load<i32>(kpos + (<usize>s << 2));
    const k = kt + <usize>s * hb;
    const ea: f32 = kp <= pa ? dotf(qa, k, hd) * scale : -Infinity;
    const eb: f32 = kp <= pb ? dotf(qb, k, hd) * scale : -Infinity;
    store<f32>(sa + (<usize>s << 2), ea);
    store<f32>(sb + (<usize>s << 2), eb);
    xa = max(xa, ea);
    xb = max(xb, eb);
  }
  for (let s = T; s < ((T + 3) & ~3); s++) {
    store<f32>(sa + (<usize>s << 2), -Infinity);
    store<f32>(sb + (<usize>s << 2), -Infinity);
  }
  store<f32>(ma, xa);
  store<f32>(mb, xb);
}

/**
 * Online-softmax step for one row: turns its scores (tile maximum tmax) into p = exp(s − m) in
 * place (masked slots exactly 0), rescales the running output O and sum L when the maximum M grows.
 */
function softmaxRow(sr: usize, T: i32, tmax: f32, mp: usize, lp: usize, or: usize, hd: i32): void {
  const ninf: f32 = -Infinity;
  const T4 = (T + 3) & ~3;
  if (tmax == ninf) {
    memory.fill(sr, 0, <usize>T4 << 2);
    return;
  }
  const mo = load<f32>(mp);
  const mn = max(mo, tmax);
  let l = load<f32>(lp);
  if (mo != ninf && mo != mn) {
    const alpha = mo - mn > UNDERFLOW ? f32x4.extract_lane(exp4(f32x4.splat(mo - mn)), 0) : <f32>0;
    l *= alpha;
    const av = f32x4.splat(alpha);
    for (let d: usize = 0; d < <usize>hd; d += 4) v128.store(or + (d << 2), f32x4.mul(v128.load(or + (d << 2)), av));
  }
  const mv = f32x4.splat(mn);
  const zero = f32x4.splat(0);
  const floor = f32x4.splat(UNDERFLOW);
  let ls = zero;
  for (let s = 0; s < T4; s += 4) {
    const e = f32x4.sub(v128.load(sr + (<usize>s << 2)), mv);
    // Masked slots (−inf) and weights under e^−80 become exact zeros (a NaN stays NaN).
    const p = v128.bitselect(zero, exp4(e), f32x4.le(e, floor));
    v128.store(sr + (<usize>s << 2), p);
    ls = f32x4.add(ls, p);
  }
  store<f32>(lp, l + hsum(ls));
  store<f32>(mp, mn);
}

/**
 * Oa += Σ_s pa_s · v_s and Ob += Σ_s pb_s · v_s over the tile's T slots, 16 output columns at a
 * time: the 8 accumulators stay in registers across all slots, so each V vector is loaded once
 * for both rows and O is read and written once per tile instead of once per 4 slots.
 */
function accumulatePair(pa: usize, pb: usize, vt: usize, T: i32, hd: i32, oa: usize, ob: usize): void {
  const hb = <usize>hd << 2;
  const pend = pa + (<usize>T << 2);
  const h64 = hb & ~63;
  for (let d: usize = 0; d < h64; d += 64) {
    let a0 = v128.load(oa + d), a1 = v128.load(oa + d, 16), a2 = v128.load(oa + d, 32), a3 = v128.load(oa + d, 48);
    let b0 = v128.load(ob + d), b1 = v128.load(ob + d, 16), b2 = v128.load(ob + d, 32), b3 = v128.load(ob + d, 48);
    let v = vt + d;
    for (let p = pa, q = pb; p < pend; p += 4, q += 4, v += hb) {
      const x = v128.load32_splat(p);
      const y = v128.load32_splat(q);
      const u0 = v128.load(v), u1 = v128.load(v, 16), u2 = v128.load(v, 32), u3 = v128.load(v, 48);
      a0 = fma(x, u0, a0);
      a1 = fma(x, u1, a1);
      a2 = fma(x, u2, a2);
      a3 = fma(x, u3, a3);
      b0 = fma(y, u0, b0);
      b1 = fma(y, u1, b1);
      b2 = fma(y, u2, b2);
      b3 = fma(y, u3, b3);
    }
    v128.store(oa + d, a0);
    v128.store(oa + d, a1, 16);
    v128.store(oa + d, a2, 32);
    v128.store(oa + d, a3, 48);
    v128.store(ob + d, b0);
    v128.store(ob + d, b1, 16);
    v128.store(ob + d, b2, 32);
    v128.store(ob + d, b3, 48);
  }
  // Head dims that are not a multiple of 16: the last 4, 8 or 12 columns one vector at a time.
  for (let d = h64; d < hb; d += 16) {
    let a = v128.load(oa + d);
    let b = v128.load(ob + d);
    let v = vt + d;
    for (let p = pa, q = pb; p < pend; p += 4, q += 4, v += hb) {
      const u = v128.load(v);
      a = fma(v128.load32_splat(p), u, a);
      b = fma(v128.load32_splat(q), u, b);
    }
    v128.store(oa + d, a);
    v128.store(ob + d, b);
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
  const R0 = attn_rows(grp);
  const tq = R0 / grp;
  const R = R0 + 1;
  const S = scratch;
  const M = S + <usize>(R * TILE) * 4;
  const L = M + <usize>R * 4;
  const TM = L + <usize>R * 4;
  const O = TM + <usize>R * 4;
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
        // Rows go in pairs so each K and V vector loaded serves two query rows; an odd last row
        // pairs with the dummy row R − 1 (its scores and output are never read).
        for (let r = 0; r < rows; r += 2) {
          const r1 = r + 1 < rows ? r + 1 : R - 1;
          const ta = i0 + r / grp;
          const tb = i0 + min(r + 1, rows - 1) / grp;
          const qa = q + ((<usize>ta * qStride + <usize>(g * grp + r % grp) * hd) << 2);
          const qb = r + 1 < rows ? q + ((<usize>tb * qStride + <usize>(g * grp + (r + 1) % grp) * hd) << 2) : qa;
          scorePair(qa, qb, load<i32>(qpos + (<usize>ta << 2)), load<i32>(qpos + (<usize>tb << 2)), kt, kpos + (<usize>s0 << 2), T, hd, scale,
            S + <usize>(r * TILE) * 4, S + <usize>(r1 * TILE) * 4, TM + (<usize>r << 2), TM + (<usize>r1 << 2));
        }
        for (let r = 0; r < rows; r++) softmaxRow(S + <usize>(r * TILE) * 4, T, load<f32>(TM + (<usize>r << 2)), M + (<usize>r << 2), L + (<usize>r << 2), O + <usize>(r * hd) * 4, hd);
        for (let r = 0; r < rows; r += 2) {
          const r1 = r + 1 < rows ? r + 1 : R - 1;
          accumulatePair(S + <usize>(r * TILE) * 4, S + <usize>(r1 * TILE) * 4, vt, T, hd, O + <usize>(r * hd) * 4, O + <usize>(r1 * hd) * 4);
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
