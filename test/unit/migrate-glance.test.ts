// `glimpse migrate from-glance` pieces that need no reference Glance: schema revision detection,
// location metadata mapping and the store check's messages, Glance's value formats, task leases.
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import BetterSqlite3 from 'better-sqlite3';
import { sql } from 'kysely';
import { loadConfig } from '../../src/config/load.ts';
import { createStoreRegistry } from '../../src/stores/registry.ts';
import { openDatabase } from '../../src/db/connect.ts';
import { migrateToLatest } from '../../src/db/migrate.ts';
import { SqlTaskRepository } from '../../src/db/task-repository.ts';
import { MIGRATION_LEASE_OWNER, requiredList, syncTaskBatch } from '../../src/migrate/catalogue-sync.ts';
import { MigrationReport } from '../../src/migrate/report.ts';
import type { GlanceImage, GlanceLocation } from '../../src/migrate/glance-model.ts';
import { openGlance } from '../../src/migrate/glance-reader.ts';
import { UnsupportedGlanceSchema } from '../../src/migrate/glance-schema.ts';
import { carriedLocations, locationProblem, mapLocation } from '../../src/migrate/locations.ts';
import { utc } from '../../src/migrate/values.ts';

const dir = mkdtempSync(join(tmpdir(), 'glimpse-migrate-unit-'));
after(() => rmSync(dir, { recursive: true, force: true }));

function glanceDb(name: string, revisions: string[], osHidden = true): string {
  const file = join(dir, `${name}.sqlite`);
  const db = new BetterSqlite3(file);
  db.exec('CREATE TABLE alembic_version (version_num VARCHAR(32) NOT NULL)');
  for (const r of revisions) db.prepare('INSERT INTO alembic_version VALUES (?)').run(r);
  db.exec(`CREATE TABLE images (id VARCHAR(36), status VARCHAR(30)${osHidden ? ', os_hidden BOOLEAN' : ''})`);
  db.exec('CREATE TABLE tasks (id VARCHAR(36), status VARCHAR(30))');
  db.close();
  return `sqlite:///${file}`;
}

describe('Glance schema detection', () => {
  test('Queens to master are accepted, with their optional columns detected', async () => {
    for (const [revisions, release, hidden] of [[['queens_contract01'], 'Queens', false], [['wallaby_contract01'], 'Wallaby', true],
      [['2024_1_contract01'], '2024.1 Caracal (to master)', true],
      [['zed_contract01', '2023_1_expand01'], '2023.1 Antelope (to 2023.2)', true]] as const) {
      const source = await openGlance(glanceDb(revisions.join('-'), [...revisions], hidden));
      try {
        assert.deepEqual(source.schema.revisions, revisions);
        assert.equal(source.schema.release, release);
        assert.equal(source.schema.hasOsHidden, hidden);
        assert.equal(source.schema.hasTaskRefs, false);
      } finally {
        await source.close();
      }
    }
  });

  test('older, newer and non-Glance databases are refused with the supported range', async () => {
    for (const revisions of [['mitaka02'], ['ocata_contract01'], ['2026_2_contract01'], []]) {
      await assert.rejects(openGlance(glanceDb(`bad-${revisions.join('') || 'empty'}`, revisions)),
        (error: Error) => error instanceof UnsupportedGlanceSchema && /Queens \(queens_contract01\) to master/.test(error.message));
    }
    const file = join(dir, 'not-glance.sqlite');
    new BetterSqlite3(file).close();
    await assert.rejects(openGlance(`sqlite:///${file}`), /no alembic_version table/);
  });

  test('the Glance database is opened read-only', async () => {
    const source = await openGlance(glanceDb('ro', ['zed_contract01']));
    try {
      await assert.rejects(source.database.db.deleteFrom('images' as never).execute(), /readonly/i);
    } finally {
      await source.close();
    }
  });
});

describe('read-only sessions on the database servers', () => {
  for (const env of ['GLIMPSE_TEST_POSTGRES_URL', 'GLIMPSE_TEST_MYSQL_URL']) {
    const url = process.env[env];
    test(env, { skip: url ? false : `${env} not set` }, async () => {
      const database = await openDatabase(url!, { readOnly: true, maxPoolSize: 1 });
      try {
        await assert.rejects(sql`CREATE TABLE glimpse_migrate_must_fail (x integer)`.execute(database.db), /read.only/i);
        await sql`SELECT 1`.execute(database.db);
      } finally {
        await database.close();
      }
    });
  }
});

describe('values and locations', () => {
  const images = join(dir, 'images');
  mkdirSync(images);
  const conf = join(dir, 'glimpse.conf');
  writeFileSync(conf, ['[DEFAULT]', 'enabled_backends = fast:file, ceph:rbd', '[glance_store]', 'default_backend = fast',
    '[fast]', `filesystem_store_datadir = ${images}`, '[ceph]', 'rbd_store_pool = images', ''].join('\n'));
  const config = loadConfig({ file: conf, env: {} }).config;
  const registry = createStoreRegistry(config);
  const id = '11111111-2222-3333-4444-555555555555';
  const location = (url: string, metadata: Record<string, unknown>, status = 'active', deleted = false): GlanceLocation => ({
    id: 1, url, metadata, status, deleted, createdAt: new Date(0), updatedAt: new Date(0),
  });
  const image = (locations: GlanceLocation[], size = 5): GlanceImage => ({
    id, name: null, status: 'active', visibility: 'private', protected: false, osHidden: false, owner: 'p', size,
    virtualSize: null, diskFormat: 'raw', containerFormat: 'bare', checksum: null, osHashAlgo: null, osHashValue: null,
    minDisk: 0, minRam: 0, createdAt: new Date(0), updatedAt: new Date(0), deletedAt: null, deleted: false,
    properties: {}, tags: [], locations, members: [],
  });

  test('Glance timestamps are UTC whatever the driver hands back', () => {
    assert.equal(utc('2026-12-07 18:11:53.321261').toISOString(), '2026-12-07T18:11:53.321Z');
    assert.equal(utc(new Date('2026-12-07T18:11:53Z')).toISOString(), '2026-12-07T18:11:53.000Z');
    assert.equal(requiredList('size,name'), '["size","name"]');
    assert.equal(requiredList(null), null);
  });

  test('pre-Train `backend` becomes `store`; a missing store is named after the store owning the URL', () => {
    const url = `file://${images}/${id}`;
    assert.deepEqual(mapLocation(location(url, { backend: 'fast', k: 1 }), registry, true).metadata, { store: 'fast', k: 1 });
    assert.deepEqual(mapLocation(location(url, {}), registry, true).metadata, { store: 'fast' });
    assert.deepEqual(mapLocation(location(url, {}), registry, false).metadata, {});
  });

  test('deleted locations are dropped, pending_delete ones kept for the scrubber', () => {
    const { carried, dropped } = carriedLocations(image([location('a', {}), location('b', {}, 'deleted', true),
      location('c', {}, 'pending_delete', true)]));
    assert.deepEqual(carried.map((l) => l.url), ['a', 'c']);
    assert.deepEqual(dropped.map((l) => l.url), ['b']);
  });

  test('the store check names what is wrong', async () => {
    const url = `file://${images}/${id}`;
    const check = (l: GlanceLocation, size = 5) => locationProblem(image([l], size), mapLocation(l, registry, true), registry);
    assert.match(String(await check(location(url, { store: 'fast' }))), /cannot be read through store "fast"/);
    writeFileSync(join(images, id), 'hello');
    assert.equal(await check(location(url, { store: 'fast' })), undefined);
    assert.match(String(await check(location(url, { store: 'fast' }), 6)), /holds 5 bytes but the image's size is 6/);
    assert.match(String(await check(location(url, { store: 'local' }))), /Glance's store "local" is store "fast"/);
    assert.match(String(await check(location(`rbd://fsid/images/${id}/snap`, { store: 'ceph' }))), /store "ceph" \(rbd\) has no driver|cannot be read through store "ceph"/);
    assert.match(String(await check(location(`swift+https://auth/v3/glance/${id}`, { store: 'swift1' }))),
      /Glance's store "swift1" is not configured in Glimpse/);
    assert.match(String(await check(location(`file:///elsewhere/${id}`, {}))), /outside every filesystem_store_datadir/);
  });
});

describe('tasks', () => {
  test('a task Glance left pending or processing is never claimed by a Glimpse worker; finished ones carry as they are', async () => {
    const glimpse = await openDatabase(`sqlite:///${join(dir, 'tasks-glimpse.db')}`);
    try {
      await migrateToLatest(glimpse);
      const task = (id: string, status: string) => ({
        id, type: 'api_image_import', status, owner: 'p1', imageId: null, requestId: null, userId: null,
        input: '{"image_id": "x"}', result: null, message: '', expiresAt: null, createdAt: new Date(1000),
        updatedAt: new Date(2000), deleted: false, deletedAt: null,
      });
      const report = new MigrationReport(false);
      await syncTaskBatch(glimpse, [task('t-pending', 'pending'), task('t-processing', 'processing'), task('t-done', 'success')],
        report, true);
      assert.equal(report.tables.get('tasks')!.inserted, 3);
      const rows = await glimpse.db.selectFrom('tasks').select(['id', 'lease_owner', 'input']).orderBy('id').execute();
      assert.deepEqual(rows.map((r) => [r.id, r.lease_owner]),
        [['t-done', null], ['t-pending', MIGRATION_LEASE_OWNER], ['t-processing', MIGRATION_LEASE_OWNER]]);
      assert.equal(await new SqlTaskRepository(glimpse).claim('worker-1', new Date(), new Date(Date.now() + 60_000)), undefined);
      const again = new MigrationReport(false);
      await syncTaskBatch(glimpse, [task('t-pending', 'pending'), task('t-done', 'success')], again, true);
      assert.equal(again.tables.get('tasks')!.unchanged, 2, again.render());
    } finally {
      await glimpse.close();
    }
  });
});
