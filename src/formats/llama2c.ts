/**
 * llama2.c legacy (v0) checkpoints: 7 int32 (dim, hidden_dim, n_layers, n_heads, n_kv_heads,
 * vocab_size — negative when a separate classifier follows —, seq_len), then F32 weights in
 * run.c's order, each stacked over layers. q/k rows are in the interleaved-pair layout (as GGUF).
 *
 * The header has no magic and no eps/theta. Those come from options, else from a config.json
 * beside the file (the tiny fixtures ship one), else llama2.c's constants (eps 1e-5, theta 10000).
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { LlamaConfig } from '../config/config.js';
import { configFromHF } from '../config/from-hf.js';
import { configFromLlama2c, type Llama2cConfigOptions, type Llama2cHeader } from '../config/from-llama2c.js';
import { BadConfigError, NotAModelError, TruncatedFileError } from '../errors/errors.js';
import { DType } from '../quant/dtype.js';
import { FileReader, fileTensor, type FileTensorRecord } from './file-reader.js';

export interface Llama2cModel {
  readonly path: string;
  readonly header: Llama2cHeader;
  readonly config: LlamaConfig;
  /**
   * Named after run.c's fields, one record per layer: `tok_embeddings`, `layers.{i}.rms_att`,
   * `layers.{i}.{wq,wk,wv,wo}`, `layers.{i}.rms_ffn`, `layers.{i}.{w1,w2,w3}` (w1 = gate, w2 = down,
   * w3 = up), `rms_final`, `freq_cis_real`, `freq_cis_imag` [seq_len, head_dim/2], and `wcls` only
   * when the classifier is separate.
   */
  readonly tensors: Map<string, FileTensorRecord>;
  close(): void;
}

const HEADER_BYTES = 28;
/** Generous bounds that real llama2.c exports satisfy and random bytes almost never do. */
const LIMIT = 1 << 20;

function parseHeader(path: string, bytes: Uint8Array): Llama2cHeader {
  const v = new DataView(bytes.buffer, bytes.byteOffset, HEADER_BYTES);
  const [dim, hiddenDim, nLayers, nHeads, nKVHeads, vocabRaw, seqLen] = Array.from({ length: 7 }, (_, i) => v.getInt32(4 * i, true)) as [
    number, number, number, number, number, number, number,
  ];
  const ok =
    [dim, hiddenDim, nLayers, nHeads, nKVHeads, seqLen].every((x) => x > 0 && x < LIMIT) &&
    vocabRaw !== 0 && Math.abs(vocabRaw) < LIMIT * 4 &&
    dim % nHeads === 0 && nHeads % nKVHeads === 0;
  if (!ok) {
    throw new NotAModelError(path, `not a llama2.c checkpoint (header ${[dim, hiddenDim, nLayers, nHeads, nKVHeads, vocabRaw, seqLen].join(', ')})`);
  }
  return { dim, hiddenDim, nLayers, nHeads, nKVHeads, vocabSize: Math.abs(vocabRaw), sharedClassifier: vocabRaw > 0, seqLen };
}

/** eps / theta / bos / eos from a config.json next to the checkpoint, when there is one. */
function optionsFromSiblingConfig(path: string): Llama2cConfigOptions {
  const cfgPath = join(dirname(path), 'config.json');
  if (!existsSync(cfgPath)) return {};
  let json: unknown;
  try {
    json = JSON.parse(readFileSync(cfgPath, 'utf8'));
  } catch (e) {
    throw new BadConfigError(`${cfgPath} is not valid JSON: ${(e as Error).message}`);
  }
  const c = configFromHF(json);
  return {
    rmsNormEps: c.rmsNormEps,
    ropeTheta: c.ropeTheta,
    ...(c.bosTokenId === undefined ? {} : { bosTokenId: c.bosTokenId }),
    ...(c.eosTokenIds.length ? { eosTokenIds: c.eosTokenIds } : {}),
  };
}

export function readLlama2c(path: string, options: Llama2cConfigOptions = {}): Llama2cModel {
  const file = new FileReader(path);
  try {
    if (file.size < HEADER_BYTES) throw new NotAModelError(path, `only ${file.size} bytes, shorter than a llama2.c header`);
    const header = parseHeader(path, file.read(0, HEADER_BYTES, 'the llama2.c header'));
    const sibling = optionsFromSiblingConfig(path);
    const config = configFromLlama2c(header, { ...sibling, ...stripUndefined(options) });

    const { dim, hiddenDim, nLayers, nHeads, nKVHeads, vocabSize, seqLen } = header;
    const headDim = dim / nHeads;
    const kvDim = nKVHeads * headDim;
    const tensors = new Map<string, FileTensorRecord>();
    let pos = HEADER_BYTES;
    const take = (name: string, shape: number[]): void => {
      const bytes = shape.reduce((a, b) => a * b, 1) * 4;
      if (pos + bytes > file.size) {
        throw new TruncatedFileError(path, `tensor ${name} needs bytes ${pos}..${pos + bytes} but the file ends at ${file.size}`);
      }
      tensors.set(name, fileTensor(file, name, DType.F32, shape, pos, bytes));
      pos += bytes;
    };
    /** One stacked run.c array, split into a record per layer. */
    const stacked = (field: string, shape: number[]): void => {
      for (let l = 0; l < nLayers; l++) take(`layers.${l}.${field}`, shape);
    };
    take('tok_embeddings', [vocabSize, dim]);
    stacked('rms_att', [dim]);
    stacked('wq', [nHeads * headDim, dim]);
    stacked('wk', [kvDim, dim]);
    stacked('wv', [kvDim, dim]);
    stacked('wo', [dim, nHeads * headDim]);
    stacked('rms_ffn', [dim]);
    stacked('w1', [hiddenDim, dim]);
    stacked('w2', [dim, hiddenDim]);
    stacked('w3', [hiddenDim, dim]);
    take('rms_final', [dim]);
    take('freq_cis_real', [seqLen, headDim / 2]);
    take('freq_cis_imag', [seqLen, headDim / 2]);
    if (!header.sharedClassifier) take('wcls', [vocabSize, dim]);
    if (pos !== file.size) {
      throw new NotAModelError(path, `llama2.c header describes ${pos} bytes but the file has ${file.size}`);
    }
    return { path, header, config, tensors, close: () => file.close() };
  } catch (e) {
    file.close();
    throw e;
  }
}

function stripUndefined(o: Llama2cConfigOptions): Llama2cConfigOptions {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Llama2cConfigOptions;
}
