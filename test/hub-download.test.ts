/**
 * Downloads against a local stand-in of the hub (test/helpers/mock-hub.ts on 127.0.0.1): full,
 * resumed, corrupted, gated, 5xx-then-success, offline reuse, quant tags, sharded repos.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, lstatSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, readlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MockHub, repoFromFolder, fakeCommit, type MockRepo } from './helpers/mock-hub.js';
import { fixture, skipNoFixtures } from './fixtures.js';
import { resolveModel, pullModel, listCached, removeCached, type ResolveOptions } from '../src/hub/index.js';
import { LlamaError } from '../src/errors/errors.js';
import { partialDownloads } from '../src/hub/manage.js';
import { loadModel } from '../src/model/load.js';

const hub = new MockHub();
const tmp = mkdtempSync(join(tmpdir(), 'llama-ts-hub-'));
let n = 0;
/** A fresh cache per test, so tests do not see each other's files. */
const freshCache = (): string => join(tmp, `cache-${++n}`);
const opts = (cacheDir: string, extra: ResolveOptions = {}): ResolveOptions => ({ endpoint: hub.endpoint, cacheDir, token: undefined, retryDelayMs: 1, idleTimeoutMs: 5000, ...extra });
const sha256 = (b: Buffer): string => createHash('sha256').update(b).digest('hex');
const code = (c: string, re?: RegExp) => (e: unknown) => {
  assert.ok(e instanceof LlamaError, String(e));
  assert.equal(e.code, c, e.message);
  if (re) assert.match(e.message, re);
  return true;
};

// A GGUF repo with synthetic files: two single-file quants and one 3-shard quant.
const big = randomBytes(3 * 2 ** 20 + 12345);
const small = randomBytes(200_000);
const shards = [randomBytes(300_000), randomBytes(300_000), randomBytes(123_456)];
const ggufRepo: MockRepo = {
  commit: fakeCommit('gguf-repo'),
  files: new Map([
    ['README.md', { data: Buffer.from('# test repo\n'), lfs: false }],
    ['M-Q8_0.gguf', { data: big, lfs: true }],
    ['M-Q4_K_M.gguf', { data: small, lfs: true }],
    ['M-Q2_K/M-Q2_K-00001-of-00003.gguf', { data: shards[0]!, lfs: true }],
    ['M-Q2_K/M-Q2_K-00002-of-00003.gguf', { data: shards[1]!, lfs: true }],
    ['M-Q2_K/M-Q2_K-00003-of-00003.gguf', { data: shards[2]!, lfs: true }],
  ]),
};

before(async () => {
  hub.addRepo('test/gguf', ggufRepo);
  hub.addRepo('test/gated', { commit: fakeCommit('gated'), files: new Map([['G-Q4_0.gguf', { data: randomBytes(5000), lfs: true }]]), gatedToken: 'hf_good' });
  hub.addRepo('test/flaky', { commit: fakeCommit('flaky'), files: new Map([['F-Q4_0.gguf', { data: randomBytes(70_000), lfs: true }]]) });
  if (!skipNoFixtures) hub.addRepo('test/tiny-llama3.1', repoFromFolder(fixture('models', 'tiny-llama3.1')));
  await hub.start();
});
after(async () => {
  await hub.stop();
  rmSync(tmp, { recursive: true, force: true });
});

test('full download: verified blob, snapshot link, refs/main, path returned', async () => {
  const cache = freshCache();
  const r = await pullModel('hf:test/gguf:Q8_0', opts(cache));
  assert.equal(r.commit, ggufRepo.commit);
  assert.equal(r.downloaded, big.length);
  assert.ok(r.path.endsWith(join('snapshots', ggufRepo.commit, 'M-Q8_0.gguf')));
  assert.ok(readFileSync(r.path).equals(big));
  const dir = join(cache, 'models--test--gguf');
  assert.ok(lstatSync(r.path).isSymbolicLink());
  assert.equal(readlinkSync(r.path), `../../blobs/${sha256(big)}`);
  assert.equal(readFileSync(join(dir, 'refs', 'main'), 'utf8'), ggufRepo.commit);
  assert.deepEqual(readdirSync(join(dir, 'blobs')), [sha256(big)]);
  // The storage server never saw a token and the hub was asked with HEAD then redirected.
  assert.ok(hub.log.some((l) => l.method === 'HEAD' && l.url.includes('/test/gguf/resolve/') && l.status === 302));
  // A second resolve downloads nothing.
  const again = await pullModel('hf:test/gguf:q8_0', opts(cache));
  assert.equal(again.downloaded, 0);
  assert.equal(again.path, r.path);
});

test('resume: a connection cut mid-file is resumed with Range (in-call retry and across runs)', async () => {
  const cache = freshCache();
  const sum = sha256(big);
  hub.faults.cut.set(sum, { after: 1_000_000, times: 1 });
  const mark = hub.log.length;
  const r = await pullModel('hf:test/gguf:Q8_0', opts(cache));
  assert.ok(readFileSync(r.path).equals(big));
  const gets = hub.log.slice(mark).filter((l) => l.url.startsWith(`/blobs/${sum}`));
  assert.equal(gets.length, 2);
  assert.equal(gets[0]!.range, undefined);
  assert.match(gets[1]!.range ?? '', /^bytes=\d+-$/);
  assert.ok(Number(/=(\d+)-/.exec(gets[1]!.range!)![1]) >= 1_000_000 - 65536, gets[1]!.range);
  assert.equal(gets[1]!.status, 206);
  assert.equal(r.downloaded, big.length);

  // Across runs: no retries, so the first call fails and leaves the partial file; the next resumes.
  const cache2 = freshCache();
  hub.faults.cut.set(sum, { after: 1_500_000, times: 1 });
  await assert.rejects(pullModel('hf:test/gguf:Q8_0', opts(cache2, { retries: 0 })), code('DOWNLOAD_FAILED', /run again to resume/));
  const part = join(cache2, 'models--test--gguf', 'blobs', `${sum}.incomplete`);
  assert.ok(existsSync(part));
  const kept = statSync(part).size;
  assert.ok(kept > 0 && kept < big.length);
  assert.deepEqual(partialDownloads({ cacheDir: cache2 }), [{ repo: 'test/gguf', bytes: kept }]);
  const mark2 = hub.log.length;
  const r2 = await pullModel('hf:test/gguf:Q8_0', opts(cache2));
  assert.ok(readFileSync(r2.path).equals(big));
  assert.equal(r2.downloaded, big.length - kept);
  assert.ok(hub.log.slice(mark2).some((l) => l.range === `bytes=${kept}-` && l.status === 206));
  assert.ok(!existsSync(part));
});

test('a stalled transfer times out and resumes; a hub that never answers falls back to the cache', async () => {
  const cache = freshCache();
  const sum = sha256(small);
  hub.faults.cut.set(sum, { after: 50_000, times: 1, stall: true });
  const mark = hub.log.length;
  const r = await pullModel('hf:test/gguf:Q4_K_M', opts(cache, { idleTimeoutMs: 300 }));
  assert.ok(readFileSync(r.path).equals(small));
  assert.ok(hub.log.slice(mark).some((l) => l.url.startsWith(`/blobs/${sum}`) && /^bytes=\d+-$/.test(l.range ?? '')));
  hub.faults.hang = true;
  try {
    const notes: string[] = [];
    const t0 = Date.now();
    assert.equal(await resolveModel('hf:test/gguf:Q4_K_M', opts(cache, { responseTimeoutMs: 200, log: (s) => notes.push(s) })), r.path);
    assert.ok(Date.now() - t0 < 3000);
    assert.match(notes[0] ?? '', /no response in 200 ms.*cached copy/);
  } finally {
    hub.faults.hang = false;
  }
});

test('corrupted download: detected by sha256, nothing cached, clear error; a clean retry works', async () => {
  const cache = freshCache();
  const sum = sha256(small);
  hub.faults.corrupt.add(sum);
  try {
    await assert.rejects(pullModel('hf:test/gguf:Q4_K_M', opts(cache)), code('CHECKSUM_MISMATCH', new RegExp(`M-Q4_K_M.gguf.*sha256 ${sum}.*discarded`)));
  } finally {
    hub.faults.corrupt.delete(sum);
  }
  const dir = join(cache, 'models--test--gguf');
  assert.deepEqual(readdirSync(join(dir, 'blobs')), []);
  assert.ok(!existsSync(join(dir, 'snapshots', ggufRepo.commit, 'M-Q4_K_M.gguf')));
  assert.deepEqual(listCached({ cacheDir: cache }), []);
  const r = await pullModel('hf:test/gguf:Q4_K_M', opts(cache));
  assert.ok(readFileSync(r.path).equals(small));
});

test('an expired storage URL is refreshed from the hub; a corrupted plain git file fails its git blob id', async () => {
  const cache = freshCache();
  const sum = sha256(small);
  hub.faults.expired.set(sum, 1);
  const mark = hub.log.length;
  const r = await pullModel('hf:test/gguf:Q4_K_M', opts(cache));
  assert.ok(readFileSync(r.path).equals(small));
  const log = hub.log.slice(mark);
  assert.equal(log.filter((l) => l.method === 'HEAD' && l.url.endsWith('/M-Q4_K_M.gguf')).length, 2);
  assert.ok(log.some((l) => l.url.startsWith(`/blobs/${sum}`) && l.status === 403));
  const readme = ggufRepo.files.get('README.md')!.data;
  hub.faults.corrupt.add(sha256(readme));
  try {
    await assert.rejects(resolveModel('hf:test/gguf:README.md', opts(cache)), code('CHECKSUM_MISMATCH', /README\.md.*git-sha1 [0-9a-f]{40}/));
  } finally {
    hub.faults.corrupt.delete(sha256(readme));
  }
  assert.equal(readFileSync(await resolveModel('hf:test/gguf:README.md', opts(cache)), 'utf8'), '# test repo\n');
});

test('gated repo: 401 without a token, 403 with the wrong one (message names the repo), works with HF_TOKEN', async () => {
  const cache = freshCache();
  await assert.rejects(resolveModel('hf:test/gated', opts(cache)), code('HUB_ACCESS_DENIED', /test\/gated.*HTTP 401.*request access at http:\/\/127\.0\.0\.1:\d+\/test\/gated.*HF_TOKEN/));
  await assert.rejects(resolveModel('hf:test/gated', opts(cache, { token: 'hf_wrong' })), code('HUB_ACCESS_DENIED', /test\/gated.*HTTP 403.*has no access.*request access/));
  const saved = process.env['HF_TOKEN'];
  process.env['HF_TOKEN'] = 'hf_good';
  try {
    const { token: _, ...noToken } = opts(cache);
    const p = await resolveModel('hf:test/gated', noToken);
    assert.ok(p.endsWith('G-Q4_0.gguf'));
    // The token went to the hub, never to the storage origin.
    assert.ok(hub.log.some((l) => l.auth === 'Bearer hf_good'));
    assert.ok(!hub.log.some((l) => l.url.startsWith('/blobs/') && l.auth !== undefined));
  } finally {
    if (saved === undefined) delete process.env['HF_TOKEN'];
    else process.env['HF_TOKEN'] = saved;
  }
  await assert.rejects(resolveModel('hf:test/nope', opts(cache)), code('HUB_NOT_FOUND', /test\/nope not found/));
});

test('HTTP 500 then success: retried with backoff; endless 500s give up with HUB_UNREACHABLE', async () => {
  const cache = freshCache();
  hub.faults.fail500 = 3;
  const mark = hub.log.length;
  const p = await resolveModel('hf:test/flaky', opts(cache));
  assert.ok(existsSync(p));
  assert.equal(hub.log.slice(mark).filter((l) => l.status === 500).length, 3);
  hub.faults.fail500 = 1000;
  try {
    await assert.rejects(resolveModel('hf:test/gguf:Q4_K_M', opts(freshCache(), { retries: 2 })), code('HUB_UNREACHABLE', /HTTP 500/));
  } finally {
    hub.faults.fail500 = 0;
  }
});

test('offline: HF_HUB_OFFLINE uses the cache without a request; NOT_CACHED otherwise', async () => {
  const cache = freshCache();
  const online = await resolveModel('hf:test/gguf:Q4_K_M', opts(cache));
  const mark = hub.log.length;
  assert.equal(await resolveModel('hf:test/gguf:Q4_K_M', opts(cache, { offline: true })), online);
  // A name for the same file also resolves from the cache.
  assert.equal(await resolveModel('hf:test/gguf:M-Q4_K_M.gguf', opts(cache, { offline: true })), online);
  assert.equal(hub.log.length, mark);
  await assert.rejects(resolveModel('hf:test/gguf:Q8_0', opts(cache, { offline: true })), code('NOT_CACHED', /HF_HUB_OFFLINE/));
});

test('quant-tag selection and sharded GGUF: all shards fetched in parallel, first shard returned', async () => {
  const cache = freshCache();
  hub.faults.storageDelayMs = 150;
  hub.maxConcurrentGets = 0;
  let r;
  try {
    r = await pullModel('hf:test/gguf:q2_k', opts(cache));
  } finally {
    hub.faults.storageDelayMs = 0;
  }
  assert.equal(hub.maxConcurrentGets, 3);
  assert.deepEqual(r.files, ['M-Q2_K/M-Q2_K-00001-of-00003.gguf', 'M-Q2_K/M-Q2_K-00002-of-00003.gguf', 'M-Q2_K/M-Q2_K-00003-of-00003.gguf']);
  assert.ok(r.path.endsWith(join('M-Q2_K', 'M-Q2_K-00001-of-00003.gguf')));
  for (const [i, f] of r.files.entries()) assert.ok(readFileSync(join(cache, 'models--test--gguf', 'snapshots', r.commit, f)).equals(shards[i]!));
  assert.equal(r.downloaded, shards.reduce((a, b) => a + b.length, 0));
  await assert.rejects(resolveModel('hf:test/gguf:IQ1_S', opts(cache)), code('HUB_NOT_FOUND', /available: .*Q2_K.*Q4_K_M.*Q8_0/));
  await assert.rejects(resolveModel('hf:test/gguf', opts(cache)), code('BAD_ARGUMENT', /several GGUF models/));
  await assert.rejects(resolveModel('hf:test/gguf:Q8_0@v9', opts(cache)), code('HUB_NOT_FOUND', /revision v9/));
  // Pinned by commit: same files, and the commit resolves offline too.
  const pinned = await resolveModel(`hf:test/gguf:Q4_K_M@${ggufRepo.commit}`, opts(cache));
  assert.equal(await resolveModel(`hf:test/gguf:Q4_K_M@${ggufRepo.commit}`, opts(cache, { offline: true })), pinned);
});

test('list and rm: one entry per ref; rm of a quant keeps the others, rm of the repo removes all', async () => {
  const cache = freshCache();
  await resolveModel('hf:test/gguf:Q4_K_M', opts(cache));
  await resolveModel('hf:test/gguf:Q2_K', opts(cache));
  const l = listCached({ cacheDir: cache });
  assert.deepEqual(l.map((m) => m.ref).sort(), ['hf:test/gguf:Q2_K', 'hf:test/gguf:Q4_K_M']);
  const q2 = l.find((m) => m.ref.endsWith('Q2_K'))!;
  assert.equal(q2.files.length, 3);
  assert.equal(q2.bytes, shards.reduce((a, b) => a + b.length, 0));
  assert.ok(!Number.isNaN(Date.parse(q2.lastUsed)));
  const rm = removeCached('test/gguf:Q2_K', { cacheDir: cache });
  assert.equal(rm.freedBytes, q2.bytes);
  assert.deepEqual(listCached({ cacheDir: cache }).map((m) => m.ref), ['hf:test/gguf:Q4_K_M']);
  assert.deepEqual(readdirSync(join(cache, 'models--test--gguf', 'blobs')), [sha256(small)]);
  removeCached('hf:test/gguf', { cacheDir: cache });
  assert.ok(!existsSync(join(cache, 'models--test--gguf')));
  assert.throws(() => removeCached('hf:test/gguf', { cacheDir: cache }), code('HUB_NOT_FOUND'));
});

test('sharded HF repo (tiny-llama3.1 folder): index-listed shards only; loads; offline after the server stops', { skip: skipNoFixtures }, async () => {
  const cache = freshCache();
  hub.faults.pageSize = 5; // the tree listing comes in pages (Link: rel="next")
  let folder: string;
  try {
    folder = await resolveModel('hf:test/tiny-llama3.1', opts(cache));
  } finally {
    hub.faults.pageSize = 1000;
  }
  const files = readdirSync(folder).sort();
  assert.deepEqual(files, ['config.json', 'model-00001-of-00004.safetensors', 'model-00002-of-00004.safetensors', 'model-00003-of-00004.safetensors', 'model-00004-of-00004.safetensors', 'model.safetensors.index.json']);
  // Small files are plain git files: verified by git blob sha1 and stored under it.
  const cfg = readlinkSync(join(folder, 'config.json'));
  assert.match(cfg, /blobs\/[0-9a-f]{40}$/);
  const ids = [1, 300, 301, 17, 900];
  const a = await loadModel(folder, { backend: 'ref' });
  const b = await loadModel(fixture('models', 'tiny-llama3.1'), { backend: 'ref' });
  try {
    assert.deepEqual(await a.logits(ids), await b.logits(ids));
  } finally {
    await a.dispose();
    await b.dispose();
  }
  // A quant of the same repo by tag.
  const q8 = await resolveModel('hf:test/tiny-llama3.1:Q8_0', opts(cache));
  assert.ok(readFileSync(q8).equals(readFileSync(fixture('models', 'tiny-llama3.1', 'tiny-llama3.1.q8_0.gguf'))));

  // The hub goes away: the cached copy is used, with a note.
  await hub.stop();
  try {
    const notes: string[] = [];
    assert.equal(await resolveModel('hf:test/tiny-llama3.1', opts(cache, { log: (s) => notes.push(s) })), folder);
    assert.equal(await resolveModel('hf:test/tiny-llama3.1:q8_0', opts(cache, { log: (s) => notes.push(s) })), q8);
    assert.equal(notes.length, 2);
    assert.match(notes[0]!, /unreachable.*ECONNREFUSED.*cached copy of hf:test\/tiny-llama3.1/);
    await assert.rejects(resolveModel('hf:test/tiny-llama3.1:F16', opts(cache)), code('HUB_UNREACHABLE', /not cached/));
  } finally {
    await hub.start();
  }
});

test('two pulls of the same file at once: one download, the other waits for it', async () => {
  const cache = freshCache();
  const sum = sha256(big);
  hub.faults.storageDelayMs = 100;
  const mark = hub.log.length;
  const notes: string[] = [];
  try {
    const log = (s: string): number => notes.push(s);
    const [a, b] = await Promise.all([pullModel('hf:test/gguf:Q8_0', opts(cache, { log })), pullModel('hf:test/gguf:M-Q8_0.gguf', opts(cache, { log }))]);
    assert.equal(a.path, b.path);
    assert.equal(a.downloaded + b.downloaded, big.length);
  } finally {
    hub.faults.storageDelayMs = 0;
  }
  assert.equal(hub.log.slice(mark).filter((l) => l.url.startsWith(`/blobs/${sum}`)).length, 1);
  assert.ok(!existsSync(join(cache, 'models--test--gguf', 'blobs', `${sum}.lock`)));
  assert.equal(notes.length, 1);
  assert.match(notes[0]!, /waiting for another download of test\/gguf\/M-Q8_0\.gguf/);
});

test('a lock left by a dead process is taken over', async () => {
  const { withFileLock } = await import('../src/hub/lock.js');
  const { writeFileSync } = await import('node:fs');
  const lock = join(tmp, 'stale.lock');
  writeFileSync(lock, '2147483646'); // no such pid
  assert.equal(await withFileLock(lock, async () => 42), 42);
  assert.ok(!existsSync(lock));
});

test('plain paths are returned unchanged', async () => {
  assert.equal(await resolveModel('/no/such/model.gguf'), '/no/such/model.gguf');
  assert.equal(await resolveModel(tmp), tmp);
});
