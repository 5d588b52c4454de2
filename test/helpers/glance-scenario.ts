// The Glance side of the migration scenario: starts the reference Glance (../shared/tools/refglance.sh,
// SQLite + two file stores), creates through Glance's own API images in every status and visibility
// with properties, tags, members in every state, several locations (copy-image), tasks and a
// metadef namespace, records what Glance answers for each, and stops it. Statuses the API cannot
// hold an image in (saving, killed, importing, pending_delete) are set in Glance's database
// directly, the way a crash or a delayed delete leaves them.
//
// It also copies that Glance database into a fresh MariaDB or PostgreSQL schema created by Glance's
// own `glance-manage db_sync`, so the same state can be migrated from all three dialects.
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import type { Kysely } from 'kysely';
import { openDatabase } from '../../src/db/connect.ts';
import { freePort } from './processes.ts';

export const REFGLANCE = join(import.meta.dirname, '..', '..', '..', 'shared', 'tools', 'refglance.sh');
export const GLANCE_MANAGE = '/usr/bin/glance-manage';

type Json = Record<string, unknown>;

export interface GlanceState {
  dir: string;
  /** sqlite:////…/glance.sqlite */
  sqliteUrl: string;
  /** Image id → Glance's GET answer as admin (404 → null). */
  images: Record<string, Json | null>;
  /** Image id → Glance's member list (shared images). */
  members: Record<string, Json[]>;
  tasks: Record<string, Json>;
  namespaces: string[];
  customNamespace: Json;
  /** Names of images by role in the scenario. */
  ids: Record<string, string>;
}

const admin = (project = 'p1') => ({
  'x-identity-status': 'Confirmed', 'x-tenant-id': project, 'x-user-id': `${project}-user`, 'x-roles': 'admin,member,reader',
});
const member = (project: string) => ({
  'x-identity-status': 'Confirmed', 'x-tenant-id': project, 'x-user-id': `${project}-user`, 'x-roles': 'member,reader',
});

export function glanceMissing(): string | undefined {
  if (!existsSync(REFGLANCE)) return `${REFGLANCE} not found`;
  if (!existsSync(GLANCE_MANAGE) || !existsSync('/usr/bin/glance-api')) return 'glance-api/glance-manage not installed (apt-get install glance-api; .ci/run does)';
  return undefined;
}

async function call(base: string, method: string, path: string, headers: Record<string, string>, body?: unknown,
  contentType = 'application/json'): Promise<{ status: number; json: Json }> {
  const res = await fetch(`${base}${path}`, {
    method, headers: { ...headers, ...(body === undefined ? {} : { 'content-type': contentType }) },
    body: body === undefined ? undefined : typeof body === 'string' || body instanceof Buffer ? body : JSON.stringify(body),
  });
  const text = await res.text();
  let json: Json = {};
  try { json = JSON.parse(text) as Json; } catch { /* not JSON */ }
  if (res.status >= 400 && method !== 'GET') throw new Error(`${method} ${path}: ${res.status} ${text.slice(0, 300)}`);
  return { status: res.status, json };
}

async function until(what: string, check: () => Promise<boolean>, ms = 180000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > end) throw new Error(`Glance did not reach: ${what}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

/** Builds the scenario in a running reference Glance at `base`; returns the ids by role. */
async function build(base: string): Promise<Record<string, string>> {
  const ids: Record<string, string> = {};
  const create = async (role: string, body: Json, headers = admin()) => {
    ids[role] = String((await call(base, 'POST', '/v2/images', headers, { disk_format: 'raw', container_format: 'bare', ...body })).json['id']);
    return ids[role]!;
  };
  const upload = (id: string, data: string, headers = admin()) =>
    call(base, 'PUT', `/v2/images/${id}/file`, headers, Buffer.from(data), 'application/octet-stream');

  await upload(await create('public', { name: 'public image', visibility: 'public', tags: ['linux', 'ubuntu'],
    os_distro: 'ubuntu', os_version: '24.04', min_ram: 512, min_disk: 2 }), 'public image data\n');
  await create('queued', { name: 'queued private', visibility: 'private', tags: ['empty'], note: 'no data yet' });
  await upload(await create('community', { name: 'community image', visibility: 'community', hw_disk_bus: 'virtio' }),
    'community data');
  const shared = await create('shared', { name: 'shared image', visibility: 'shared', tags: ['shared'] });
  await upload(shared, 'shared data, three members');
  for (const project of ['p2', 'p3', 'p4']) await call(base, 'POST', `/v2/images/${shared}/members`, admin(), { member: project });
  await call(base, 'PUT', `/v2/images/${shared}/members/p3`, member('p3'), { status: 'accepted' });
  await call(base, 'PUT', `/v2/images/${shared}/members/p4`, member('p4'), { status: 'rejected' });
  const deactivated = await create('deactivated', { name: 'deactivated', visibility: 'private' });
  await upload(deactivated, 'deactivated data');
  await call(base, 'POST', `/v2/images/${deactivated}/actions/deactivate`, admin());
  const deleted = await create('deleted', { name: 'deleted', visibility: 'public' });
  await upload(deleted, 'deleted data');
  await call(base, 'DELETE', `/v2/images/${deleted}`, admin());
  const hidden = await create('hidden', { name: 'hidden protected', os_hidden: true, protected: true, owner: 'p2' });
  await upload(hidden, 'hidden data');
  await call(base, 'PUT', `/v2/images/${await create('uploading', { name: 'staged only' })}/stage`, admin(),
    Buffer.from('staged bytes'), 'application/octet-stream');
  // glance-direct import: a task, and an image that went uploading → importing → active.
  const imported = await create('imported', { name: 'imported' });
  await call(base, 'PUT', `/v2/images/${imported}/stage`, admin(), Buffer.from('imported bytes'), 'application/octet-stream');
  await call(base, 'POST', `/v2/images/${imported}/import`, admin(), { method: { name: 'glance-direct' } });
  // copy-image: a second location in the other store.
  const copied = await create('two-locations', { name: 'two locations', visibility: 'public' });
  await upload(copied, 'data in two stores');
  await call(base, 'POST', `/v2/images/${copied}/import`, admin(), { method: { name: 'copy-image' }, stores: ['cheap'] });
  // A legacy import task (its source is refused, so it fails).
  ids['task'] = String((await call(base, 'POST', '/v2/tasks', admin(), { type: 'import', input: {
    import_from: 'http://127.0.0.1/nothing.raw', import_from_format: 'raw',
    image_properties: { disk_format: 'raw', container_format: 'bare', name: 'from task' } } })).json['id']);
  // Images whose status the database is set to below.
  for (const role of ['saving', 'killed', 'importing']) await create(role, { name: role });
  await upload(await create('pending_delete', { name: 'pending delete' }), 'scrub me later');
  // A metadef namespace of our own, with an object, a property and tags.
  await call(base, 'POST', '/v2/metadefs/namespaces', admin(), {
    namespace: 'Migrate::Test', display_name: 'Migration test', visibility: 'public', protected: false,
    properties: { speed: { title: 'Speed', type: 'integer', minimum: 1 } },
    objects: [{ name: 'Widget', properties: { size: { title: 'Size', type: 'string' } }, required: ['size'] }],
    tags: [{ name: 'alpha' }, { name: 'beta' }],
  });
  await until('imports finished', async () => {
    const a = (await call(base, 'GET', `/v2/images/${imported}`, admin())).json;
    const b = (await call(base, 'GET', `/v2/images/${copied}`, admin())).json;
    return a['status'] === 'active' && String(b['stores']).split(',').length === 2;
  });
  return ids;
}

/** The statuses Glance's API passes through but cannot be held in. */
function setStatuses(file: string, ids: Record<string, string>): void {
  const db = new BetterSqlite3(file);
  try {
    const now = new Date().toISOString().replace('T', ' ').replace('Z', '');
    for (const status of ['saving', 'killed', 'importing']) {
      db.prepare('UPDATE images SET status = ? WHERE id = ?').run(status, ids[status]);
    }
    db.prepare("UPDATE images SET status = 'pending_delete', deleted = 1, deleted_at = ? WHERE id = ?").run(now, ids['pending_delete']);
    db.prepare("UPDATE image_locations SET status = 'pending_delete', deleted = 1, deleted_at = ? WHERE image_id = ?")
      .run(now, ids['pending_delete']);
  } finally {
    db.close();
  }
}

async function record(base: string, ids: Record<string, string>, dir: string): Promise<GlanceState> {
  const images: Record<string, Json | null> = {};
  const members: Record<string, Json[]> = {};
  for (const id of Object.values(ids)) {
    if (id === ids['task']) continue;
    const res = await call(base, 'GET', `/v2/images/${id}`, admin());
    images[id] = res.status === 200 ? res.json : null;
    if (res.json['visibility'] === 'shared') {
      members[id] = (await call(base, 'GET', `/v2/images/${id}/members`, admin())).json['members'] as Json[];
    }
  }
  const tasks: Record<string, Json> = {};
  for (const t of (await call(base, 'GET', '/v2/tasks?limit=100', admin())).json['tasks'] as Json[]) {
    tasks[String(t['id'])] = (await call(base, 'GET', `/v2/tasks/${String(t['id'])}`, admin())).json;
  }
  const namespaces = ((await call(base, 'GET', '/v2/metadefs/namespaces?limit=200', admin())).json['namespaces'] as Json[])
    .map((n) => String(n['namespace'])).sort();
  const customNamespace = (await call(base, 'GET', '/v2/metadefs/namespaces/Migrate::Test', admin())).json;
  return { dir, sqliteUrl: `sqlite:///${join(dir, 'glance.sqlite')}`, images, members, tasks, namespaces, customNamespace, ids };
}

/** Runs the reference Glance once, builds and records the scenario, stops Glance. ~1–2 minutes. */
export async function recordGlanceState(dir: string): Promise<GlanceState> {
  const port = await freePort();
  execFileSync('bash', [REFGLANCE, String(port), dir], {
    env: { ...process.env, GLANCE_STORES: '2', GLANCE_LOCATIONS: '1', GLANCE_METADEFS: '1', GLANCE_IMPORT_ALLOWED_HOSTS: '127.0.0.1' }, stdio: 'pipe', timeout: 300000,
  });
  const pid = Number(readFileSync(join(dir, 'pid'), 'utf8'));
  const base = `http://127.0.0.1:${port}`;
  try {
    const ids = await build(base);
    setStatuses(join(dir, 'glance.sqlite'), ids);
    return await record(base, ids, dir);
  } finally {
    try { process.kill(pid, 'SIGTERM'); } catch { /* already gone */ }
    await new Promise((r) => setTimeout(r, 1000));
  }
}

const GLANCE_TABLES = ['images', 'image_properties', 'image_tags', 'image_locations', 'image_members', 'tasks', 'task_info',
  'metadef_namespaces', 'metadef_resource_types', 'metadef_objects', 'metadef_properties', 'metadef_tags',
  'metadef_namespace_resource_types'];
const BOOLEANS = new Set(['deleted', 'protected', 'os_hidden', 'can_share']);

/** Naive UTC text, which DATETIME and timestamp-without-time-zone columns take as given. */
const naive = (text: string) => new Date(`${text.replace(' ', 'T')}Z`).toISOString().replace('T', ' ').replace('Z', '');

/**
 * Creates a Glance schema with `glance-manage db_sync` at `url` (a fresh database) and copies every
 * row of the scenario's SQLite database into it.
 */
export async function copyToServer(state: GlanceState, url: string, confDir: string): Promise<void> {
  const conf = join(confDir, `glance-${Date.now()}.conf`);
  writeFileSync(conf, `[database]\nconnection = ${url.replace(/^mysql:/, 'mysql+pymysql:').replace(/^postgresql:/, 'postgresql+psycopg2:')}\n`);
  const sync = spawnSync(GLANCE_MANAGE, ['--config-file', conf, 'db_sync'], { encoding: 'utf8', timeout: 180000 });
  if (sync.status !== 0) throw new Error(`glance-manage db_sync failed: ${sync.stderr}`);
  const source = new BetterSqlite3(join(state.dir, 'glance.sqlite'), { readonly: true });
  const target = await openDatabase(url);
  try {
    const db = target.db as unknown as Kysely<Record<string, Json>>;
    for (const table of GLANCE_TABLES) {
      const rows = source.prepare(`SELECT * FROM ${table}`).all() as Json[];
      for (const row of rows) {
        const values = Object.fromEntries(Object.entries(row).map(([k, v]) => [k,
          BOOLEANS.has(k) && v !== null ? v === 1 : k.endsWith('_at') && typeof v === 'string' ? naive(v) : v]));
        await db.insertInto(table).values(values).execute();
      }
    }
  } finally {
    source.close();
    await target.close();
  }
}
