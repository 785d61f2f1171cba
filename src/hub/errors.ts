import { LlamaError } from '../errors/errors.js';

/** 401/403: the repo is gated or private and the token (if any) has no access. */
export class HubAccessError extends LlamaError {
  constructor(
    readonly repo: string,
    readonly status: number,
    readonly hadToken: boolean,
    endpoint: string,
  ) {
    const how = hadToken
      ? `the token in use has no access: request access at ${endpoint}/${repo} (and accept its license), then retry`
      : `no token was found: request access at ${endpoint}/${repo}, then set HF_TOKEN (or run \`huggingface-cli login\`)`;
    super('HUB_ACCESS_DENIED', `${repo} is gated or private (HTTP ${status}); ${how}`);
    this.name = 'HubAccessError';
  }
}

export class HubNotFoundError extends LlamaError {
  constructor(what: string) {
    super('HUB_NOT_FOUND', what);
    this.name = 'HubNotFoundError';
  }
}

/** The hub could not be reached (and what was asked for is not cached). */
export class HubUnreachableError extends LlamaError {
  constructor(endpoint: string, detail: string, options?: { cause?: unknown }) {
    super('HUB_UNREACHABLE', `cannot reach ${endpoint}: ${detail}`, options);
    this.name = 'HubUnreachableError';
  }
}

export class DownloadError extends LlamaError {
  constructor(detail: string, options?: { cause?: unknown }) {
    super('DOWNLOAD_FAILED', detail, options);
    this.name = 'DownloadError';
  }
}

export class ChecksumError extends LlamaError {
  constructor(
    readonly file: string,
    readonly expected: string,
    readonly actual: string,
  ) {
    super('CHECKSUM_MISMATCH', `${file}: downloaded bytes hash to ${actual}, the hub says ${expected}; the file was discarded (not cached). Retry; if it persists the mirror (HF_ENDPOINT) serves corrupt data`);
    this.name = 'ChecksumError';
  }
}

export class NotCachedError extends LlamaError {
  constructor(ref: string, why: string) {
    super('NOT_CACHED', `${ref} is not in the cache and ${why}`);
    this.name = 'NotCachedError';
  }
}
