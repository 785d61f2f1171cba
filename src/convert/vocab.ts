/**
 * The `tokenizer.ggml.*` metadata llama.cpp expects, made from a model's tokenizer files the way
 * llama.cpp's convert_hf_to_gguf.py makes it:
 *  - tokenizer.json with a byte-level BPE (Llama 3) → model `gpt2`, pre `llama-bpe`, tokens in id
 *    order padded to the model's vocab size with `[PAD<id>]`, token types (1 normal, 3 control
 *    for special added tokens, 4 user-defined for other added tokens, 5 unused padding), merges;
 *  - tokenizer.model (SentencePiece, Llama 2) → model `llama`, pre `default`, pieces, scores and
 *    the piece types the proto gives;
 *  - a .gguf file → its `tokenizer.*` keys copied as they are.
 * BOS/EOS come from tokenizer_config.json (then config.json); the chat template is carried over.
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { BadArgumentError } from '../errors/errors.js';
import { readGGUF } from '../formats/gguf.js';
import { GGUFValueType, type GGUFType } from '../formats/gguf-types.js';
import type { GGUFValue } from '../formats/types.js';
import { pbFields, pbFloat } from '../tokenizer/protobuf.js';
import { LLAMA3_PATTERN } from '../tokenizer/scanner.js';
import { TokenizerError } from '../tokenizer/errors.js';

export interface GGUFVocab {
  readonly metadata: Map<string, GGUFValue>;
  readonly types: Map<string, GGUFType>;
}

type Json = Record<string, unknown>;

const STR_ARRAY: GGUFType = { type: GGUFValueType.ARRAY, items: { type: GGUFValueType.STRING } };
const I32_ARRAY: GGUFType = { type: GGUFValueType.ARRAY, items: { type: GGUFValueType.INT32 } };
const F32_ARRAY: GGUFType = { type: GGUFValueType.ARRAY, items: { type: GGUFValueType.FLOAT32 } };
const U32: GGUFType = { type: GGUFValueType.UINT32 };
const BOOL: GGUFType = { type: GGUFValueType.BOOL };
const STR: GGUFType = { type: GGUFValueType.STRING };

const NORMAL = 1;
const CONTROL = 3;
const USER_DEFINED = 4;
const UNUSED = 5;

function readJson(path: string): Json | undefined {
  if (!existsSync(path)) return undefined;
  try {
    const v: unknown = JSON.parse(readFileSync(path, 'utf8'));
    return typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Json) : undefined;
  } catch (cause) {
    throw new TokenizerError(`${path} is not valid JSON`, { cause });
  }
}

function tokenText(v: unknown): string | undefined {
  if (typeof v === 'string') return v;
  if (typeof v === 'object' && v !== null && typeof (v as Json)['content'] === 'string') return (v as Json)['content'] as string;
  return undefined;
}

function chatTemplate(cfg: Json | undefined): string | undefined {
  const t = cfg?.['chat_template'];
  if (typeof t === 'string') return t;
  if (Array.isArray(t)) {
    const named = t.filter((x): x is Json => typeof x === 'object' && x !== null && typeof (x as Json)['template'] === 'string');
    return (named.find((x) => x['name'] === 'default') ?? named[0])?.['template'] as string | undefined;
  }
  return undefined;
}

class VocabBuilder implements GGUFVocab {
  readonly metadata = new Map<string, GGUFValue>();
  readonly types = new Map<string, GGUFType>();
  set(key: string, value: GGUFValue, type: GGUFType): void {
    this.metadata.set(key, value);
    this.types.set(key, type);
  }
}

/** Special-token ids and flags shared by both tokenizer kinds. */
function specials(v: VocabBuilder, tokens: readonly string[], cfg: Json | undefined, modelConfig: Json | undefined, addBosDefault: boolean): void {
  const idOf = (key: 'bos' | 'eos' | 'unk' | 'pad'): number | undefined => {
    const text = tokenText(cfg?.[`${key}_token`]);
    if (text !== undefined) {
      const i = tokens.indexOf(text);
      if (i >= 0) return i;
    }
    const raw = modelConfig?.[`${key}_token_id`];
    const n = Array.isArray(raw) ? raw[0] : raw;
    return typeof n === 'number' && Number.isInteger(n) && n >= 0 && n < tokens.length ? n : undefined;
  };
  for (const [key, gguf] of [['bos', 'bos_token_id'], ['eos', 'eos_token_id'], ['unk', 'unknown_token_id'], ['pad', 'padding_token_id']] as const) {
    const id = idOf(key);
    if (id !== undefined) v.set(`tokenizer.ggml.${gguf}`, id, U32);
  }
  const addBos = cfg?.['add_bos_token'];
  v.set('tokenizer.ggml.add_bos_token', typeof addBos === 'boolean' ? addBos : addBosDefault, BOOL);
  const addEos = cfg?.['add_eos_token'];
  if (typeof addEos === 'boolean') v.set('tokenizer.ggml.add_eos_token', addEos, BOOL);
  const tmpl = chatTemplate(cfg);
  if (tmpl !== undefined) v.set('tokenizer.chat_template', tmpl, STR);
}

/** Does the post-processor put a special token in front of every sequence (Llama 3's BOS)? */
function postProcessorAddsBos(root: Json): boolean {
  const walk = (p: unknown): boolean => {
    if (typeof p !== 'object' || p === null) return false;
    const o = p as Json;
    if (o['type'] === 'TemplateProcessing' && Array.isArray(o['single'])) {
      const first = o['single'][0] as Json | undefined;
      return typeof first === 'object' && first !== null && 'SpecialToken' in first;
    }
    return Array.isArray(o['processors']) && o['processors'].some(walk);
  };
  return walk(root['post_processor']);
}

function usesLlama3Split(root: Json): boolean {
  const walk = (p: unknown): boolean => {
    if (typeof p !== 'object' || p === null) return false;
    const o = p as Json;
    const pat = o['pattern'] as Json | undefined;
    if (o['type'] === 'Split' && typeof pat?.['Regex'] === 'string') return pat['Regex'] === LLAMA3_PATTERN;
    return Array.isArray(o['pretokenizers']) && o['pretokenizers'].some(walk);
  };
  return walk(root['pre_tokenizer']);
}

function fromTokenizerJson(path: string, vocabSize: number, modelConfig: Json | undefined): GGUFVocab {
  const root = readJson(path);
  if (!root) throw new TokenizerError(`${path} is not a JSON object`);
  const model = root['model'] as Json | undefined;
  if (model?.['type'] !== 'BPE' || model['byte_fallback'] === true) {
    throw new TokenizerError(`${path}: only byte-level BPE tokenizer.json (Llama 3) is converted; for a SentencePiece model pass its tokenizer.model`);
  }
  if (!usesLlama3Split(root)) throw new TokenizerError(`${path}: pre-tokenizer is not Llama 3's; llama.cpp would not know which 'tokenizer.ggml.pre' to use`);
  const vocab = model['vocab'] as Record<string, number> | undefined;
  if (typeof vocab !== 'object' || vocab === null) throw new TokenizerError(`${path}: model.vocab missing`);
  const cfg = readJson(join(dirname(path), 'tokenizer_config.json'));
  const byId = new Map<number, string>();
  for (const [tok, id] of Object.entries(vocab)) byId.set(id, tok);
  const added = new Map<number, boolean>(); // id → special
  for (const a of Array.isArray(root['added_tokens']) ? (root['added_tokens'] as Json[]) : []) {
    if (typeof a['id'] === 'number' && typeof a['content'] === 'string') {
      byId.set(a['id'], a['content']);
      added.set(a['id'], a['special'] === true);
    }
  }
  let n = vocabSize;
  for (const id of byId.keys()) n = Math.max(n, id + 1);
  const tokens: string[] = [];
  const types: number[] = [];
  for (let i = 0; i < n; i++) {
    const t = byId.get(i);
    if (t === undefined) {
      tokens.push(`[PAD${i}]`);
      types.push(UNUSED);
    } else {
      tokens.push(t);
      types.push(added.has(i) ? (added.get(i) ? CONTROL : USER_DEFINED) : NORMAL);
    }
  }
  const merges = (Array.isArray(model['merges']) ? model['merges'] : []).map((m) => (Array.isArray(m) ? m.join(' ') : String(m)));
  const v = new VocabBuilder();
  v.set('tokenizer.ggml.model', 'gpt2', STR);
  v.set('tokenizer.ggml.pre', 'llama-bpe', STR);
  v.set('tokenizer.ggml.tokens', tokens, STR_ARRAY);
  v.set('tokenizer.ggml.token_type', types, I32_ARRAY);
  v.set('tokenizer.ggml.merges', merges, STR_ARRAY);
  specials(v, tokens, cfg, modelConfig, postProcessorAddsBos(root));
  return v;
}

const utf8 = new TextDecoder('utf-8', { ignoreBOM: true });

function fromSentencePiece(path: string, vocabSize: number, modelConfig: Json | undefined): GGUFVocab {
  const tokens: string[] = [];
  const scores: number[] = [];
  const types: number[] = [];
  let unk = 0;
  let bos = 1;
  let eos = 2;
  for (const f of pbFields(readFileSync(path))) {
    if (f.field === 1 && f.wire === 2) {
      let piece = '';
      let score = 0;
      let type = NORMAL;
      for (const g of pbFields(f.bytes)) {
        if (g.field === 1 && g.wire === 2) piece = utf8.decode(g.bytes);
        else if (g.field === 2 && g.wire === 5) score = pbFloat(g.bytes);
        else if (g.field === 3 && g.wire === 0) type = g.varint;
      }
      tokens.push(piece);
      scores.push(score);
      types.push(type);
    } else if (f.field === 2 && f.wire === 2) {
      // TrainerSpec: unk_id 40, bos_id 41, eos_id 42.
      for (const g of pbFields(f.bytes)) {
        if (g.wire !== 0) continue;
        if (g.field === 40) unk = g.varint;
        else if (g.field === 41) bos = g.varint;
        else if (g.field === 42) eos = g.varint;
      }
    }
  }
  if (tokens.length === 0) throw new TokenizerError(`${path}: no pieces (not a SentencePiece model?)`);
  for (let i = tokens.length; i < vocabSize; i++) {
    tokens.push(`[PAD${i}]`);
    scores.push(-1000);
    types.push(UNUSED);
  }
  const cfg = readJson(join(dirname(path), 'tokenizer_config.json'));
  const v = new VocabBuilder();
  v.set('tokenizer.ggml.model', 'llama', STR);
  v.set('tokenizer.ggml.pre', 'default', STR);
  v.set('tokenizer.ggml.tokens', tokens, STR_ARRAY);
  v.set('tokenizer.ggml.scores', scores, F32_ARRAY);
  v.set('tokenizer.ggml.token_type', types, I32_ARRAY);
  const withIds = { bos_token_id: bos, eos_token_id: eos, unk_token_id: unk, ...(modelConfig ?? {}) };
  specials(v, tokens, cfg, withIds, true);
  if (!v.metadata.has('tokenizer.ggml.unknown_token_id')) v.set('tokenizer.ggml.unknown_token_id', unk, U32);
  return v;
}

function fromGGUF(path: string): GGUFVocab {
  const f = readGGUF(path);
  try {
    const v = new VocabBuilder();
    for (const [k, val] of f.metadata) if (k.startsWith('tokenizer.')) v.set(k, val, f.metadataTypes.get(k)!);
    if (!v.metadata.has('tokenizer.ggml.tokens')) throw new TokenizerError(`${path} carries no tokenizer (tokenizer.ggml.tokens)`);
    return v;
  } finally {
    f.close();
  }
}

/**
 * Finds and converts the tokenizer: `source` (a tokenizer.json, tokenizer.model, .gguf or a
 * folder holding one) if given, else the model folder. `vocabSize` is the model's embedding rows.
 */
export function ggufVocab(modelFolder: string, vocabSize: number, source?: string): GGUFVocab {
  const modelConfig = readJson(join(modelFolder, 'config.json'));
  const where = source ?? modelFolder;
  if (!existsSync(where)) throw new BadArgumentError(`tokenizer not found: ${where}`);
  const pick = (dir: string): string | undefined =>
    ['tokenizer.json', 'tokenizer.model'].map((f) => join(dir, f)).find((p) => {
      if (!existsSync(p)) return false;
      // A Llama 2 folder often has both; its tokenizer.json is byte-fallback BPE, so prefer the proto there.
      if (p.endsWith('tokenizer.json') && existsSync(join(dir, 'tokenizer.model'))) {
        const m = (readJson(p)?.['model'] as Json | undefined) ?? {};
        return m['byte_fallback'] !== true;
      }
      return true;
    });
  const file = statSync(where).isDirectory() ? pick(where) : where;
  if (!file) {
    throw new BadArgumentError(
      `${where} has no tokenizer.json or tokenizer.model; a GGUF needs a vocabulary: pass --tokenizer <tokenizer.json | tokenizer.model | folder | file.gguf>`,
    );
  }
  const v = file.endsWith('.gguf') ? fromGGUF(file) : file.endsWith('.model') ? fromSentencePiece(file, vocabSize, modelConfig) : fromTokenizerJson(file, vocabSize, modelConfig);
  const n = (v.metadata.get('tokenizer.ggml.tokens') as unknown[]).length;
  // llama.cpp refuses a vocabulary whose size differs from the embedding's rows.
  if (n !== vocabSize) throw new BadArgumentError(`${file} has ${n} tokens but the model's vocab_size is ${vocabSize}`);
  return v;
}
