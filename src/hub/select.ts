/**
 * Which files of a repo a reference means: a named file, the .gguf files a quant tag matches
 * (all shards of one split GGUF together), or the files of a Hugging Face model folder.
 */
import { BadArgumentError } from '../errors/errors.js';
import { HubNotFoundError } from './errors.js';

export interface Selection {
  /** Repo paths to fetch. */
  readonly files: readonly string[];
  /** The path resolveModel returns, relative to the snapshot ('' = the snapshot folder). */
  readonly main: string;
}

const SHARD = /-(\d{5})-of-(\d{5})\.gguf$/i;
/** Files a model folder needs besides its weights (loader, tokenizer, chat template). */
const FOLDER_FILES = new Set([
  'config.json',
  'generation_config.json',
  'tokenizer.json',
  'tokenizer_config.json',
  'tokenizer.model',
  'special_tokens_map.json',
  'chat_template.json',
  'chat_template.jinja',
  'model.safetensors.index.json',
]);

const base = (p: string): string => p.slice(p.lastIndexOf('/') + 1);
const isGGUF = (p: string): boolean => p.toLowerCase().endsWith('.gguf');

/** Every shard of the split GGUF `path` belongs to (named -0000i-of-0000n), or just `path`. */
export function shardSet(path: string): string[] {
  const m = SHARD.exec(path);
  if (!m) return [path];
  const n = Number(m[2]);
  const stem = path.slice(0, m.index);
  return Array.from({ length: n }, (_, i) => `${stem}-${String(i + 1).padStart(5, '0')}-of-${m[2]}.gguf`);
}

/** The quant tag a GGUF file name carries (text after the last '-' or '.', shard suffix removed). */
export function quantTagOf(path: string): string {
  const stem = base(path).replace(SHARD, '.gguf').replace(/\.gguf$/i, '');
  const parts = stem.split(/[-.]/);
  return parts[parts.length - 1] ?? stem;
}

/** Does the file name carry this quant tag (case-insensitive, bounded by '-', '.' or the name's ends)? */
export function matchesQuant(path: string, tag: string): boolean {
  const stem = base(path).replace(SHARD, '.gguf');
  const esc = tag.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  return new RegExp(`(^|[-.])${esc}([-.]|$)`, 'i').test(stem);
}

/** GGUF files grouped into models (a shard set is one model), keyed by first file. */
function ggufModels(paths: readonly string[]): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const p of paths.filter(isGGUF).sort()) {
    const set = shardSet(p);
    if (!out.has(set[0]!)) out.set(set[0]!, set);
  }
  return out;
}

function folderSelection(paths: readonly string[], dir: string): Selection {
  const inDir = (p: string): boolean => (dir === '' ? !p.includes('/') : p.startsWith(`${dir}/`) && !p.slice(dir.length + 1).includes('/'));
  const files = paths.filter((p) => inDir(p) && (FOLDER_FILES.has(base(p)) || p.endsWith('.safetensors')));
  return { files, main: dir };
}

function availableTags(paths: readonly string[]): string {
  const tags = [...new Set([...ggufModels(paths).keys()].map(quantTagOf))];
  return tags.length ? tags.join(', ') : 'none (no .gguf files)';
}

export function selectFiles(repo: string, paths: readonly string[], selector: string | undefined): Selection {
  if (selector === undefined) {
    if (paths.includes('config.json')) {
      const sel = folderSelection(paths, '');
      if (!sel.files.some((p) => p.endsWith('.safetensors'))) throw new HubNotFoundError(`${repo} has a config.json but no .safetensors weights at its top level`);
      return sel;
    }
    const models = [...ggufModels(paths).values()];
    if (models.length === 1) return { files: models[0]!, main: models[0]![0]! };
    if (models.length === 0) throw new HubNotFoundError(`${repo} has neither config.json with safetensors nor .gguf files`);
    throw new BadArgumentError(`${repo} holds several GGUF models: name one as hf:${repo}:<quant> (available: ${availableTags(paths)})`);
  }
  if (paths.includes(selector)) {
    if (isGGUF(selector)) {
      const set = shardSet(selector);
      const missing = set.filter((p) => !paths.includes(p));
      if (missing.length) throw new HubNotFoundError(`${repo}: ${selector} is one shard of ${set.length} but ${missing.join(', ')} is missing`);
      return { files: set, main: set[0]! };
    }
    if (selector.endsWith('.safetensors')) {
      const dir = selector.includes('/') ? selector.slice(0, selector.lastIndexOf('/')) : '';
      const sel = folderSelection(paths, dir);
      const files = sel.files.filter((p) => !p.endsWith('.safetensors') || p === selector);
      return { files, main: selector };
    }
    return { files: [selector], main: selector };
  }
  const hits = [...ggufModels(paths).values()].filter((set) => matchesQuant(set[0]!, selector));
  if (hits.length === 1) return { files: hits[0]!, main: hits[0]![0]! };
  if (hits.length === 0) throw new HubNotFoundError(`${repo} has no file ${selector} and no .gguf file with quant tag ${selector} (available: ${availableTags(paths)})`);
  throw new BadArgumentError(`quant tag ${selector} matches several models in ${repo}: ${hits.map((h) => h[0]).join(', ')}; name the file instead`);
}

/**
 * With a safetensors index in the selection, only the shards its weight_map names are needed
 * (a repo may also hold consolidated or alternative-precision copies of the same weights).
 */
export function refineWithIndex(sel: Selection, indexPath: string, indexJson: string): Selection {
  let names: Set<string>;
  try {
    const map = (JSON.parse(indexJson) as { weight_map?: Record<string, string> }).weight_map ?? {};
    names = new Set(Object.values(map));
  } catch {
    return sel;
  }
  if (names.size === 0) return sel;
  const dir = indexPath.includes('/') ? indexPath.slice(0, indexPath.lastIndexOf('/') + 1) : '';
  return { files: sel.files.filter((p) => !p.endsWith('.safetensors') || names.has(p.slice(dir.length))), main: sel.main };
}
