/**
 * Quantizer bytes (and F16/BF16 rounding) vs ggml itself on many more blocks than the fixtures hold: random rows of six
 * kinds (normal, uniform, offset, outliers, bf16-rounded weights, sparse) at scales 1e-4..10 are
 * quantized by `quantizeRows` and by `ggml_quantize_chunk` from node-llama-cpp 3.22.1's
 * libggml-base (installed into a temporary folder, called through Python ctypes), and compared
 * block by block.
 *
 *   node --import tsx bench/quant-vs-ggml.ts [--rows 240] [--cols 4096]
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { BLOCK, DType, dtypeName } from '../src/quant/dtype.js';
import { f32ToBF16, bf16ToF32 } from '../src/quant/half.js';
import { quantizeRows } from '../src/quant/quantize.js';

const { values } = parseArgs({ options: { rows: { type: 'string', default: '240' }, cols: { type: 'string', default: '4096' } } });
const rows = Number(values.rows);
const cols = Number(values.cols);
const here = dirname(fileURLToPath(import.meta.url));
const work = mkdtempSync(join(tmpdir(), 'llama-ts-quant-vs-ggml-'));
const TYPES = [DType.F16, DType.BF16, DType.Q4_0, DType.Q4_1, DType.Q5_0, DType.Q5_1, DType.Q8_0, DType.Q4_K, DType.Q5_K, DType.Q6_K];

let seed = 42;
const uniform = (): number => {
  seed = (seed * 1103515245 + 12345) >>> 0;
  return (seed + 0.5) / 2 ** 32;
};
const gauss = (): number => Math.sqrt(-2 * Math.log(uniform())) * Math.cos(2 * Math.PI * uniform());

try {
  const x = new Float32Array(rows * cols);
  for (let r = 0; r < rows; r++) {
    const scale = 10 ** (-4 + 5 * uniform());
    for (let c = 0; c < cols; c++) {
      const kind = r % 6;
      x[r * cols + c] =
        kind === 0 ? gauss() * scale
        : kind === 1 ? (2 * uniform() - 1) * scale
        : kind === 2 ? (1.5 + 0.1 * gauss()) * scale
        : kind === 3 ? gauss() * scale * (uniform() < 0.01 ? 50 : 1)
        : kind === 4 ? bf16ToF32(f32ToBF16(0.05 * gauss()))
        : uniform() < 0.7 ? gauss() * scale : 0;
    }
  }
  const input = join(work, 'input.f32');
  writeFileSync(input, new Uint8Array(x.buffer));

  const nlc = join(work, 'nlc');
  execFileSync('mkdir', ['-p', nlc]);
  writeFileSync(join(nlc, 'package.json'), JSON.stringify({ name: 'nlc', private: true }));
  console.error(`installing node-llama-cpp 3.22.1 (CPU prebuilt) into ${nlc} …`);
  execFileSync('npm', ['install', '--omit=optional', '--no-audit', '--no-fund', 'node-llama-cpp@3.22.1', '@node-llama-cpp/linux-x64@3.22.1'], {
    cwd: nlc,
    stdio: ['ignore', 'ignore', 'inherit'],
    env: { ...process.env, NODE_LLAMA_CPP_SKIP_DOWNLOAD: 'true' },
  });
  const lib = join(nlc, 'node_modules', '@node-llama-cpp', 'linux-x64', 'bins', 'linux-x64', 'libggml-base.so');
  if (!existsSync(lib)) throw new Error(`no ${lib} (this script knows the linux-x64 prebuilt only)`);
  execFileSync('python3', [join(here, 'quant-vs-ggml.py'), lib, input, String(rows), String(cols), join(work, 'ggml'), ...TYPES.map(String)], { stdio: 'inherit' });

  const results = TYPES.map((t) => {
    const want = readFileSync(join(work, `ggml.${t}`));
    const got = quantizeRows(t, x, rows, cols);
    const { blockBytes } = BLOCK[t]!;
    const blocks = got.length / blockBytes;
    let differ = 0;
    for (let b = 0; b < blocks; b++) {
      for (let k = 0; k < blockBytes; k++) {
        if (got[b * blockBytes + k] !== want[b * blockBytes + k]) {
          differ++;
          break;
        }
      }
    }
    if (got.length !== want.length) differ = blocks;
    console.log(`${dtypeName(t).padEnd(5)} ${blocks} blocks, ${differ} differ from ggml`);
    return { type: dtypeName(t), blocks, differ };
  });
  console.log(JSON.stringify({ rows, cols, weights: rows * cols, results }));
} finally {
  rmSync(work, { recursive: true, force: true });
}
