import { existsSync, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';

/** Where the hub is, who we are, where files go: from options, else the environment. */
export interface HubSettings {
  /** Hub base URL without a trailing slash (HF_ENDPOINT, default https://huggingface.co). */
  readonly endpoint: string;
  /** Access token (HF_TOKEN, else $HF_TOKEN_PATH or $HF_HOME/token). */
  readonly token: string | undefined;
  /** Cache root (LLAMA_TS_CACHE, default ~/.cache/llama-ts). */
  readonly cacheDir: string;
  /** Never touch the network (HF_HUB_OFFLINE=1). */
  readonly offline: boolean;
}

export interface HubOptions {
  readonly endpoint?: string;
  readonly token?: string;
  readonly cacheDir?: string;
  readonly offline?: boolean;
}

const truthy = (v: string | undefined): boolean => v !== undefined && /^(1|true|yes|on)$/i.test(v.trim());

/** The token file huggingface-cli writes: $HF_TOKEN_PATH, else $HF_HOME/token, else ~/.cache/huggingface/token. */
export function tokenFile(env: NodeJS.ProcessEnv = process.env): string {
  if (env['HF_TOKEN_PATH']) return env['HF_TOKEN_PATH'];
  const hfHome = env['HF_HOME'] ?? join(env['XDG_CACHE_HOME'] ?? join(homedir(), '.cache'), 'huggingface');
  return join(hfHome, 'token');
}

function readToken(env: NodeJS.ProcessEnv): string | undefined {
  const fromEnv = env['HF_TOKEN'] ?? env['HUGGING_FACE_HUB_TOKEN'];
  if (fromEnv && fromEnv.trim() !== '') return fromEnv.trim();
  const file = tokenFile(env);
  if (!existsSync(file)) return undefined;
  const t = readFileSync(file, 'utf8').trim();
  return t === '' ? undefined : t;
}

export function hubSettings(o: HubOptions = {}, env: NodeJS.ProcessEnv = process.env): HubSettings {
  const endpoint = (o.endpoint ?? env['HF_ENDPOINT'] ?? 'https://huggingface.co').replace(/\/+$/, '');
  return {
    endpoint,
    token: o.token ?? readToken(env),
    cacheDir: o.cacheDir ?? env['LLAMA_TS_CACHE'] ?? join(homedir(), '.cache', 'llama-ts'),
    offline: o.offline ?? truthy(env['HF_HUB_OFFLINE']),
  };
}
