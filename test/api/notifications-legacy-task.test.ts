// The legacy import task's (POST /v2/tasks, type import) image events as Glance's base_import flow
// sends them (docs/decisions/0031 item 8), read from the outbox (the broker is unreachable, so every
// notification stays there), with one file store named fast as in the recorded comparison:
// - its image.prepare names no backend (Glance calls set_data without one), where an
//   api_image_import's names the store;
// - the multi-store progress property os_glance_importing_to_stores is never set on its image
//   (an api_image_import's ends as an empty string).
// test/integration/notifications.test.ts compares the whole sequence with the reference Glance's.
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';

import { startTestApp, type TestApp } from '../helpers/app.ts';
import { outboxRows, unreachableBroker } from '../helpers/outbox.ts';
import { importImage, stage, waitForImage } from '../helpers/import.ts';
import { admin, json, ownerMember } from '../helpers/v2.ts';

describe('notifications of the legacy import task', () => {
  let t: TestApp;
  let source: Server;
  const data = Buffer.alloc(4096, 7);
  const outbox = (subject: string) => outboxRows(t.dir, subject)
    .map((r) => ({ type: `${r.event_type}:${r.priority}`, payload: r.body }));

  const storeDir = mkdtempSync(join(tmpdir(), 'glimpse-legacy-notify-'));
  before(async () => {
    source = createServer((_req, res) => res.end(data));
    await new Promise<void>((resolve) => source.listen(0, '127.0.0.1', resolve));
    t = await startTestApp({
      ...unreachableBroker,
      GLIMPSE_DEFAULT__ENABLED_BACKENDS: 'fast:file',
      GLIMPSE_GLANCE_STORE__DEFAULT_BACKEND: 'fast',
      GLIMPSE_FAST__FILESYSTEM_STORE_DATADIR: storeDir,
      GLIMPSE_IMPORT_FILTERING_OPTS__ALLOWED_HOSTS: '127.0.0.1',
      GLIMPSE_IMPORT_FILTERING_OPTS__ALLOWED_PORTS: String((source.address() as AddressInfo).port),
    });
  });
  after(async () => {
    await t.close();
    await new Promise((r) => source.close(r));
    rmSync(storeDir, { recursive: true, force: true });
  });

  test('image.prepare without backend, no os_glance_importing_to_stores; an api import\'s has both', async () => {
    const res = await t.app.inject({ method: 'POST', url: '/v2/tasks', headers: { ...admin, ...json }, payload: {
      type: 'import', input: { import_from: `http://127.0.0.1:${(source.address() as AddressInfo).port}/x`,
        import_from_format: 'raw', image_properties: { name: 'legacy', disk_format: 'raw', container_format: 'bare' } } } });
    assert.equal(res.statusCode, 201, res.body);
    const taskId = (res.json() as { id: string }).id;
    let task: Record<string, unknown> = {};
    for (let i = 0; i < 300 && task.status !== 'success' && task.status !== 'failure'; i++) {
      await new Promise((r) => setTimeout(r, 50));
      task = (await t.app.inject({ url: `/v2/tasks/${taskId}`, headers: { ...admin, ...json } })).json();
    }
    assert.equal(task.status, 'success', JSON.stringify(task));
    const legacyId = (task.result as { image_id: string }).image_id;
    const legacy = outbox(legacyId).filter((r) => r.type.startsWith('image.'));
    assert.deepEqual(legacy.map((r) => r.type), ['image.create:INFO', 'image.prepare:INFO', 'image.upload:INFO',
      'image.activate:INFO', 'image.update:INFO', 'image.update:INFO']);
    const prepare = legacy.find((r) => r.type === 'image.prepare:INFO')!.payload;
    assert.ok(!('backend' in prepare), JSON.stringify(prepare));
    assert.deepEqual(prepare.os_glance_importing_to_stores, []);
    for (const r of legacy) {
      assert.ok(!('os_glance_importing_to_stores' in (r.payload.properties as object)), `${r.type} ${JSON.stringify(r.payload)}`);
    }
    const shown = (await t.app.inject({ url: `/v2/images/${legacyId}`, headers: admin })).json() as Record<string, unknown>;
    assert.equal(shown.status, 'active');
    assert.ok(!('os_glance_importing_to_stores' in shown), JSON.stringify(shown));

    // The same store through the interoperable import: the store is named, the list ends empty.
    const created = await t.app.inject({ method: 'POST', url: '/v2/images', headers: { ...ownerMember, ...json },
      payload: { name: 'api import', disk_format: 'raw', container_format: 'bare' } });
    assert.equal(created.statusCode, 201, created.body);
    const id = (created.json() as { id: string }).id;
    assert.equal((await stage(t, id, data)).statusCode, 204);
    assert.equal((await importImage(t, id, { method: { name: 'glance-direct' } })).statusCode, 202);
    const done = await waitForImage(t, id, (image) => image.status !== 'importing');
    assert.equal(done.status, 'active');
    assert.equal(done.os_glance_importing_to_stores, '');
    assert.equal(outbox(id).find((r) => r.type === 'image.prepare:INFO')!.payload.backend, 'fast');
  });
});
