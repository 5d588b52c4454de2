// Image data on the real Ceph cluster (scripts/ceph.sh) through the API, checked with the rbd
// command line the way Nova and Cinder see it: one RBD image per Glance image with a protected
// snapshot `snap`, the location rbd://<fsid>/<pool>/<id>/snap (direct_url, locations), clones of
// the snapshot block deletion (409, data kept) until they are gone; two rbd backends next to a
// file backend, with copy-image between them.
import { execFileSync } from 'node:child_process';
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { Readable } from 'node:stream';
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';

import { startTestApp, type TestApp } from '../helpers/app.ts';
import { admin, createImage, octet, ownerMember, show } from '../helpers/v2.ts';
import { importImage, waitForImage } from '../helpers/import.ts';
import { SKIP_RBD, cephTestEnv, poolImages, rbd, rbdJson, type CephTestEnv } from '../helpers/ceph.ts';

const cephEnv = cephTestEnv();
const md5 = (data: Buffer) => createHash('md5').update(data).digest('hex');

function conf(env: CephTestEnv): string {
  const rbdSection = (pool: string, extra = '') => `rbd_store_pool = ${pool}\nrbd_store_user = ${env.user}\n`
    + `rbd_store_ceph_conf = ${env.conf}\nrbd_store_chunk_size = 1\nrados_connect_timeout = 30\n${extra}`;
  return '[DEFAULT]\nenabled_backends = ceph:rbd, ceph2:rbd, thin:rbd, fast:file\nshow_image_direct_url = true\n'
    + 'show_multiple_locations = true\n'
    + '[glance_store]\ndefault_backend = ceph\n'
    + `[ceph]\n${rbdSection(env.pool)}\n`
    + `[ceph2]\n${rbdSection(env.pool2)}\n`
    + `[thin]\n${rbdSection(env.pool2, 'rbd_thin_provisioning = true\n')}\n`
    + '[fast]\nfilesystem_store_datadir = ./fast\n';
}

interface RbdInfo { size: number; order: number; object_size: number; features: string[] }
interface RbdSnap { name: string; size: number; protected: string }

async function upload(t: TestApp, id: string, payload: Buffer | Readable, store?: string) {
  return t.app.inject({ method: 'PUT', url: `/v2/images/${id}/file`,
    headers: { ...ownerMember, ...octet, ...(store ? { 'x-image-meta-store': store } : {}) }, payload });
}

async function remove(t: TestApp, id: string) {
  return t.app.inject({ method: 'DELETE', url: `/v2/images/${id}`, headers: ownerMember });
}

if (!cephEnv) {
  test('image data on rbd backends', { skip: SKIP_RBD }, () => {});
} else {
  const env = cephEnv;
  describe('image data on rbd backends', () => {
    let t: TestApp;
    before(async () => { t = await startTestApp({}, { 'glimpse-api.conf': conf(env) }); });
    after(async () => { await t.close(); });

    test('upload → an RBD image with a protected snapshot, as Glance leaves it; clone blocks delete (409) until removed', async () => {
      const data = randomBytes(3 * 1024 * 1024 + 5);
      const image = await createImage(t, { disk_format: 'raw', container_format: 'bare' });
      assert.equal((await upload(t, image.id, data)).statusCode, 204);

      const shown = (await show(t, image.id)).json() as Record<string, unknown>;
      const location = `rbd://${cephFsid(env)}/${env.pool}/${image.id}/snap`;
      assert.equal(shown.status, 'active');
      assert.equal(shown.direct_url, location, 'direct_url is the snapshot, as Nova/Cinder expect');
      assert.deepEqual(shown.locations, [{ url: location, metadata: { store: 'ceph' } }]);
      assert.equal(shown.stores, 'ceph');

      const info = rbdJson<RbdInfo>(env, 'info', `${env.pool}/${image.id}`);
      assert.equal(info.size, data.length, 'the image is trimmed to the data');
      assert.equal(info.object_size, 1024 * 1024, 'objects of rbd_store_chunk_size');
      assert.ok(info.features.includes('layering'), `layering in ${info.features.join(',')}`);
      const snaps = rbdJson<RbdSnap[]>(env, 'snap', 'ls', `${env.pool}/${image.id}`);
      assert.deepEqual(snaps.map((s) => [s.name, s.size, s.protected]), [['snap', data.length, 'true']]);

      const got = await t.app.inject({ url: `/v2/images/${image.id}/file`, headers: ownerMember });
      assert.equal(got.statusCode, 200);
      assert.equal(md5(got.rawPayload), md5(data));
      const ranged = await t.app.inject({ url: `/v2/images/${image.id}/file`, headers: { ...ownerMember, range: 'bytes=1048570-2097160' } });
      assert.equal(ranged.statusCode, 206);
      assert.deepEqual(ranged.rawPayload, data.subarray(1048570, 2097161), 'a range across an object boundary');

      // What Nova does: a copy-on-write clone of the snapshot.
      const clone = `clone-${randomUUID()}`;
      rbd(env, 'clone', `${env.pool}/${image.id}@snap`, `${env.pool}/${clone}`);
      try {
        const refused = await remove(t, image.id);
        assert.equal(refused.statusCode, 409, refused.body);
        assert.match(refused.body, new RegExp(`Image ${image.id} could not be deleted because it is in use: `
          + 'The image cannot be deleted because it is in use through the backend store outside of Glance'));
        const kept = (await show(t, image.id)).json() as Record<string, unknown>;
        assert.equal(kept.status, 'active', 'the image stays active');
        assert.deepEqual(kept.locations, [{ url: location, metadata: { store: 'ceph' } }]);
        assert.deepEqual(rbdJson<RbdSnap[]>(env, 'snap', 'ls', `${env.pool}/${image.id}`).map((s) => [s.name, s.protected]),
          [['snap', 'true']], 'the snapshot is still there and protected');
        const again = await t.app.inject({ url: `/v2/images/${image.id}/file`, headers: ownerMember });
        assert.equal(md5(again.rawPayload), md5(data), 'the data is intact');
      } finally {
        rbd(env, 'flatten', `${env.pool}/${clone}`);
        rbd(env, 'rm', `${env.pool}/${clone}`);
      }
      assert.equal((await remove(t, image.id)).statusCode, 204);
      assert.ok(!poolImages(env).some((name) => name.includes(image.id)), 'nothing of the image is left in the pool');
    });

    test('upload of unknown size (chunked) grows the image and trims it to the byte count', async () => {
      const data = randomBytes(5 * 1024 * 1024 + 123);
      const image = await createImage(t, { disk_format: 'raw', container_format: 'bare' });
      const parts = Array.from({ length: 40 }, (_, i) => data.subarray(Math.floor((i * data.length) / 40), Math.floor(((i + 1) * data.length) / 40)));
      assert.equal((await upload(t, image.id, Readable.from(parts))).statusCode, 204);
      assert.equal(rbdJson<RbdInfo>(env, 'info', `${env.pool}/${image.id}`).size, data.length);
      const got = await t.app.inject({ url: `/v2/images/${image.id}/file`, headers: ownerMember });
      assert.equal(md5(got.rawPayload), md5(data));
      assert.equal((await remove(t, image.id)).statusCode, 204);
    });

    test('rbd_thin_provisioning: zero chunks are not written (they use no space) and read back as zeros', async () => {
      const data = Buffer.concat([Buffer.alloc(3 * 1024 * 1024), randomBytes(1024 * 1024), Buffer.alloc(1024 * 1024)]);
      const image = await createImage(t, { disk_format: 'raw', container_format: 'bare' });
      assert.equal((await upload(t, image.id, data, 'thin')).statusCode, 204);
      const du = rbdJson<{ images: Array<{ name: string; snapshot?: string; provisioned_size: number; used_size: number }> }>(
        env, 'du', `${env.pool2}/${image.id}`);
      const used = du.images.reduce((sum, i) => sum + i.used_size, 0);
      assert.equal(du.images[0]!.provisioned_size, data.length);
      assert.equal(used, 1024 * 1024, 'only the one non-zero object is allocated');
      const got = await t.app.inject({ url: `/v2/images/${image.id}/file`, headers: ownerMember });
      assert.equal(md5(got.rawPayload), md5(data));
      assert.equal((await remove(t, image.id)).statusCode, 204);
    });

    test('copy-image from one rbd backend to another rbd pool and to a file store; delete removes every copy', async () => {
      const data = randomBytes(2 * 1024 * 1024 + 1);
      const image = await createImage(t, { disk_format: 'raw', container_format: 'bare' });
      assert.equal((await upload(t, image.id, data)).statusCode, 204);
      const res = await importImage(t, image.id, { method: { name: 'copy-image' }, stores: ['ceph2', 'fast'] }, admin);
      assert.equal(res.statusCode, 202, res.body);
      const copied = await waitForImage(t, image.id, (i) => String(i.stores).split(',').length === 3
        && i.os_glance_importing_to_stores === '');
      assert.deepEqual(String(copied.stores).split(',').sort(), ['ceph', 'ceph2', 'fast']);
      const urls = (copied.locations as Array<{ url: string; metadata: { store: string } }>).map((l) => [l.metadata.store, l.url]);
      const fsidOf = cephFsid(env);
      assert.deepEqual(urls.filter(([store]) => store !== 'fast').sort(), [
        ['ceph', `rbd://${fsidOf}/${env.pool}/${image.id}/snap`],
        ['ceph2', `rbd://${fsidOf}/${env.pool2}/${image.id}/snap`],
      ]);
      const snaps = rbdJson<RbdSnap[]>(env, 'snap', 'ls', `${env.pool2}/${image.id}`);
      assert.deepEqual(snaps.map((s) => [s.name, s.size, s.protected]), [['snap', data.length, 'true']]);

      // Each copy serves the same bytes: remove the first store's copy, then read.
      const dropped = await t.app.inject({ method: 'DELETE', url: `/v2/stores/ceph/${image.id}`, headers: admin });
      assert.equal(dropped.statusCode, 204, dropped.body);
      assert.ok(!poolImages(env).includes(image.id), 'the copy in the first pool is gone');
      const got = await t.app.inject({ url: `/v2/images/${image.id}/file`, headers: ownerMember });
      assert.equal(md5(got.rawPayload), md5(data));

      assert.equal((await remove(t, image.id)).statusCode, 204);
      assert.ok(!poolImages(env, env.pool2).includes(image.id), 'the copy in the second pool is gone');
    });

    test('/v2/info/stores/detail shows the rbd backends\' pool, chunk size and thin provisioning', async () => {
      const res = await t.app.inject({ url: '/v2/info/stores/detail', headers: admin });
      assert.equal(res.statusCode, 200, res.body);
      const stores = (res.json() as { stores: Array<{ id: string; type: string; properties: Record<string, unknown> }> }).stores;
      const byId = Object.fromEntries(stores.map((s) => [s.id, s]));
      assert.deepEqual(byId.ceph!.properties, { chunk_size: 1, pool: env.pool, thin_provisioning: false });
      assert.deepEqual(byId.thin!.properties, { chunk_size: 1, pool: env.pool2, thin_provisioning: true });
    });
  });
}

/** The cluster's fsid as the monitor reports it (`ceph fsid`), through the tests' client. */
function cephFsid(env: CephTestEnv): string {
  return execFileSync('ceph', ['-c', env.conf, '--id', env.user, 'fsid'], { encoding: 'utf8' }).trim();
}
