// A task worker killed mid-import (SIGKILL, no chance to release its lease): another worker process
// takes the task over once the lease expires and finishes the import. The first worker is stuck in a
// web-download from a local server that sends half the data and stalls; the second gets it all.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import type { Kysely } from 'kysely';
import { createImage } from '../helpers/v2.ts';
import { importImage, waitForImage, waitForTasks } from '../helpers/import.ts';
import { startGlimpse } from '../helpers/processes.ts';
import { takeoverFixture, workerConf } from '../helpers/takeover.ts';

const payload = Buffer.alloc(512 * 1024, 0x42);
const fixture = takeoverFixture(payload);

test('a worker killed while importing: another worker takes the task over after the lease and finishes it', async () => {
  const [t, source, children] = [fixture.app(), fixture.source(), fixture.children];
  const first = await startGlimpse(t.dir, 'worker1', 'worker', workerConf(t.dir, source.port));
  children.push(first);
  const image = await createImage(t, { disk_format: 'raw', container_format: 'bare' });
  const res = await importImage(t, image.id, { method: { name: 'web-download', uri: `http://127.0.0.1:${source.port}/disk` } });
  assert.equal(res.statusCode, 202, res.body);

  // Wait until the first worker is mid-download (the server has sent half and stalls).
  const until = Date.now() + 60000;
  while (source.stalled.length === 0 && Date.now() < until) await new Promise((r) => setTimeout(r, 50));
  assert.equal(source.stalled.length, 1, `the first worker started downloading:\n${first.output()}`);
  const db = t.database.db as unknown as Kysely<{ tasks: { id: string; lease_owner: string | null; attempts: number; status: string } }>;
  const held = await db.selectFrom('tasks').selectAll().where('status', '=', 'processing').executeTakeFirstOrThrow();
  assert.match(String(held.lease_owner), new RegExp(`:${first.child.pid}:`), 'the first worker holds the lease');
  first.child.kill('SIGKILL');
  await first.exited;

  const second = await startGlimpse(t.dir, 'worker2', 'worker', workerConf(t.dir, source.port));
  children.push(second);
  const active = await waitForImage(t, image.id, (i) => i.status === 'active' || i.status === 'queued', 60000);
  assert.equal(active.status, 'active', JSON.stringify(active));
  assert.equal(active.checksum, createHash('md5').update(payload).digest('hex'));
  const [task] = await waitForTasks(t, image.id);
  assert.equal(task!.status, 'success');
  const row = await db.selectFrom('tasks').selectAll().where('id', '=', String(task!.id)).executeTakeFirstOrThrow();
  assert.equal(Number(row.attempts), 2, 'claimed twice: once by each worker');
  assert.match(second.output(), /taking over a task whose worker stopped/);
  assert.equal(source.gets(), 2);
});
