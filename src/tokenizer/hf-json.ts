import { showValue } from '../errors/show.js';
import type { Tokenizer } from './types.js';
import type { AddedToken } from './added-tokens.js';
import { llama3EogIds, type TokenKind } from './vocab.js';
import { ByteLevelBPETokenizer } from './bpe.js';
import { SentencePieceTokenizer, SPACE } from './spm.js';
import { PairTable } from './pair-table.js';
import { PieceIndex, resolveMerge } from './piece-index.js';
import { GPT2_PATTERN } from './scanner.js';
import { TokenizerError } from './errors.js';

/**
 * Hugging Face `tokenizer.json` (+ `tokenizer_config.json`) → Tokenizer. Two families of BPE
 * model are recognised: byte-level (Llama 3: ByteLevel pre-tokenizer/decoder) and SentencePiece
 * style (Llama 2: byte_fallback, "▁" normalizer). Anything else raises a TokenizerError.
 */

type Json = Record<string, unknown>;

function obj(v: unknown, what: string): Json {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new TokenizerError(`tokenizer.json: ${what} is not an object`);
  return v as Json;
}

function list(v: unknown): Json[] {
  return Array.isArray(v) ? v.filter((x): x is Json => typeof x === 'object' && x !== null) : [];
}

/** Real files nest Sequence components one or two levels; the bound keeps a hostile file off the call stack. */
const MAX_SEQUENCE_DEPTH = 32;

/** A component and, for Sequence types, everything inside it. */
function flatten(v: unknown, depth = 0): Json[] {
  if (typeof v !== 'object' || v === null) return [];
  if (depth > MAX_SEQUENCE_DEPTH) throw new TokenizerError(`tokenizer.json: Sequence components nested more than ${MAX_SEQUENCE_DEPTH} deep`);
  const o = v as Json;
  const inner = [o['pretokenizers'], o['normalizers'], o['decoders'], o['processors']].flatMap(list);
  return [o, ...inner.flatMap((c) => flatten(c, depth + 1))];
}

/** Token text from a config field that is either a string or an AddedToken object. */
function tokenText(v: unknown): string | undefined {
  if (typeof v === 'string') return v;
  if (typeof v === 'object' && v !== null && typeof (v as Json)['content'] === 'string') return (v as Json)['content'] as string;
  return undefined;
}

/** chat_template: a string, or a list of {name, template} (the "default" one is used). */
export function chatTemplateOf(config: Json | undefined): string | undefined {
  const t = config?.['chat_template'];
  if (typeof t === 'string') return t;
  const named = list(t);
  const pick = named.find((x) => x['name'] === 'default') ?? named[0];
  return typeof pick?.['template'] === 'string' ? (pick['template'] as string) : undefined;
}

export interface HFExtras {
  /** tokenizer_config.json, if present. */
  readonly config?: Json | undefined;
  /** generation_config.json eos_token_id (number or list), if present. */
  readonly generationEos?: unknown;
}

export function tokenizerFromHFJson(json: unknown, extras: HFExtras = {}): Tokenizer {
  const root = obj(json, 'the file');
  const model = obj(root['model'], 'model');
  if (model['type'] !== 'BPE') {
    throw new TokenizerError(`tokenizer.json model type ${showValue(model['type'])} is not supported (only BPE: Llama 3 byte-level, Llama 2 SentencePiece-style)`);
  }
  const vocab = obj(model['vocab'], 'model.vocab');
  const config = extras.config;

  // Vocabulary, then added tokens on top (they may extend it). Object.keys is much faster than
  // Object.entries on a 128k-key object.
  const keys = Object.keys(vocab);
  const addedJson = list(root['added_tokens']);
  // The id table is sized by the largest id, so bound ids by how many entries the file really has
  // (every id names one entry; added tokens may repeat vocab entries, never exceed the sum):
  // a mutated id of 1e300 or 3e8 must be an error, not a RangeError or gigabytes of table.
  const limit = keys.length + addedJson.length;
  const checkId = (id: unknown, what: string): number => {
    if (typeof id !== 'number' || !Number.isInteger(id) || id < 0 || id >= limit) {
      throw new TokenizerError(`tokenizer.json: ${what} has id ${showValue(id)}, outside 0..${limit - 1} (the file has ${limit} vocabulary and added entries)`);
    }
    return id;
  };
  let size = 0;
  for (const piece of keys) {
    const id = checkId(vocab[piece], `vocab entry ${JSON.stringify(piece)}`);
    if (id + 1 > size) size = id + 1;
  }
  for (const t of addedJson) {
    if (t['id'] === undefined) continue; // no id: ignored below as before
    const id = checkId(t['id'], `added token ${showValue(t['content'])}`);
    if (id + 1 > size) size = id + 1;
  }
  const pieces = new Array<string>(size).fill('');
  const kinds = new Array<TokenKind>(size).fill('unused');
  for (const piece of keys) {
    const id = vocab[piece] as number;
    pieces[id] = piece;
    kinds[id] = 'normal';
  }
  const index = new PieceIndex(pieces, (id) => kinds[id] === 'normal');
  const added: AddedToken[] = [];
  for (const t of addedJson) {
    const id = t['id'];
    const content = t['content'];
    if (typeof id !== 'number' || typeof content !== 'string') continue;
    const special = t['special'] === true;
    pieces[id] = content;
    kinds[id] = special ? 'control' : 'user';
    added.push({ id, content, special, lstrip: t['lstrip'] === true, rstrip: t['rstrip'] === true, singleWord: t['single_word'] === true });
  }
  const unkText = typeof model['unk_token'] === 'string' ? (model['unk_token'] as string) : undefined;
  const unkId = unkText !== undefined && typeof vocab[unkText] === 'number' ? (vocab[unkText] as number) : undefined;
  if (unkId !== undefined) kinds[unkId] = 'unknown';

  const addedIds = new Map(added.map((t) => [t.content, t.id]));
  const idOf = (text: string | undefined): number | undefined => {
    if (text === undefined) return undefined;
    const id = addedIds.get(text) ?? index.get(text);
    return id >= 0 ? id : undefined;
  };

  // BOS: tokenizer_config's bos_token, else the special token the post-processor puts first.
  const components = [...flatten(root['pre_tokenizer']), ...flatten(root['normalizer']), ...flatten(root['decoder']), ...flatten(root['post_processor'])];
  const template = flatten(root['post_processor']).find((c) => c['type'] === 'TemplateProcessing');
  const firstOfSingle = list(template?.['single'])[0];
  const firstSpecial = firstOfSingle?.['SpecialToken'];
  const templBos = typeof firstSpecial === 'object' && firstSpecial !== null ? tokenText({ content: (firstSpecial as Json)['id'] }) : undefined;
  const bosId = idOf(tokenText(config?.['bos_token'])) ?? idOf(templBos);
  const addBos = typeof config?.['add_bos_token'] === 'boolean' ? (config['add_bos_token'] as boolean) : templBos !== undefined;
  const eosIds: number[] = [];
  const eosCfg = idOf(tokenText(config?.['eos_token']));
  if (eosCfg !== undefined) eosIds.push(eosCfg);
  const genEos = extras.generationEos;
  for (const id of Array.isArray(genEos) ? genEos : [genEos]) if (typeof id === 'number' && id >= 0 && id < size) eosIds.push(id);

  // Merges: rank = position in the list.
  const merges = Array.isArray(model['merges']) ? (model['merges'] as unknown[]) : [];
  const pairs = new PairTable(merges.length);
  for (let r = 0; r < merges.length; r++) {
    const ids = resolveMerge(index, merges[r]);
    if (ids === undefined) throw new TokenizerError(`tokenizer.json: merge ${r} (${showValue(merges[r])}) is malformed or uses pieces missing from the vocabulary`);
    pairs.set(ids[0], ids[1], r, ids[2]);
  }

  const common = { pieces, kinds, added, bosId, eosIds, addBos, chatTemplate: chatTemplateOf(config) };
  const byteLevel = components.some((c) => c['type'] === 'ByteLevel');
  if (byteLevel) {
    if (root['normalizer'] !== null && root['normalizer'] !== undefined) {
      throw new TokenizerError('tokenizer.json: a normalizer in front of a byte-level BPE is not supported');
    }
    let pattern: string | null = null;
    let addPrefixSpace = false;
    for (const c of flatten(root['pre_tokenizer'])) {
      if (c['type'] === 'Split') {
        if (c['behavior'] !== 'Isolated' || c['invert'] === true) {
          throw new TokenizerError(`tokenizer.json: Split pre-tokenizer with behavior ${showValue(c['behavior'])}${c['invert'] ? ' (inverted)' : ''} is not supported`);
        }
        if (pattern !== null) throw new TokenizerError('tokenizer.json: more than one regex pre-tokenizer is not supported');
        const p = obj(c['pattern'], 'Split.pattern');
        if (typeof p['Regex'] === 'string') pattern = p['Regex'];
        else if (typeof p['String'] === 'string') pattern = (p['String'] as string).replace(/[\\^$.*+?()[\]{}|/-]/g, '\\$&');
        else throw new TokenizerError('tokenizer.json: Split pattern is neither Regex nor String');
      } else if (c['type'] === 'ByteLevel') {
        if (c['add_prefix_space'] === true) addPrefixSpace = true;
        if (c['use_regex'] !== false) {
          if (pattern !== null) throw new TokenizerError('tokenizer.json: more than one regex pre-tokenizer is not supported');
          pattern = GPT2_PATTERN;
        }
      } else if (c['type'] !== 'Sequence') {
        throw new TokenizerError(`tokenizer.json: pre-tokenizer ${showValue(c['type'])} is not supported with byte-level BPE`);
      }
    }
    common.eosIds.push(...llama3EogIds(pieces, kinds));
    return new ByteLevelBPETokenizer({ ...common, pairs, pattern, addPrefixSpace, ignoreMerges: model['ignore_merges'] === true });
  }

  // SentencePiece style: "▁" replaces spaces, optionally prefixed; byte fallback tokens.
  let addDummyPrefix = false;
  let replacesSpace = false;
  for (const c of flatten(root['normalizer'])) {
    if (c['type'] === 'Prepend' && c['prepend'] === SPACE) addDummyPrefix = true;
    else if (c['type'] === 'Replace' && obj(c['pattern'], 'Replace.pattern')['String'] === ' ' && c['content'] === SPACE) replacesSpace = true;
    else if (c['type'] !== 'Sequence') throw new TokenizerError(`tokenizer.json: normalizer ${showValue(c['type'])} is not supported`);
  }
  for (const c of flatten(root['pre_tokenizer'])) {
    if (c['type'] === 'Metaspace') {
      // The non-legacy Llama form: Metaspace replaces spaces (and prepends ▁ unless told never).
      replacesSpace = true;
      if (c['prepend_scheme'] !== 'never' && c['add_prefix_space'] !== false) addDummyPrefix = true;
      if (c['split'] === true) throw new TokenizerError('tokenizer.json: Metaspace with split=true is not supported');
    } else if (c['type'] !== 'Sequence') {
      throw new TokenizerError(`tokenizer.json: pre-tokenizer ${showValue(c['type'])} is not supported with SentencePiece-style BPE`);
    }
  }
  if (!replacesSpace) {
    throw new TokenizerError('tokenizer.json: BPE without a ByteLevel or "▁" (SentencePiece) whitespace scheme is not supported');
  }
  const stripLeadingSpace = flatten(root['decoder']).some((c) => c['type'] === 'Strip' && c['content'] === ' ' && Number(c['start']) >= 1) ||
    flatten(root['decoder']).some((c) => c['type'] === 'Metaspace' && c['prepend_scheme'] !== 'never' && c['add_prefix_space'] !== false);
  for (let id = 0; id < size; id++) if (kinds[id] === 'normal' && /^<0x[0-9A-Fa-f]{2}>$/.test(pieces[id]!)) kinds[id] = 'byte';
  return new SentencePieceTokenizer({
    ...common,
    pairs,
    unkId,
    byteFallback: model['byte_fallback'] === true,
    fuseUnk: model['fuse_unk'] === true,
    addDummyPrefix,
    removeExtraWhitespaces: false,
    stripLeadingSpace,
  });
}
