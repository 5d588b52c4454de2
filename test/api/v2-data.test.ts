import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { as, startTestApp, type TestApp } from '../helpers/app.ts';
import { admin, createActive, createImage, json, octet, otherMember, ownerMember, ownerReader, show } from '../helpers/v2.ts';

let t: TestApp;
before(async () => { t = await startTestApp({ GLIMPSE_DEFAULT__IMAGE_SIZE_CAP: '1000' }); });
after(async () => { await t.close(); });

const put = (id: string, payload: Buffer | string, headers: Record<string, string> = {}) =>
  t.app.inject({ method: 'PUT', url: `/v2/images/${id}/file`, headers: { ...ownerMember, ...octet, ...json, ...headers }, payload });
const get = (id: string, headers: Record<string, string> = {}) =>
  t.app.inject({ url: `/v2/images/${id}/file`, headers: { ...ownerMember, ...headers } });
const storeFiles = () => readdirSync(join(t.dir, 'images'));

describe('upload', () => {
  test('stores the data, computes md5 and sha512, size, and goes active', async () => {
    const data = Buffer.from('0123456789'.repeat(50));
    const image = await createImage(t, { disk_format: 'raw', container_format: 'bare' });
    assert.equal((await put(image.id, data)).statusCode, 204);
    const shown = (await show(t, image.id)).json();
    assert.equal(shown.status, 'active');
    assert.equal(shown.size, 500);
    assert.equal(shown.checksum, createHash('md5').update(data).digest('hex'));
    assert.equal(shown.os_hash_algo, 'sha512');
    assert.equal(shown.os_hash_value, createHash('sha512').update(data).digest('hex'));
  });

  test('an empty body makes an active zero-size image', async () => {
    const image = await createImage(t, { disk_format: 'raw', container_format: 'bare' });
    assert.equal((await put(image.id, '')).statusCode, 204);
    const shown = (await show(t, image.id)).json();
    assert.equal(shown.size, 0);
    assert.equal(shown.checksum, 'd41d8cd98f00b204e9800998ecf8427e');
    const res = await get(image.id);
    assert.equal(res.statusCode, 200);
    assert.equal(res.headers['content-length'], '0');
  });

  test('formats unset 400; second upload 409; wrong type 415; reader 403; other project 404', async () => {
    const bare = await createImage(t);
    const res = await put(bare.id, 'x');
    assert.equal(res.statusCode, 400);
    assert.match(res.json().message, /disk_format, container_format must be set prior to saving data/);
    const active = await createActive(t);
    const again = await put(active.id, 'y');
    assert.equal(again.statusCode, 409);
    assert.match(again.json().message, /Image status transition from active to saving is not allowed/);
    const queued = await createImage(t, { disk_format: 'raw', container_format: 'bare' });
    assert.equal((await put(queued.id, 'x', { 'content-type': 'application/json' })).statusCode, 415);
    assert.equal((await put(queued.id, 'x', { ...ownerReader })).statusCode, 403);
    assert.equal((await put(queued.id, 'x', { ...otherMember })).statusCode, 404);
  });

  test('image_size_cap → 413, image back to queued, nothing left in the store', async () => {
    const before = storeFiles().length;
    const image = await createImage(t, { disk_format: 'raw', container_format: 'bare' });
    const res = await put(image.id, Buffer.alloc(1001));
    assert.equal(res.statusCode, 413);
    const shown = (await show(t, image.id)).json();
    assert.equal(shown.status, 'queued');
    assert.equal(shown.size, null);
    assert.equal(storeFiles().length, before);
    assert.equal((await put(image.id, Buffer.alloc(1000))).statusCode, 204, 'a later upload succeeds');
  });

  test('x-openstack-image-size must match the data', async () => {
    const image = await createImage(t, { disk_format: 'raw', container_format: 'bare' });
    assert.equal((await put(image.id, 'abc', { 'x-openstack-image-size': '4' })).statusCode, 400);
    assert.equal((await show(t, image.id)).json().status, 'queued');
    assert.equal((await put(image.id, 'abc', { 'x-openstack-image-size': 'x' })).statusCode, 400);
    assert.equal((await put(image.id, 'abc', { 'x-openstack-image-size': '3' })).statusCode, 204);
  });
});

describe('download', () => {
  test('200 with Content-MD5 and Content-Length; 204 without data', async () => {
    const image = await createActive(t, 'hello world');
    const res = await get(image.id);
    assert.equal(res.statusCode, 200);
    assert.equal(res.body, 'hello world');
    assert.equal(res.headers['content-type'], 'application/octet-stream');
    assert.equal(res.headers['content-md5'], createHash('md5').update('hello world').digest('hex'));
    assert.equal(res.headers['content-length'], '11');
    const queued = await createImage(t);
    assert.equal((await get(queued.id)).statusCode, 204);
  });

  test('ranges: 206, suffix, clamping, 416, multiple ranges 400, legacy Content-Range', async () => {
    const image = await createActive(t, '0123456789');
    let res = await get(image.id, { range: 'bytes=2-4' });
    assert.equal(res.statusCode, 206);
    assert.equal(res.body, '234');
    assert.equal(res.headers['content-range'], 'bytes 2-4/10');
    assert.equal(res.headers['content-md5'], createHash('md5').update('0123456789').digest('hex'));
    res = await get(image.id, { range: 'bytes=-3' });
    assert.equal(res.body, '789');
    res = await get(image.id, { range: 'bytes=8-100' });
    assert.equal(res.body, '89');
    assert.equal(res.headers['content-range'], 'bytes 8-9/10');
    assert.equal((await get(image.id, { range: 'bytes=10-' })).statusCode, 416);
    assert.equal((await get(image.id, { range: 'bytes=10-' })).statusMessage, 'Requested Range Not Satisfiable');
    assert.equal((await get(image.id, { range: 'bytes=5-2' })).statusCode, 416);
    assert.equal((await get(image.id, { range: 'bytes=0-1,3-4' })).statusCode, 400);
    res = await get(image.id, { 'content-range': 'bytes 1-2/*' });
    assert.equal(res.statusCode, 206);
    assert.equal(res.body, '12');
  });

  test('download needs the member role; deactivated images only for admins', async () => {
    const image = await createActive(t, 'data');
    assert.equal((await get(image.id, ownerReader)).statusCode, 403);
    assert.equal((await t.app.inject({ method: 'POST', url: `/v2/images/${image.id}/actions/deactivate`,
      headers: ownerMember })).statusCode, 204);
    assert.equal((await t.app.inject({ method: 'POST', url: `/v2/images/${image.id}/actions/deactivate`,
      headers: ownerMember })).statusCode, 204, 'idempotent');
    const denied = await get(image.id, { accept: 'application/json' });
    assert.equal(denied.statusCode, 403);
    assert.match(denied.json().message, /has been deactivated/);
    assert.equal((await get(image.id, admin)).statusCode, 200);
    assert.equal((await t.app.inject({ method: 'POST', url: `/v2/images/${image.id}/actions/reactivate`,
      headers: ownerMember })).statusCode, 204);
    assert.equal((await get(image.id)).statusCode, 200);
  });

  test('deleting an image removes its data from the store', async () => {
    const image = await createActive(t, 'to be deleted');
    const files = storeFiles();
    assert.ok(files.includes(image.id));
    assert.equal((await t.app.inject({ method: 'DELETE', url: `/v2/images/${image.id}`, headers: ownerMember })).statusCode, 204);
    assert.ok(!storeFiles().includes(image.id));
  });
});

describe('storage quota', () => {
  test('user_storage_quota counts the owner\'s stored bytes → 413', async () => {
    const q = await startTestApp({ GLIMPSE_DEFAULT__USER_STORAGE_QUOTA: '10B' });
    try {
      const mk = async () => (await q.app.inject({ method: 'POST', url: '/v2/images', headers: { ...ownerMember, ...json },
        payload: { disk_format: 'raw', container_format: 'bare' } })).json().id as string;
      const up = async (id: string, data: string) => q.app.inject({ method: 'PUT', url: `/v2/images/${id}/file`,
        headers: { ...ownerMember, ...octet }, payload: data });
      assert.equal((await up(await mk(), '123456')).statusCode, 204);
      assert.equal((await up(await mk(), '123456')).statusCode, 413);
      assert.equal((await up(await mk(), '1234')).statusCode, 204);
      const other = as('elsewhere', 'member,reader');
      const id = (await q.app.inject({ method: 'POST', url: '/v2/images', headers: { ...other, ...json },
        payload: { disk_format: 'raw', container_format: 'bare' } })).json().id as string;
      assert.equal((await q.app.inject({ method: 'PUT', url: `/v2/images/${id}/file`, headers: { ...other, ...octet },
        payload: '123456' })).statusCode, 204, 'quota is per owner');
    } finally { await q.close(); }
  });
});

describe('delayed delete', () => {
  test('delayed_delete: the image disappears from the API (pending_delete) but its data stays for the scrubber', async () => {
    const d = await startTestApp({ GLIMPSE_DEFAULT__DELAYED_DELETE: 'true' });
    try {
      const id = (await d.app.inject({ method: 'POST', url: '/v2/images', headers: { ...ownerMember, ...json },
        payload: { disk_format: 'raw', container_format: 'bare' } })).json().id as string;
      await d.app.inject({ method: 'PUT', url: `/v2/images/${id}/file`, headers: { ...ownerMember, ...octet }, payload: 'keep' });
      assert.equal((await d.app.inject({ method: 'DELETE', url: `/v2/images/${id}`, headers: ownerMember })).statusCode, 204);
      assert.equal((await d.app.inject({ url: `/v2/images/${id}`, headers: ownerMember })).statusCode, 404);
      const row = await d.database.db.selectFrom('images').select(['status', 'deleted']).where('id', '=', id).executeTakeFirst();
      assert.equal(row?.status, 'pending_delete');
      assert.ok(readdirSync(join(d.dir, 'images')).includes(id), 'data kept');
      const queued = (await d.app.inject({ method: 'POST', url: '/v2/images', headers: { ...ownerMember, ...json },
        payload: {} })).json().id as string;
      await d.app.inject({ method: 'DELETE', url: `/v2/images/${queued}`, headers: ownerMember });
      const queuedRow = await d.database.db.selectFrom('images').select('status').where('id', '=', queued).executeTakeFirst();
      assert.equal(queuedRow?.status, 'deleted', 'an image without data is simply deleted');
    } finally { await d.close(); }
  });
});
