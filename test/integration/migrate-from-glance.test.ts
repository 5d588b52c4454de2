// `glimpse migrate from-glance` against the reference Glance (issue 23's acceptance scenario).
// The Glance side is built once per file (test/helpers/glance-scenario.ts: ~1 minute) and reused:
// its SQLite database directly, and copies of it in fresh MariaDB and PostgreSQL schemas made by
// Glance's own `glance-manage db_sync`. Glimpse is configured with the same two file store
// directories, and everything is checked through Glimpse's API against what Glance answered.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { copyFileSync, existsSync, mkdtempSync, readFileSync, readdirSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { sql, type RawBuilder } from 'kysely';
import { pino } from 'pino';
import { loadConfig } from '../../src/config/load.ts';
import type { GlimpseConfig } from '../../src/config/types.ts';
import { openDatabase } from '../../src/db/connect.ts';
import { migrateToLatest } from '../../src/db/migrate.ts';
import { compose, type Composed } from '../../src/main.ts';
import { createProgress } from '../../src/migrate/progress.ts';
import { migrateFromGlance, type MigrateOptions } from '../../src/migrate/run.ts';
import { copyToServer, glanceMissing, recordGlanceState, type GlanceState } from '../helpers/glance-scenario.ts';

type Json = Record<string, unknown>;
const ADMIN = { 'x-identity-status': 'Confirmed', 'x-tenant-id': 'p1', 'x-user-id': 'p1-user', 'x-roles': 'admin,member,reader' };
const bin = join(import.meta.dirname, '..', '..', 'bin', 'glimpse.js');
const quiet = createProgress(process.stderr, true);

const missing = glanceMissing();
let state: GlanceState;
let work: string;

function glimpseConfig(dir: string, connection: string): { config: GlimpseConfig; file: string } {
  const file = join(dir, 'glimpse.conf');
  writeFileSync(file, [
    '[DEFAULT]', 'enabled_backends = cheap:file, fast:file, web:http', 'show_multiple_locations = true',
    '[database]', `connection = ${connection}`,
    '[glance_store]', 'default_backend = fast',
    '[fast]', `filesystem_store_datadir = ${join(state.dir, 'images')}/`,
    '[cheap]', `filesystem_store_datadir = ${join(state.dir, 'images-cheap')}/`,
    '[os_glance_staging_store]', `filesystem_store_datadir = ${join(dir, 'staging')}/`,
    '[paste_deploy]', 'flavor = trusted-auth', '',
  ].join('\n'));
  return { config: loadConfig({ file, env: {} }).config, file };
}

/** Every row of Glimpse's image, member, task and metadef tables, for "nothing changed" checks. */
async function dump(connection: string): Promise<string> {
  const database = await openDatabase(connection);
  try {
    const out: Record<string, unknown[]> = {};
    for (const table of ['images', 'image_properties', 'image_tags', 'image_locations', 'image_members', 'tasks',
      'metadef_namespaces', 'metadef_objects', 'metadef_properties', 'metadef_tags', 'metadef_resource_types',
      'metadef_namespace_resource_types'] as const) {
      const rows = await database.db.selectFrom(table).selectAll().execute();
      out[table] = rows.map((r) => JSON.stringify(r)).sort();
    }
    return JSON.stringify(out);
  } finally {
    await database.close();
  }
}

/** The files of both stores with their inode and mtime: migrating must not copy or touch any. */
function storeFiles(): string {
  return ['images', 'images-cheap'].flatMap((d) => readdirSync(join(state.dir, d)).sort().map((f) => {
    const s = statSync(join(state.dir, d, f));
    return `${d}/${f}:${s.ino}:${s.mtimeMs}:${s.size}`;
  })).join('\n');
}

/** The Glance SQLite file's bytes (server databases are opened in read-only sessions instead). */
function glanceFingerprint(url: string): string {
  if (!url.startsWith('sqlite:')) return url;
  const file = url.replace(/^sqlite:\/\//, '');
  return ['', '-journal', '-wal'].map((ext) => (existsSync(file + ext) ? createHash('sha256').update(readFileSync(file + ext)).digest('hex') : '-'))
    .join(':');
}

const IGNORED = new Set(['self', 'file', 'schema']);

function normalise(image: Json): Json {
  const out: Json = {};
  for (const [k, v] of Object.entries(image)) {
    if (IGNORED.has(k)) continue;
    out[k] = k === 'tags' ? [...(v as string[])].sort() : k === 'stores' ? String(v).split(',').sort().join(',') : v;
  }
  return out;
}

async function checkAgainstGlance(app: Composed['app']): Promise<void> {
  for (const [id, glance] of Object.entries(state.images)) {
    const res = await app.inject({ method: 'GET', url: `/v2/images/${id}`, headers: ADMIN });
    if (glance === null) {
      assert.equal(res.statusCode, 404, `image ${id} is deleted in Glance`);
      // Its row came over as deleted, so its id cannot be taken again (OSSN-0075).
      const reuse = await app.inject({ method: 'POST', url: '/v2/images', headers: { ...ADMIN, 'content-type': 'application/json' },
        payload: { id, name: 'reused id' } });
      assert.equal(reuse.statusCode, 409, `image id ${id} of a deleted image was reused: ${reuse.body}`);
      continue;
    }
    assert.equal(res.statusCode, 200, `image ${id}: ${res.body}`);
    assert.deepEqual(normalise(res.json<Json>()), normalise(glance), `image ${id} (${String(glance['name'])})`);
  }
  for (const [id, members] of Object.entries(state.members)) {
    const res = await app.inject({ method: 'GET', url: `/v2/images/${id}/members`, headers: ADMIN });
    const tidy = (list: Json[]) => list.map((m): Json => ({ ...m, schema: undefined }))
      .sort((a, b) => String(a['member_id']).localeCompare(String(b['member_id'])));
    assert.deepEqual(tidy(res.json<{ members: Json[] }>().members), tidy(members), `members of ${id}`);
  }
  for (const [id, glance] of Object.entries(state.tasks)) {
    const res = await app.inject({ method: 'GET', url: `/v2/tasks/${id}`, headers: ADMIN });
    assert.equal(res.statusCode, 200, `task ${id}: ${res.body}`);
    const task = res.json<Json>();
    for (const key of ['id', 'type', 'status', 'owner', 'input', 'result', 'message', 'created_at', 'updated_at', 'expires_at']) {
      assert.deepEqual(task[key], glance[key], `task ${id}: ${key}`);
    }
  }
  const listed = await app.inject({ method: 'GET', url: '/v2/metadefs/namespaces?limit=200', headers: ADMIN });
  assert.deepEqual(listed.json<{ namespaces: Json[] }>().namespaces.map((n) => String(n['namespace'])).sort(), state.namespaces);
  const custom = await app.inject({ method: 'GET', url: '/v2/metadefs/namespaces/Migrate::Test', headers: ADMIN });
  assert.deepEqual(custom.json<Json>(), state.customNamespace);
}

async function checkDownloads(app: Composed['app']): Promise<number> {
  let n = 0;
  for (const [id, glance] of Object.entries(state.images)) {
    if (glance?.['status'] !== 'active') continue;
    const res = await app.inject({ method: 'GET', url: `/v2/images/${id}/file`, headers: ADMIN });
    assert.equal(res.statusCode, 200, `download ${id}`);
    assert.equal(createHash('md5').update(res.rawPayload).digest('hex'), glance['checksum'], `checksum of ${id}`);
    assert.equal(createHash('sha512').update(res.rawPayload).digest('hex'), glance['os_hash_value'], `sha512 of ${id}`);
    n++;
  }
  return n;
}

function options(config: GlimpseConfig, source: string, extra: Partial<MigrateOptions> = {}): MigrateOptions {
  return { source, config, progress: quiet, batchSize: 3, ...extra };
}

/** The scenario for one Glance source database; `fresh()` gives an empty Glimpse database URL. */
function scenario(name: string, source: () => string, target?: () => string) {
  describe(name, () => {
    let dir: string;
    let config: GlimpseConfig;
    let connection: string;
    before(() => {
      dir = mkdtempSync(join(work, 'glimpse-'));
      connection = target?.() ?? `sqlite:///${join(dir, 'glimpse.db')}`;
      config = glimpseConfig(dir, connection).config;
    });

    test('a dry run writes nothing, then the migration answers as Glance did, data in place', async () => {
      const database = await openDatabase(connection);
      await migrateToLatest(database);
      await database.close();
      const empty = await dump(connection);
      const filesBefore = storeFiles();
      const glanceBefore = glanceFingerprint(source());
      const dry = await migrateFromGlance(options(config, source(), { dryRun: true }));
      assert.equal(dry.locationProblems.length, 0, dry.render());
      assert.ok(dry.tables.get('images')!.inserted >= 14, dry.render());
      assert.equal(await dump(connection), empty, 'the dry run changed Glimpse\'s database');

      const report = await migrateFromGlance(options(config, source(), { verify: true, verifySample: 20 }));
      assert.deepEqual(report.verifyDifferences, [], report.render());
      assert.ok(report.tables.get('images')!.inserted >= Object.keys(state.images).length, report.render());
      assert.equal(report.tables.get('image_members')!.inserted, 3, report.render());
      assert.ok(report.dataChecked >= 6, report.render());
      const composed = await compose(config, pino({ level: 'silent' }), { migrate: false, worker: false });
      try {
        await checkAgainstGlance(composed.app);
        assert.ok(await checkDownloads(composed.app) >= 6);
      } finally {
        await composed.close();
      }
      assert.equal(storeFiles(), filesBefore, 'image data was copied or touched');
      assert.equal(glanceFingerprint(source()), glanceBefore, 'the Glance database was written to');
    });

    test('running it again changes nothing', async () => {
      const before = await dump(connection);
      const report = await migrateFromGlance(options(config, source()));
      assert.equal(report.written(), 0, report.render());
      assert.equal(await dump(connection), before);
    });
  });
}

/**
 * The scenario from a Glance schema that `glance-manage db_sync` creates in a fresh database on a
 * server, into a Glimpse database on the same server.
 */
function serverScenario(label: string, env: string, create: (name: string) => RawBuilder<unknown>,
  drop: (name: string) => RawBuilder<unknown>): void {
  describe(`from Glance on ${label}`, () => {
    const base = process.env[env];
    if (!base) { test(label, { skip: `${env} not set` }, () => {}); return; }
    const urls: Record<'glance' | 'glimpse', string> = { glance: '', glimpse: '' };
    let cleanup: () => Promise<void> = async () => undefined;
    before(async () => {
      const suffix = `${process.pid}_${randomBytes(3).toString('hex')}`;
      const admin = await openDatabase(base, { maxPoolSize: 1 });
      for (const side of ['glance', 'glimpse'] as const) {
        await create(`${side}_migrate_${suffix}`).execute(admin.db);
        const u = new URL(base); u.pathname = `/${side}_migrate_${suffix}`; urls[side] = u.toString();
      }
      cleanup = async () => {
        for (const side of ['glance', 'glimpse']) await drop(`${side}_migrate_${suffix}`).execute(admin.db);
        await admin.close();
      };
      await copyToServer(state, urls.glance, work);
    }, { timeout: 300_000 });
    after(() => cleanup());
    scenario(`${label} source, ${label} target`, () => urls.glance, () => urls.glimpse);
  });
}

describe('glimpse migrate from-glance (reference Glance)', { skip: missing }, () => {
  // GLIMPSE_TEST_MIGRATE_STATE=<file> (development only): record the Glance side once into a
  // directory beside <file> and reuse it on later runs while it exists.
  const keep = process.env['GLIMPSE_TEST_MIGRATE_STATE'];
  before(async () => {
    work = mkdtempSync(join(tmpdir(), 'glimpse-migrate-'));
    if (keep && existsSync(keep)) {
      state = JSON.parse(readFileSync(keep, 'utf8')) as GlanceState;
      return;
    }
    state = await recordGlanceState(keep ? mkdtempSync(`${keep}-glance-`) : join(work, 'glance'));
    if (keep) writeFileSync(keep, JSON.stringify(state));
  }, { timeout: 600_000 });
  after(() => {
    if (work) rmSync(work, { recursive: true, force: true });
  });

  scenario('from Glance on SQLite', () => state.sqliteUrl);

  serverScenario('MariaDB', 'GLIMPSE_TEST_MYSQL_URL', (name) => sql`CREATE DATABASE ${sql.id(name)} CHARACTER SET utf8 COLLATE utf8_general_ci`,
    (name) => sql`DROP DATABASE ${sql.id(name)}`);
  serverScenario('PostgreSQL', 'GLIMPSE_TEST_POSTGRES_URL', (name) => sql`CREATE DATABASE ${sql.id(name)}`,
    (name) => sql`DROP DATABASE ${sql.id(name)} WITH (FORCE)`);

  describe('interruptions and unreadable data (SQLite source)', () => {
    test('killed half-way, a rerun completes to the same state as an uninterrupted run', async () => {
      const dir = mkdtempSync(join(work, 'kill-'));
      const { file } = glimpseConfig(dir, `sqlite:///${join(dir, 'glimpse.db')}`);
      const child = spawn(process.execPath, [bin, 'migrate', 'from-glance', '--source', state.sqliteUrl, '--config-file', file,
        '--batch-size', '1'], { env: { ...process.env, GLIMPSE_FROM_SOURCE: '1' } });
      let err = '';
      const exited = new Promise<void>((resolve) => child.on('exit', () => resolve()));
      await new Promise<void>((resolve) => child.stderr.on('data', (d: Buffer) => {
        err += d.toString();
        if (/^images: \d+\//m.test(err)) { child.kill('SIGKILL'); resolve(); }
      }));
      await exited;
      const partial = await openDatabase(`sqlite:///${join(dir, 'glimpse.db')}`);
      const count = Number((await partial.db.selectFrom('images').select((eb) => eb.fn.countAll().as('n')).executeTakeFirstOrThrow()).n);
      await partial.close();
      console.log(`[migrate] killed after ${count} of ${Object.keys(state.images).length} images`);

      const config = loadConfig({ file, env: {} }).config;
      const report = await migrateFromGlance(options(config, state.sqliteUrl, { verify: true }));
      assert.deepEqual(report.verifyDifferences, [], report.render());
      const again = await migrateFromGlance(options(config, state.sqliteUrl));
      assert.equal(again.written(), 0, again.render());
    });

    test('--since brings over what changed in Glance after the first pass', async () => {
      const dir = mkdtempSync(join(work, 'since-'));
      const glanceFile = join(dir, 'glance.sqlite');
      copyFileSync(join(state.dir, 'glance.sqlite'), glanceFile);
      const { config } = glimpseConfig(dir, `sqlite:///${join(dir, 'glimpse.db')}`);
      await migrateFromGlance(options(config, `sqlite:///${glanceFile}`));
      const cutoff = new Date();
      await new Promise((r) => setTimeout(r, 20));
      const id = Object.entries(state.images).find(([, v]) => v?.['name'] === 'public image')![0];
      const shared = Object.entries(state.images).find(([, v]) => v?.['name'] === 'shared image')![0];
      const { default: Sqlite } = await import('better-sqlite3');
      const glance = new Sqlite(glanceFile);
      const now = new Date().toISOString().replace('T', ' ').replace('Z', '');
      glance.prepare("UPDATE image_properties SET value = '25.04', updated_at = ? WHERE image_id = ? AND name = 'os_version'").run(now, id);
      glance.prepare("UPDATE image_tags SET deleted = 1, deleted_at = ? WHERE image_id = ? AND value = 'ubuntu'").run(now, id);
      glance.prepare('UPDATE images SET updated_at = ? WHERE id = ?').run(now, id);
      glance.prepare("UPDATE image_members SET deleted = 1, deleted_at = ? WHERE image_id = ? AND member = 'p2'").run(now, shared);
      glance.close();
      const report = await migrateFromGlance(options(config, `sqlite:///${glanceFile}`, { since: cutoff, verify: true }));
      assert.equal(report.tables.get('images')!.read, 2, report.render());
      assert.equal(report.tables.get('images')!.updated, 1, report.render());
      assert.equal(report.tables.get('image_members')!.removed, 1, report.render());
      assert.deepEqual(report.verifyDifferences, [], report.render());
      const composed = await compose(config, pino({ level: 'silent' }), { migrate: false, worker: false });
      try {
        const image = (await composed.app.inject({ method: 'GET', url: `/v2/images/${id}`, headers: ADMIN })).json<Json>();
        assert.equal(image['os_version'], '25.04');
        assert.deepEqual(image['tags'], ['linux']);
      } finally {
        await composed.close();
      }
    });

    test('an unreadable location is reported with its image id, and nothing is written', async () => {
      const dir = mkdtempSync(join(work, 'unreadable-'));
      const connection = `sqlite:///${join(dir, 'glimpse.db')}`;
      const { config } = glimpseConfig(dir, connection);
      const victim = Object.entries(state.images).find(([, v]) => v?.['name'] === 'community image')![0];
      const path = join(state.dir, 'images', victim);
      const moved = `${path}.away`;
      renameSync(path, moved);
      try {
        const report = await migrateFromGlance(options(config, state.sqliteUrl));
        assert.equal(report.stoppedBeforeWriting, true);
        assert.deepEqual(report.locationProblems.map((p) => p.imageId), [victim], report.render());
        assert.match(report.render(), new RegExp(`image ${victim}: file://.*cannot be read`));
        const database = await openDatabase(connection);
        const tables = await database.db.introspection.getTables();
        const rows = tables.some((t) => t.name === 'images')
          ? (await database.db.selectFrom('images').selectAll().execute()).length : 0;
        await database.close();
        assert.equal(rows, 0);
      } finally {
        renameSync(moved, path);
      }
    });
  });
});
