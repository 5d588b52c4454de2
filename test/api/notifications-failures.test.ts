// Notifications around failures and the scrubber (docs/decisions/0031), read from the outbox (the
// broker is unreachable, so every notification stays there):
// - an import whose store write fails (here: user_storage_quota is reached part way) sends ERROR image.upload with the reason as the payload, as
//   Glance's ImageProxy.set_data does for each store of an import;
// - the scrubber, which removes the data of delayed-delete images, sends nothing, as Glance's
//   scrubber (it works on the database directly, without the notifier).
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import Database from 'better-sqlite3';
import { pino } from 'pino';

import { runScrubber } from '../../src/main.ts';
import { startTestApp, type TestApp } from '../helpers/app.ts';
import { outboxRows, unreachableBroker } from '../helpers/outbox.ts';
import { importImage, stage, waitForImage } from '../helpers/import.ts';
import { createActive, ownerMember } from '../helpers/v2.ts';

describe('notifications of failures and of the scrubber', () => {
  let t: TestApp;
  const outbox = (subject: string) => outboxRows(t.dir, subject);

  before(async () => {
    t = await startTestApp({
      ...unreachableBroker,
      GLIMPSE_DEFAULT__DELAYED_DELETE: 'true',
      GLIMPSE_DEFAULT__USER_STORAGE_QUOTA: '20',
    });
  });
  after(async () => { await t.close(); });

  test('an import whose store write fails sends ERROR image.upload with the reason', async () => {
    const created = await t.app.inject({ method: 'POST', url: '/v2/images', headers: { ...ownerMember, 'content-type': 'application/json' },
      payload: { name: 'doomed import', disk_format: 'raw', container_format: 'bare' } });
    assert.equal(created.statusCode, 201, created.body);
    const id = (created.json() as { id: string }).id;
    // user_storage_quota is 20 bytes: 8 staged, then 10 uploaded to another image, so the import's
    // write into the store passes the quota part way and fails there, as Glance's does.
    assert.equal((await stage(t, id, '8 bytes!')).statusCode, 204);
    await createActive(t, '10 bytes!!');
    const res = await importImage(t, id, { method: { name: 'glance-direct' } });
    assert.equal(res.statusCode, 202, res.body);
    const done = await waitForImage(t, id, (image) => image.status !== 'importing');
    assert.match(String(done.os_glance_import_error), /quota/);
    const rows = outbox(id);
    const failed = rows.filter((r) => r.priority === 'ERROR');
    assert.equal(failed.length, 1, JSON.stringify(rows.map((r) => `${r.event_type} ${r.priority}`)));
    assert.equal(failed[0]!.event_type, 'image.upload');
    const reason = JSON.parse(failed[0]!.payload) as unknown;
    assert.equal(typeof reason, 'string');
    assert.match(String(reason), new RegExp(`^Failed to upload image data for image ${id} due to internal error: `));
    // It comes after the store's image.prepare, and no INFO image.upload claims success.
    const types = rows.map((r) => `${r.event_type}:${r.priority}`);
    assert.ok(types.indexOf('image.prepare:INFO') < types.indexOf('image.upload:ERROR'), types.join(' '));
    assert.ok(!types.includes('image.upload:INFO'), types.join(' '));
  });

  test('the scrubber removes a delayed-delete image\'s data and sends nothing, as Glance\'s scrubber', async () => {
    const image = await createActive(t, 'h');
    const res = await t.app.inject({ method: 'DELETE', url: `/v2/images/${image.id}`, headers: ownerMember });
    assert.equal(res.statusCode, 204, res.body);
    const before = outbox(image.id).map((r) => r.event_type);
    assert.equal(before.at(-1), 'image.delete');

    const code = await runScrubber({ ...t.config, scrubber: { ...t.config.scrubber, scrubTimeSeconds: 0 } }, pino({ level: 'silent' }));
    assert.equal(code, 0);
    const db = new Database(join(t.dir, 'glimpse.db'), { readonly: true });
    try {
      const row = db.prepare('SELECT status FROM images WHERE id = ?').get(image.id) as { status: string };
      assert.equal(row.status, 'deleted', 'the scrubber did its work');
    } finally {
      db.close();
    }
    assert.deepEqual(outbox(image.id).map((r) => r.event_type), before);
  });
});
