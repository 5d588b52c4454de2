// Import across nodes: real `glimpse serve` processes on one PostgreSQL database, one shared staging
// directory and one shared store. The stage request goes to one process, the import request to
// another; the process that staged runs no task worker, so the import is done by a node that never
// saw the upload — it reads the staged data from the shared staging directory.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { privatePostgresSchema } from '../helpers/postgres-schema.ts';
import { freePort, startGlimpse, trusted, waitForOutput, type Child } from '../helpers/processes.ts';

const pgUrl = process.env.GLIMPSE_TEST_POSTGRES_URL;
const owner = trusted('p1');
const jsonHeaders = { ...owner, 'content-type': 'application/json' };

if (!pgUrl) {
  test('glance-direct: stage on one process, import on another (PostgreSQL)', { skip: 'GLIMPSE_TEST_POSTGRES_URL not set' }, () => {});
} else {
  let dir: string;
  let db: Awaited<ReturnType<typeof privatePostgresSchema>>;
  let a: Child;
  let b: Child;
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'glimpse-nodes-'));
    db = await privatePostgresSchema(pgUrl);
    const conf = (port: number, worker: boolean) => [
      '[DEFAULT]', `bind_port = ${port}`, `worker_self_reference_url = http://127.0.0.1:${port}`,
      '[database]', `connection = ${db.url}`,
      '[glance_store]', `filesystem_store_datadir = ${join(dir, 'images')}`,
      '[os_glance_staging_store]', `filesystem_store_datadir = ${join(dir, 'staging')}`,
      '[paste_deploy]', 'flavor = trusted-auth',
      '[task]', `run_worker_in_api = ${worker}`, 'poll_interval = 0.2',
    ].join('\n');
    a = await startGlimpse(dir, 'a', 'serve', conf(await freePort(), false));
    b = await startGlimpse(dir, 'b', 'serve', conf(await freePort(), true));
  });
  after(async () => {
    await a?.stop();
    await b?.stop();
    await db?.drop();
    rmSync(dir, { recursive: true, force: true });
  });

  test('glance-direct: stage on one process, import on another (PostgreSQL)', async () => {
    const data = Buffer.alloc(3 * 1024 * 1024 + 17, 'z');
    const created = await fetch(`${a.url}/v2/images`, { method: 'POST', headers: jsonHeaders,
      body: JSON.stringify({ name: 'cross-node', disk_format: 'raw', container_format: 'bare' }) });
    assert.equal(created.status, 201);
    const { id } = await created.json() as { id: string };
    const staged = await fetch(`${a.url}/v2/images/${id}/stage`, { method: 'PUT',
      headers: { ...owner, 'content-type': 'application/octet-stream' }, body: data });
    assert.equal(staged.status, 204, await staged.text());
    const onB = await (await fetch(`${b.url}/v2/images/${id}`, { headers: owner })).json() as Record<string, unknown>;
    assert.equal(onB.status, 'uploading');
    assert.equal(onB.os_glance_stage_host, undefined, 'the stage host is bookkeeping, hidden from clients');
    const imported = await fetch(`${b.url}/v2/images/${id}/import`, { method: 'POST', headers: jsonHeaders,
      body: JSON.stringify({ method: { name: 'glance-direct' } }) });
    assert.equal(imported.status, 202, await imported.text());
    let image: Record<string, unknown> = {};
    const until = Date.now() + 60000;
    while (Date.now() < until) {
      image = await (await fetch(`${a.url}/v2/images/${id}`, { headers: owner })).json() as Record<string, unknown>;
      if (image.status === 'active' || image.status === 'queued') break;
      await new Promise((r) => setTimeout(r, 100));
    }
    assert.equal(image.status, 'active', JSON.stringify(image));
    assert.equal(image.checksum, createHash('md5').update(data).digest('hex'));
    const download = await fetch(`${a.url}/v2/images/${id}/file`, { headers: owner });
    assert.equal(createHash('md5').update(Buffer.from(await download.arrayBuffer())).digest('hex'), image.checksum);
    // The image turns active before the worker records the task's end and logs it.
    assert.match(await waitForOutput(b, /"msg":"task finished"/), /"msg":"task finished"/, 'the importing node ran the task');
    assert.doesNotMatch(a.output(), /task finished/, 'the staging node ran no task');
  });
}
