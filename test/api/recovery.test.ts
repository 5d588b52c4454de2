// Recovery of interrupted transfers in one process (tasks/recovery.ts): uploads and stages whose
// owner is gone, images no owner accounts for, imports abandoned after their last attempt, staging
// data of deleted images; and what a live owner's transfer is spared.
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { SqlImageRepository } from '../../src/db/image-repository.ts';
import { SqlTaskRepository } from '../../src/db/task-repository.ts';
import { SqlTransferRepository } from '../../src/db/transfer-repository.ts';
import type { Image } from '../../src/domain/image.ts';
import { startTestApp, type TestApp } from '../helpers/app.ts';
import { importImage, stage, waitForImage } from '../helpers/import.ts';
import { createImage, octet, ownerMember, show } from '../helpers/v2.ts';

let t: TestApp;
let imagesDir: string;
let stagingDir: string;
const HOUR_AGO = () => new Date(Date.now() - 3600_000);

before(async () => {
  t = await startTestApp({ GLIMPSE_TASK__LEASE_DURATION: '2', GLIMPSE_TASK__RECOVERY_INTERVAL: '3600', GLIMPSE_TASK__POLL_INTERVAL: '0.1' });
  imagesDir = join(t.dir, 'images');
  stagingDir = join(t.dir, 'staging');
  mkdirSync(imagesDir, { recursive: true });
  mkdirSync(stagingDir, { recursive: true });
});
after(async () => { await t?.close(); });

const images = () => new SqlImageRepository(t.database);
const transfers = () => new SqlTransferRepository(t.database);

/** Puts an image into `status` as a crashed process would have left it. */
async function strand(id: string, status: Image['status'], changes: Partial<Image> = {}): Promise<Image> {
  const image = (await images().get(id))!;
  return images().update({ ...image, status, updatedAt: HOUR_AGO(), ...changes }, { expectVersion: image.version });
}

async function readyImage(): Promise<string> {
  return (await createImage(t, { disk_format: 'raw', container_format: 'bare' })).id;
}

test('an upload whose owner died: back to queued with the reason; temp file and unrecorded object removed; a new upload works', async () => {
  const id = await readyImage();
  await strand(id, 'saving');
  await transfers().begin({ imageId: id, kind: 'upload', store: 'file', revertStatus: 'queued', owner: 'gone-host:4242:dead',
    startedAt: HOUR_AGO(), leaseExpiresAt: new Date(Date.now() - 1000) });
  writeFileSync(join(imagesDir, `${id}.0123456789abcdef.tmp`), 'partial');
  writeFileSync(join(imagesDir, id), 'stored but never recorded');
  const report = await t.recovery.sweepOnce();
  assert.ok(report.transfers >= 1);
  const image = (await show(t, id)).json();
  assert.equal(image.status, 'queued');
  assert.match(image.os_glance_upload_error, /^upload interrupted: the process receiving the data \(gone-host:4242:dead\) stopped/);
  assert.deepEqual(readdirSync(imagesDir).filter((n) => n.startsWith(id)), []);
  assert.equal(await transfers().get(id), undefined);
  const upload = await t.app.inject({ method: 'PUT', url: `/v2/images/${id}/file`, headers: { ...ownerMember, ...octet }, payload: 'fresh' });
  assert.equal(upload.statusCode, 204, upload.body);
  const active = (await show(t, id)).json();
  assert.equal(active.status, 'active');
  assert.equal(active.os_glance_upload_error, undefined, 'the note goes when the next upload starts');
});

test('a transfer whose owner still renews its lease is never touched', async () => {
  const id = await readyImage();
  await strand(id, 'saving');
  await transfers().begin({ imageId: id, kind: 'upload', store: 'file', revertStatus: 'queued', owner: 'live-node:1:abc',
    startedAt: HOUR_AGO(), leaseExpiresAt: new Date(Date.now() + 600_000) });
  const temp = join(imagesDir, `${id}.fedcba9876543210.tmp`);
  writeFileSync(temp, 'in progress');
  await t.recovery.sweepOnce();
  assert.equal((await show(t, id)).json().status, 'saving');
  assert.ok(existsSync(temp));
  assert.equal((await transfers().get(id))!.owner, 'live-node:1:abc');
});

test('a stage whose owner died: back to queued, partial staging data removed; staging and importing again works', async () => {
  const id = await readyImage();
  await strand(id, 'uploading', { size: null });
  await transfers().begin({ imageId: id, kind: 'stage', store: 'os_glance_staging_store', revertStatus: 'queued',
    owner: 'gone-host:1:x', startedAt: HOUR_AGO(), leaseExpiresAt: new Date(Date.now() - 1000) });
  writeFileSync(join(stagingDir, `${id}.00112233445566aa.tmp`), 'partial stage');
  await t.recovery.sweepOnce();
  const image = (await show(t, id)).json();
  assert.equal(image.status, 'queued');
  assert.match(image.os_glance_upload_error, /^stage interrupted/);
  assert.deepEqual(readdirSync(stagingDir).filter((n) => n.startsWith(id)), []);
  assert.equal((await stage(t, id, 'staged again')).statusCode, 204);
  assert.equal((await importImage(t, id, { method: { name: 'glance-direct' } })).statusCode, 202);
  await waitForImage(t, id, (i) => i.status === 'active');
});

test('saving or uploading with no transfer record at all (crash before it was written) is reverted too', async () => {
  const saving = await readyImage();
  const uploading = await readyImage();
  await strand(saving, 'saving');
  await strand(uploading, 'uploading', { size: null });
  await t.recovery.sweepOnce();
  assert.equal((await show(t, saving)).json().status, 'queued');
  assert.equal((await show(t, uploading)).json().status, 'queued');
});

test('an import whose task ended without releasing the image: lock released, staged data kept, import again works', async () => {
  const id = await readyImage();
  assert.equal((await stage(t, id, 'abandoned data')).statusCode, 204);
  const taskId = crypto.randomUUID();
  const old = HOUR_AGO();
  await new SqlTaskRepository(t.database).create({ id: taskId, type: 'api_image_import', status: 'failure', owner: 'owner',
    imageId: id, requestId: null, userId: null, input: { image_id: id, import_req: { method: { name: 'glance-direct' } }, backend: ['file'] },
    result: null, message: 'Task abandoned after 5 attempts', expiresAt: null, createdAt: old, updatedAt: old, deleted: false, deletedAt: null });
  const staged = (await images().get(id))!;
  await strand(id, 'importing', { properties: { ...staged.properties, os_glance_import_task: taskId } });
  assert.equal((await importImage(t, id, { method: { name: 'glance-direct' } })).statusCode, 409, 'before: needs to be staged');
  await t.recovery.sweepOnce();
  const image = (await show(t, id)).json();
  assert.equal(image.status, 'uploading');
  assert.equal(image.os_glance_import_task, undefined);
  assert.match(image.os_glance_import_error, /^glance-direct: The import task ended \(failure\)/);
  assert.ok(existsSync(join(stagingDir, id)), 'staged data kept');
  assert.equal((await importImage(t, id, { method: { name: 'glance-direct' } })).statusCode, 202);
  const active = await waitForImage(t, id, (i) => i.status === 'active');
  assert.equal(active.size, 'abandoned data'.length);
});

test('a task failed after its last attempt reverts its import at once (worker onAbandon)', async () => {
  const id = await readyImage();
  assert.equal((await stage(t, id, 'crashing data')).statusCode, 204);
  const res = await importImage(t, id, { method: { name: 'web-download' } });
  assert.equal(res.statusCode, 409); // the image is uploading: web-download needs queued
  const taskId = crypto.randomUUID();
  const old = HOUR_AGO();
  await new SqlTaskRepository(t.database).create({ id: taskId, type: 'api_image_import', status: 'pending', owner: 'owner',
    imageId: id, requestId: null, userId: null, input: { image_id: id, import_req: { method: { name: 'glance-direct' } }, backend: ['file'] },
    result: null, message: '', expiresAt: null, createdAt: old, updatedAt: old, deleted: false, deletedAt: null });
  await t.database.db.updateTable('tasks').set({ status: 'processing', attempts: 5, lease_owner: 'gone:1:x',
    lease_expires_at: new Date(Date.now() - 1000) }).where('id', '=', taskId).execute();
  const staged = (await images().get(id))!;
  await strand(id, 'importing', { properties: { ...staged.properties, os_glance_import_task: taskId } });
  t.worker!.poke(taskId);
  const image = await waitForImage(t, id, (i) => i.os_glance_import_task === undefined);
  assert.equal(image.status, 'uploading');
  assert.match(String(image.os_glance_import_error), /Task abandoned after 5 attempts/);
  const until = Date.now() + 10_000;
  let task = await new SqlTaskRepository(t.database).get(taskId, new Date());
  while (task!.status === 'processing' && Date.now() < until) {
    await new Promise((r) => setTimeout(r, 50));
    task = await new SqlTaskRepository(t.database).get(taskId, new Date());
  }
  assert.equal(task!.status, 'failure');
});

test('deleting an image removes its staged data whatever its status', async () => {
  const id = await readyImage();
  writeFileSync(join(stagingDir, id), 'left over from an earlier failure');
  assert.equal((await show(t, id)).json().status, 'queued');
  const del = await t.app.inject({ method: 'DELETE', url: `/v2/images/${id}`, headers: ownerMember });
  assert.equal(del.statusCode, 204);
  assert.ok(!existsSync(join(stagingDir, id)));
});

test('the sweep removes staging data of images that are neither staged nor importing', async () => {
  const queued = await readyImage();
  const staged = await readyImage();
  assert.equal((await stage(t, staged, 'keep me')).statusCode, 204);
  const past = new Date(Date.now() - 3600_000);
  const { utimesSync } = await import('node:fs');
  const strays = [queued, `${queued}.0a0a0a0a0a0a0a0a.tmp`, crypto.randomUUID()];
  for (const name of strays) {
    writeFileSync(join(stagingDir, name), 'stray');
    utimesSync(join(stagingDir, name), past, past);
  }
  utimesSync(join(stagingDir, staged), past, past);
  const report = await t.recovery.sweepOnce();
  assert.ok(report.stagingRemoved >= 3, JSON.stringify(report));
  assert.deepEqual(readdirSync(stagingDir).filter((n) => strays.includes(n)), []);
  assert.ok(existsSync(join(stagingDir, staged)));
});
