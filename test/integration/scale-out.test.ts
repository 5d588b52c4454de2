// Two Glimpse processes (separate `glimpse serve` children on ephemeral ports) on one PostgreSQL
// schema and one Swift container must behave as one service. A client alternates requests between
// them for create / upload / download / patch / share / delete of 50 images, with racing pairs:
// the same image uploaded via both nodes, patched via both, deleted via both, and deleted via one
// while downloading via the other. Checked: exactly one winner where there must be one, no lost
// update, every completed download matches the image's checksum, and no object left in Swift.
// Needs GLIMPSE_TEST_POSTGRES_URL and the Swift env of objectstore.sh; skipped visibly otherwise.
import { spawn, type ChildProcess } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createInterface } from 'node:readline';
import { sql } from 'kysely';
import { request } from 'undici';

import { openDatabase, type Database } from '../../src/db/connect.ts';
import { SKIP_SWIFT, dropSwiftContainer, swiftTestDriver, swiftTestEnv, uniqueBucket } from '../helpers/object-stores.ts';

const pgUrl = process.env.GLIMPSE_TEST_POSTGRES_URL;
const swift = swiftTestEnv();
const skip = !pgUrl ? 'GLIMPSE_TEST_POSTGRES_URL not set' : !swift ? SKIP_SWIFT : undefined;
const NAME = 'two Glimpse nodes on PostgreSQL + Swift behave as one service (50 images, racing pairs)';

const IMAGES = 50;
const CONCURRENCY = 5;
const md5 = (data: Buffer) => createHash('md5').update(data).digest('hex');
const owner = { 'x-identity-status': 'Confirmed', 'x-tenant-id': 'owner', 'x-user-id': 'owner-user', 'x-roles': 'member,reader' };
const member = { 'x-identity-status': 'Confirmed', 'x-tenant-id': 'member', 'x-user-id': 'member-user', 'x-roles': 'member,reader' };

interface Node { url: string; child: ChildProcess; log: string[] }

let nodes: Node[] = [];
let admin: Database | undefined;
let schema: string;
const container = uniqueBucket('glimpse-scaleout');

async function startNode(name: string, env: Record<string, string>): Promise<Node> {
  const child = spawn(process.execPath, ['bin/glimpse.js', 'serve'], {
    env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'],
  });
  const log: string[] = [];
  child.stderr!.on('data', (chunk: Buffer) => log.push(chunk.toString()));
  const lines = createInterface({ input: child.stdout! });
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${name} did not start: ${log.join('')}`)), 60_000);
    lines.on('line', (line) => {
      const match = /serving the Images API at (http:\/\/\S+)/.exec(line);
      if (match) { clearTimeout(timer); resolve(match[1]!); }
    });
    child.once('exit', (code) => { clearTimeout(timer); reject(new Error(`${name} exited (${code}): ${log.join('')}`)); });
  });
  lines.on('line', () => {});
  return { url, child, log };
}

async function call(node: Node, method: string, path: string, options: { headers?: Record<string, string>; body?: unknown } = {}) {
  const payload = options.body === undefined ? undefined
    : Buffer.isBuffer(options.body) ? options.body : JSON.stringify(options.body);
  const res = await request(`${node.url}${path}`, {
    method: method as 'GET', headers: { ...owner, ...options.headers }, body: payload,
  });
  const body = Buffer.from(await res.body.arrayBuffer());
  return { status: res.statusCode, body, json: () => JSON.parse(body.toString()) as Record<string, unknown> };
}

const jsonHeaders = { 'content-type': 'application/json' };
const patchHeaders = { 'content-type': 'application/openstack-images-v2.1-json-patch' };
const octet = { 'content-type': 'application/octet-stream' };

if (skip) test(NAME, { skip }, () => {});

before(async () => {
  if (skip) return;
  schema = `glimpse_scaleout_${process.pid}_${randomBytes(4).toString('hex')}`;
  admin = await openDatabase(pgUrl!, { maxPoolSize: 1 });
  await sql`CREATE SCHEMA ${sql.id(schema)}`.execute(admin.db);
  const url = new URL(pgUrl!);
  url.searchParams.set('options', `-c search_path=${schema}`);
  const env = {
    GLIMPSE_DATABASE__CONNECTION: url.toString(),
    GLIMPSE_DEFAULT__BIND_PORT: '0',
    GLIMPSE_PASTE_DEPLOY__FLAVOR: 'trusted-auth',
    GLIMPSE_DEFAULT__ENABLED_BACKENDS: 'obj:swift',
    GLIMPSE_GLANCE_STORE__DEFAULT_BACKEND: 'obj',
    GLIMPSE_OBJ__SWIFT_STORE_AUTH_VERSION: '1',
    GLIMPSE_OBJ__SWIFT_STORE_AUTH_ADDRESS: swift!.authUrl,
    GLIMPSE_OBJ__SWIFT_STORE_USER: swift!.user,
    GLIMPSE_OBJ__SWIFT_STORE_KEY: swift!.key,
    GLIMPSE_OBJ__SWIFT_STORE_CONTAINER: container,
    GLIMPSE_OBJ__SWIFT_STORE_CREATE_CONTAINER_ON_PUT: 'true',
    // 1 MB: images of unknown size and the larger ones become Static Large Objects.
    GLIMPSE_OBJ__SWIFT_STORE_LARGE_OBJECT_SIZE: '1',
    GLIMPSE_OBJ__SWIFT_STORE_LARGE_OBJECT_CHUNK_SIZE: '1',
  };
  // Both start at once: their migrations race on the empty schema and must not collide.
  nodes = await Promise.all([startNode('node A', env), startNode('node B', env)]);
});

after(async () => {
  for (const node of nodes) node.child.kill('SIGTERM');
  await Promise.all(nodes.map((n) => new Promise((resolve) => (n.child.exitCode !== null ? resolve(undefined) : n.child.once('exit', resolve)))));
  if (admin) {
    await sql`DROP SCHEMA ${sql.id(schema)} CASCADE`.execute(admin.db).catch(() => undefined);
    await admin.close();
  }
  if (swift) await dropSwiftContainer(swiftTestDriver(swift, { container }), container).catch(() => undefined);
});

/** One image's life, alternating nodes; returns counters for the summary assertions. */
interface Stats { uploads: number; downloadsDuringDelete: number; downloadsCutByDelete: number }

async function lifecycle(i: number, stats: Stats): Promise<void> {
  const [a, b] = i % 2 === 0 ? [nodes[0]!, nodes[1]!] : [nodes[1]!, nodes[0]!];
  const created = await call(a, 'POST', '/v2/images', { headers: jsonHeaders,
    body: { name: `img-${i}`, disk_format: 'raw', container_format: 'bare' } });
  assert.equal(created.status, 201, created.body.toString());
  const id = created.json().id as string;

  // Racing uploads of different data via both nodes: exactly one wins, the other gets 409.
  const datas = [randomBytes(200_000 + i * 40_000), randomBytes(150_000 + i * 30_000)];
  const uploads = await Promise.all([a, b].map((node, n) => call(node, 'PUT', `/v2/images/${id}/file`, { headers: octet, body: datas[n] })));
  const statuses = uploads.map((u) => u.status).sort();
  assert.deepEqual(statuses, [204, 409], `image ${i}: one upload wins (${uploads.map((u) => u.body.toString()).join(' | ')})`);
  const winner = datas[uploads.findIndex((u) => u.status === 204)]!;
  const shown = (await call(b, 'GET', `/v2/images/${id}`)).json();
  assert.equal(shown.status, 'active');
  assert.equal(shown.checksum, md5(winner), 'the checksum is the winner\'s');
  const downloaded = await call(b, 'GET', `/v2/images/${id}/file`);
  assert.equal(downloaded.status, 200);
  assert.equal(md5(downloaded.body), shown.checksum, 'downloaded bytes match the checksum');
  stats.uploads += 1;

  // Racing patches of different properties via both nodes: neither is lost.
  const patches = await Promise.all([a, b].map((node, n) => call(node, 'PATCH', `/v2/images/${id}`, {
    headers: patchHeaders, body: [{ op: 'add', path: `/prop_${n}`, value: `v${n}-${i}` }, { op: 'replace', path: '/name', value: `n${n}-${i}` }] })));
  assert.deepEqual(patches.map((p) => p.status), [200, 200], patches.map((p) => p.body.toString()).join(' | '));
  const patched = (await call(a, 'GET', `/v2/images/${id}`)).json();
  assert.equal(patched.prop_0, `v0-${i}`);
  assert.equal(patched.prop_1, `v1-${i}`);
  assert.ok(patched.name === `n0-${i}` || patched.name === `n1-${i}`);

  // Share via one node, accept via the other, see it listed via the first.
  assert.equal((await call(a, 'PATCH', `/v2/images/${id}`, { headers: patchHeaders,
    body: [{ op: 'replace', path: '/visibility', value: 'shared' }] })).status, 200);
  assert.equal((await call(a, 'POST', `/v2/images/${id}/members`, { headers: jsonHeaders, body: { member: 'member' } })).status, 200);
  assert.equal((await call(b, 'PUT', `/v2/images/${id}/members/member`, { headers: { ...member, ...jsonHeaders },
    body: { status: 'accepted' } })).status, 200);
  const listed = (await call(a, 'GET', `/v2/images?member_status=accepted&visibility=shared&limit=1000`, { headers: member })).json();
  assert.ok((listed.images as Array<{ id: string }>).some((img) => img.id === id), 'the member sees the shared image');

  if (i % 2 === 0) {
    // Delete via one node while downloading via the other: a completed download is intact.
    const [download, deletion] = await Promise.allSettled([
      call(b, 'GET', `/v2/images/${id}/file`, { headers: member }),
      call(a, 'DELETE', `/v2/images/${id}`),
    ]);
    assert.equal(deletion.status === 'fulfilled' && deletion.value.status, 204);
    if (download.status === 'fulfilled' && download.value.status === 200) {
      assert.equal(md5(download.value.body), shown.checksum, 'a download racing the delete is complete and intact');
      stats.downloadsDuringDelete += 1;
    } else {
      stats.downloadsCutByDelete += 1;
    }
  } else {
    // Racing deletes via both nodes: exactly one 204, the other 404 (gone) or 409.
    const deletes = await Promise.all([a, b].map((node) => call(node, 'DELETE', `/v2/images/${id}`)));
    const won = deletes.filter((d) => d.status === 204).length;
    assert.equal(won, 1, `one delete wins: ${deletes.map((d) => `${d.status} ${d.body.toString()}`).join(' | ')}`);
    for (const d of deletes) assert.ok([204, 404, 409].includes(d.status), String(d.status));
  }
  assert.equal((await call(b, 'GET', `/v2/images/${id}`)).status, 404);
}

test(NAME, { skip }, async () => {
  const stats: Stats = { uploads: 0, downloadsDuringDelete: 0, downloadsCutByDelete: 0 };
  let next = 0;
  await Promise.all(Array.from({ length: CONCURRENCY }, async () => {
    while (next < IMAGES) await lifecycle(next++, stats);
  }));
  assert.equal(stats.uploads, IMAGES);
  assert.equal(stats.downloadsDuringDelete + stats.downloadsCutByDelete, IMAGES / 2);
  const left = await swiftTestDriver(swift!, { container }).list(container);
  assert.deepEqual(left, [], 'no object (image, segment or manifest) is left in Swift');
  for (const node of nodes) {
    const errors = node.log.join('').split('\n').filter((l) => /"level":(50|60)/.test(l) && !/request failed/.test(l));
    assert.deepEqual(errors, [], 'no unexpected errors in the node logs');
  }
  process.stdout.write(`# scale-out: ${IMAGES} images, ${stats.downloadsDuringDelete} downloads completed while deleted, `
    + `${stats.downloadsCutByDelete} cut off by the delete\n`);
});
