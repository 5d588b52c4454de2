// A task worker killed mid-import (SIGKILL, no chance to release its lease): another worker process
// takes the task over once the lease expires and finishes the import. The first worker is stuck in a
// web-download from a local server that sends half the data and stalls; the second gets it all.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { createServer, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import type { Kysely } from 'kysely';
import { startTestApp, type TestApp } from '../helpers/app.ts';
import { createImage } from '../helpers/v2.ts';
import { importImage, waitForImage, waitForTasks } from '../helpers/import.ts';
import { startGlimpse, type Child } from '../helpers/processes.ts';

const payload = Buffer.alloc(512 * 1024, 0x42);
let server: Server;
let port: number;
let requests = 0;
const stalled: ServerResponse[] = [];
let t: TestApp;
const children: Child[] = [];

before(async () => {
  server = createServer((_req, res) => {
    requests++;
    res.writeHead(200, { 'content-length': payload.length });
    if (requests === 1) {
      res.write(payload.subarray(0, payload.length / 2)); // …and never the rest
      stalled.push(res);
    } else {
      res.end(payload);
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  port = (server.address() as AddressInfo).port;
  // The API runs no worker: only the child processes do.
  t = await startTestApp({
    GLIMPSE_TASK__RUN_WORKER_IN_API: 'false',
    GLIMPSE_IMPORT_FILTERING_OPTS__ALLOWED_HOSTS: '127.0.0.1',
    GLIMPSE_IMPORT_FILTERING_OPTS__ALLOWED_PORTS: String(port),
  });
});
after(async () => {
  for (const child of children) await child.stop('SIGKILL');
  for (const res of stalled) res.destroy();
  server.close();
  await t.close();
});

function workerConf(): string {
  return [
    '[database]', `connection = sqlite:///${join(t.dir, 'glimpse.db')}`,
    '[glance_store]', `filesystem_store_datadir = ${join(t.dir, 'images')}`,
    '[os_glance_staging_store]', `filesystem_store_datadir = ${join(t.dir, 'staging')}`,
    '[import_filtering_opts]', 'allowed_hosts = 127.0.0.1', `allowed_ports = ${port}`, 'read_timeout = 600',
    '[task]', 'lease_duration = 3', 'poll_interval = 0.2',
  ].join('\n');
}

test('a worker killed while importing: another worker takes the task over after the lease and finishes it', async () => {
  const first = await startGlimpse(t.dir, 'worker1', 'worker', workerConf());
  children.push(first);
  const image = await createImage(t, { disk_format: 'raw', container_format: 'bare' });
  const res = await importImage(t, image.id, { method: { name: 'web-download', uri: `http://127.0.0.1:${port}/disk` } });
  assert.equal(res.statusCode, 202, res.body);

  // Wait until the first worker is mid-download (the server has sent half and stalls).
  const until = Date.now() + 60000;
  while (stalled.length === 0 && Date.now() < until) await new Promise((r) => setTimeout(r, 50));
  assert.equal(stalled.length, 1, `the first worker started downloading:\n${first.output()}`);
  const db = t.database.db as unknown as Kysely<{ tasks: { id: string; lease_owner: string | null; attempts: number; status: string } }>;
  const held = await db.selectFrom('tasks').selectAll().where('status', '=', 'processing').executeTakeFirstOrThrow();
  assert.match(String(held.lease_owner), new RegExp(`:${first.child.pid}:`), 'the first worker holds the lease');
  first.child.kill('SIGKILL');
  await first.exited;

  const second = await startGlimpse(t.dir, 'worker2', 'worker', workerConf());
  children.push(second);
  const active = await waitForImage(t, image.id, (i) => i.status === 'active' || i.status === 'queued', 60000);
  assert.equal(active.status, 'active', JSON.stringify(active));
  assert.equal(active.checksum, createHash('md5').update(payload).digest('hex'));
  const [task] = await waitForTasks(t, image.id);
  assert.equal(task!.status, 'success');
  const row = await db.selectFrom('tasks').selectAll().where('id', '=', String(task!.id)).executeTakeFirstOrThrow();
  assert.equal(Number(row.attempts), 2, 'claimed twice: once by each worker');
  assert.match(second.output(), /taking over a task whose worker stopped/);
  assert.equal(requests, 2);
});
