// A task worker killed mid copy-from (SIGKILL, no chance to release its lease): v1's
// x-glance-api-copy-from runs as a `v1_copy_from` task, so another worker process takes it over once
// the lease expires and finishes the copy. The first worker is stuck reading from a local server that
// sends half the data and stalls; the second gets it all. The tasks API never shows the task.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import type { Kysely } from 'kysely';
import type { TestApp } from '../helpers/app.ts';
import { startGlimpse } from '../helpers/processes.ts';
import { takeoverFixture, workerConf } from '../helpers/takeover.ts';
import { admin, v1Create, v1Head } from '../helpers/v1.ts';

const payload = Buffer.alloc(512 * 1024, 0x43);
const fixture = takeoverFixture(payload);

async function statusOf(t: TestApp, id: string): Promise<string> {
  return String((await v1Head(t, id, admin)).headers['x-image-meta-status']);
}

test('a worker killed while copying from a URL: another worker takes the copy over after the lease and finishes it', async () => {
  const [t, source, children] = [fixture.app(), fixture.source(), fixture.children];
  const first = await startGlimpse(t.dir, 'worker1', 'worker', workerConf(t.dir, source.port));
  children.push(first);
  const md5 = createHash('md5').update(payload).digest('hex');
  const res = await v1Create(t, { 'x-image-meta-disk_format': 'raw', 'x-image-meta-container_format': 'bare',
    'x-image-meta-name': 'copied', 'x-image-meta-checksum': md5, 'x-glance-api-copy-from': `http://127.0.0.1:${source.port}/disk` });
  assert.equal(res.statusCode, 201, res.body);
  const image = (res.json() as { image: { id: string; status: string } }).image;
  assert.equal(image.status, 'queued');

  // Wait until the first worker is mid-copy (the server has sent half and stalls).
  const until = Date.now() + 60000;
  while (source.stalled.length === 0 && Date.now() < until) await new Promise((r) => setTimeout(r, 50));
  assert.equal(source.stalled.length, 1, `the first worker started copying:\n${first.output()}`);
  const db = t.database.db as unknown as Kysely<{ tasks: { id: string; type: string; image_id: string; lease_owner: string | null;
    attempts: number; status: string } }>;
  const held = await db.selectFrom('tasks').selectAll().where('image_id', '=', image.id).executeTakeFirstOrThrow();
  assert.equal(held.type, 'v1_copy_from');
  assert.equal(held.status, 'processing');
  assert.match(String(held.lease_owner), new RegExp(`:${first.child.pid}:`), 'the first worker holds the lease');
  let saving = await statusOf(t, image.id);
  for (const end = Date.now() + 10000; saving === 'queued' && Date.now() < end; saving = await statusOf(t, image.id)) {
    await new Promise((r) => setTimeout(r, 50));
  }
  assert.equal(saving, 'saving', 'the first worker is writing the data');
  first.child.kill('SIGKILL');
  await first.exited;

  const second = await startGlimpse(t.dir, 'worker2', 'worker', workerConf(t.dir, source.port));
  children.push(second);
  let status = '';
  for (const end = Date.now() + 60000; Date.now() < end; await new Promise((r) => setTimeout(r, 100))) {
    status = await statusOf(t, image.id);
    if (status === 'active' || status === 'killed') break;
  }
  assert.equal(status, 'active', second.output());
  const head = await v1Head(t, image.id, admin);
  assert.equal(head.headers['x-image-meta-checksum'], md5);
  assert.equal(Number(head.headers['x-image-meta-size']), payload.length);
  const download = await t.app.inject({ url: `/v1/images/${image.id}`, headers: admin });
  assert.ok(download.rawPayload.equals(payload), 'the copied data is the source data');

  let row = await db.selectFrom('tasks').selectAll().where('id', '=', held.id).executeTakeFirstOrThrow();
  for (const end = Date.now() + 10000; row.status === 'processing' && Date.now() < end;) {
    await new Promise((r) => setTimeout(r, 100));
    row = await db.selectFrom('tasks').selectAll().where('id', '=', held.id).executeTakeFirstOrThrow();
  }
  assert.equal(row.status, 'success');
  assert.equal(Number(row.attempts), 2, 'claimed twice: once by each worker');
  assert.match(second.output(), /taking over a task whose worker stopped/);
  assert.equal(source.gets(), 2);

  // Internal: the tasks API shows neither the task nor a way to it.
  const listed = await t.app.inject({ url: '/v2/tasks', headers: admin });
  assert.equal(listed.statusCode, 200, listed.body);
  assert.ok(!listed.body.includes(held.id), listed.body);
  assert.equal((await t.app.inject({ url: `/v2/tasks/${held.id}`, headers: admin })).statusCode, 404);
  const imageTasks = await t.app.inject({ url: `/v2/images/${image.id}/tasks`, headers: admin });
  assert.equal(imageTasks.statusCode, 200, imageTasks.body);
  assert.deepEqual(imageTasks.json(), { tasks: [] });
});
