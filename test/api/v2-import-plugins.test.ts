// Import plugins through the API: glance-direct imports with image_import_plugins set really
// decompress, convert (the real qemu-img) and inject properties; a converted image's size, hashes
// and virtual size describe the converted data; a refused conversion says why and leaves nothing.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { gzipSync } from 'node:zlib';

import { startTestApp, type TestApp } from '../helpers/app.ts';
import { importImage, stage, waitForImage, waitForTasks } from '../helpers/import.ts';
import { admin, createImage, ownerMember } from '../helpers/v2.ts';
import { qcow2 } from '../unit/formats-images.ts';
import { NO_QEMU_IMG } from '../unit/import-plugins-helpers.ts';

const MiB = 1024 * 1024;

/** A 4 MiB guest disk with some content, and the same disk as qcow2 (made by qemu-img). */
function disks(t: TestApp, guest = Buffer.alloc(4 * MiB)): { raw: Buffer; qcow2: Buffer } {
  if (guest.readUInt32BE(0) !== 0x514649fb) guest.write('Glimpse guest disk', 512);
  const raw = join(t.dir, `guest-${Math.random().toString(36).slice(2)}.raw`);
  writeFileSync(raw, guest);
  execFileSync('qemu-img', ['convert', '-f', 'raw', '-O', 'qcow2', raw, `${raw}.qcow2`]);
  return { raw: guest, qcow2: readFileSync(`${raw}.qcow2`) };
}

const digest = (algorithm: string, data: Buffer) => createHash(algorithm).update(data).digest('hex');

async function importStaged(t: TestApp, data: Buffer, body: Record<string, unknown>, headers = ownerMember) {
  const image = await createImage(t, { container_format: 'bare', ...body }, headers);
  assert.equal((await stage(t, image.id, data, headers)).statusCode, 204);
  const res = await importImage(t, image.id, { method: { name: 'glance-direct' } }, headers);
  assert.equal(res.statusCode, 202, res.body);
  const [task] = await waitForTasks(t, image.id, 30_000);
  return { id: image.id as string, task: task! };
}

describe('import plugins (glance-direct)', { skip: NO_QEMU_IMG }, () => {
  let t: TestApp;
  before(async () => {
    t = await startTestApp({
      GLIMPSE_IMAGE_IMPORT_OPTS__IMAGE_IMPORT_PLUGINS: '[image_decompression, image_conversion, inject_image_metadata]',
      GLIMPSE_INJECT_METADATA_PROPERTIES__INJECT: 'hw_vif_model:virtio, os_glance_sneaky:x',
    });
  });
  after(async () => { await t?.close(); });

  test('image_conversion: a qcow2 becomes raw; size, checksum, os_hash and virtual_size describe the raw data', async () => {
    const { raw, qcow2: data } = disks(t);
    const { id, task } = await importStaged(t, data, { disk_format: 'qcow2' });
    assert.equal(task.status, 'success', String(task.message));
    const image = await waitForImage(t, id, (i) => i.status === 'active');
    assert.equal(image.disk_format, 'raw');
    assert.equal(image.container_format, 'bare');
    assert.equal(image.size, raw.length);
    assert.equal(image.virtual_size, raw.length);
    assert.equal(image.checksum, digest('md5', raw));
    assert.equal(image.os_hash_value, digest('sha512', raw));
    const file = await t.app.inject({ url: `/v2/images/${id}/file`, headers: ownerMember });
    assert.equal(digest('sha256', file.rawPayload), digest('sha256', raw));
    assert.deepEqual(readdirSync(t.config.imageImport.stagingDir), [], 'staged data and work files are gone');
  });

  test('image_decompression then image_conversion: a gzip\'ed qcow2 declared qcow2 is imported as raw', async () => {
    const { raw, qcow2: data } = disks(t);
    const { id, task } = await importStaged(t, gzipSync(data), { disk_format: 'qcow2' });
    assert.equal(task.status, 'success', String(task.message));
    const image = await waitForImage(t, id, (i) => i.status === 'active');
    assert.equal(image.disk_format, 'raw');
    assert.equal(image.checksum, digest('md5', raw));
  });

  test('inject_image_metadata: set for a member, os_glance keys dropped; an admin\'s import is left alone', async () => {
    const { qcow2: data } = disks(t);
    const member = await importStaged(t, data, { disk_format: 'qcow2' });
    const injected = await waitForImage(t, member.id, (i) => i.status === 'active');
    assert.equal(injected.hw_vif_model, 'virtio');
    assert.equal(injected.os_glance_sneaky, undefined);
    const byAdmin = await importStaged(t, data, { disk_format: 'qcow2' }, admin);
    const plain = await waitForImage(t, byAdmin.id, (i) => i.status === 'active', 15_000, admin);
    assert.equal(plain.hw_vif_model, undefined);
  });

  test('a guest disk hiding a qcow2 with a backing file: refused after conversion, the owner sees why', async () => {
    const nested = Buffer.alloc(4 * MiB);
    qcow2({ backingFile: '/etc/shadow' }).copy(nested);
    const { qcow2: data } = disks(t, nested);
    const { id, task } = await importStaged(t, data, { disk_format: 'qcow2' });
    assert.equal(task.status, 'failure');
    assert.match(String(task.message), /disallowed configuration/);
    const image = await waitForImage(t, id, (i) => i.status === 'queued');
    assert.match(String(image.os_glance_import_error), /Image has disallowed configuration/);
    assert.equal(image.disk_format, 'qcow2');
    assert.deepEqual(readdirSync(t.config.imageImport.stagingDir).filter((f) => f.startsWith('.')), [], 'no work files left');
  });

  test('what decompression yields gets the safety checks before the next plugin sees it', async () => {
    const { id, task } = await importStaged(t, gzipSync(qcow2({ backingFile: '/etc/passwd' })), { disk_format: 'qcow2' });
    assert.equal(task.status, 'failure');
    assert.match(String(task.message), /failed safety checks: backing_file/);
    await waitForImage(t, id, (i) => i.status === 'queued');
  });

  test('data that is not the declared format is refused before qemu-img runs', async () => {
    const { raw } = disks(t);
    const { id, task } = await importStaged(t, raw, { disk_format: 'qcow2' });
    assert.equal(task.status, 'failure');
    assert.match(String(task.message), /does not match the data/);
    await waitForImage(t, id, (i) => i.status === 'queued');
  });
});

describe('image_import_plugins = image_conversion (output qcow2)', { skip: NO_QEMU_IMG }, () => {
  let t: TestApp;
  before(async () => {
    t = await startTestApp({
      GLIMPSE_IMAGE_IMPORT_OPTS__IMAGE_IMPORT_PLUGINS: 'image_conversion',
      GLIMPSE_IMAGE_CONVERSION__OUTPUT_FORMAT: 'qcow2',
    });
  });
  after(async () => { await t?.close(); });

  test('a raw image is stored as qcow2; the hashes are those of the stored qcow2 bytes', async () => {
    const { raw } = disks(t);
    const { id, task } = await importStaged(t, raw, { disk_format: 'raw', container_format: 'ovf' });
    assert.equal(task.status, 'success', String(task.message));
    const image = await waitForImage(t, id, (i) => i.status === 'active');
    assert.equal(image.disk_format, 'qcow2');
    assert.equal(image.container_format, 'bare');
    assert.equal(image.virtual_size, raw.length);
    const file = (await t.app.inject({ url: `/v2/images/${id}/file`, headers: ownerMember })).rawPayload;
    assert.equal(file.readUInt32BE(0), 0x514649fb, 'QFI\\xfb');
    assert.equal(image.size, file.length);
    assert.equal(image.checksum, digest('md5', file));
    assert.equal(image.os_hash_value, digest('sha512', file));
    assert.ok(file.length < raw.length);
  });

  test('without image_decompression, staging still checks the declared format (415)', async () => {
    const { raw } = disks(t);
    const image = await createImage(t, { disk_format: 'qcow2', container_format: 'bare' });
    assert.equal((await stage(t, image.id, raw)).statusCode, 415);
  });
});

describe('web-download with image_decompression and image_conversion', { skip: NO_QEMU_IMG }, () => {
  let t: TestApp;
  let server: Server;
  let body = Buffer.alloc(0);
  before(async () => {
    server = createServer((_req, res) => { res.writeHead(200, { 'content-length': body.length }); res.end(body); });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    t = await startTestApp({
      GLIMPSE_IMAGE_IMPORT_OPTS__IMAGE_IMPORT_PLUGINS: '[image_decompression, image_conversion]',
      GLIMPSE_IMPORT_FILTERING_OPTS__ALLOWED_HOSTS: '127.0.0.1',
      GLIMPSE_IMPORT_FILTERING_OPTS__ALLOWED_PORTS: String((server.address() as AddressInfo).port),
    });
  });
  after(async () => { await t?.close(); server?.close(); });

  test('a downloaded gzip\'ed qcow2 is decompressed, converted and stored as raw', async () => {
    const { raw, qcow2: data } = disks(t);
    body = gzipSync(data);
    const image = await createImage(t, { disk_format: 'qcow2', container_format: 'bare' });
    const uri = `http://127.0.0.1:${(server.address() as AddressInfo).port}/disk.qcow2.gz`;
    const res = await importImage(t, image.id, { method: { name: 'web-download', uri } });
    assert.equal(res.statusCode, 202, res.body);
    const [task] = await waitForTasks(t, image.id, 30_000);
    assert.equal(task!.status, 'success', String(task!.message));
    const active = await waitForImage(t, image.id, (i) => i.status === 'active');
    assert.equal(active.disk_format, 'raw');
    assert.equal(active.size, raw.length);
    assert.equal(active.checksum, digest('md5', raw));
  });
});
