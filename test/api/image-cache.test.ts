// The image cache through the API: miss → fill, hit without the store, ranges, policy on hits,
// no entry after a disconnect / store error / corrupted fill, invalidation, pruning, cleaning,
// prefetching, and the cache API's status codes.
import { after, afterEach, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { request } from 'node:http';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { FileStoreDriver } from '../../src/stores/file/file-driver.ts';
import { startTestApp, type TestApp } from '../helpers/app.ts';
import { admin, createImage, octet, otherMember, ownerMember } from '../helpers/v2.ts';

type Get = FileStoreDriver['get'];
const originalGet: Get = FileStoreDriver.prototype.get;
/** Counts store reads (every driver read of image data goes through get). */
let storeReads = 0;
let replaceGet: ((...args: Parameters<Get>) => ReturnType<Get>) | undefined;
FileStoreDriver.prototype.get = function countingGet(this: FileStoreDriver, ...args: Parameters<Get>) {
  storeReads++;
  return replaceGet ? replaceGet.apply(this, args) : originalGet.apply(this, args);
};

async function upload(t: TestApp, data: Buffer, headers = ownerMember, body: Record<string, unknown> = {}) {
  const image = await createImage(t, { disk_format: 'raw', container_format: 'bare', ...body }, headers);
  const res = await t.app.inject({ method: 'PUT', url: `/v2/images/${image.id}/file`, headers: { ...headers, ...octet }, payload: data });
  assert.equal(res.statusCode, 204, res.body);
  return image.id;
}

const download = (t: TestApp, id: string, headers: Record<string, string> = ownerMember) =>
  t.app.inject({ url: `/v2/images/${id}/file`, headers });

async function cacheState(t: TestApp) {
  await t.cache!.local.idle();
  const res = await t.app.inject({ url: '/v2/cache', headers: admin });
  assert.equal(res.statusCode, 200, res.body);
  return res.json() as { cached_images: { image_id: string; hits: number; size: number; last_accessed: number }[]; queued_images: string[] };
}

const incompleteFiles = (dir: string) => readdirSync(join(dir, 'incomplete'));

/** Nothing of a failed fill is left, and it does not block the next download from filling the cache. */
async function assertNoEntryThenRefill(t: TestApp, cacheDir: string, id: string): Promise<void> {
  assert.deepEqual((await cacheState(t)).cached_images, []);
  assert.deepEqual(incompleteFiles(cacheDir), []);
  assert.equal(existsSync(join(cacheDir, id)), false);
  replaceGet = undefined;
  await download(t, id);
  assert.equal((await cacheState(t)).cached_images.length, 1, 'the abandoned fill did not block a later one');
}

let apps: { app: TestApp; cacheDir: string }[] = [];
/** An app with its own cache directory (and database, file store). */
async function cachedApp(env: Record<string, string> = {}): Promise<{ t: TestApp; cacheDir: string }> {
  const cacheDir = mkdtempSync(join(tmpdir(), 'glimpse-cache-'));
  const t = await startTestApp({ GLIMPSE_DEFAULT__IMAGE_CACHE_DIR: cacheDir, GLIMPSE_DEFAULT__ENABLE_V1_API: 'false', ...env });
  apps.push({ app: t, cacheDir });
  return { t, cacheDir };
}

afterEach(async () => {
  replaceGet = undefined;
  for (const { app, cacheDir } of apps) {
    await app.close();
    rmSync(cacheDir, { recursive: true, force: true });
  }
  apps = [];
});
after(() => { FileStoreDriver.prototype.get = originalGet; });

describe('image cache: downloads', () => {
  test('a full download fills the cache; the next one is a hit with identical bytes and no store read', async () => {
    const { t, cacheDir } = await cachedApp();
    const data = randomBytes(300_000);
    const id = await upload(t, data);
    const readsBefore = storeReads;
    const miss = await download(t, id);
    assert.equal(miss.statusCode, 200);
    assert.ok(miss.rawPayload.equals(data));
    assert.equal(storeReads, readsBefore + 1);
    const state = await cacheState(t);
    assert.deepEqual(state.cached_images.map((e) => [e.image_id, e.size, e.hits]), [[id, data.length, 0]]);
    assert.ok(existsSync(join(cacheDir, id)));

    const hit = await download(t, id);
    assert.equal(hit.statusCode, 200);
    assert.equal(hit.headers['content-length'], String(data.length));
    assert.ok(hit.rawPayload.equals(data));
    const ranged = await t.app.inject({ url: `/v2/images/${id}/file`, headers: { ...ownerMember, range: 'bytes=1000-1999' } });
    assert.equal(ranged.statusCode, 206);
    assert.equal(ranged.headers['content-range'], `bytes 1000-1999/${data.length}`);
    assert.ok(ranged.rawPayload.equals(data.subarray(1000, 2000)));
    assert.equal(storeReads, readsBefore + 1, 'hits never read the store');
    const after = await cacheState(t);
    assert.equal(after.cached_images[0]!.hits, 2);
    assert.ok(after.cached_images[0]!.last_accessed >= state.cached_images[0]!.last_accessed);
  });

  test('a ranged download of an uncached image does not fill the cache', async () => {
    const { t } = await cachedApp();
    const id = await upload(t, randomBytes(5000));
    const res = await t.app.inject({ url: `/v2/images/${id}/file`, headers: { ...ownerMember, range: 'bytes=0-99' } });
    assert.equal(res.statusCode, 206);
    assert.deepEqual((await cacheState(t)).cached_images, []);
  });

  test('hits pass the same checks as any download: visibility (404) and deactivation (403)', async () => {
    const { t } = await cachedApp();
    const id = await upload(t, randomBytes(10_000));
    assert.equal((await download(t, id)).statusCode, 200);
    assert.equal((await cacheState(t)).cached_images.length, 1);
    assert.equal((await download(t, id, otherMember)).statusCode, 404);
    const deactivated = await t.app.inject({ method: 'POST', url: `/v2/images/${id}/actions/deactivate`, headers: admin });
    assert.equal(deactivated.statusCode, 204);
    assert.equal((await download(t, id)).statusCode, 403);
    assert.deepEqual((await cacheState(t)).cached_images, [], 'deactivating invalidates the entry');
  });

  test('deleting an image removes its entry and its file', async () => {
    const { t, cacheDir } = await cachedApp();
    const id = await upload(t, randomBytes(10_000));
    await download(t, id);
    assert.equal((await cacheState(t)).cached_images.length, 1);
    assert.equal((await t.app.inject({ method: 'DELETE', url: `/v2/images/${id}`, headers: ownerMember })).statusCode, 204);
    assert.deepEqual((await cacheState(t)).cached_images, []);
    assert.equal(existsSync(join(cacheDir, id)), false);
  });

  test('a store read failure mid-stream leaves no entry and no partial file', async () => {
    const { t, cacheDir } = await cachedApp();
    const id = await upload(t, randomBytes(200_000));
    replaceGet = async () => ({
      size: 200_000,
      stream: new Readable({
        read() {
          this.push(Buffer.alloc(50_000, 1));
          this.destroy(new Error('store connection reset'));
        },
      }),
    });
    await download(t, id).catch(() => undefined);
    await assertNoEntryThenRefill(t, cacheDir, id);
  });

  test('data that does not match the checksum (a corrupted read) is served but not cached', async () => {
    const { t, cacheDir } = await cachedApp();
    const data = randomBytes(100_000);
    const id = await upload(t, data);
    const corrupted = Buffer.from(data);
    corrupted[500] = corrupted[500]! ^ 0xff;
    replaceGet = async () => ({ size: data.length, stream: Readable.from([corrupted]) });
    const res = await download(t, id);
    assert.equal(res.statusCode, 200);
    assert.deepEqual((await cacheState(t)).cached_images, []);
    assert.deepEqual(incompleteFiles(cacheDir), []);
    replaceGet = undefined;
    await download(t, id);
    assert.equal((await cacheState(t)).cached_images.length, 1, 'a later good read fills it');
  });

  test('a client that disconnects mid-download leaves no entry and no partial file', async () => {
    const { t, cacheDir } = await cachedApp();
    const id = await upload(t, randomBytes(8 * 1024 * 1024));
    const url = await t.app.listen({ host: '127.0.0.1', port: 0 });
    await new Promise<void>((resolve, reject) => {
      const req = request(`${url}/v2/images/${id}/file`, { headers: ownerMember }, (res) => {
        res.once('data', () => { req.destroy(); resolve(); });
      });
      req.on('error', (error) => { if (!req.destroyed) reject(error); });
      req.end();
    });
    // The server notices the closed socket and destroys the response stream.
    for (let i = 0; i < 100 && incompleteFiles(cacheDir).length > 0; i++) await new Promise((r) => setTimeout(r, 20));
    await assertNoEntryThenRefill(t, cacheDir, id);
  });

  test('pruning keeps the cache under image_cache_max_size, least recently used first', async () => {
    const { t } = await cachedApp({ GLIMPSE_DEFAULT__IMAGE_CACHE_MAX_SIZE: '25000' });
    const ids = [];
    for (let i = 0; i < 4; i++) ids.push(await upload(t, randomBytes(10_000)));
    await download(t, ids[0]!);
    await download(t, ids[1]!);
    await cacheState(t);
    await download(t, ids[0]!); // ids[0] is now more recently used than ids[1]
    await download(t, ids[2]!);
    const state = await cacheState(t);
    assert.ok(state.cached_images.reduce((s, e) => s + e.size, 0) <= 25_000);
    assert.deepEqual(state.cached_images.map((e) => e.image_id).sort(), [ids[0], ids[2]].sort());
    // An image larger than the whole cache is never cached.
    const big = await upload(t, randomBytes(30_000));
    await download(t, big);
    assert.ok(!(await cacheState(t)).cached_images.some((e) => e.image_id === big));
  });

  test('cleaning removes stalled incomplete files, files without entry and entries without file', async () => {
    const { t, cacheDir } = await cachedApp({ GLIMPSE_DEFAULT__IMAGE_CACHE_STALL_TIME: '60' });
    const id = await upload(t, randomBytes(1000));
    await download(t, id);
    await cacheState(t);
    const old = new Date(Date.now() - 3600_000);
    writeFileSync(join(cacheDir, 'incomplete', 'stalled-fill'), 'x');
    utimesSync(join(cacheDir, 'incomplete', 'stalled-fill'), old, old);
    writeFileSync(join(cacheDir, 'incomplete', 'live-fill'), 'x');
    writeFileSync(join(cacheDir, 'orphan'), 'x');
    utimesSync(join(cacheDir, 'orphan'), old, old);
    rmSync(join(cacheDir, id));
    const result = await t.cache!.local.clean();
    assert.deepEqual(result, { stalled: 1, invalid: 2 });
    assert.deepEqual(incompleteFiles(cacheDir), ['live-fill']);
    assert.equal(existsSync(join(cacheDir, 'orphan')), false);
    assert.deepEqual((await cacheState(t)).cached_images, []);
  });
});

describe('image cache API', () => {
  test('PUT /v2/cache/{id} queues (202) and the prefetcher caches the image, verified', async () => {
    const { t } = await cachedApp();
    const data = randomBytes(20_000);
    const id = await upload(t, data);
    const res = await t.app.inject({ method: 'PUT', url: `/v2/cache/${id}`, headers: admin });
    assert.equal(res.statusCode, 202, res.body);
    await t.cache!.prefetcher.runOnce();
    const state = await cacheState(t);
    assert.deepEqual(state.cached_images.map((e) => e.image_id), [id]);
    assert.deepEqual(state.queued_images, []);
    const readsBefore = storeReads;
    assert.ok((await download(t, id)).rawPayload.equals(data));
    assert.equal(storeReads, readsBefore);
  });

  test('status codes: 400 not active, 404 unknown, 204 deletes, 400 bad clear target, 403 non-admin', async () => {
    const { t } = await cachedApp();
    const queued = await createImage(t, { disk_format: 'raw', container_format: 'bare' });
    const put = (id: string, headers = admin) => t.app.inject({ method: 'PUT', url: `/v2/cache/${id}`, headers });
    assert.equal((await put(queued.id)).statusCode, 400);
    assert.equal((await put('7b2d0b0e-0000-4000-8000-000000000000')).statusCode, 404);
    assert.equal((await put(queued.id, ownerMember)).statusCode, 403);
    assert.equal((await t.app.inject({ url: '/v2/cache', headers: ownerMember })).statusCode, 403);
    const id = await upload(t, randomBytes(1000));
    assert.equal((await put(id)).statusCode, 202);
    await t.cache!.prefetcher.stop();
    const del = (url: string, headers: Record<string, string> = admin) => t.app.inject({ method: 'DELETE', url, headers });
    assert.equal((await del('/v2/cache/7b2d0b0e-0000-4000-8000-000000000000')).statusCode, 404);
    assert.equal((await del(`/v2/cache/${id}`)).statusCode, 204);
    assert.deepEqual((await cacheState(t)).queued_images, []);
    assert.equal((await del('/v2/cache', { ...admin, 'x-image-cache-clear-target': 'bogus' })).statusCode, 400);
    await download(t, id);
    await t.app.inject({ method: 'PUT', url: `/v2/cache/${id}`, headers: admin });
    await t.cache!.prefetcher.stop();
    assert.equal((await del('/v2/cache', { ...admin, 'x-image-cache-clear-target': 'queue' })).statusCode, 204);
    let state = await cacheState(t);
    assert.equal(state.cached_images.length, 1);
    assert.deepEqual(state.queued_images, []);
    assert.equal((await del('/v2/cache', admin)).statusCode, 204);
    state = await cacheState(t);
    assert.deepEqual(state.cached_images, []);
  });

  test('2.18 POST /v2/cache/prune: 200 with the files and bytes it removed, least recently used first', async () => {
    const { t } = await cachedApp({ GLIMPSE_DEFAULT__IMAGE_CACHE_MAX_SIZE: '25000' });
    const prune = (headers: Record<string, string> = admin) => t.app.inject({ method: 'POST', url: '/v2/cache/prune', headers });
    const empty = await prune();
    assert.equal(empty.statusCode, 200, empty.body);
    assert.equal(empty.headers['content-type'], 'application/json');
    assert.deepEqual(empty.json(), { total_files_pruned: 0, total_bytes_pruned: 0 });
    const ids = [];
    for (let i = 0; i < 2; i++) ids.push(await upload(t, randomBytes(10_000)));
    for (const id of ids) await download(t, id);
    await cacheState(t);
    // Over the limit without a fill to trigger pruning: a smaller limit on the same cache directory.
    const [newer] = ids.slice(-1);
    await download(t, newer!);
    await cacheState(t);
    const shrunk = await startTestApp({ GLIMPSE_DEFAULT__IMAGE_CACHE_DIR: t.config.imageCache!.dir,
      GLIMPSE_DEFAULT__IMAGE_CACHE_MAX_SIZE: '15000', GLIMPSE_DEFAULT__WORKER_SELF_REFERENCE_URL: t.config.imageCache!.node,
      GLIMPSE_DATABASE__CONNECTION: `sqlite:///${join(t.dir, 'glimpse.db')}`,
      GLIMPSE_GLANCE_STORE__FILESYSTEM_STORE_DATADIR: join(t.dir, 'images'), GLIMPSE_DEFAULT__ENABLE_V1_API: 'false' });
    try {
      await shrunk.cache!.prefetcher.stop();
      assert.equal((await shrunk.app.inject({ method: 'POST', url: '/v2/cache/prune', headers: ownerMember })).statusCode, 403);
      const res = await shrunk.app.inject({ method: 'POST', url: '/v2/cache/prune', headers: admin });
      assert.equal(res.statusCode, 200, res.body);
      assert.deepEqual(res.json(), { total_files_pruned: 1, total_bytes_pruned: 10_000 });
      assert.deepEqual((await shrunk.cache!.local.cachedImages()).map((e) => e.imageId), [newer]);
    } finally { await shrunk.close(); }
  });

  test('2.18 POST /v2/cache/clean: 200, empty body; stalled fills go, live ones stay; 403 for non-admins', async () => {
    const { t, cacheDir } = await cachedApp({ GLIMPSE_DEFAULT__IMAGE_CACHE_STALL_TIME: '60' });
    const old = new Date(Date.now() - 3600_000);
    writeFileSync(join(cacheDir, 'incomplete', 'stalled-fill'), 'x');
    utimesSync(join(cacheDir, 'incomplete', 'stalled-fill'), old, old);
    writeFileSync(join(cacheDir, 'incomplete', 'live-fill'), 'x');
    const clean = (headers: Record<string, string>) => t.app.inject({ method: 'POST', url: '/v2/cache/clean', headers });
    assert.equal((await clean(ownerMember)).statusCode, 403);
    assert.deepEqual(incompleteFiles(cacheDir).sort(), ['live-fill', 'stalled-fill']);
    const res = await clean(admin);
    assert.equal(res.statusCode, 200, res.body);
    assert.equal(res.body, '');
    assert.deepEqual(incompleteFiles(cacheDir), ['live-fill']);
    assert.equal((await t.app.inject({ method: 'GET', url: '/v2/cache/clean', headers: admin })).headers.allow, 'POST');
  });

  test('2.18 GET /v2/cache/nodes/{id}: the nodes caching a visible image; 404 unknown; 403 non-admin', async () => {
    const { t } = await cachedApp({ GLIMPSE_DEFAULT__WORKER_SELF_REFERENCE_URL: 'http://node-a.example:9292' });
    const id = await upload(t, randomBytes(5000));
    const nodes = (image: string, headers: Record<string, string> = admin) =>
      t.app.inject({ url: `/v2/cache/nodes/${image}`, headers });
    const before = await nodes(id);
    assert.equal(before.statusCode, 200, before.body);
    assert.deepEqual(before.json(), []);
    await download(t, id);
    await cacheState(t);
    assert.deepEqual((await nodes(id)).json(), ['http://node-a.example:9292']);
    assert.equal((await nodes(id, ownerMember)).statusCode, 403);
    for (const unknown of ['7b2d0b0e-0000-4000-8000-000000000000', 'not-a-valid-uuid']) {
      const res = await nodes(unknown);
      assert.equal(res.statusCode, 404, unknown);
      assert.match(res.body, /Image .* not found/);
    }
  });

  test('without image_cache_dir: admins get 404 "not supported at this site", others 403', async () => {
    const t = await startTestApp({ GLIMPSE_DEFAULT__ENABLE_V1_API: 'false' });
    try {
      const res = await t.app.inject({ url: '/v2/cache', headers: admin });
      assert.equal(res.statusCode, 404);
      assert.match(res.body, /Caching via API is not supported at this site/);
      assert.equal((await t.app.inject({ url: '/v2/cache', headers: ownerMember })).statusCode, 403);
      for (const [method, url] of [['POST', '/v2/cache/clean'], ['POST', '/v2/cache/prune'],
        ['GET', '/v2/cache/nodes/7b2d0b0e-0000-4000-8000-000000000000']] as const) {
        const call = await t.app.inject({ method, url, headers: admin });
        assert.equal(call.statusCode, 404, url);
        assert.match(call.body, /Caching via API is not supported at this site/);
        assert.equal((await t.app.inject({ method, url, headers: ownerMember })).statusCode, 403, url);
      }
      const doc = (await t.app.inject({ url: '/versions' })).json() as { versions: { id: string }[] };
      assert.ok(!doc.versions.some((v) => ['v2.14', 'v2.16', 'v2.18'].includes(v.id)));
    } finally { await t.close(); }
  });

  test('legacy cachemanage routes only with +cachemanagement', async () => {
    const plain = await cachedApp();
    assert.equal((await plain.t.app.inject({ url: '/v2/cached_images', headers: admin })).statusCode, 404);
    const { t } = await cachedApp({ GLIMPSE_PASTE_DEPLOY__FLAVOR: 'trusted-auth+cachemanagement' });
    const id = await upload(t, randomBytes(1000));
    await t.cache!.prefetcher.stop();
    assert.equal((await t.app.inject({ method: 'PUT', url: `/v2/queued_images/${id}`, headers: admin })).statusCode, 200);
    const queued = await t.app.inject({ url: '/v2/queued_images', headers: admin });
    assert.deepEqual(queued.json(), { queued_images: [id] });
    assert.equal((await t.app.inject({ url: '/v2/queued_images', headers: ownerMember })).statusCode, 403);
    await download(t, id);
    await t.cache!.local.idle();
    const list = (await t.app.inject({ url: '/v2/cached_images', headers: admin })).json() as { cached_images: { image_id: string }[] };
    assert.deepEqual(list.cached_images.map((e) => e.image_id), [id]);
    assert.deepEqual((await t.app.inject({ method: 'DELETE', url: '/v2/cached_images', headers: admin })).json(), { num_deleted: 1 });
  });
});
