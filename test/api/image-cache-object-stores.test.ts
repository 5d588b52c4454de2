// The image cache in front of the real Swift and S3 stores (shared/tools/objectstore.sh): a miss
// reads the store once and fills the cache; hits (full and ranged) serve identical bytes without a
// store read; a store read that fails mid-stream leaves no entry. Skips visibly without the stores.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { S3StoreDriver } from '../../src/stores/s3/s3-driver.ts';
import { SwiftStoreDriver } from '../../src/stores/swift/swift-driver.ts';
import { startTestApp, type TestApp } from '../helpers/app.ts';
import { SKIP_S3, SKIP_SWIFT, s3TestEnv, swiftTestEnv, uniqueBucket } from '../helpers/object-stores.ts';
import { admin, createImage, octet, ownerMember } from '../helpers/v2.ts';

type Driver = typeof SwiftStoreDriver | typeof S3StoreDriver;

function cacheSuite(name: string, driver: Driver, backend: () => string): void {
  describe(`image cache on ${name}`, () => {
    const originalGet = driver.prototype.get;
    let reads = 0;
    let failReads = false;
    let t: TestApp;
    const cacheDir = mkdtempSync(join(tmpdir(), `glimpse-cache-${name}-`));
    before(async () => {
      (driver.prototype as { get: unknown }).get = function countingGet(this: InstanceType<Driver>, ...args: Parameters<typeof originalGet>) {
        reads++;
        if (failReads) {
          return Promise.resolve({ size: 1, stream: new Readable({ read() { this.push(Buffer.alloc(1000)); this.destroy(new Error('reset')); } }) });
        }
        return originalGet.apply(this, args);
      };
      const conf = `[DEFAULT]\nimage_cache_dir = ${cacheDir}\nenabled_backends = obj:${backend()}`;
      t = await startTestApp({}, { 'glimpse-api.conf': conf });
    });
    after(async () => {
      (driver.prototype as { get: unknown }).get = originalGet;
      await t.close();
      rmSync(cacheDir, { recursive: true, force: true });
    });

    const upload = async (data: Buffer) => {
      const image = await createImage(t, { disk_format: 'raw', container_format: 'bare' });
      const res = await t.app.inject({ method: 'PUT', url: `/v2/images/${image.id}/file`, headers: { ...ownerMember, ...octet }, payload: data });
      assert.equal(res.statusCode, 204, res.body);
      return image.id;
    };
    const cachedIds = async () => ((await t.app.inject({ url: '/v2/cache', headers: admin })).json() as
      { cached_images: { image_id: string }[] }).cached_images.map((e) => e.image_id);

    test('miss fills from the store once; full and ranged hits never read it', async () => {
      const data = randomBytes(3 * 1024 * 1024 + 17);
      const id = await upload(data);
      const before = reads;
      const miss = await t.app.inject({ url: `/v2/images/${id}/file`, headers: ownerMember });
      assert.ok(miss.rawPayload.equals(data));
      assert.equal(reads, before + 1);
      assert.ok((await cachedIds()).includes(id));
      const hit = await t.app.inject({ url: `/v2/images/${id}/file`, headers: ownerMember });
      assert.ok(hit.rawPayload.equals(data));
      const ranged = await t.app.inject({ url: `/v2/images/${id}/file`, headers: { ...ownerMember, range: 'bytes=-100' } });
      assert.equal(ranged.statusCode, 206);
      assert.ok(ranged.rawPayload.equals(data.subarray(data.length - 100)));
      assert.equal(reads, before + 1, 'hits did not read the store');
    });

    test('a store read failing mid-stream leaves no entry and no partial file', async () => {
      const id = await upload(randomBytes(200_000));
      failReads = true;
      try {
        await t.app.inject({ url: `/v2/images/${id}/file`, headers: ownerMember }).catch(() => undefined);
      } finally { failReads = false; }
      await t.cache!.local.idle();
      assert.ok(!(await cachedIds()).includes(id));
      assert.deepEqual(readdirSync(join(cacheDir, 'incomplete')), []);
    });
  });
}

const swift = swiftTestEnv();
const s3 = s3TestEnv();
if (!swift) test('image cache on swift', { skip: SKIP_SWIFT }, () => {});
else {
  const container = uniqueBucket('glimpse-cache');
  cacheSuite('swift', SwiftStoreDriver, () => `swift\n[glance_store]\ndefault_backend = obj\n[obj]\nswift_store_auth_version = 1\n`
    + `swift_store_auth_address = ${swift.authUrl}\nswift_store_user = ${swift.user}\nswift_store_key = ${swift.key}\n`
    + `swift_store_container = ${container}\nswift_store_create_container_on_put = true\n`);
}
if (!s3) test('image cache on s3', { skip: SKIP_S3 }, () => {});
else {
  const bucket = uniqueBucket('glimpse-cache');
  cacheSuite('s3', S3StoreDriver, () => `s3\n[glance_store]\ndefault_backend = obj\n[obj]\ns3_store_host = ${s3.endpoint}\n`
    + `s3_store_access_key = ${s3.accessKey}\ns3_store_secret_key = ${s3.secretKey}\ns3_store_bucket = ${bucket}\n`
    + 's3_store_create_bucket_on_put = true\n');
}
