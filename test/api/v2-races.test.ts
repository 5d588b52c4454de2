// Concurrency: compare-and-set keeps racing requests from losing or corrupting data.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { startTestApp, type TestApp } from '../helpers/app.ts';
import { createImage, json, octet, ownerMember, patchImage, show } from '../helpers/v2.ts';

let t: TestApp;
before(async () => { t = await startTestApp(); });
after(async () => { await t.close(); });

test('two concurrent uploads to one image: exactly one 204, the other 409, stored data intact', async () => {
  for (let round = 0; round < 5; round++) {
    const image = await createImage(t, { disk_format: 'raw', container_format: 'bare' });
    const a = Buffer.alloc(256 * 1024, 'a');
    const b = Buffer.alloc(256 * 1024, 'b');
    const [ra, rb] = await Promise.all([a, b].map((payload) => t.app.inject({ method: 'PUT',
      url: `/v2/images/${image.id}/file`, headers: { ...ownerMember, ...octet, ...json }, payload })));
    assert.deepEqual([ra!.statusCode, rb!.statusCode].sort(), [204, 409]);
    const winner = ra!.statusCode === 204 ? a : b;
    const shown = (await show(t, image.id)).json();
    assert.equal(shown.checksum, createHash('md5').update(winner).digest('hex'));
    const data = await t.app.inject({ url: `/v2/images/${image.id}/file`, headers: ownerMember });
    assert.ok(data.rawPayload.equals(winner));
  }
});

test('an upload racing a delete: 410 and no file left behind', async () => {
  const image = await createImage(t, { disk_format: 'raw', container_format: 'bare' });
  const body = new PassThrough();
  const upload = t.app.inject({ method: 'PUT', url: `/v2/images/${image.id}/file`,
    headers: { ...ownerMember, ...octet, ...json, 'transfer-encoding': 'chunked' }, payload: body });
  body.write(Buffer.alloc(64 * 1024, 1));
  // Wait until the upload has claimed the image (status saving), then delete it.
  for (let i = 0; i < 200 && (await show(t, image.id)).json().status !== 'saving'; i++) {
    await new Promise((r) => setTimeout(r, 5));
  }
  assert.equal((await show(t, image.id)).json().status, 'saving');
  assert.equal((await t.app.inject({ method: 'DELETE', url: `/v2/images/${image.id}`, headers: ownerMember })).statusCode, 204);
  body.end(Buffer.alloc(64 * 1024, 2));
  const res = await upload;
  assert.equal(res.statusCode, 410);
  assert.match(res.json().message, /could not be found after upload/);
  const leftovers = readdirSync(join(t.dir, 'images')).filter((f) => f.startsWith(image.id));
  assert.deepEqual(leftovers, []);
});

test('concurrent PATCHes of different properties: both changes are kept', async () => {
  const image = await createImage(t);
  const results = await Promise.all(Array.from({ length: 10 }, (_, i) =>
    patchImage(t, image.id, [{ op: 'add', path: `/key${i}`, value: `v${i}` }])));
  assert.deepEqual(results.map((r) => r.statusCode), Array(10).fill(200));
  const shown = (await show(t, image.id)).json();
  for (let i = 0; i < 10; i++) assert.equal(shown[`key${i}`], `v${i}`);
});
