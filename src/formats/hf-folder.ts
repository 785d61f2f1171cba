/**
 * A Hugging Face model folder: config.json, weights in model.safetensors or shards listed by
 * model.safetensors.index.json, optional generation_config.json (EOS ids) and
 * tokenizer_config.json (chat template). A single .safetensors file inside such a folder also works.
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { configFromHF } from '../config/from-hf.js';
import { checkConfigAgainstTensors } from '../config/tensor-check.js';
import type { LlamaConfig } from '../config/config.js';
import { BadConfigError, FileNotFoundError, MissingTensorError, NotAModelError } from '../errors/errors.js';
import type { FileTensorRecord } from './file-reader.js';
import { readSafetensors, type SafetensorsFile } from './safetensors.js';

export interface HFModel {
  /** The folder the model came from. */
  readonly path: string;
  /** The safetensors files opened, in load order. */
  readonly files: readonly string[];
  readonly config: LlamaConfig;
  /** HF tensor names (`model.layers.0.self_attn.q_proj.weight`, …); q/k rows in HF rotate-half order. */
  readonly tensors: Map<string, FileTensorRecord>;
  readonly chatTemplate?: string;
  close(): void;
}

function readJson(path: string, what: string): unknown {
  try {
    return JSON.parse(readFileSync(path, 'utf8'));
  } catch (e) {
    throw new BadConfigError(`${what} (${path}) is not valid JSON: ${(e as Error).message}`);
  }
}

function readJsonIfPresent(path: string, what: string): unknown {
  return existsSync(path) ? readJson(path, what) : undefined;
}

/** tokenizer_config.json's chat_template: a string, or a list of named templates (take "default"). */
function chatTemplateFrom(tokConfig: unknown): string | undefined {
  if (typeof tokConfig !== 'object' || tokConfig === null) return undefined;
  const t = (tokConfig as Record<string, unknown>)['chat_template'];
  if (typeof t === 'string') return t;
  if (Array.isArray(t)) {
    const named = t.filter((x): x is { name: string; template: string } =>
      typeof x === 'object' && x !== null && typeof (x as Record<string, unknown>)['template'] === 'string');
    return (named.find((x) => x.name === 'default') ?? named[0])?.template;
  }
  return undefined;
}

export function readHFModel(path: string): HFModel {
  if (!existsSync(path)) throw new FileNotFoundError(path);
  const isDir = statSync(path).isDirectory();
  const folder = isDir ? path : dirname(path);
  const configPath = join(folder, 'config.json');
  if (!existsSync(configPath)) throw new NotAModelError(path, `no config.json in ${folder}`);
  const config = configFromHF(
    readJson(configPath, 'config.json'),
    readJsonIfPresent(join(folder, 'generation_config.json'), 'generation_config.json'),
  );
  const chatTemplate = chatTemplateFrom(readJsonIfPresent(join(folder, 'tokenizer_config.json'), 'tokenizer_config.json'));

  // Which file holds each tensor.
  let plan: Map<string, string> | undefined;
  let files: string[];
  const indexPath = join(folder, 'model.safetensors.index.json');
  if (!isDir) {
    if (!path.endsWith('.safetensors')) throw new NotAModelError(path, 'expected a folder or a .safetensors file');
    files = [path];
  } else if (existsSync(indexPath)) {
    const index = readJson(indexPath, 'model.safetensors.index.json');
    if (typeof index !== 'object' || index === null || Array.isArray(index)) throw new NotAModelError(indexPath, 'the index is not a JSON object');
    const wm = (index as Record<string, unknown>)['weight_map'];
    if (typeof wm !== 'object' || wm === null || Array.isArray(wm)) throw new NotAModelError(indexPath, 'no weight_map object');
    plan = new Map();
    for (const [name, file] of Object.entries(wm as Record<string, unknown>)) {
      if (typeof file !== 'string' || basename(file) !== file) throw new NotAModelError(indexPath, `bad shard name for ${name}`);
      plan.set(name, join(folder, file));
    }
    files = [...new Set(plan.values())];
  } else if (existsSync(join(folder, 'model.safetensors'))) {
    files = [join(folder, 'model.safetensors')];
  } else {
    throw new NotAModelError(folder, 'no model.safetensors or model.safetensors.index.json');
  }

  const opened: SafetensorsFile[] = [];
  const closeAll = (): void => opened.forEach((f) => f.close());
  try {
    const tensors = new Map<string, FileTensorRecord>();
    const byFile = new Map<string, Map<string, FileTensorRecord>>();
    for (const f of files) {
      if (!existsSync(f)) throw new FileNotFoundError(f);
      const st = readSafetensors(f);
      opened.push(st);
      byFile.set(f, new Map(st.tensors.map((t) => [t.name, t])));
    }
    if (plan) {
      for (const [name, file] of plan) {
        const t = byFile.get(file)!.get(name);
        if (!t) throw new MissingTensorError(name, file);
        tensors.set(name, t);
      }
    } else {
      for (const t of byFile.get(files[0]!)!.values()) tensors.set(t.name, t);
    }
    checkConfigAgainstTensors(config, tensors, 'hf', 'config.json');
    return {
      path: folder,
      files,
      config,
      tensors,
      ...(chatTemplate === undefined ? {} : { chatTemplate }),
      close: closeAll,
    };
  } catch (e) {
    closeAll();
    throw e;
  }
}
