// Upload-time disk format inspection through the API: safety checks always, the declared
// format match when require_image_format_match is on, virtual_size from the format header.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { startTestApp, type TestApp } from '../helpers/app.ts';
import { createImage, json, octet, ownerMember, show } from '../helpers/v2.ts';
import { qcow2, vmdkDescriptor } from '../unit/formats-images.ts';

let t: TestApp;
let lax: TestApp;
before(async () => {
  t = await startTestApp();
  lax = await startTestApp({ GLIMPSE_IMAGE_FORMAT__REQUIRE_IMAGE_FORMAT_MATCH: 'false' });
});
after(async () => { await t.close(); await lax.close(); });

async function upload(app: TestApp, diskFormat: string, data: Buffer, containerFormat = 'bare') {
  const image = await createImage(app, { disk_format: diskFormat, container_format: containerFormat });
  const res = await app.app.inject({ method: 'PUT', url: `/v2/images/${image.id}/file`,
    headers: { ...ownerMember, ...octet, ...json }, payload: data });
  return { id: image.id, res };
}

test('a qcow2 with a backing file is refused (415) whatever it is declared as; nothing is stored', async () => {
  const attack = qcow2({ backingFile: '/etc/passwd' });
  for (const declared of ['qcow2', 'raw']) {
    const { id, res } = await upload(t, declared, attack);
    assert.equal(res.statusCode, 415, declared);
    assert.match(res.json().message, /Image failed safety checks: backing_file/);
    assert.equal((await show(t, id)).json().status, 'queued');
    assert.ok(!readdirSync(join(t.dir, 'images')).some((f) => f.startsWith(id)));
  }
});

test('a VMDK descriptor pointing at a host file is refused', async () => {
  const descriptor = Buffer.from(vmdkDescriptor('monolithicFlat', ['RW 1 FLAT "/etc/passwd" 0']));
  const { res } = await upload(t, 'vmdk', descriptor);
  assert.equal(res.statusCode, 415);
});

test('a clean qcow2 gets its virtual size from the header', async () => {
  const image = qcow2({ size: 10n * 1024n * 1024n * 1024n });
  const { id, res } = await upload(t, 'qcow2', image);
  assert.equal(res.statusCode, 204);
  assert.equal((await show(t, id)).json().virtual_size, 10 * 1024 * 1024 * 1024);
});

test('declared format mismatch: 415 by default (require_image_format_match = true), accepted when it is off', async () => {
  const random = Buffer.alloc(4096, 7);
  assert.equal((await upload(lax, 'qcow2', random)).res.statusCode, 204);
  const refused = await upload(t, 'qcow2', random);
  assert.equal(refused.res.statusCode, 415);
  assert.match(refused.res.json().message, /does not match the data, which is raw/);
  assert.equal((await upload(t, 'raw', qcow2())).res.statusCode, 415, 'a qcow2 is not raw (decision 0008)');
  assert.equal((await upload(lax, 'raw', qcow2())).res.statusCode, 204, 'without the match rule, a safe qcow2 may be declared raw');
  assert.equal((await upload(t, 'qcow2', random, 'ova')).res.statusCode, 204, 'only bare images are inspected');
});
