/**
 * Tokenizer benchmark: load time and encode throughput (MB/s) of llama-ts's Llama 3 tokenizer
 * against @huggingface/transformers and llama3-tokenizer-js, on the same ~5 MB of text, with
 * identical ids checked chunk by chunk. See README.md.
 *
 *   npm run build && node dist/bench/tokenizer/run.js [--mb 5] [--reps 5] [--peers-dir DIR] [--no-peers]
 *
 * Each implementation runs in its own child process (cold load, no shared JIT or GC state).
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { FIXTURES, REPO_ROOT } from '../../test/fixtures.js';
import { buildChunks, collectSources } from './corpus.js';
import { defaultPeersDir, ensurePeers, PEERS, resolvePeer } from './peers.js';

const IMPLS = ['llama-ts', '@huggingface/transformers', 'llama3-tokenizer-js'] as const;
type Impl = (typeof IMPLS)[number];

interface ChildResult {
  readonly impl: Impl;
  readonly loadMs: number;
  /** Seconds per full pass over all chunks. */
  readonly reps: number[];
  /** CPU seconds (all threads of the process) per pass: less sensitive to a busy machine. */
  readonly cpu: number[];
  readonly tokens: number;
}

type Encode = (text: string) => ArrayLike<number>;

function arg(name: string): string | undefined {
  const i = process.argv.indexOf(name);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

const TOKENIZER_DIR = join(FIXTURES, 'tokenizers', 'llama3.1');

/** Loads one implementation; returns its encode (special-token text parsed, no BOS — HF's add_special_tokens=false). */
async function load(impl: Impl, peersDir: string): Promise<Encode> {
  if (impl === 'llama-ts') {
    const { loadTokenizer } = await import('../../src/tokenizer/load.js');
    const tok = await loadTokenizer(TOKENIZER_DIR);
    return (text) => tok.encode(text, { addBos: false, specials: 'parse' });
  }
  if (impl === '@huggingface/transformers') {
    const hf = (await import(pathToFileURL(resolvePeer(peersDir, impl)).href)) as {
      env: { allowRemoteModels: boolean; localModelPath: string };
      AutoTokenizer: { from_pretrained(name: string): Promise<{ encode(t: string, o: { add_special_tokens: boolean }): number[] }> };
    };
    hf.env.allowRemoteModels = false;
    hf.env.localModelPath = join(FIXTURES, 'tokenizers');
    const tok = await hf.AutoTokenizer.from_pretrained('llama3.1');
    return (text) => tok.encode(text, { add_special_tokens: false });
  }
  const mod = (await import(pathToFileURL(resolvePeer(peersDir, impl)).href)) as {
    default: { encode(t: string, o: { bos: boolean; eos: boolean }): number[] };
  };
  return (text) => mod.default.encode(text, { bos: false, eos: false });
}

async function child(impl: Impl, chunksPath: string, idsPath: string, reps: number, peersDir: string): Promise<void> {
  const chunks = JSON.parse(readFileSync(chunksPath, 'utf8')) as string[];
  const t0 = performance.now();
  const encode = await load(impl, peersDir);
  const loadMs = performance.now() - t0;
  const times: number[] = [];
  const cpu: number[] = [];
  const cpuSeconds = (): number => {
    const u = process.cpuUsage();
    return (u.user + u.system) / 1e6;
  };
  let all: ArrayLike<number>[] = [];
  for (let r = 0; r < reps; r++) {
    const out: ArrayLike<number>[] = new Array(chunks.length);
    const s = performance.now();
    const c0 = cpuSeconds();
    for (let c = 0; c < chunks.length; c++) out[c] = encode(chunks[c]!);
    times.push((performance.now() - s) / 1000);
    cpu.push(cpuSeconds() - c0);
    all = out;
  }
  // ids file: per chunk its length then its ids (int32).
  const tokens = all.reduce((a, x) => a + x.length, 0);
  const buf = new Int32Array(all.length + tokens);
  let at = 0;
  for (const ids of all) {
    buf[at++] = ids.length;
    for (let k = 0; k < ids.length; k++) buf[at++] = Number(ids[k]);
  }
  writeFileSync(idsPath, new Uint8Array(buf.buffer));
  const result: ChildResult = { impl, loadMs, reps: times, cpu, tokens };
  process.stdout.write(JSON.stringify(result) + '\n');
}

function splitIds(path: string, nChunks: number): Int32Array[] {
  const b = readFileSync(path);
  const all = new Int32Array(b.buffer, b.byteOffset, b.byteLength / 4);
  const out: Int32Array[] = [];
  let at = 0;
  for (let c = 0; c < nChunks; c++) {
    const n = all[at++]!;
    out.push(all.subarray(at, at + n));
    at += n;
  }
  return out;
}

function sameIds(a: Int32Array, b: Int32Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};

async function main(): Promise<void> {
  const childImpl = arg('--child') as Impl | undefined;
  const reps = Math.max(1, Number(arg('--reps') ?? 5));
  const peersDir = arg('--peers-dir') ?? defaultPeersDir();
  if (childImpl !== undefined) {
    await child(childImpl, arg('--chunks')!, arg('--ids')!, reps, peersDir);
    return;
  }
  const log = (s: string): void => void process.stderr.write(s + '\n');
  const mb = Number(arg('--mb') ?? 5);
  const withPeers = !process.argv.includes('--no-peers');
  const chunks = buildChunks(collectSources(REPO_ROOT, FIXTURES), mb * 1e6);
  const bytes = chunks.reduce((a, c) => a + Buffer.byteLength(c), 0);
  log(`text: ${(bytes / 1e6).toFixed(2)} MB in ${chunks.length} chunks; ${reps} reps per implementation`);
  if (withPeers) ensurePeers(peersDir, log);

  const work = mkdtempSync(join(tmpdir(), 'llama-ts-tokbench-'));
  try {
    const chunksPath = join(work, 'chunks.json');
    writeFileSync(chunksPath, JSON.stringify(chunks));
    const impls = withPeers ? IMPLS : (['llama-ts'] as const);
    const results: (ChildResult & { ids: Int32Array[] })[] = [];
    for (const impl of impls) {
      log(`running ${impl} …`);
      const idsPath = join(work, `${results.length}.ids`);
      const self = fileURLToPath(import.meta.url);
      const r = spawnSync(process.execPath, [...process.execArgv, self, '--child', impl, '--chunks', chunksPath, '--ids', idsPath, '--reps', String(reps), '--peers-dir', peersDir], {
        encoding: 'utf8',
        stdio: ['ignore', 'pipe', 'inherit'],
        maxBuffer: 1 << 26,
      });
      if (r.status !== 0) throw new Error(`${impl} failed (exit ${r.status})`);
      const line = r.stdout.trim().split('\n').pop()!;
      results.push({ ...(JSON.parse(line) as ChildResult), ids: splitIds(idsPath, chunks.length) });
    }

    const ref = results[0]!;
    const rows = results.map((r) => {
      const differing = r.ids.reduce((n, ids, c) => n + (sameIds(ids, ref.ids[c]!) ? 0 : 1), 0);
      return {
        impl: r.impl,
        version: r.impl === 'llama-ts' ? 'this repo' : PEERS[r.impl],
        load_ms: Math.round(r.loadMs),
        first_mb_s: bytes / 1e6 / r.reps[0]!,
        best_mb_s: bytes / 1e6 / Math.min(...r.reps),
        median_mb_s: bytes / 1e6 / median(r.reps),
        median_cpu_mb_s: bytes / 1e6 / median(r.cpu),
        tokens: r.tokens,
        chunks_differing_from_llama_ts: differing,
      };
    });
    const peers = rows.filter((r) => r.impl !== 'llama-ts');
    const me = rows[0]!;
    const fastest = peers.length ? peers.reduce((a, b) => (b.median_mb_s > a.median_mb_s ? b : a)) : undefined;
    const f = (x: number): string => x.toFixed(2).padStart(10);
    const out: string[] = [];
    out.push(`${'implementation'.padEnd(32)}${'load ms'.padStart(9)}${'first MB/s'.padStart(12)}${'best MB/s'.padStart(11)}${'median MB/s'.padStart(13)}${'MB/CPU-s'.padStart(10)}${'tokens'.padStart(10)}${'differing chunks'.padStart(18)}`);
    for (const r of rows) {
      out.push(`${(r.impl + ' ' + r.version).padEnd(32)}${String(r.load_ms).padStart(9)}${f(r.first_mb_s).padStart(12)}${f(r.best_mb_s).padStart(11)}${f(r.median_mb_s).padStart(13)}${f(r.median_cpu_mb_s).padStart(10)}${String(r.tokens).padStart(10)}${String(r.chunks_differing_from_llama_ts).padStart(18)}`);
    }
    if (fastest) {
      out.push(`llama-ts vs fastest peer (${fastest.impl}): ${(me.median_mb_s / fastest.median_mb_s).toFixed(1)}× median, ${(me.first_mb_s / Math.max(...peers.map((p) => p.first_mb_s))).toFixed(1)}× first pass (goal ≥ 3×)`);
    }
    console.log(out.join('\n'));
    console.log(
      JSON.stringify({
        bench: 'tokenizer',
        text_bytes: bytes,
        chunks: chunks.length,
        reps,
        results: rows.map((r) => ({
          ...r,
          first_mb_s: +r.first_mb_s.toFixed(3),
          best_mb_s: +r.best_mb_s.toFixed(3),
          median_mb_s: +r.median_mb_s.toFixed(3),
          median_cpu_mb_s: +r.median_cpu_mb_s.toFixed(3),
        })),
        speedup_median_vs_fastest_peer: fastest ? +(me.median_mb_s / fastest.median_mb_s).toFixed(2) : null,
      }),
    );
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

await main();
