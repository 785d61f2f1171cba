/**
 * The README's RAM table: weights + KV cache at the default context for well-known Llama-shape
 * models, from their published config.json shapes (parameter counts computed, not quoted).
 * Weights: F16 2 bytes, Q8_0 34/32, Q4_0 18/32 bytes per matrix element (norms F32); Q4_K_M
 * files mix Q4_K with Q6_K and come out ~5–10 % above Q4_0. KV: the default f32 cache
 * (`--cache-type f16` halves it) for min(trained context, 4096) tokens, the default session size.
 *
 *   node --import tsx bench/ram-table.ts
 */
interface Shape { name: string; vocab: number; hidden: number; ffn: number; layers: number; heads: number; kv: number; headDim: number; tied: boolean; ctx: number }

const MODELS: Shape[] = [
  { name: 'SmolLM2 135M', vocab: 49152, hidden: 576, ffn: 1536, layers: 30, heads: 9, kv: 3, headDim: 64, tied: true, ctx: 8192 },
  { name: 'SmolLM2 360M', vocab: 49152, hidden: 960, ffn: 2560, layers: 32, heads: 15, kv: 5, headDim: 64, tied: true, ctx: 8192 },
  { name: 'TinyLlama 1.1B', vocab: 32000, hidden: 2048, ffn: 5632, layers: 22, heads: 32, kv: 4, headDim: 64, tied: false, ctx: 2048 },
  { name: 'Llama 3.2 1B', vocab: 128256, hidden: 2048, ffn: 8192, layers: 16, heads: 32, kv: 8, headDim: 64, tied: true, ctx: 131072 },
  { name: 'SmolLM2 1.7B', vocab: 49152, hidden: 2048, ffn: 8192, layers: 24, heads: 32, kv: 32, headDim: 64, tied: true, ctx: 8192 },
  { name: 'Llama 3.2 3B', vocab: 128256, hidden: 3072, ffn: 8192, layers: 28, heads: 24, kv: 8, headDim: 128, tied: true, ctx: 131072 },
  { name: 'Llama 2 7B', vocab: 32000, hidden: 4096, ffn: 11008, layers: 32, heads: 32, kv: 32, headDim: 128, tied: false, ctx: 4096 },
  { name: 'Llama 3.1 8B', vocab: 128256, hidden: 4096, ffn: 14336, layers: 32, heads: 32, kv: 8, headDim: 128, tied: false, ctx: 131072 },
  { name: 'Llama 2 13B', vocab: 32000, hidden: 5120, ffn: 13824, layers: 40, heads: 40, kv: 40, headDim: 128, tied: false, ctx: 4096 },
];

const GB = 1e9;
const rows: string[] = ['| model | params | F16 | Q8_0 | Q4_0 | KV cache (f32, ctx) |', '|---|---|---|---|---|---|'];
for (const m of MODELS) {
  const q = m.heads * m.headDim;
  const kvDim = m.kv * m.headDim;
  const perLayer = m.hidden * q * 2 + m.hidden * kvDim * 2 + 3 * m.hidden * m.ffn;
  const matrices = m.layers * perLayer + m.vocab * m.hidden * (m.tied ? 1 : 2);
  const norms = m.layers * 2 * m.hidden + m.hidden;
  const params = matrices + norms;
  const w = (bytesPerElem: number): number => matrices * bytesPerElem + norms * 4;
  const ctx = Math.min(m.ctx, 4096);
  const kv = 2 * m.layers * ctx * kvDim * 4;
  const gb = (b: number): string => `${((b + kv) / GB).toFixed(1)} GB`;
  rows.push(`| ${m.name} | ${(params / 1e9).toFixed(2)} B | ${gb(w(2))} | ${gb(w(34 / 32))} | ${gb(w(18 / 32))} | ${(kv / GB).toFixed(2)} GB (${ctx}) |`);
}
console.log(rows.join('\n'));
