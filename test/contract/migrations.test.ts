// Migrations: from an empty database to the latest schema on every dialect, idempotently.
import { randomBytes } from 'node:crypto';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { sql } from 'kysely';
import { openDatabase } from '../../src/db/connect.ts';
import { currentVersion, latestVersion, migrateToLatest, pendingMigrations } from '../../src/db/migrate.ts';
import { forEachDatabase } from '../helpers/databases.ts';

const tables = ['images', 'image_properties', 'image_tags', 'image_members', 'image_locations', 'tasks', 'image_transfers',
  'metadef_namespaces', 'metadef_resource_types', 'metadef_objects', 'metadef_properties', 'metadef_tags',
  'metadef_namespace_resource_types', 'image_cache_entries', 'image_cache_queue', 'quota_projects', 'quota_reservations', 'notification_outbox', 'notification_relay'] as const;
const all = ['0001_initial', '0002_list_sort_indexes', '0003_metadefs', '0005_task_attempts', '0006_location_value_index',
  '0007_image_transfers', '0009_list_walk_indexes', '0010_image_cache', '0011_quota_reservations', '0012_notification_outbox',
  '0013_ownerless_list_indexes', '0014_quota_image_counts'];

forEachDatabase('migrations', (getDb, target) => {
  test('a migrated sibling schema in the same PostgreSQL database is not mistaken for this one', {
    skip: target.dialect === 'postgresql' ? false : 'PostgreSQL schemas only',
  }, async () => {
    const sibling = `glimpse_test_sibling_${randomBytes(4).toString('hex')}`;
    await sql`CREATE SCHEMA ${sql.id(sibling)}`.execute(getDb().db);
    try {
      const url = new URL(target.url());
      url.searchParams.set('options', `-c search_path=${sibling}`);
      const other = await openDatabase(url.toString());
      try {
        assert.deepEqual(await migrateToLatest(other), all);
      } finally {
        await other.close();
      }
      assert.equal(await currentVersion(getDb()), undefined);
    } finally {
      await sql`DROP SCHEMA ${sql.id(sibling)} CASCADE`.execute(getDb().db);
    }
  });

  test('an empty database has no version and every migration pending', async () => {
    assert.equal(await currentVersion(getDb()), undefined);
    assert.deepEqual(await pendingMigrations(getDb()), all);
  });

  test('concurrent first runs apply each migration exactly once', {
    skip: target.dialect === 'sqlite' ? 'SQLite has a single writer; the embedded shape runs one process' : false,
  }, async () => {
    const second = await openDatabase(target.url());
    try {
      const runs = await Promise.all([migrateToLatest(getDb()), migrateToLatest(second)]);
      assert.deepEqual(runs.flat().sort(), all);
    } finally {
      await second.close();
    }
  });

  test('migrateToLatest applies the pending migrations, then is a no-op', async () => {
    const first = await migrateToLatest(getDb());
    assert.deepEqual(first, target.dialect === 'sqlite' ? all : []);
    assert.equal(await currentVersion(getDb()), latestVersion);
    assert.equal(latestVersion, all[all.length - 1]);
    assert.deepEqual(await pendingMigrations(getDb()), []);
    assert.deepEqual(await migrateToLatest(getDb()), []);
    assert.equal(await currentVersion(getDb()), latestVersion);
  });

  test('locations are indexed by URL (the shared-data check before a delete reads no other rows)', async () => {
    const db = getDb().db;
    let names: string[];
    if (target.dialect === 'postgresql') {
      const { rows } = await sql<{ name: string; def: string }>`select indexname as name, indexdef as def from pg_indexes
        where tablename = 'image_locations' and schemaname = current_schema()`.execute(db);
      assert.match(rows.find((r) => r.name === 'ix_image_locations_value')?.def ?? '', /USING hash \(value\)/);
      names = rows.map((r) => r.name);
    } else if (target.dialect === 'mysql') {
      const { rows } = await sql<{ name: string; column: string }>`select index_name as name, column_name as \`column\`
        from information_schema.statistics where table_schema = database() and table_name = 'image_locations'`.execute(db);
      names = rows.filter((r) => r.column === 'value').map((r) => r.name);
    } else {
      const { rows } = await sql<{ name: string }>`select name from pragma_index_list('image_locations')`.execute(db);
      names = rows.map((r) => r.name);
    }
    assert.ok(names.includes('ix_image_locations_value'), names.join(', '));
  });

  test('every table exists and starts empty (but for the relay\'s one lease row, free)', async () => {
    for (const table of tables.filter((t) => t !== 'notification_relay')) {
      const rows = await getDb().db.selectFrom(table).selectAll().execute();
      assert.deepEqual(rows, [], table);
    }
    const lease = await getDb().db.selectFrom('notification_relay').select(['name', 'holder']).execute();
    assert.deepEqual(lease, [{ name: 'relay', holder: '' }]);
  });
}, { migrate: false });
