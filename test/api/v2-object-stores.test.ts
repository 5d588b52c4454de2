// Image data through the API on the real object store (shared/tools/objectstore.sh): a swift and
// an s3 backend as the default store, and how their failures reach clients — store full (Swift
// container quota) → 413, store unreachable → 503, read-only http store → 410, data missing → 204 —
// always in Glance's error shape, never with a stack trace or a store credential.
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { request } from 'undici';

import { startTestApp, type TestApp } from '../helpers/app.ts';
import { createImage, octet, ownerMember, show } from '../helpers/v2.ts';
import {
  SKIP_S3, SKIP_SWIFT, dropSwiftContainer, s3TestDriver, s3TestEnv, swiftTestDriver, swiftTestEnv, uniqueBucket,
} from '../helpers/object-stores.ts';

const swiftEnv = swiftTestEnv();
const s3Env = s3TestEnv();
const md5 = (data: Buffer) => createHash('md5').update(data).digest('hex');

function conf(backend: string): string {
  return `[DEFAULT]\nenabled_backends = obj:${backend.split('\n')[0]}\n[glance_store]\ndefault_backend = obj\n[obj]\n`
    + backend.split('\n').slice(1).join('\n') + '\n';
}

async function upload(t: TestApp, id: string, payload: Buffer) {
  return t.app.inject({ method: 'PUT', url: `/v2/images/${id}/file`, headers: { ...ownerMember, ...octet }, payload });
}

/** Over a real socket: a store that fails before reading the body stops the request stream, which
 *  light-my-request's inject reports as "Premature close" instead of the response a client gets. */
async function uploadOverHttp(t: TestApp, id: string, payload: Buffer) {
  const base = t.app.server.listening ? `http://127.0.0.1:${(t.app.server.address() as { port: number }).port}`
    : await t.app.listen({ port: 0, host: '127.0.0.1' });
  const res = await request(`${base}/v2/images/${id}/file`, { method: 'PUT', headers: { ...ownerMember, ...octet }, body: payload });
  return { statusCode: res.statusCode, body: await res.body.text() };
}

async function download(t: TestApp, id: string) {
  return t.app.inject({ url: `/v2/images/${id}/file`, headers: ownerMember });
}

function assertCleanError(body: string, secrets: string[]): void {
  assert.doesNotMatch(body, /\bat [\w.<>]+ \(|node:internal|\.ts:\d+/, 'no stack trace');
  for (const secret of secrets) assert.ok(!body.includes(secret), 'no credential in the body');
}

if (!swiftEnv) {
  test('image data on a swift backend', { skip: SKIP_SWIFT }, () => {});
} else {
  const env = swiftEnv;
  describe('image data on a swift backend', () => {
    const container = uniqueBucket('glimpse-api');
    const swiftOptions = (extra = '') => conf(`swift\nswift_store_auth_version = 1\nswift_store_auth_address = ${env.authUrl}\n`
      + `swift_store_user = ${env.user}\nswift_store_key = ${env.key}\nswift_store_container = ${container}\n`
      + `swift_store_create_container_on_put = true\nswift_store_large_object_size = 1\nswift_store_large_object_chunk_size = 1\n${extra}`);
    const admin = swiftTestDriver(env, { container });
    let t: TestApp;
    before(async () => { t = await startTestApp({}, { 'glimpse-api.conf': swiftOptions() }); });
    after(async () => {
      await t.close();
      await dropSwiftContainer(admin, container);
    });

    test('upload (segmented) → active with the right checksum; download and ranges match; delete leaves no object', async () => {
      const data = randomBytes(3 * 1024 * 1024 + 7);
      const image = await createImage(t, { disk_format: 'raw', container_format: 'bare' });
      const res = await upload(t, image.id, data);
      assert.equal(res.statusCode, 204, res.body);
      const shown = (await show(t, image.id)).json() as { status: string; checksum: string; size: number; stores?: string };
      assert.deepEqual([shown.status, shown.checksum, shown.size], ['active', md5(data), data.length]);
      const names = await admin.list(container);
      assert.ok(names.includes(image.id), 'the image object');
      assert.equal(names.filter((n) => n.startsWith(`${image.id}/`)).length, 4, 'four 1 MiB segments');

      const got = await download(t, image.id);
      assert.equal(got.statusCode, 200);
      assert.equal(md5(got.rawPayload), md5(data));
      const ranged = await t.app.inject({ url: `/v2/images/${image.id}/file`, headers: { ...ownerMember, range: 'bytes=1048570-2097160' } });
      assert.equal(ranged.statusCode, 206);
      assert.deepEqual(ranged.rawPayload, data.subarray(1048570, 2097161), 'a range across a segment boundary');

      assert.equal((await t.app.inject({ method: 'DELETE', url: `/v2/images/${image.id}`, headers: ownerMember })).statusCode, 204);
      assert.deepEqual(await admin.list(container), [], 'manifest and segments are gone');
    });

    test('a small upload with Content-Length is one object; data deleted behind Glimpse\'s back → 204', async () => {
      const data = randomBytes(1000);
      const image = await createImage(t, { disk_format: 'raw', container_format: 'bare' });
      assert.equal((await upload(t, image.id, data)).statusCode, 204);
      assert.deepEqual((await admin.list(container)).filter((n) => n.startsWith(image.id)), [image.id]);
      await admin.removeContainer(container);
      assert.equal((await download(t, image.id)).statusCode, 204, 'Glance answers 204 when the store lost the data');
    });

    test('container quota exceeded → 413 (store full); nothing is left behind; the image is queued again', async () => {
      const quotaContainer = `${container}-q`;
      const q = await startTestApp({}, { 'glimpse-api.conf': swiftOptions().replace(`swift_store_container = ${container}`,
        `swift_store_container = ${quotaContainer}`) });
      try {
        const { token, storageUrl } = await swiftToken(env);
        await request(`${storageUrl}/${quotaContainer}`, { method: 'PUT', headers: { 'x-auth-token': token, 'x-container-meta-quota-bytes': '100000' } })
          .then((r) => r.body.dump());
        const image = await createImage(q, { disk_format: 'raw', container_format: 'bare' });
        // Content-Length 500 kB (one object, under swift_store_large_object_size): Swift refuses it at once.
        const res = await upload(q, image.id, randomBytes(500_000));
        assert.equal(res.statusCode, 413, res.body);
        assertCleanError(res.body, [env.key]);
        assert.equal(((await show(q, image.id)).json() as { status: string }).status, 'queued');
        assert.deepEqual(await admin.list(quotaContainer), []);
      } finally {
        await q.close();
        await dropSwiftContainer(admin, quotaContainer);
      }
    });
  });
}

async function swiftToken(env: { authUrl: string; user: string; key: string }) {
  const res = await request(env.authUrl, { headers: { 'x-auth-user': env.user, 'x-auth-key': env.key } });
  await res.body.dump();
  return { token: String(res.headers['x-auth-token']), storageUrl: String(res.headers['x-storage-url']) };
}

describe('object store failures reach clients as 503/410, without secrets', () => {
  test('swift unreachable → 503 on upload; the image is queued again', async () => {
    const key = `key-${randomUUID()}`;
    const t = await startTestApp({}, { 'glimpse-api.conf': conf(`swift\nswift_store_auth_version = 1\n`
      + `swift_store_auth_address = http://127.0.0.1:9/auth/v1.0\nswift_store_user = a:b\nswift_store_key = ${key}`) });
    try {
      const image = await createImage(t, { disk_format: 'raw', container_format: 'bare' });
      const res = await uploadOverHttp(t, image.id, randomBytes(5000));
      assert.equal(res.statusCode, 503, res.body);
      assertCleanError(res.body, [key]);
      assert.equal(((await show(t, image.id)).json() as { status: string }).status, 'queued');
    } finally {
      await t.close();
    }
  });

  test('s3 with a wrong secret → 503 on upload (access denied), secret not shown', async (ctx) => {
    if (!s3Env) return ctx.skip(SKIP_S3);
    const secret = `wrong-${randomUUID()}`;
    const t = await startTestApp({}, { 'glimpse-api.conf': conf(`s3\ns3_store_host = ${s3Env.endpoint}\n`
      + `s3_store_access_key = ${s3Env.accessKey}\ns3_store_secret_key = ${secret}\ns3_store_bucket = ${uniqueBucket('glimpse-api')}\n`
      + 's3_store_create_bucket_on_put = true\ns3_store_bucket_url_format = path') });
    try {
      const image = await createImage(t, { disk_format: 'raw', container_format: 'bare' });
      const res = await uploadOverHttp(t, image.id, randomBytes(5000));
      assert.equal(res.statusCode, 503, res.body);
      assertCleanError(res.body, [secret]);
    } finally {
      await t.close();
    }
  });

  test('an http default store refuses uploads with 410, as Glance does', async () => {
    const t = await startTestApp({}, { 'glimpse-api.conf': conf('http') });
    try {
      const image = await createImage(t, { disk_format: 'raw', container_format: 'bare' });
      const res = await uploadOverHttp(t, image.id, randomBytes(100));
      assert.equal(res.statusCode, 410, res.body);
      assert.match(res.body, /Adding images to store is disabled/);
      assert.equal(((await show(t, image.id)).json() as { status: string }).status, 'queued');
    } finally {
      await t.close();
    }
  });
});

if (!s3Env) {
  test('image data on an s3 backend', { skip: SKIP_S3 }, () => {});
} else {
  const env = s3Env;
  describe('image data on an s3 backend', () => {
    const bucket = uniqueBucket('glimpse-api');
    let t: TestApp;
    before(async () => {
      t = await startTestApp({}, { 'glimpse-api.conf': conf(`s3\ns3_store_host = ${env.endpoint}\ns3_store_access_key = ${env.accessKey}\n`
        + `s3_store_secret_key = ${env.secretKey}\ns3_store_bucket = ${bucket}\ns3_store_create_bucket_on_put = true\n`
        + 's3_store_large_object_size = 5\ns3_store_large_object_chunk_size = 5\ns3_store_thread_pools = 2') });
    });
    after(async () => { await t.close(); });

    test('multipart upload → active; download matches; delete removes the object', async () => {
      const data = randomBytes(11 * 1024 * 1024 + 3);
      const image = await createImage(t, { disk_format: 'raw', container_format: 'bare' });
      const res = await t.app.inject({ method: 'PUT', url: `/v2/images/${image.id}/file`,
        headers: { ...ownerMember, ...octet, 'transfer-encoding': 'chunked' }, payload: data });
      assert.equal(res.statusCode, 204, res.body);
      assert.equal(((await show(t, image.id)).json() as { checksum: string }).checksum, md5(data));
      const got = await download(t, image.id);
      assert.equal(md5(got.rawPayload), md5(data));
      assert.equal((await t.app.inject({ method: 'DELETE', url: `/v2/images/${image.id}`, headers: ownerMember })).statusCode, 204);
      const driver = s3TestDriver(env, { bucket });
      await assert.rejects(driver.size(`s3://${new URL(env.endpoint).host}/${bucket}/${image.id}`), { kind: 'StoreNotFound' });
    });
  });
}
