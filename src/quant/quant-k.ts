/**
 * ggml's reference K-quant quantizers (`quantize_row_q{4,5,6}_K_ref`, no importance matrix), with
 * the scale searches `make_qkx2_quants` (asymmetric, Q4_K/Q5_K) and `make_qx_quants` (symmetric,
 * Q6_K) followed step for step in float32: the search picks a scale by comparing float32 error
 * sums, so a single different rounding can flip its choice and change the block's bytes.
 */
import { fr, GROUP_MAX_EPS, getF16, nearestInt, putF16 } from './quant-util.js';

const QK_K = 256;
const F01 = fr(0.1);

/** Result slot of makeQkx2 (the negated offset ggml returns through `the_min`). */
let qkxMin = 0;

/**
 * Asymmetric search: L[i] in 0..nmax with x ≈ scale·L + min, trying nstep+1 inverse scales
 * (rmin + rdelta·is + nmax)/(max - min) and keeping the least weighted error. Returns scale and
 * leaves -min in qkxMin.
 */
function makeQkx2(
  n: number, nmax: number, x: Float32Array, xo: number, w: Float32Array, L: Uint8Array, lo: number,
  laux: Uint8Array, rmin: number, rdelta: number, nstep: number,
): number {
  let min = x[xo]!;
  let max = x[xo]!;
  let sumW = w[0]!;
  let sumX = fr(sumW * x[xo]!);
  for (let i = 1; i < n; i++) {
    const xi = x[xo + i]!;
    if (xi < min) min = xi;
    if (xi > max) max = xi;
    const wi = w[i]!;
    sumW = fr(sumW + wi);
    sumX = fr(sumX + fr(wi * xi));
  }
  if (min > 0) min = 0;
  if (max === min) {
    L.fill(0, lo, lo + n);
    qkxMin = -min;
    return 0;
  }
  let iscale = fr(nmax / fr(max - min));
  let scale = fr(1 / iscale);
  let best = 0;
  for (let i = 0; i < n; i++) {
    const xi = x[xo + i]!;
    const l = Math.max(0, Math.min(nmax, nearestInt(fr(iscale * fr(xi - min)))));
    L[lo + i] = l;
    const diff = fr(fr(fr(scale * l) + min) - xi);
    best = fr(best + fr(w[i]! * fr(diff * diff)));
  }
  for (let is = 0; is <= nstep; is++) {
    // min changes whenever a candidate wins, and ggml's later candidates use the new one.
    iscale = fr(fr(fr(rmin + fr(rdelta * is)) + nmax) / fr(max - min));
    let sumL = 0;
    let sumL2 = 0;
    let sumXL = 0;
    for (let i = 0; i < n; i++) {
      const xi = x[xo + i]!;
      const l = Math.max(0, Math.min(nmax, nearestInt(fr(iscale * fr(xi - min)))));
      laux[i] = l;
      const wl = fr(w[i]! * l);
      sumL = fr(sumL + wl);
      sumL2 = fr(sumL2 + fr(wl * l));
      sumXL = fr(sumXL + fr(wl * xi));
    }
    const D = fr(fr(sumW * sumL2) - fr(sumL * sumL));
    if (D > 0) {
      let thisScale = fr(fr(fr(sumW * sumXL) - fr(sumX * sumL)) / D);
      let thisMin = fr(fr(fr(sumL2 * sumX) - fr(sumL * sumXL)) / D);
      if (thisMin > 0) {
        thisMin = 0;
        thisScale = fr(sumXL / sumL2);
      }
      let cur = 0;
      for (let i = 0; i < n; i++) {
        const diff = fr(fr(fr(thisScale * laux[i]!) + thisMin) - x[xo + i]!);
        cur = fr(cur + fr(w[i]! * fr(diff * diff)));
      }
      if (cur < best) {
        for (let i = 0; i < n; i++) L[lo + i] = laux[i]!;
        best = cur;
        scale = thisScale;
        min = thisMin;
      }
    }
  }
  qkxMin = -min;
  return scale;
}

/**
 * Symmetric search for Q6_K (rmse_type 1: weights x², no early return): L[i] = l + nmax with l in
 * -nmax..nmax-1, trying inverse scales -(nmax + 0.1·is)/max for is = -9..9.
 */
function makeQx(n: number, nmax: number, x: Float32Array, xo: number, L: Uint8Array, lo: number): number {
  let max = 0;
  let amax = 0;
  for (let i = 0; i < n; i++) {
    const ax = Math.abs(x[xo + i]!);
    if (ax > amax) {
      amax = ax;
      max = x[xo + i]!;
    }
  }
  if (amax < GROUP_MAX_EPS) {
    L.fill(0, lo, lo + n);
    return 0;
  }
  let iscale = fr(-nmax / max);
  let sumlx = 0;
  let suml2 = 0;
  for (let i = 0; i < n; i++) {
    const xi = x[xo + i]!;
    const l = Math.max(-nmax, Math.min(nmax - 1, nearestInt(fr(iscale * xi))));
    L[lo + i] = l + nmax;
    const w = fr(xi * xi);
    sumlx = fr(sumlx + fr(fr(w * xi) * l));
    suml2 = fr(suml2 + fr(fr(w * l) * l));
  }
  let scale = suml2 ? fr(sumlx / suml2) : 0;
  let best = fr(scale * sumlx);
  for (let is = -9; is <= 9; is++) {
    if (is === 0) continue;
    iscale = fr(-fr(nmax + fr(F01 * is)) / max);
    sumlx = 0;
    suml2 = 0;
    for (let i = 0; i < n; i++) {
      const xi = x[xo + i]!;
      const l = Math.max(-nmax, Math.min(nmax - 1, nearestInt(fr(iscale * xi))));
      const w = fr(xi * xi);
      sumlx = fr(sumlx + fr(fr(w * xi) * l));
      suml2 = fr(suml2 + fr(fr(w * l) * l));
    }
    if (suml2 > 0 && fr(sumlx * sumlx) > fr(best * suml2)) {
      for (let i = 0; i < n; i++) {
        L[lo + i] = nmax + Math.max(-nmax, Math.min(nmax - 1, nearestInt(fr(iscale * x[xo + i]!))));
      }
      scale = fr(sumlx / suml2);
      best = fr(scale * sumlx);
    }
  }
  return scale;
}

const L = new Uint8Array(QK_K);
const laux = new Uint8Array(32);
const weights = new Float32Array(32);
const scales = new Float32Array(16);
const mins = new Float32Array(8);

/** The 6-bit scale/min pair j of a Q4_K/Q5_K block's 12 scale bytes (ggml `get_scale_min_k4`). */
function scaleMin(out: Uint8Array, at: number, j: number): [number, number] {
  if (j < 4) return [out[at + j]! & 63, out[at + j + 4]! & 63];
  return [(out[at + j + 4]! & 0xf) | ((out[at + j - 4]! >> 6) << 4), (out[at + j + 4]! >> 4) | ((out[at + j]! >> 6) << 4)];
}

/**
 * Shared body of Q4_K and Q5_K: per 32-element sub-block a qkx2 search, then 6-bit scales and mins
 * relative to the block maxima, then the levels recomputed against the rounded scales.
 * Leaves the levels in L and writes d, dmin and the scale bytes at out[oo..oo+16).
 */
function kBlockScales(x: Float32Array, xo: number, out: Uint8Array, oo: number, nmax: number, rmin: number, nstep: number): void {
  let maxScale = 0;
  let maxMin = 0;
  for (let j = 0; j < 8; j++) {
    const b = xo + 32 * j;
    let sumX2 = 0;
    for (let l = 0; l < 32; l++) sumX2 = fr(sumX2 + fr(x[b + l]! * x[b + l]!));
    const avX = fr(Math.sqrt(fr(sumX2 / 32)));
    for (let l = 0; l < 32; l++) weights[l] = fr(avX + Math.abs(x[b + l]!));
    const s = makeQkx2(32, nmax, x, b, weights, L, 32 * j, laux, rmin, F01, nstep);
    scales[j] = s;
    mins[j] = qkxMin;
    if (s > maxScale) maxScale = s;
    if (qkxMin > maxMin) maxMin = qkxMin;
  }
  const invScale = maxScale > 0 ? fr(63 / maxScale) : 0;
  const invMin = maxMin > 0 ? fr(63 / maxMin) : 0;
  const sc = oo + 4;
  out.fill(0, sc, sc + 12);
  for (let j = 0; j < 8; j++) {
    const ls = Math.min(63, nearestInt(fr(invScale * scales[j]!)) & 0xff);
    const lm = Math.min(63, nearestInt(fr(invMin * mins[j]!)) & 0xff);
    if (j < 4) {
      out[sc + j] = ls;
      out[sc + j + 4] = lm;
    } else {
      out[sc + j + 4] = (ls & 0xf) | ((lm & 0xf) << 4);
      out[sc + j - 4] |= (ls >> 4) << 6;
      out[sc + j] |= (lm >> 4) << 6;
    }
  }
  putF16(out, oo, fr(maxScale / 63));
  putF16(out, oo + 2, fr(maxMin / 63));
  const d0 = getF16(out, oo);
  const m0 = getF16(out, oo + 2);
  for (let j = 0; j < 8; j++) {
    const [s, m] = scaleMin(out, sc, j);
    const d = fr(d0 * s);
    if (!d) continue;
    const dm = fr(m0 * m);
    for (let ii = 0; ii < 32; ii++) {
      L[32 * j + ii] = Math.max(0, Math.min(nmax, nearestInt(fr(fr(x[xo + 32 * j + ii]! + dm) / d))));
    }
  }
}

/** Q4_K: 144-byte blocks (f16 d, f16 dmin, 12 scale bytes, 128 nibble bytes). */
export function quantizeQ4_K(x: Float32Array, xo: number, nb: number, out: Uint8Array, oo: number): void {
  for (let i = 0; i < nb; i++, xo += QK_K, oo += 144) {
    kBlockScales(x, xo, out, oo, 15, -1, 20);
    let q = oo + 16;
    for (let j = 0; j < QK_K; j += 64, q += 32) {
      for (let l = 0; l < 32; l++) out[q + l] = L[j + l]! | (L[j + l + 32]! << 4);
    }
  }
}

/** Q5_K: 176-byte blocks (d, dmin, 12 scale bytes, 32 high-bit bytes, 128 nibble bytes). */
export function quantizeQ5_K(x: Float32Array, xo: number, nb: number, out: Uint8Array, oo: number): void {
  for (let i = 0; i < nb; i++, xo += QK_K, oo += 176) {
    kBlockScales(x, xo, out, oo, 31, -0.5, 15);
    const qh = oo + 16;
    out.fill(0, qh, qh + 32);
    let ql = oo + 48;
    let m1 = 1;
    let m2 = 2;
    for (let n = 0; n < QK_K; n += 64, ql += 32, m1 <<= 2, m2 <<= 2) {
      for (let j = 0; j < 32; j++) {
        let l1 = L[n + j]!;
        if (l1 > 15) {
          l1 -= 16;
          out[qh + j] |= m1;
        }
        let l2 = L[n + j + 32]!;
        if (l2 > 15) {
          l2 -= 16;
          out[qh + j] |= m2;
        }
        out[ql + j] = l1 | (l2 << 4);
      }
    }
  }
}

/** Q6_K: 210-byte blocks (128 low-nibble bytes, 64 high-bit bytes, 16 int8 scales, f16 d). */
export function quantizeQ6_K(x: Float32Array, xo: number, nb: number, out: Uint8Array, oo: number): void {
  for (let i = 0; i < nb; i++, xo += QK_K, oo += 210) {
    let maxScale = 0;
    let maxAbsScale = 0;
    for (let ib = 0; ib < 16; ib++) {
      const s = makeQx(16, 32, x, xo + 16 * ib, L, 16 * ib);
      scales[ib] = s;
      if (Math.abs(s) > maxAbsScale) {
        maxAbsScale = Math.abs(s);
        maxScale = s;
      }
    }
    if (maxAbsScale < GROUP_MAX_EPS) {
      out.fill(0, oo, oo + 210);
      continue;
    }
    const iscale = fr(-128 / maxScale);
    const sc = oo + 192;
    putF16(out, oo + 208, fr(1 / iscale));
    for (let ib = 0; ib < 16; ib++) out[sc + ib] = Math.min(127, nearestInt(fr(iscale * scales[ib]!))) & 0xff;
    const d0 = getF16(out, oo + 208);
    for (let j = 0; j < 16; j++) {
      const d = fr(d0 * ((out[sc + j]! << 24) >> 24));
      if (!d) continue;
      for (let ii = 0; ii < 16; ii++) {
        L[16 * j + ii] = Math.max(-32, Math.min(31, nearestInt(fr(x[xo + 16 * j + ii]! / d)))) + 32;
      }
    }
    let ql = oo;
    let qh = oo + 128;
    for (let j = 0; j < QK_K; j += 128, ql += 64, qh += 32) {
      for (let l = 0; l < 32; l++) {
        const a = L[j + l]!;
        const b = L[j + l + 32]!;
        const c = L[j + l + 64]!;
        const e = L[j + l + 96]!;
        out[ql + l] = (a & 0xf) | ((c & 0xf) << 4);
        out[ql + l + 32] = (b & 0xf) | ((e & 0xf) << 4);
        out[qh + l] = (a >> 4) | ((b >> 4) << 2) | ((c >> 4) << 4) | ((e >> 4) << 6);
      }
    }
  }
}
