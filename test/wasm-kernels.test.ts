import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Backend } from '../src/backend/backend.js';
import { createWasmBackend } from '../src/backend/wasm/index.js';
import { KERNEL_OPS, KERNEL_VARIANTS, formatChoice, parseKernelSpec, type KernelVariant } from '../src/backend/wasm/kernel-choice.js';
import { pick, selectKernels, tuneOnModel, type ModelTuneTarget } from '../src/backend/wasm/kernel-probe.js';
import { instantiateRaw, kernelMemory, loadKernelModule } from '../src/backend/wasm/module.js';
import { KernelChoiceError } from '../src/errors/errors.js';
import { loadModel } from '../src/model/load.js';
import { DType, dtypeName } from '../src/quant/dtype.js';
import { fixture, skipNoFixtures, REPO_ROOT } from './fixtures.js';
import { checkMatmul, checkRowIndependence, randn, randomWeight, rng } from './wasm-util.js';

/**
 * The decode kernel variants (asm/variants.ts) and their choice: every variant against the
 * reference (through checkMatmul's error bound) and against the default variant, forced with
 * LLAMA_TS_KERNELS; the probe's cache and override; and the rule that a variant the runtime's
 * baseline tier miscompiles is never chosen.
 */

/** Runs f with LLAMA_TS_KERNELS (and a private cache folder) set, restoring both after. */
async function withKernels<T>(spec: string | undefined, f: () => Promise<T>): Promise<T> {
  const old = process.env['LLAMA_TS_KERNELS'];
  if (spec === undefined) delete process.env['LLAMA_TS_KERNELS'];
  else process.env['LLAMA_TS_KERNELS'] = spec;
  try {
    return await f();
  } finally {
    if (old === undefined) delete process.env['LLAMA_TS_KERNELS'];
    else process.env['LLAMA_TS_KERNELS'] = old;
  }
}

const cacheDir = mkdtempSync(join(tmpdir(), 'llama-ts-kernels-'));
const oldCache = process.env['LLAMA_TS_CACHE'];
before(() => {
  process.env['LLAMA_TS_CACHE'] = cacheDir;
});
after(() => {
  if (oldCache === undefined) delete process.env['LLAMA_TS_CACHE'];
  else process.env['LLAMA_TS_CACHE'] = oldCache;
  rmSync(cacheDir, { recursive: true, force: true });
});

/** Variants this runtime accepts (the others fail the load-time correctness check). */
async function usableVariants(): Promise<KernelVariant[]> {
  const km = await loadKernelModule();
  const sel = selectKernels(km.module, km.bytes, km.relaxed, { cacheDir, env: { LLAMA_TS_KERNELS: 'i16' } });
  return KERNEL_VARIANTS.filter((v) => KERNEL_OPS.every((op) => !sel.rejected.includes(`${op}=${v}`)));
}

describe('LLAMA_TS_KERNELS', () => {
  test('auto, one variant for every op, or op=variant pairs; a printed choice parses back', () => {
    assert.deepEqual(parseKernelSpec(undefined), {});
    assert.deepEqual(parseKernelSpec(' auto '), {});
    assert.deepEqual(parseKernelSpec('g2'), { q8_0: 'g2', q4_0: 'g2', q4_k: 'g2', q6_k: 'g2' });
    assert.deepEqual(parseKernelSpec('q8_0=dotadd, q4_k=i16'), { q8_0: 'dotadd', q4_k: 'i16' });
    const c = { q8_0: 'g2', q4_0: 'i16', q4_k: 'dotadd', q6_k: 'g2' } as const;
    assert.equal(formatChoice(c), 'q8_0=g2,q4_0=i16,q4_k=dotadd,q6_k=g2');
    assert.deepEqual(parseKernelSpec(formatChoice(c)), c);
  });

  test('unknown ops, unknown variants and malformed pairs throw KernelChoiceError', () => {
    for (const bad of ['fast', 'q9_0=i16', 'q8_0=avx', 'q8_0', 'q8_0=i16,q8_0=g2', 'q8_0=i16=g2', 'q8_0=']) {
      assert.throws(() => parseKernelSpec(bad), (e: unknown) => e instanceof KernelChoiceError && e.code === 'BAD_KERNEL_CHOICE', bad);
    }
  });

  test('createWasmBackend refuses a bad spec with KernelChoiceError', async () => {
    await withKernels('q8_0=fastest', async () => {
      await assert.rejects(createWasmBackend({ threads: 1 }), (e: unknown) => e instanceof KernelChoiceError);
    });
  });
});

describe('kernel probe', () => {
  test('a variant replaces the default only when faster by 10 % at best and in 4 of 5 paired rounds', () => {
    const i16 = [100, 100, 100, 100, 100];
    assert.equal(pick({ i16, g2: [85, 86, 87, 88, 89] }), 'g2');
    assert.equal(pick({ i16, g2: [80, 120, 120, 120, 99] }), 'i16', 'one lucky round');
    assert.equal(pick({ i16, g2: [92, 92, 92, 92, 92] }), 'i16', 'within the margin');
    assert.equal(pick({ i16, g2: [88, 88, 88, 88, 88], dotadd: [80, 80, 80, 80, 101] }), 'dotadd', 'the fastest qualifying variant');
    assert.equal(pick({ g2: [1, 1, 1, 1, 1] }), 'i16', 'no default timed');
  });

  test('probes once per CPU, Node version and kernel build, caches the choice, and yields to the override', async () => {
    const km = await loadKernelModule();
    const dir = mkdtempSync(join(tmpdir(), 'llama-ts-probe-'));
    try {
      const a = selectKernels(km.module, km.bytes, km.relaxed, { cacheDir: dir, env: {} });
      assert.equal(a.source, 'probe');
      assert.ok(a.key.includes(process.version), a.key);
      for (const op of KERNEL_OPS) {
        assert.ok(a.timings?.[op]?.['i16']! > 0, `${op} timed`);
        assert.ok(!a.rejected.includes(`${op}=${a.choice[op]}`), `${op}: a rejected variant was chosen`);
      }
      const file = join(dir, 'kernels.json');
      assert.ok(existsSync(file));
      const cached = JSON.parse(readFileSync(file, 'utf8')) as { entries: Record<string, { choice: unknown }> };
      assert.deepEqual(cached.entries[a.key]?.choice, a.choice);

      const b = selectKernels(km.module, km.bytes, km.relaxed, { cacheDir: dir, env: {} });
      assert.equal(b.source, 'cache');
      assert.deepEqual(b.choice, a.choice);

      const c = selectKernels(km.module, km.bytes, km.relaxed, { cacheDir: dir, env: { LLAMA_TS_KERNELS: 'q8_0=g2,q4_0=g2,q4_k=i16,q6_k=g2' } });
      assert.equal(c.source, 'override');
      assert.deepEqual(c.choice, { q8_0: 'g2', q4_0: 'g2', q4_k: 'i16', q6_k: 'g2' });

      const d = selectKernels(km.module, km.bytes, km.relaxed, { cacheDir: dir, env: { LLAMA_TS_KERNELS: 'q4_0=g2' } });
      assert.equal(d.source, 'cache');
      assert.deepEqual(d.choice, { ...a.choice, q4_0: 'g2' });

      // A cache entry naming a variant the module does not have is ignored, not trusted.
      writeFileSync(file, JSON.stringify({ entries: { [a.key]: { choice: { q8_0: 'avx9', q4_0: 'i16', q4_k: 'i16', q6_k: 'i16' }, timings: {} } } }));
      assert.equal(selectKernels(km.module, km.bytes, km.relaxed, { cacheDir: dir, env: {} }).source, 'probe');
      writeFileSync(file, '{not json');
      assert.equal(selectKernels(km.module, km.bytes, km.relaxed, { cacheDir: dir, env: {} }).source, 'probe');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('decode timed on a model\'s weights: the faster variant by 3 %, cached for the machine, forced ops and small ops left alone', async () => {
    const km = await loadKernelModule();
    const dir = mkdtempSync(join(tmpdir(), 'llama-ts-model-probe-'));
    try {
      const sel = selectKernels(km.module, km.bytes, km.relaxed, { cacheDir: dir, env: { LLAMA_TS_KERNELS: 'i16' } });
      // An entry for this machine must exist for the model timings to be cached beside it.
      const base = { ...selectKernels(km.module, km.bytes, km.relaxed, { cacheDir: dir, env: {} }), choice: sel.choice };
      // A fake clock that the passes advance: the choice must not depend on how loaded the machine is.
      let fakeMs = 0;
      const clock = (): number => fakeMs;
      const spin = (ms: number): void => {
        fakeMs += ms;
      };
      let current = base.choice;
      const passes: string[] = [];
      const target = (bytes: Partial<Record<string, number>>): ModelTuneTarget => ({
        selection: base,
        bytes: (op) => bytes[op] ?? 0,
        setChoice: (c) => {
          current = c;
        },
        pass: (op) => {
          passes.push(`${op}=${current[op]}`);
          // q4_0: g2 25 % faster; q8_0: no variant faster; q6_k: g2 2 % faster (within the margin).
          spin(op === 'q4_0' ? (current[op] === 'g2' ? 3 : 4) : op === 'q6_k' ? (current[op] === 'g2' ? 3.92 : 4) : 3);
        },
      });
      const big = 100 * 2 ** 20;
      const a = tuneOnModel(target({ q4_0: big, q8_0: big, q6_k: big, q4_k: 1000 }), { cacheDir: dir, env: {}, clock });
      assert.equal(a.source, 'model-probe');
      assert.equal(a.choice.q4_0, 'g2');
      assert.equal(a.choice.q8_0, 'i16');
      assert.equal(a.choice.q6_k, 'i16');
      assert.deepEqual(current, a.choice, 'the target runs the choice');
      assert.deepEqual([...(a.modelOps ?? [])].sort(), ['q4_0', 'q6_k', 'q8_0']);
      assert.ok(!passes.some((p) => p.startsWith('q4_k=')), 'an op under minBytes is not timed');
      for (const v of KERNEL_VARIANTS) {
        if (a.rejected.includes(`q4_0=${v}`)) assert.ok(!passes.includes(`q4_0=${v}`), `rejected ${v} was timed`);
      }
      const file = JSON.parse(readFileSync(join(dir, 'kernels.json'), 'utf8')) as { entries: Record<string, { model?: Record<string, { variant: string }> }> };
      assert.equal(file.entries[a.key]?.model?.['q4_0']?.variant, 'g2');

      passes.length = 0;
      const b = tuneOnModel(target({ q4_0: big, q6_k: big }), { cacheDir: dir, env: {}, clock });
      assert.equal(b.source, 'model-cache');
      assert.equal(b.choice.q4_0, 'g2');
      assert.deepEqual(passes, [], 'a cached machine is not timed again');

      passes.length = 0;
      const c = tuneOnModel(target({ q4_0: big }), { cacheDir: dir, env: { LLAMA_TS_KERNELS: 'q4_0=i16' }, clock });
      assert.equal(c.choice.q4_0, 'i16', 'LLAMA_TS_KERNELS wins');
      assert.deepEqual(passes, []);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('WasmBackend.tuneKernels times the loaded weights on all threads; results do not change', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'llama-ts-model-probe-'));
    const be = await createWasmBackend({ threads: 2 });
    try {
      const r = rng(77);
      const rows = 40;
      const cols = 512;
      const types = [DType.Q8_0, DType.Q4_0, DType.Q4_K, DType.Q6_K, DType.F16];
      const ws = types.map((dtype) => be.loadWeight({ name: dtypeName(dtype), dtype, shape: [rows, cols], data: randomWeight(r, dtype, rows, cols) }));
      const x = be.alloc(cols);
      be.write(x, randn(r, cols));
      const out = be.alloc(rows);
      const outputs = (): Float32Array[] => ws.map((w) => {
        be.matmul(out, x, w, 1);
        return be.read(out);
      });
      const before = outputs();
      const sel = be.tuneKernels(ws, { cacheDir: dir, env: {}, minBytes: 0 });
      assert.equal(sel.source, 'model-probe');
      assert.deepEqual([...(sel.modelOps ?? [])].sort(), ['q4_0', 'q4_k', 'q6_k', 'q8_0'].filter((op) => KERNEL_VARIANTS.some((v) => v !== 'i16' && !sel.rejected.includes(`${op}=${v}`))));
      assert.equal(be.info.kernels, formatChoice(sel.choice));
      assert.equal(be.info.kernelsSource, 'model-probe');
      const after = outputs();
      before.forEach((b, i) => assert.deepEqual(after[i], b, `${dtypeName(types[i]!)}: every variant computes the same floats`));
      be.free(x);
      be.free(out);
    } finally {
      await be.dispose();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('every kernel instance over one memory runs the variant set through any of them', async () => {
    const km = await loadKernelModule();
    const mem = kernelMemory();
    const a = instantiateRaw(km.module, mem);
    const b = instantiateRaw(km.module, mem);
    assert.ok(a.set_variant(1, KERNEL_VARIANTS.indexOf('g2')));
    assert.equal(b.get_variant(1), KERNEL_VARIANTS.indexOf('g2'));
    assert.ok(!b.set_variant(1, KERNEL_VARIANTS.length), 'unknown variant');
    assert.ok(!b.set_variant(KERNEL_OPS.length, 0), 'unknown op');
    assert.equal(a.get_variant(1), KERNEL_VARIANTS.indexOf('g2'));
  });

  test('the backend reports its choice', async () => {
    await withKernels('q8_0=g2,q4_0=i16,q4_k=g2,q6_k=i16', async () => {
      const be = await createWasmBackend({ threads: 1 });
      try {
        assert.equal(be.info.kernels, 'q8_0=g2,q4_0=i16,q4_k=g2,q6_k=i16');
        assert.equal(be.info.kernelsSource, 'override');
      } finally {
        await be.dispose();
      }
    });
  });
});

describe('activation records', () => {
  // asm/quant.ts: per (token, 32-value block) REC bytes: 8 chunks of 4 int8 each repeated to 16 bytes,
  // d ×4 (f32) at 128, the offset slot at 144, the halves' sums at 160; tokens tiled by 4.
  const REC = 176, REC_D = 128, REC_S = 144, REC_S16 = 160;
  const LAYOUT_KX4 = 5, LAYOUT_Q4X4 = 2;
  const rne = (v: number): number => {
    const f = Math.floor(v);
    const d = v - f;
    return d > 0.5 || (d === 0.5 && f % 2 !== 0) ? f + 1 : f;
  };

  test('K-quant records share one scale per 256 values and carry the pair and half sums (llama.cpp Q8_K)', async () => {
    const km = await loadKernelModule();
    const mem = new WebAssembly.Memory({ initial: 64, maximum: 65536, shared: true });
    const k = instantiateRaw(km.module, mem);
    const n = 5, cols = 512, nb = cols / 32;
    const r = rng(7);
    // Blocks of very different magnitudes, so one scale per 256 differs from one per 32.
    const x = Float32Array.from({ length: n * cols }, (_, i) => (r() - 0.5) * (1 + ((i >> 5) % 8) * 3));
    const xp = 1 << 16, dst = xp + x.byteLength + 64;
    assert.equal(k.rec_bytes(n, cols), n * nb * REC);
    for (const kind of [DType.Q4_K, DType.Q5_K, DType.Q6_K]) {
      new Float32Array(mem.buffer, xp, x.length).set(x);
      k.quant_act(LAYOUT_KX4, kind, xp, n, cols, dst);
      const dv = new DataView(mem.buffer);
      for (let t = 0; t < n; t++) {
        const ts = Math.min(4, n - (t & ~3));
        for (let b = 0; b < nb; b++) {
          const rec = dst + (t >> 2) * 4 * nb * REC + (b * ts + (t & 3)) * REC;
          const sb = b & ~7;
          let amax = 0;
          for (let c = sb * 32; c < (sb + 8) * 32; c++) amax = Math.max(amax, Math.abs(x[t * cols + c]!));
          const d = Math.fround(amax / 127), id = Math.fround(127 / amax);
          const q = (c: number): number => rne(Math.fround(x[t * cols + c]! * id));
          for (let l = 0; l < 4; l++) assert.equal(dv.getFloat32(rec + REC_D + 4 * l, true), d, `${dtypeName(kind)} t${t} b${b}: d`);
          const sums = [0, 0];
          for (let c = 0; c < 32; c++) {
            const v = q(b * 32 + c);
            sums[c >> 4]! += v;
            for (let rep = 0; rep < 4; rep++) assert.equal(dv.getInt8(rec + (c >> 2) * 16 + rep * 4 + (c & 3)), v, `${dtypeName(kind)} t${t} b${b} c${c}`);
          }
          const blockSum = (bb: number): number => { let a = 0; for (let c = 0; c < 32; c++) a += q(bb * 32 + c); return a; };
          const pair = [blockSum(b & ~1), blockSum(b | 1)];
          for (let l = 0; l < 4; l++) {
            assert.deepEqual([dv.getInt16(rec + REC_S16 + 4 * l, true), dv.getInt16(rec + REC_S16 + 4 * l + 2, true)], sums, `t${t} b${b}: halves' sums`);
            assert.deepEqual([dv.getInt16(rec + REC_S + 4 * l, true), dv.getInt16(rec + REC_S + 4 * l + 2, true)], pair, `t${t} b${b}: block pair's sums`);
          }
        }
      }
    }
    // Q4_0 keeps one scale per 32 values.
    k.quant_act(LAYOUT_Q4X4, DType.Q4_0, xp, n, cols, dst);
    let amax = 0;
    for (let c = 32; c < 64; c++) amax = Math.max(amax, Math.abs(x[c]!));
    assert.equal(new DataView(mem.buffer).getFloat32(dst + 4 * REC + REC_D, true), Math.fround(amax / 127));
  });
});

describe('the runtime baseline tier (--liftoff-only)', () => {
  const dist = fileURLToPath(new URL('../src/backend/wasm/', import.meta.url));
  /** Runs a script in a child whose wasm never leaves V8's baseline compiler; returns its JSON line. */
  function child(env: Record<string, string>): { code?: string; maxRel?: number } {
    const script = `
      const { createWasmBackend } = await import(${JSON.stringify(join(dist, 'index.js'))});
      let be;
      try { be = await createWasmBackend({ threads: 2 }); } catch (e) { console.log(JSON.stringify({ code: e.code ?? String(e) })); process.exit(0); }
      // Q8_0 weights: rows of 32 quants q with scale 1/64, x = 1 everywhere: row r sums to Σq / 64 · (x's scale rounding is exact for x = 1).
      const rows = 45, cols = 256, nb = cols / 32;
      const data = new Uint8Array(rows * nb * 34);
      const want = new Float64Array(rows);
      for (let r = 0; r < rows; r++) for (let b = 0; b < nb; b++) {
        const o = (r * nb + b) * 34;
        data[o] = 0x00; data[o + 1] = 0x24; // f16 1/64
        for (let i = 0; i < 32; i++) { const q = ((r * 7 + b * 3 + i * 5) % 255) - 127; data[o + 2 + i] = q & 0xff; want[r] += q / 64; }
      }
      const w = be.loadWeight({ name: 'w', dtype: 8, shape: [rows, cols], data });
      const x = be.alloc(cols), out = be.alloc(rows);
      be.write(x, new Float32Array(cols).fill(1));
      let maxRel = 0;
      for (let rep = 0; rep < 3; rep++) {
        be.matmul(out, x, w, 1);
        const got = be.read(out);
        for (let r = 0; r < rows; r++) maxRel = Math.max(maxRel, Math.abs(got[r] - want[r]) / Math.max(1, Math.abs(want[r])));
      }
      console.log(JSON.stringify({ maxRel, kernels: be.info.kernels }));
      await be.dispose();
    `;
    // A file, not -e with --input-type: workers inherit execArgv, and --input-type refuses a worker file.
    const dir = mkdtempSync(join(tmpdir(), 'llama-ts-liftoff-'));
    try {
      writeFileSync(join(dir, 'check.mjs'), script);
      const outp = execFileSync(process.execPath, ['--liftoff-only', join(dir, 'check.mjs')], {
        encoding: 'utf8',
        env: { ...process.env, LLAMA_TS_CACHE: dir, ...env },
      });
      return JSON.parse(outp.trim().split('\n').pop()!) as { code?: string; maxRel?: number };
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }

  test('the probe chooses only variants that compute right in the baseline tier', () => {
    const r = child({});
    assert.equal(r.code, undefined);
    assert.ok(r.maxRel! < 1e-5, `max relative error ${r.maxRel}`);
  });

  test('forcing every variant there either computes right or is refused with KernelChoiceError', () => {
    for (const v of KERNEL_VARIANTS) {
      const r = child({ LLAMA_TS_KERNELS: v });
      if (r.code !== undefined) assert.equal(r.code, 'BAD_KERNEL_CHOICE', `${v}: ${r.code}`);
      else assert.ok(r.maxRel! < 1e-5, `${v}: max relative error ${r.maxRel}`);
    }
  });
});

const TYPES = [DType.Q8_0, DType.Q4_0, DType.Q4_K, DType.Q5_K, DType.Q6_K, DType.F16];

for (const threads of [1, 2, 3, 4]) {
  describe(`every usable kernel variant, ${threads} thread(s)`, () => {
    test('matmul against the reference (odd row and group counts, n = 1, 3, 7) and against the default variant', async () => {
      const variants = await usableVariants();
      assert.ok(variants.includes('i16') && variants.includes('g2'));
      const outs = new Map<KernelVariant, Float32Array[]>();
      for (const v of variants) {
        await withKernels(v, async () => {
          const be: Backend = await createWasmBackend({ threads });
          try {
            const r = rng(900 + threads);
            for (const dtype of TYPES) {
              const kq = dtype === DType.Q4_K || dtype === DType.Q5_K || dtype === DType.Q6_K;
              for (const [rows, n] of [[45, 1], [37, 1], [13, 3], [9, 7], [4, 1]] as const) checkMatmul(be, r, dtype, rows, kq ? 512 : 96, n);
            }
            // Same weights and inputs for every variant: decode outputs must agree with the default's.
            const rr = rng(77);
            const res: Float32Array[] = [];
            for (const dtype of [DType.Q8_0, DType.Q4_0, DType.Q4_K, DType.Q6_K]) {
              const rows = 53;
              const cols = 768;
              const w = be.loadWeight({ name: `x.${dtypeName(dtype)}`, dtype, shape: [rows, cols], data: randomWeight(rr, dtype, rows, cols) });
              const xt = be.alloc(cols);
              const ot = be.alloc(rows);
              be.write(xt, randn(rr, cols));
              be.matmul(ot, xt, w, 1);
              res.push(be.read(ot));
              be.free(xt);
              be.free(ot);
            }
            outs.set(v, res);
            // Wide rows, 13 tokens: three 4-token tiles and a last token go over the columns in
            // chunks (asm/kernel-util.ts chunkBlocks), each carrying its sums: every token must
            // equal the same token alone, with this variant's single-token kernels too.
            for (const dtype of [DType.Q8_0, DType.Q4_0]) checkRowIndependence(be, rr, dtype, 21, 8192, 13, `${v} `);
          } finally {
            await be.dispose();
          }
        });
      }
      const base = outs.get('i16')!;
      for (const [v, res] of outs) {
        res.forEach((o, j) => {
          for (let i = 0; i < o.length; i++) {
            const d = Math.abs(o[i]! - base[j]![i]!);
            assert.ok(d <= 1e-5 * Math.max(1, Math.abs(base[j]![i]!)), `${v} type #${j} row ${i}: ${o[i]} vs i16 ${base[j]![i]}`);
          }
        });
      }
    });
  });
}

const MODELS: { file: string[]; tol: number }[] = [
  { file: ['tiny-llama3.1', 'tiny-llama3.1.q8_0.gguf'], tol: 0.45 },
  { file: ['small-llama3.1-kq', 'small-llama3.1-kq.q4_0.gguf'], tol: 0.3 },
  { file: ['small-llama3.1-kq', 'small-llama3.1-kq.q4_k_m.gguf'], tol: 0.3 },
  { file: ['small-llama3.1-kq', 'small-llama3.1-kq.q6_k.gguf'], tol: 0.3 },
];

describe('fixture models under every usable kernel choice', { skip: skipNoFixtures }, () => {
  for (const c of MODELS) {
    test(`${c.file[1]}: decode logits match the reference backend within its tolerance, and the default choice's`, async () => {
      const path = fixture('models', ...c.file);
      const ids = (JSON.parse(readFileSync(fixture('models', c.file[0]!, 'reference.json'), 'utf8')) as { input_ids: number[] }).input_ids.slice(0, 6);
      /** Logits of each position, fed one token at a time (the decode kernels). */
      const decode = async (m: Awaited<ReturnType<typeof loadModel>>): Promise<Float32Array[]> => {
        const s = m.session({ contextSize: ids.length });
        const out: Float32Array[] = [];
        for (const id of ids) out.push(Float32Array.from(await s.eval([id], { logits: 'last' })));
        s.dispose();
        return out;
      };
      const ref = await loadModel(path, { backend: 'ref' });
      const want = await decode(ref);
      await ref.dispose();
      const byVariant = new Map<string, Float32Array[]>();
      for (const v of await usableVariants()) {
        await withKernels(v, async () => {
          const m = await loadModel(path, { backend: 'wasm', threads: 2 });
          try {
            byVariant.set(v, await decode(m));
          } finally {
            await m.dispose();
          }
        });
      }
      const base = byVariant.get('i16')!;
      for (const [v, got] of byVariant) {
        let vsRef = 0;
        let vsBase = 0;
        got.forEach((row, p) => {
          for (let i = 0; i < row.length; i++) {
            vsRef = Math.max(vsRef, Math.abs(row[i]! - want[p]![i]!));
            vsBase = Math.max(vsBase, Math.abs(row[i]! - base[p]![i]!));
          }
        });
        assert.ok(vsRef <= c.tol, `${v}: max |Δlogit| vs ref ${vsRef} > ${c.tol}`);
        assert.ok(vsBase <= 1e-3, `${v}: max |Δlogit| vs the i16 choice ${vsBase}`);
      }
    });
  }
});

describe('llama-ts bench and info show the choice', { skip: skipNoFixtures }, () => {
  const bin = join(REPO_ROOT, 'bin', 'llama-ts.js');
  const model = fixture('models', 'tiny-llama3.1', 'tiny-llama3.1.q8_0.gguf');
  const run = (args: string[]): string =>
    execFileSync(process.execPath, [bin, ...args], { encoding: 'utf8', env: { ...process.env, LLAMA_TS_CACHE: cacheDir, LLAMA_TS_KERNELS: 'q8_0=g2,q4_0=i16,q4_k=i16,q6_k=g2' } });

  test('bench --json records CPU, Node, kernels and decode\'s share of measured bandwidth; the text names them', () => {
    const j = JSON.parse(run(['bench', '-m', model, '-p', '8', '-n', '4', '-r', '1', '-t', '2', '--json'])) as Record<string, unknown>;
    assert.equal(j['kernels'], 'q8_0=g2,q4_0=i16,q4_k=i16,q6_k=g2');
    assert.equal(j['kernels_source'], 'override');
    assert.equal(j['node_version'], process.version);
    assert.equal(typeof j['cpu_model'], 'string');
    assert.ok(Array.isArray(j['cpu_flags']));
    const share = j['tg_bandwidth_share'] as number;
    assert.ok(share > 0 && Math.abs(share - (j['tg_gbps'] as number) / (j['mem_read_gbps'] as number)) < 1e-9);
    // 2 threads: the share of work chunks one thread ran for the other, a fraction (or null: no chunks).
    for (const k of ['pp_work_stolen_share', 'tg_work_stolen_share']) {
      const v = j[k];
      assert.ok(v === null || (typeof v === 'number' && v >= 0 && v <= 1), `${k}: ${String(v)}`);
    }
    assert.equal(typeof j['tg_work_stolen_share'], 'number', 'decode ran chunked matmuls');
    const text = run(['bench', '-m', model, '-p', '8', '-n', '4', '-r', '1', '-t', '2']);
    assert.match(text, /^cpu: .+, node v\d+/m);
    assert.match(text, /^kernels: q8_0=g2,q4_0=i16,q4_k=i16,q6_k=g2 \(override\)/m);
  });

  test('info prints the kernels a wasm backend would run (text and --json)', () => {
    assert.match(run(['info', '-m', model]), /^kernels\s+q8_0=g2,q4_0=i16,q4_k=i16,q6_k=g2 \(override; .+, node v\d+/m);
    const j = JSON.parse(run(['info', '-m', model, '--json'])) as { kernels: { choice: string; source: string } };
    assert.deepEqual([j.kernels.choice, j.kernels.source], ['q8_0=g2,q4_0=i16,q4_k=i16,q6_k=g2', 'override']);
  });
});
