// Interoperable import through the API: stage, glance-direct, copy-image between file stores,
// the import lock, progress properties, failures that say why, GET /v2/info/import.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { createHash, randomUUID } from 'node:crypto';
import { join } from 'node:path';
import type { Kysely } from 'kysely';
import { startTestApp, type TestApp } from '../helpers/app.ts';
import { admin, createActive, createImage, json, ownerMember, otherMember, ownerReader, show } from '../helpers/v2.ts';
import { importImage, stage, waitForImage, waitForTasks } from '../helpers/import.ts';

const data = Buffer.from('staged image data, raw bytes');

describe('single store', () => {
  let t: TestApp;
  let idle: TestApp;
  before(async () => {
    t = await startTestApp();
    idle = await startTestApp({ GLIMPSE_TASK__RUN_WORKER_IN_API: 'false' });
  });
  after(async () => { await t.close(); await idle.close(); });

  test('GET /v2/info/import lists the enabled methods; image create advertises them', async () => {
    const res = await t.app.inject({ url: '/v2/info/import', headers: { ...ownerReader, ...json } });
    assert.equal(res.statusCode, 200);
    assert.deepEqual(res.json(), { 'import-methods': { description: 'Import methods available.', type: 'array',
      value: ['glance-direct', 'web-download', 'copy-image'] } });
    const created = await t.app.inject({ method: 'POST', url: '/v2/images', headers: { ...ownerMember, ...json }, payload: {} });
    assert.equal(created.headers['openstack-image-import-methods'], 'glance-direct,web-download,copy-image');
  });

  test('stage → uploading with size; download is empty; a second stage is 409', async () => {
    const image = await createImage(t, { disk_format: 'raw', container_format: 'bare' });
    assert.equal((await stage(t, image.id, data)).statusCode, 204);
    const staged = (await show(t, image.id)).json();
    assert.equal(staged.status, 'uploading');
    assert.equal(staged.size, data.length);
    const file = await t.app.inject({ url: `/v2/images/${image.id}/file`, headers: ownerMember });
    assert.equal(file.statusCode, 204);
    assert.equal((await stage(t, image.id, data)).statusCode, 409);
    assert.ok(existsSync(join(t.config.imageImport.stagingDir, image.id)));
  });

  test('stage needs octet-stream (415) and modify_image (403 for a reader, 404 for another project)', async () => {
    const image = await createImage(t, { disk_format: 'raw', container_format: 'bare' });
    const wrongType = await t.app.inject({ method: 'PUT', url: `/v2/images/${image.id}/stage`,
      headers: { ...ownerMember, 'content-type': 'text/plain' }, payload: 'x' });
    assert.equal(wrongType.statusCode, 415);
    assert.equal((await stage(t, image.id, data, ownerReader)).statusCode, 403);
    assert.equal((await stage(t, image.id, data, otherMember)).statusCode, 404);
    assert.equal((await show(t, image.id)).json().status, 'queued');
  });

  test('glance-direct: stage, import (202), the task succeeds and the image is active with hashes', async () => {
    const image = await createImage(t, { disk_format: 'raw', container_format: 'bare' });
    assert.equal((await stage(t, image.id, data)).statusCode, 204);
    const res = await importImage(t, image.id, { method: { name: 'glance-direct' } });
    assert.equal(res.statusCode, 202, res.body);
    assert.equal(res.body, '');
    const active = await waitForImage(t, image.id, (i) => i.status === 'active');
    assert.equal(active.size, data.length);
    assert.equal(active.checksum, createHash('md5').update(data).digest('hex'));
    assert.equal(active.os_hash_value, createHash('sha512').update(data).digest('hex'));
    assert.equal(active.virtual_size, data.length);
    assert.equal(active.os_glance_import_task, undefined);
    const [task] = await waitForTasks(t, image.id);
    assert.equal(task!.status, 'success');
    assert.equal(task!.message, `Copied ${Math.floor(data.length / 2 ** 20)} MiB`, 'Glance\'s progress message');
    assert.equal(task!.type, 'api_image_import');
    assert.equal(task!.request_id, res.headers['x-openstack-request-id']);
    assert.equal((task!.input as { import_req: { method: { name: string } } }).import_req.method.name, 'glance-direct');
    assert.match(String(task!.created_at), /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}$/);
    const file = await t.app.inject({ url: `/v2/images/${image.id}/file`, headers: ownerMember });
    assert.equal(file.body, data.toString());
    assert.ok(!existsSync(join(t.config.imageImport.stagingDir, image.id)), 'staged data removed');
  });

  test('import validation in Glance order: body, method, status, formats, policy', async () => {
    const image = await createImage(t, { disk_format: 'raw', container_format: 'bare' });
    const cases: [unknown, number, RegExp][] = [
      [undefined, 400, /Body expected/],
      [{}, 400, /'method'/],
      [{ method: {} }, 400, /'name'/],
      [{ method: { name: 'nope' } }, 400, /Unknown import method name 'nope'/],
      [{ method: { name: 'glance-direct' }, all_stores: 'yes' }, 400, /boolean/],
      [{ method: { name: 'glance-direct' } }, 409, /needs to be staged/],
      [{ method: { name: 'copy-image' } }, 409, /Only images with status active/],
      [{ method: { name: 'web-download', uri: 'http://127.0.0.1:1/x' } }, 400, /does not pass filtering/],
    ];
    for (const [body, status, message] of cases) {
      const res = await importImage(t, image.id, body);
      assert.equal(res.statusCode, status, `${JSON.stringify(body)}: ${res.body}`);
      assert.match(res.body, message);
    }
    const active = await createActive(t);
    const res = await importImage(t, active.id, { method: { name: 'glance-direct' } });
    assert.equal(res.statusCode, 409);
    assert.match(res.body, /status active cannot be target for import/);
    const noFormats = await createImage(t, {});
    assert.equal((await stage(t, noFormats.id, data)).statusCode, 204, 'staging without formats is allowed');
    const unformatted = await importImage(t, noFormats.id, { method: { name: 'glance-direct' } });
    assert.equal(unformatted.statusCode, 409);
    assert.match(unformatted.body, /'container_format' needs to be set before import/);
    assert.equal((await importImage(t, active.id, { method: { name: 'copy-image' } }, ownerMember)).statusCode, 403,
      'copy-image is admin-only');
    assert.equal((await importImage(t, image.id, { method: { name: 'glance-direct' } }, otherMember)).statusCode, 404);
  });

  test('the import lock: a second import while the task is live is 409; a stale lock is taken over', async () => {
    const image = await createImage(idle, { disk_format: 'raw', container_format: 'bare' });
    assert.equal((await stage(idle, image.id, data)).statusCode, 204);
    assert.equal((await importImage(idle, image.id, { method: { name: 'glance-direct' } })).statusCode, 202);
    const locked = (await show(idle, image.id)).json();
    assert.equal(locked.status, 'importing');
    assert.match(String(locked.os_glance_import_task), /^[0-9a-f-]{36}$/);
    // importing → the lock is checked after the status rules; copy-image by an admin meets the lock only on active images
    const again = await importImage(idle, image.id, { method: { name: 'glance-direct' } });
    assert.equal(again.statusCode, 409);
    // The same live lock on an active image blocks copy-image; once its pending task has been
    // untouched for over two hours, the lock is stale and taken over.
    const copy = await createActive(idle);
    const db = idle.database.db as unknown as Kysely<{
      tasks: { id: string; updated_at: Date }; image_properties: { image_id: string; name: string; value: string } }>;
    await db.insertInto('image_properties')
      .values({ image_id: copy.id, name: 'os_glance_import_task', value: String(locked.os_glance_import_task) }).execute();
    const blocked = await importImage(idle, copy.id, { method: { name: 'copy-image' } }, admin);
    assert.equal(blocked.statusCode, 409);
    assert.match(blocked.body, /Image has active task/);
    await db.updateTable('tasks').set({ updated_at: new Date(Date.now() - 3 * 3600_000) })
      .where('id', '=', String(locked.os_glance_import_task)).execute();
    const stolen = await importImage(idle, copy.id, { method: { name: 'copy-image' } }, admin);
    assert.equal(stolen.statusCode, 202, 'single store: nothing to copy, and the stale lock did not block');
  });

  test('a failed import returns the image to queued and says why (task message and os_glance_import_error)', async () => {
    const image = await createImage(t, { disk_format: 'raw', container_format: 'bare' });
    assert.equal((await stage(t, image.id, data)).statusCode, 204);
    rmSync(join(t.config.imageImport.stagingDir, image.id));
    assert.equal((await importImage(t, image.id, { method: { name: 'glance-direct' } })).statusCode, 202);
    const [task] = await waitForTasks(t, image.id);
    assert.equal(task!.status, 'failure');
    assert.match(String(task!.message), /staged data of the image is gone/);
    const reverted = await waitForImage(t, image.id, (i) => i.status === 'queued');
    assert.match(String(reverted.os_glance_import_error), /^glance-direct: The staged data/);
    assert.equal(reverted.os_glance_import_task, undefined);
    assert.equal(reverted.size, null);
  });

  test('stage is 404 when glance-direct is not enabled', async () => {
    const off = await startTestApp({ GLIMPSE_DEFAULT__ENABLED_IMPORT_METHODS: 'web-download' });
    try {
      const image = await createImage(off, { disk_format: 'raw', container_format: 'bare' });
      const res = await stage(off, image.id, data);
      assert.equal(res.statusCode, 404);
      assert.match(res.body, /'glance-direct' method is not available at this site/);
    } finally {
      await off.close();
    }
  });
});

describe('two file stores', () => {
  let t: TestApp;
  const stores = mkdtempSync(join(tmpdir(), 'glimpse-stores-'));
  before(async () => {
    t = await startTestApp({}, { 'glimpse-api.conf': [
      '[DEFAULT]', 'enabled_backends = fast:file, cheap:file, web:http', // web: read-only, never an import target
      '[glance_store]', 'default_backend = fast',
      '[fast]', `filesystem_store_datadir = ${join(stores, 'fast')}`,
      '[cheap]', `filesystem_store_datadir = ${join(stores, 'cheap')}`,
    ].join('\n') });
  });
  after(async () => { await t.close(); rmSync(stores, { recursive: true, force: true }); });

  test('glance-direct into a chosen store, then copy-image into the other; stores and progress properties', async () => {
    const image = await createImage(t, { disk_format: 'raw', container_format: 'bare' });
    assert.equal((await stage(t, image.id, data)).statusCode, 204);
    assert.equal((await importImage(t, image.id, { method: { name: 'glance-direct' }, stores: ['cheap'] })).statusCode, 202);
    const first = await waitForImage(t, image.id, (i) => i.status === 'active');
    assert.equal(first.stores, 'cheap');
    assert.equal(first.os_glance_importing_to_stores, '');
    assert.equal(first.os_glance_failed_import, '');
    const already = await importImage(t, image.id, { method: { name: 'copy-image' }, stores: ['cheap'] }, admin);
    assert.equal(already.statusCode, 400);
    assert.match(already.body, /already present at store 'cheap'/);
    const unknown = await importImage(t, image.id, { method: { name: 'copy-image' }, stores: ['nope'] }, admin);
    assert.equal(unknown.statusCode, 409);
    assert.equal((await importImage(t, image.id, { method: { name: 'copy-image' }, all_stores: true }, admin)).statusCode, 202);
    const copied = await waitForImage(t, image.id, (i) => String(i.stores).split(',').length === 2);
    assert.deepEqual(String(copied.stores).split(',').sort(), ['cheap', 'fast']);
    assert.equal(copied.status, 'active');
    assert.ok(existsSync(join(stores, 'fast', image.id)));
    assert.ok(existsSync(join(stores, 'cheap', image.id)));
    await waitForTasks(t, image.id);
    // Nothing left to copy: 202 without a task.
    const tasksBefore = (await waitForTasks(t, image.id)).length;
    assert.equal((await importImage(t, image.id, { method: { name: 'copy-image' }, all_stores: true }, admin)).statusCode, 202);
    assert.equal((await waitForTasks(t, image.id)).length, tasksBefore);
  });

  test('all_stores with stores is 400; an unknown store is 409; header and body together are 400', async () => {
    const image = await createImage(t, { disk_format: 'raw', container_format: 'bare' });
    assert.equal((await stage(t, image.id, data)).statusCode, 204);
    assert.equal((await importImage(t, image.id, { method: { name: 'glance-direct' }, all_stores: true, stores: ['fast'] })).statusCode, 400);
    assert.equal((await importImage(t, image.id, { method: { name: 'glance-direct' }, stores: ['nope'] })).statusCode, 409);
    const both = await t.app.inject({ method: 'POST', url: `/v2/images/${image.id}/import`,
      headers: { ...ownerMember, ...json, 'content-type': 'application/json', 'x-image-meta-store': 'fast' },
      payload: JSON.stringify({ method: { name: 'glance-direct' }, stores: ['cheap'] }) });
    assert.equal(both.statusCode, 400);
    assert.equal((await importImage(t, image.id, { method: { name: 'glance-direct' }, all_stores: true })).statusCode, 202);
    const active = await waitForImage(t, image.id, (i) => i.status === 'active' && String(i.stores).split(',').length === 2);
    assert.equal(active.os_glance_importing_to_stores, '');
    await waitForTasks(t, image.id); // the staged data is removed after the image becomes active
    assert.ok(!readdirSync(t.config.imageImport.stagingDir).includes(image.id));
  });
});

describe('glance-download without Keystone', () => {
  let t: TestApp;
  before(async () => { t = await startTestApp({ GLIMPSE_DEFAULT__ENABLED_IMPORT_METHODS: 'glance-direct,glance-download' }); });
  after(async () => { await t.close(); });

  test('parameters are checked (400); without a Keystone catalog the task fails and the image is left as it was', async () => {
    const image = await createImage(t, { disk_format: 'raw', container_format: 'bare', os_distro: 'mine' });
    const bad = await importImage(t, image.id, { method: { name: 'glance-download', glance_image_id: 'foo', glance_region: 'R' } });
    assert.equal(bad.statusCode, 400);
    assert.match(bad.body, /image id does not look like a UUID/);
    const missing = await importImage(t, image.id, { method: { name: 'glance-download', glance_image_id: randomUUID() } });
    assert.equal(missing.statusCode, 400);
    const res = await importImage(t, image.id, { method: { name: 'glance-download', glance_image_id: randomUUID(), glance_region: 'R' } });
    assert.equal(res.statusCode, 202);
    const [task] = await waitForTasks(t, image.id);
    assert.equal(task!.status, 'failure');
    assert.match(String(task!.message), /needs Keystone/);
    const after = (await show(t, image.id)).json();
    assert.equal(after.status, 'queued');
    assert.equal(after.os_distro, 'mine');
    assert.equal(after.os_glance_import_task, undefined);
  });
});

describe('deleting a staged image', () => {
  let t: TestApp;
  before(async () => { t = await startTestApp(); });
  after(async () => { await t.close(); });

  test('removes its staged data', async () => {
    const image = await createImage(t, { disk_format: 'raw', container_format: 'bare' });
    assert.equal((await stage(t, image.id, data)).statusCode, 204);
    assert.ok(existsSync(join(t.config.imageImport.stagingDir, image.id)));
    const res = await t.app.inject({ method: 'DELETE', url: `/v2/images/${image.id}`, headers: ownerMember });
    assert.equal(res.statusCode, 204);
    assert.ok(!existsSync(join(t.config.imageImport.stagingDir, image.id)));
  });
});

describe('a store that fails (a directory squats on the image\'s file name)', () => {
  let t: TestApp;
  const stores = mkdtempSync(join(tmpdir(), 'glimpse-stores-'));
  before(async () => {
    t = await startTestApp({}, { 'glimpse-api.conf': [
      '[DEFAULT]', 'enabled_backends = fast:file, broken:file',
      '[glance_store]', 'default_backend = fast',
      '[fast]', `filesystem_store_datadir = ${join(stores, 'fast')}`,
      '[broken]', `filesystem_store_datadir = ${join(stores, 'broken')}`,
    ].join('\n') });
  });
  after(async () => { await t.close(); rmSync(stores, { recursive: true, force: true }); });

  async function brokenImage() {
    const image = await createImage(t, { disk_format: 'raw', container_format: 'bare' });
    mkdirSync(join(stores, 'broken', image.id, 'occupied'), { recursive: true });
    return image;
  }

  test('all_stores_must_succeed=false: active in the stores that worked, the failed one listed', async () => {
    const image = await brokenImage();
    assert.equal((await stage(t, image.id, data)).statusCode, 204);
    const res = await importImage(t, image.id, { method: { name: 'glance-direct' }, all_stores: true, all_stores_must_succeed: false });
    assert.equal(res.statusCode, 202, res.body);
    const [task] = await waitForTasks(t, image.id);
    assert.equal(task!.status, 'success');
    const done = (await show(t, image.id)).json();
    assert.equal(done.status, 'active');
    assert.equal(done.stores, 'fast');
    assert.equal(done.os_glance_failed_import, 'broken');
    assert.equal(done.os_glance_importing_to_stores, '');
  });

  test('all_stores_must_succeed=true (default): the import fails, data written to the other store is removed', async () => {
    const image = await brokenImage();
    assert.equal((await stage(t, image.id, data)).statusCode, 204);
    assert.equal((await importImage(t, image.id, { method: { name: 'glance-direct' }, stores: ['fast', 'broken'] })).statusCode, 202);
    const [task] = await waitForTasks(t, image.id);
    assert.equal(task!.status, 'failure');
    const reverted = (await show(t, image.id)).json();
    assert.equal(reverted.status, 'queued');
    assert.equal(reverted.stores, undefined);
    assert.equal(reverted.os_glance_failed_import, 'broken');
    assert.match(String(reverted.os_glance_import_error), /^glance-direct: /);
    assert.ok(!existsSync(join(stores, 'fast', image.id)), 'the copy in fast was removed');
  });
});

describe('staging limits', () => {
  let t: TestApp;
  before(async () => { t = await startTestApp({ GLIMPSE_DEFAULT__IMAGE_SIZE_CAP: '16' }); });
  after(async () => { await t.close(); });

  test('image_size_cap applies to staging (413); the image returns to queued with nothing staged', async () => {
    const image = await createImage(t, { disk_format: 'raw', container_format: 'bare' });
    const res = await stage(t, image.id, Buffer.alloc(17, 1));
    assert.equal(res.statusCode, 413);
    assert.equal((await show(t, image.id)).json().status, 'queued');
    const staged = existsSync(t.config.imageImport.stagingDir) ? readdirSync(t.config.imageImport.stagingDir) : [];
    assert.ok(!staged.some((f) => f.startsWith(image.id)));
    assert.equal((await stage(t, image.id, Buffer.alloc(16, 1))).statusCode, 204);
  });
});
