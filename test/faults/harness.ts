// Fault injection: real `glimpse serve` processes (test/helpers/processes.ts) killed with SIGKILL
// at random moments (seeded) during uploads, stages and web-download imports; then the invariants
// of decision 0015 are checked against the database and the shared stores.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { request, createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sql } from 'kysely';
import { openDatabase, type Database } from '../../src/db/connect.ts';
import { freePort, startGlimpse, trusted, type Child } from '../helpers/processes.ts';
import { prng } from '../helpers/prng.ts';

export { prng };

const owner = trusted('faults');
const CHUNK = 64 * 1024;

export type Kind = 'upload' | 'stage' | 'import';

export interface Transfer {
  id: string;
  kind: Kind;
  data: Buffer;
  node: string;
  outcome?: number | string;
}


const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A web server that sends each registered body slowly (web-download sources). */
export async function slowServer(): Promise<{ port: number; add(id: string, data: Buffer): string; close(): void }> {
  const bodies = new Map<string, Buffer>();
  const server: Server = createServer((req, res) => {
    const data = bodies.get((req.url ?? '').slice(1));
    if (!data) return void res.writeHead(404).end();
    res.writeHead(200, { 'content-length': data.length, 'content-type': 'application/octet-stream' });
    let offset = 0;
    const next = () => {
      if (res.destroyed) return;
      if (offset >= data.length) return void res.end();
      res.write(data.subarray(offset, offset + CHUNK));
      offset += CHUNK;
      setTimeout(next, 15);
    };
    next();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return { port, add: (id, data) => { bodies.set(id, data); return `http://127.0.0.1:${port}/${id}`; },
    close: () => { server.closeAllConnections(); server.close(); } };
}

type ImageJson = Record<string, unknown> & { id: string; status: string; checksum: string | null };

async function api(base: string, method: string, path: string, body?: unknown): Promise<{ status: number; json: ImageJson }> {
  const res = await fetch(`${base}${path}`, { method, headers: { ...owner, 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body) });
  const text = await res.text();
  const json = text ? (() => { try { return JSON.parse(text) as unknown; } catch { return text; } })() : undefined;
  return { status: res.status, json: json as ImageJson };
}

/** PUT of `data` in 64 KiB pieces with short gaps, so that a kill lands in the middle; the status, or the error. */
export function slowPut(base: string, path: string, data: Buffer): Promise<number | string> {
  return new Promise((resolve) => {
    const url = new URL(`${base}${path}`);
    const req = request({ host: url.hostname, port: url.port, path: url.pathname, method: 'PUT',
      headers: { ...owner, 'content-type': 'application/octet-stream', 'content-length': data.length } }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
      res.on('error', (e) => resolve(String(e)));
    });
    req.on('error', (e) => resolve(e.message));
    let offset = 0;
    const next = () => {
      if (req.destroyed) return;
      if (offset >= data.length) return void req.end();
      req.write(data.subarray(offset, offset + CHUNK));
      offset += CHUNK;
      setTimeout(next, 10);
    };
    next();
  });
}

export interface Cluster {
  dir: string;
  databaseUrl: string;
  nodes: Map<string, Child>;
  confs: Map<string, string>;
  web: Awaited<ReturnType<typeof slowServer>>;
  db: Database;
  close(): Promise<void>;
}

export async function startCluster(databaseUrl: string, names: string[]): Promise<Cluster> {
  const dir = mkdtempSync(join(tmpdir(), 'glimpse-faults-'));
  const web = await slowServer();
  const nodes = new Map<string, Child>();
  const confs = new Map<string, string>();
  for (const name of names) {
    const conf = [
      '[DEFAULT]', `bind_port = ${await freePort()}`,
      '[database]', `connection = ${databaseUrl}`,
      '[glance_store]', `filesystem_store_datadir = ${join(dir, 'images')}`,
      '[os_glance_staging_store]', `filesystem_store_datadir = ${join(dir, 'staging')}`,
      '[paste_deploy]', 'flavor = trusted-auth',
      '[import_filtering_opts]', 'allowed_hosts = 127.0.0.1', `allowed_ports = ${web.port}`,
      '[task]', 'lease_duration = 2', 'poll_interval = 0.2', 'recovery_interval = 0.5',
    ].join('\n');
    confs.set(name, conf);
    nodes.set(name, await startGlimpse(dir, name, 'serve', conf));
  }
  const db = await openDatabase(databaseUrl);
  return {
    dir, databaseUrl, nodes, confs, web, db,
    async close() {
      for (const node of nodes.values()) await node.stop('SIGKILL');
      web.close();
      await db.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

export async function restart(cluster: Cluster, name: string): Promise<void> {
  cluster.nodes.set(name, await startGlimpse(cluster.dir, `${name}-${Date.now()}`, 'serve', cluster.confs.get(name)!));
}

function dataFor(n: number, rnd: () => number): Buffer {
  const size = Math.floor((0.5 + rnd() * 2) * 1024 * 1024);
  return Buffer.alloc(size, `image ${n} of the fault suite / `);
}

let counter = 0;

/** Creates the image and starts its transfer on `node`; the returned promise settles when the client is done. */
export async function launch(cluster: Cluster, node: string, kind: Kind, rnd: () => number): Promise<{ transfer: Transfer; done: Promise<void> }> {
  const base = cluster.nodes.get(node)!.url;
  const created = await api(base, 'POST', '/v2/images', { name: `fault-${kind}-${counter}`, disk_format: 'raw', container_format: 'bare' });
  assert.equal(created.status, 201, JSON.stringify(created.json));
  const transfer: Transfer = { id: created.json.id, kind, data: dataFor(counter++, rnd), node };
  const done = (async () => {
    if (kind === 'upload') transfer.outcome = await slowPut(base, `/v2/images/${transfer.id}/file`, transfer.data);
    else if (kind === 'stage') transfer.outcome = await slowPut(base, `/v2/images/${transfer.id}/stage`, transfer.data);
    else {
      const uri = cluster.web.add(transfer.id, transfer.data);
      transfer.outcome = await api(base, 'POST', `/v2/images/${transfer.id}/import`, { method: { name: 'web-download', uri } })
        .then((r) => r.status, (e: Error) => e.message);
    }
  })();
  return { transfer, done };
}

export async function kill(cluster: Cluster, name: string): Promise<void> {
  const node = cluster.nodes.get(name)!;
  node.child.kill('SIGKILL');
  await node.exited;
}

interface Row { id: string; status: string; size: number | string | null; checksum: string | null }

/** Images still in a transfer status: saving, importing, or uploading with no staged size yet. */
async function inTransfer(db: Database): Promise<Row[]> {
  const rows = await db.db.selectFrom('images').select(['id', 'status', 'size', 'checksum'])
    .where('deleted', '=', false).where('status', 'in', ['saving', 'uploading', 'importing']).execute() as Row[];
  return rows.filter((r) => r.status !== 'uploading' || r.size === null);
}

/** Of the images in a transfer status, those without a live owner (transfer lease or import task lease). */
export async function withoutLiveOwner(db: Database): Promise<Row[]> {
  const now = new Date();
  const orphans: Row[] = [];
  for (const row of await inTransfer(db)) {
    if (row.status === 'importing') {
      const lock = await db.db.selectFrom('image_properties').select('value').where('image_id', '=', row.id)
        .where('name', '=', 'os_glance_import_task').executeTakeFirst();
      const task = lock?.value ? await db.db.selectFrom('tasks').selectAll().where('id', '=', lock.value).executeTakeFirst() : undefined;
      const live = task && (task.status === 'pending' || (task.status === 'processing' && new Date(task.lease_expires_at as string) > now));
      if (!live) orphans.push(row);
    } else {
      const t = await db.db.selectFrom('image_transfers').selectAll().where('image_id', '=', row.id).executeTakeFirst();
      if (!t || new Date(t.lease_expires_at as string) <= now) orphans.push(row);
    }
  }
  return orphans;
}

/** Waits until no image is in a transfer status and no task is running (recovery and takeovers done). */
export async function settle(db: Database, ms = 90_000): Promise<void> {
  const until = Date.now() + ms;
  for (;;) {
    const busy = await inTransfer(db);
    const tasks = await db.db.selectFrom('tasks').select(sql<number>`count(*)`.as('n')).where('status', 'in', ['pending', 'processing'])
      .executeTakeFirstOrThrow();
    if (busy.length === 0 && Number(tasks.n) === 0) return;
    assert.ok(Date.now() < until, `not settled: ${JSON.stringify(busy)}, ${tasks.n} running tasks`);
    await sleep(250);
  }
}

/** The invariants after recovery: stores hold only live images' data; every active image reads back whole. */
export async function checkStores(cluster: Cluster, transfers: Transfer[], base: string): Promise<void> {
  const until = Date.now() + 20_000;
  for (;;) {
    const problems = await storeProblems(cluster);
    if (problems.length === 0) break;
    assert.ok(Date.now() < until, problems.join('\n'));
    await sleep(500);
  }
  for (const t of transfers) {
    const shown = await api(base, 'GET', `/v2/images/${t.id}`);
    if (shown.json.status !== 'active') continue;
    const md5 = createHash('md5').update(t.data).digest('hex');
    assert.equal(shown.json.checksum, md5, `${t.kind} ${t.id}`);
    const res = await fetch(`${base}/v2/images/${t.id}/file`, { headers: owner });
    assert.equal(createHash('md5').update(Buffer.from(await res.arrayBuffer())).digest('hex'), md5, `download of ${t.id}`);
  }
}

async function storeProblems(cluster: Cluster): Promise<string[]> {
  const problems: string[] = [];
  const rows = await cluster.db.db.selectFrom('images').select(['id', 'status', 'size', 'deleted']).execute();
  const byId = new Map(rows.map((r) => [r.id, r]));
  const list = (d: string) => { try { return readdirSync(join(cluster.dir, d)); } catch { return []; } };
  for (const name of list('images')) {
    const image = byId.get(name);
    if (!image || image.status !== 'active') problems.push(`images/${name}: ${image?.status ?? 'no image'}`);
  }
  for (const name of list('staging')) {
    const image = byId.get(name);
    if (!image || image.status !== 'uploading' || image.size === null) problems.push(`staging/${name}: ${image?.status ?? 'no image'}`);
  }
  const leftover = await cluster.db.db.selectFrom('image_transfers').selectAll().execute();
  for (const row of leftover) problems.push(`transfer row left: ${row.image_id} (${row.owner})`);
  return problems;
}

/** A fresh transfer of every image that did not become active: it must succeed and read back whole. */
export async function redo(cluster: Cluster, transfers: Transfer[], base: string): Promise<number> {
  let redone = 0;
  for (const t of transfers) {
    const shown = await api(base, 'GET', `/v2/images/${t.id}`);
    if (shown.json.status === 'active') continue;
    redone++;
    if (shown.json.status === 'queued') {
      if (t.kind === 'upload') {
        assert.equal(await slowPut(base, `/v2/images/${t.id}/file`, t.data), 204, `${t.id} upload again`);
      } else if (t.kind === 'stage') {
        assert.equal(await slowPut(base, `/v2/images/${t.id}/stage`, t.data), 204, `${t.id} stage again`);
        assert.equal((await api(base, 'POST', `/v2/images/${t.id}/import`, { method: { name: 'glance-direct' } })).status, 202);
      } else {
        const uri = cluster.web.add(t.id, t.data);
        assert.equal((await api(base, 'POST', `/v2/images/${t.id}/import`, { method: { name: 'web-download', uri } })).status, 202);
      }
    } else if (shown.json.status === 'uploading') {
      assert.equal((await api(base, 'POST', `/v2/images/${t.id}/import`, { method: { name: 'glance-direct' } })).status, 202);
    } else {
      assert.fail(`${t.kind} ${t.id} is ${shown.json.status} after recovery`);
    }
    const until = Date.now() + 60_000;
    let image = shown.json;
    while (image.status !== 'active' && Date.now() < until) {
      await sleep(100);
      image = (await api(base, 'GET', `/v2/images/${t.id}`)).json;
    }
    assert.equal(image.status, 'active', `${t.kind} ${t.id} after a fresh attempt: ${JSON.stringify(image)}`);
  }
  return redone;
}
