/** Model references, downloads and the local cache. */
export { resolveModel, pullModel, type ResolveOptions, type PullResult } from './resolve.js';
export { parseModelRef, formatModelRef, isHubRef, type ModelRef } from './ref.js';
export { listCached, removeCached, type CachedModel, type RemoveResult } from './manage.js';
export { hubSettings, type HubOptions, type HubSettings } from './settings.js';
export { DEFAULT_MODEL, defaultModelRef } from './default-model.js';
export { DownloadProgress } from './progress.js';
