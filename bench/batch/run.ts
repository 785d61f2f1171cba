/**
 * Many sequences at once: aggregate decode tokens/s with 1, 2, 4, 8 and 16 concurrent requests
 * (128-token prompts, 128 new tokens each), and the time to first token of a 16-token request
 * submitted while a 2,048-token prompt is being prefilled. Synthetic Llama 3.2 1B-shaped GGUFs
 * from ../shared/tools/synth_gguf.py (generated on demand into --cache, never committed).
 *
 *   node --import tsx bench/batch/run.ts [--types q4_0,q8_0] [-t 2] [--seqs 1,2,4,8,16] [--prompt 128] [--gen 128] [--reps 1]
 *
 * --reps N measures every sequence count N times (order reversed on odd reps) and reports the best
 * and the median of each; the ratio to one sequence is best over best (and median over median).
 *
 * Prints one JSON line per measurement and a table; every figure names the CPU it ran on.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { loadModel, type LlamaModel } from '../../src/index.js';
import { ensureLlamaCpp } from '../peers/llamacpp.js';
import { ensureSyntheticGguf, repoRoot } from '../synthetic-gguf.js';

const { values } = parseArgs({
  options: {
    types: { type: 'string', default: 'q4_0,q8_0' },
    shape: { type: 'string', default: 'llama3.2-1b' },
    t: { type: 'string', short: 't', default: '2' },
    seqs: { type: 'string', default: '1,2,4,8,16' },
    prompt: { type: 'string', default: '128' },
    gen: { type: 'string', default: '128' },
    long: { type: 'string', default: '2048' },
    cache: { type: 'string', default: join(tmpdir(), 'llama-ts-bench') },
    'no-llamacpp': { type: 'boolean', default: false },
    reps: { type: 'string', default: '1' },
  },
});
const threads = Number(values.t);
const reps = Math.max(1, Number(values.reps));
const promptLen = Number(values.prompt);
const genLen = Number(values.gen);
const cache = resolve(values.cache!);
const cpu = cpus()[0]?.model ?? 'unknown CPU';
mkdirSync(cache, { recursive: true });

const root = repoRoot();

function ensureModel(type: string): string {
  return ensureSyntheticGguf(cache, values.shape!, type);
}

interface PeerRow {
  seqs: number;
  decode_tps: number;
}

/** llama.cpp's aggregate with the same sequence counts on the same file (undefined where it cannot run here). */
function llamaCpp(file: string): PeerRow[] | undefined {
  if (values['no-llamacpp']) return undefined;
  try {
    const dir = ensureLlamaCpp(cache, [join(root, 'bench', 'batch', 'llamacpp-batch.mjs')]);
    const out = execFileSync(process.execPath, [join(dir, 'llamacpp-batch.mjs'), file, values.seqs!, String(promptLen), String(genLen), String(threads)], { cwd: dir, encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
    return out.trim().split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as PeerRow);
  } catch (e) {
    console.error(`llama.cpp peer skipped: ${(e as Error).message.split('\n')[0]}`);
    return undefined;
  }
}

/** A distinct prompt per request (no prefix sharing beyond BOS). */
function prompt(i: number, len: number, vocab: number): number[] {
  let x = (i + 1) * 2654435761;
  return [128000, ...Array.from({ length: len - 1 }, () => {
    x = (Math.imul(x, 1103515245) + 12345) >>> 0;
    return 1000 + (x % (vocab - 2000));
  })];
}

/**
 * Aggregate decode tok/s of `k` concurrent requests in steady state. Every prompt but its last token
 * is prefilled first (in sessions, concurrently), then all k generations start together from there,
 * so the window — from the moment every request has its first token to the moment the first one
 * finishes — has all k sequences decoding.
 */
async function decodeAggregate(m: LlamaModel, k: number): Promise<{ seqs: number; decode_tps: number; tokens: number; decode_s: number }> {
  const prompts = Array.from({ length: k }, (_, i) => prompt(i + k * 100, promptLen, m.config.vocabSize));
  const sessions = prompts.map(() => m.session({ contextSize: promptLen + genLen + 8 }));
  await Promise.all(sessions.map((s, i) => s.eval(prompts[i]!.slice(0, -1), { logits: 'none' })));
  const times: number[][] = prompts.map(() => []);
  await Promise.all(
    prompts.map(async (p, i) => {
      for await (const _c of m.generate(p, { session: sessions[i], maxTokens: genLen, ignoreEos: true, temperature: 0.8, seed: i })) times[i]!.push(performance.now());
    }),
  );
  for (const s of sessions) s.dispose();
  return window(k, times);
}

/** Steady-state window over per-sequence token timestamps. */
function window(k: number, times: number[][]): { seqs: number; decode_tps: number; tokens: number; decode_s: number } {
  const start = Math.max(...times.map((t) => t[0]!));
  const end = Math.min(...times.map((t) => t[t.length - 1]!));
  let tokens = 0;
  for (const t of times) for (const x of t) if (x > start && x <= end) tokens++;
  const s = (end - start) / 1000;
  return { seqs: k, decode_tps: s > 0 ? tokens / s : 0, tokens, decode_s: s };
}

/** First-token latency of a short request submitted while a long prompt is being prefilled. */
async function ttftDuringPrefill(m: LlamaModel, longLen: number): Promise<{ ttft_ms: number; long_prefill_s: number }> {
  const t0 = performance.now();
  const long = (async () => {
    for await (const _c of m.generate(prompt(7777, longLen, m.config.vocabSize), { maxTokens: 1 })) break;
    return (performance.now() - t0) / 1000;
  })();
  while (m.stats().evaluatedTokens < 64) await new Promise((r) => setTimeout(r, 5)); // the long prefill is under way
  const t1 = performance.now();
  let ttft = 0;
  for await (const _c of m.generate(prompt(4242, 16, m.config.vocabSize), { maxTokens: 1 })) {
    ttft = performance.now() - t1;
    break;
  }
  return { ttft_ms: ttft, long_prefill_s: await long };
}

const rows: string[] = [];
for (const type of values.types!.split(',')) {
  const file = ensureModel(type);
  const m = await loadModel(file, { backend: 'wasm', threads, maxSequences: 16, prefixCacheBytes: 0 });
  try {
    for await (const _c of m.generate(prompt(1, 8, m.config.vocabSize), { maxTokens: 4 })); // warm-up
    // Every count once per rep, the order reversed on odd reps, so a slow spell of this shared
    // machine does not land on one count only; best and median per count.
    const counts = values.seqs!.split(',').map(Number);
    const runs = new Map<number, number[]>(counts.map((k) => [k, []]));
    for (let rep = 0; rep < reps; rep++) {
      for (const k of rep % 2 === 0 ? counts : [...counts].reverse()) {
        const r = await decodeAggregate(m, k);
        runs.get(k)!.push(r.decode_tps);
        console.log(JSON.stringify({ bench: 'batch-decode', type, cpu, threads, prompt: promptLen, gen: genLen, rep, ...r }));
      }
    }
    const results = counts.map((k) => {
      const xs = [...runs.get(k)!].sort((a, b) => b - a);
      return { seqs: k, decode_tps: xs[0]!, median_tps: xs[Math.floor((xs.length - 1) / 2)]! };
    });
    if (reps > 1) for (const r of results) console.log(JSON.stringify({ bench: 'batch-decode-summary', type, cpu, threads, reps, ...r }));
    const base = results[0]!.decode_tps;
    const baseMedian = results[0]!.median_tps;
    const t = await ttftDuringPrefill(m, Number(values.long));
    console.log(JSON.stringify({ bench: 'ttft-during-prefill', type, cpu, threads, long: Number(values.long), short: 16, ...t }));
    await m.dispose();
    const peer = llamaCpp(file);
    for (const p of peer ?? []) console.log(JSON.stringify({ bench: 'batch-decode-llamacpp', type, cpu, threads, prompt: promptLen, gen: genLen, ...p }));
    const pBase = peer?.[0]?.decode_tps;
    for (const r of results) {
      const p = peer?.find((x) => x.seqs === r.seqs);
      const pc = p && pBase ? `${p.decode_tps.toFixed(2)} | ${(p.decode_tps / pBase).toFixed(2)}×` : '- | -';
      const med = reps > 1 ? ` (median ${r.median_tps.toFixed(2)}, ${(r.median_tps / baseMedian).toFixed(2)}×)` : '';
      rows.push(`| ${type} | ${r.seqs} | ${r.decode_tps.toFixed(2)} | ${(r.decode_tps / base).toFixed(2)}×${med} | ${pc} |`);
    }
    rows.push(`| ${type} | TTFT of a 16-token request during a ${values.long}-token prefill: ${t.ttft_ms.toFixed(0)} ms | | | | |`);
  } catch (e) {
    await m.dispose();
    throw e;
  }
}
console.log(`\n${cpu}, ${threads} threads, ${promptLen}-token prompts, ${genLen} new tokens each${reps > 1 ? `, best of ${reps} runs per count (median in brackets)` : ''}\n`);
console.log('| type | concurrent sequences | llama-ts aggregate decode tok/s | vs 1 | llama.cpp aggregate tok/s | vs 1 |\n| --- | ---: | ---: | ---: | ---: | ---: |');
for (const r of rows) console.log(r);
process.exit(0);
