// A task worker killed while it reads the data of a location added through POST
// /v2/images/{id}/locations (SIGKILL, no chance to release its lease): the `location_import` task
// is taken over by another worker process once the lease expires, which reads the data again and
// activates the image with the data's hashes (decision 0026). Until then the image stays
// `importing`, never `active`. The first worker is stuck on a local server that sends half the data
// and stalls; the second gets it all.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import type { TestApp } from '../helpers/app.ts';
import { waitForImage, waitForTasks } from '../helpers/import.ts';
import { startGlimpse } from '../helpers/processes.ts';
import { takeoverFixture, workerConf, type StallingSource } from '../helpers/takeover.ts';
import { createImage, json, ownerMember, show } from '../helpers/v2.ts';

const payload = Buffer.alloc(512 * 1024, 0x4c);
const fixture = takeoverFixture(payload, { GLIMPSE_GLANCE_STORE__STORES: 'file, http' });

/** The worker children's config: the test app's database and stores, plus the http store. */
function conf(t: TestApp, source: StallingSource): string {
  return workerConf(t.dir, source.port).replace('[glance_store]', '[glance_store]\nstores = file, http');
}

test('a worker killed while reading a new location: another worker takes the location_import task over and activates the image', async () => {
  const [t, source, children] = [fixture.app(), fixture.source(), fixture.children];
  const first = await startGlimpse(t.dir, 'worker1', 'worker', conf(t, source));
  children.push(first);
  const sha512 = createHash('sha512').update(payload).digest('hex');
  const image = await createImage(t, { disk_format: 'raw', container_format: 'bare' });
  const res = await t.app.inject({ method: 'POST', url: `/v2/images/${image.id}/locations`, headers: { ...ownerMember, ...json },
    payload: { url: `http://127.0.0.1:${source.port}/disk`, validation_data: { os_hash_algo: 'sha512', os_hash_value: sha512 } } });
  assert.equal(res.statusCode, 202, res.body);

  const until = Date.now() + 60000;
  while (source.stalled.length === 0 && Date.now() < until) await new Promise((r) => setTimeout(r, 50));
  assert.equal(source.stalled.length, 1, `the first worker started reading:\n${first.output()}`);
  assert.equal((await show(t, image.id)).json().status, 'importing');
  first.child.kill('SIGKILL');
  await first.exited;
  assert.equal((await show(t, image.id)).json().status, 'importing', 'a dead reader leaves the image importing, not active');

  const second = await startGlimpse(t.dir, 'worker2', 'worker', conf(t, source));
  children.push(second);
  const active = await waitForImage(t, image.id, (i) => i.status === 'active' || i.status === 'queued', 60000);
  assert.equal(active.status, 'active', second.output());
  assert.equal(active.os_hash_value, sha512);
  assert.equal(active.checksum, createHash('md5').update(payload).digest('hex'));
  assert.equal(active.size, payload.length);
  const [task] = await waitForTasks(t, image.id);
  assert.ok(task);
  assert.equal(task.type, 'location_import');
  assert.equal(task.status, 'success', JSON.stringify(task));
  assert.match(second.output(), /taking over a task whose worker stopped/);
  assert.equal(source.gets(), 2);
});
