// The v1 API's notifications (docs/decisions/0031): the same event types as Glance v1 sent, image
// events carrying Glance v1's image dict (is_public, no visibility or tags, microsecond times
// without a zone), while v2 operations in the same process keep the v2 payload. The broker is
// unreachable, so every notification stays in the outbox, where the test reads it.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';

import { startTestApp, type TestApp } from '../helpers/app.ts';
import { outboxRows, unreachableBroker } from '../helpers/outbox.ts';
import { owner, v1Active, v1Update } from '../helpers/v1.ts';

const v1Keys = ['checksum', 'container_format', 'created_at', 'deleted', 'deleted_at', 'disk_format', 'id', 'is_public',
  'min_disk', 'min_ram', 'name', 'owner', 'properties', 'protected', 'size', 'status', 'updated_at', 'virtual_size'];
const v1Time = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}$/;

describe('v1 notifications', () => {
  let t: TestApp;
  const outbox = (subject: string) => outboxRows(t.dir, subject);

  before(async () => {
    t = await startTestApp({
      ...unreachableBroker,
      GLIMPSE_DEFAULT__ENABLE_V1_API: 'true',
    });
  });
  after(async () => { await t.close(); });

  test('create with data, update and delete send Glance v1\'s events with the v1 image dict', async () => {
    const image = await v1Active(t, 'hello', { 'x-image-meta-name': 'v1-notified', 'x-image-meta-property-colour': 'blue' });
    // v1's PUT replaces the properties (purge_props), so the property is sent again.
    const update = await v1Update(t, image.id, { 'x-image-meta-name': 'renamed', 'x-image-meta-property-colour': 'blue' });
    assert.equal(update.statusCode, 200, update.body);
    const removed = await t.app.inject({ method: 'DELETE', url: `/v1/images/${image.id}`, headers: owner });
    assert.equal(removed.statusCode, 200, removed.body);

    const rows = outbox(image.id);
    assert.deepEqual(rows.map((r) => r.event_type), ['image.create', 'image.update', 'image.prepare', 'image.upload',
      'image.activate', 'image.update', 'image.update', 'image.delete']);
    for (const row of rows) {
      assert.equal(row.priority, 'INFO');
      assert.deepEqual(Object.keys(row.body).sort(), v1Keys, row.event_type);
      assert.equal(row.body.is_public, false);
      assert.match(String(row.body.created_at), v1Time);
      assert.match(String(row.body.updated_at), v1Time);
      assert.equal(row.body.deleted, false);
      assert.equal(row.body.deleted_at, null);
      assert.deepEqual(row.body.properties, { colour: 'blue' }, `${row.event_type} ${JSON.stringify(row.body)}`);
    }
    const activated = rows.find((r) => r.event_type === 'image.activate')!.body;
    assert.equal(activated.status, 'active');
    assert.equal(activated.size, 5);
    assert.equal(activated.checksum, '5d41402abc4b2a76b9719d911017c592');
    assert.equal(rows.at(-2)!.body.name, 'renamed');
    // As in Glance v1: the image as its last update left it, before the row was marked deleted.
    const deleted = rows.at(-1)!.body;
    assert.ok(deleted.status === 'deleted' || deleted.status === 'pending_delete', String(deleted.status));
  });

  test('a v2 create in the same process keeps the v2 payload', async () => {
    const res = await t.app.inject({ method: 'POST', url: '/v2/images', headers: { ...owner, 'content-type': 'application/json' },
      payload: { name: 'v2-notified', disk_format: 'raw', container_format: 'bare' } });
    assert.equal(res.statusCode, 201, res.body);
    const [created] = outbox((res.json() as { id: string }).id);
    assert.equal(created?.event_type, 'image.create');
    assert.equal(created.body.visibility, 'shared');
    assert.deepEqual(created.body.tags, []);
    assert.match(String(created.body.created_at), /Z$/);
  });
});
