// Two API nodes on one database (PostgreSQL and MariaDB when configured, SQLite always) and one
// shared file store, each with its own image_cache_dir and worker_self_reference_url: each keeps,
// lists and manages only its own cache; deleting the image on one node drops every node's entry.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startTestApp, type TestApp } from '../helpers/app.ts';
import { forEachDatabase } from '../helpers/databases.ts';
import { admin, createImage, octet, ownerMember } from '../helpers/v2.ts';

async function cacheOf(t: TestApp) {
  const res = await t.app.inject({ url: '/v2/cache', headers: admin });
  assert.equal(res.statusCode, 200, res.body);
  return res.json() as { cached_images: { image_id: string; hits: number }[]; queued_images: string[] };
}

forEachDatabase('image cache on two nodes', (_getDb, target) => {
  test('each node keeps and lists only its own cache; an image delete reaches both', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'glimpse-cache-nodes-'));
    const node = (name: string) => startTestApp({
      GLIMPSE_DATABASE__CONNECTION: target.url(), GLIMPSE_DEFAULT__ENABLE_V1_API: 'false',
      GLIMPSE_GLANCE_STORE__FILESYSTEM_STORE_DATADIR: join(dir, 'images'),
      GLIMPSE_DEFAULT__IMAGE_CACHE_DIR: join(dir, `cache-${name}`),
      GLIMPSE_DEFAULT__WORKER_SELF_REFERENCE_URL: `http://${name}.example.com:9292`,
    });
    const a = await node('a');
    const b = await node('b');
    try {
      const image = await createImage(a, { disk_format: 'raw', container_format: 'bare' });
      const data = randomBytes(50_000);
      assert.equal((await a.app.inject({ method: 'PUT', url: `/v2/images/${image.id}/file`, headers: { ...ownerMember, ...octet },
        payload: data })).statusCode, 204);
      assert.ok((await a.app.inject({ url: `/v2/images/${image.id}/file`, headers: ownerMember })).rawPayload.equals(data));
      assert.deepEqual((await cacheOf(a)).cached_images.map((e) => e.image_id), [image.id]);
      assert.deepEqual((await cacheOf(b)).cached_images, [], 'node b has not cached it');
      assert.equal(existsSync(join(dir, 'cache-b', image.id)), false);

      // b serves from the store and fills its own cache; a's hit count is its own. The fill is
      // recorded when the tee ends, which may be just after the answer: wait for it (at most 10 s).
      assert.ok((await b.app.inject({ url: `/v2/images/${image.id}/file`, headers: ownerMember })).rawPayload.equals(data));
      for (const until = Date.now() + 10_000; (await cacheOf(b)).cached_images.length === 0 && Date.now() < until;) {
        await new Promise((r) => setTimeout(r, 20));
      }
      assert.ok((await b.app.inject({ url: `/v2/images/${image.id}/file`, headers: ownerMember })).rawPayload.equals(data));
      // The hit is counted as the cached read ends, which may also be just after the answer.
      for (const until = Date.now() + 10_000; (await cacheOf(b)).cached_images[0]?.hits !== 1 && Date.now() < until;) {
        await new Promise((r) => setTimeout(r, 20));
      }
      assert.deepEqual((await cacheOf(b)).cached_images.map((e) => [e.image_id, e.hits]), [[image.id, 1]]);
      assert.deepEqual((await cacheOf(a)).cached_images.map((e) => [e.image_id, e.hits]), [[image.id, 0]]);
      assert.deepEqual(await a.cache!.local.nodesCaching(image.id), ['http://a.example.com:9292', 'http://b.example.com:9292']);

      // Managing one node's cache leaves the other's alone.
      assert.equal((await b.app.inject({ method: 'DELETE', url: `/v2/cache/${image.id}`, headers: admin })).statusCode, 204);
      assert.deepEqual((await cacheOf(b)).cached_images, []);
      assert.equal((await cacheOf(a)).cached_images.length, 1);
      await b.cache!.prefetcher.stop();
      assert.equal((await b.app.inject({ method: 'PUT', url: `/v2/cache/${image.id}`, headers: admin })).statusCode, 202);
      await b.cache!.prefetcher.runOnce();
      assert.equal((await cacheOf(b)).cached_images.length, 1, 'b prefetched it');
      assert.deepEqual((await cacheOf(a)).queued_images, []);

      assert.equal((await a.app.inject({ method: 'DELETE', url: `/v2/images/${image.id}`, headers: ownerMember })).statusCode, 204);
      assert.deepEqual((await cacheOf(a)).cached_images, []);
      assert.deepEqual((await cacheOf(b)).cached_images, [], 'the delete on a dropped b\'s entry too');
    } finally {
      await a.close();
      await b.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
}, { migrate: true });
