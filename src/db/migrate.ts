// Schema migrations (`glimpse db sync`). The provider is a static object rather than a folder
// scan, so migrations are found the same way under tsx, a bundle or compiled JS. Migration names
// sort lexically and are never renamed: they are the schema version stored in the database.
// Concurrent API processes may all call migrateToLatest at start: Kysely takes a database lock
// (pg advisory lock / MySQL GET_LOCK / SQLite's write lock) so each migration runs exactly once.
import { Migrator, sql, type Migration, type MigrationProvider } from 'kysely';
import type { Database } from './connect.ts';
import { initial } from './migrations/0001-initial.ts';
import { listSortIndexes } from './migrations/0002-list-sort-indexes.ts';
import { metadefs } from './migrations/0003-metadefs.ts';
import { taskAttempts } from './migrations/0005-task-attempts.ts';
import { locationValueIndex } from './migrations/0006-location-value-index.ts';
import { imageTransfers } from './migrations/0007-image-transfers.ts';
import { listWalkIndexes } from './migrations/0009-list-walk-indexes.ts';
import { imageCache } from './migrations/0010-image-cache.ts';
import { quotaReservations } from './migrations/0011-quota-reservations.ts';
import { notificationOutbox } from './migrations/0012-notification-outbox.ts';
import { ownerlessListIndexes } from './migrations/0013-ownerless-list-indexes.ts';
import { quotaImageCounts } from './migrations/0014-quota-image-counts.ts';
import type { Dialect } from './url.ts';

const migrations: ReadonlyArray<[name: string, build: (dialect: Dialect) => Migration]> = [
  ['0001_initial', initial],
  ['0002_list_sort_indexes', listSortIndexes],
  ['0003_metadefs', metadefs],
  ['0005_task_attempts', taskAttempts],
  ['0006_location_value_index', locationValueIndex],
  ['0007_image_transfers', imageTransfers],
  ['0009_list_walk_indexes', listWalkIndexes],
  ['0010_image_cache', imageCache],
  ['0011_quota_reservations', quotaReservations],
  ['0012_notification_outbox', notificationOutbox],
  ['0013_ownerless_list_indexes', ownerlessListIndexes],
  ['0014_quota_image_counts', quotaImageCounts],
];

export const latestVersion = migrations[migrations.length - 1]![0];

/**
 * On PostgreSQL the migration tables are pinned to the current schema (the first of search_path):
 * Kysely otherwise looks for them in *every* schema, so a second deployment (or test run) in
 * another schema of the same database would make this one skip creating its own.
 */
async function migrator(database: Database): Promise<Migrator> {
  const provider: MigrationProvider = {
    getMigrations: async () => Object.fromEntries(migrations.map(([name, build]) => [name, build(database.dialect)])),
  };
  let migrationTableSchema: string | undefined;
  if (database.dialect === 'postgres') {
    const { rows } = await sql<{ schema: string | null }>`select current_schema() as schema`.execute(database.db);
    migrationTableSchema = rows[0]?.schema ?? undefined;
    if (migrationTableSchema === undefined) throw new Error(`No schema of search_path exists on ${database.displayUrl}`);
  }
  return new Migrator({
    db: database.db,
    provider,
    migrationTableName: 'glimpse_migration',
    migrationLockTableName: 'glimpse_migration_lock',
    migrationTableSchema,
  });
}

/** Applies every pending migration; returns the names applied (empty when already up to date). */
export async function migrateToLatest(database: Database): Promise<string[]> {
  const { error, results = [] } = await (await migrator(database)).migrateToLatest();
  if (error !== undefined) {
    const failed = results.find((r) => r.status === 'Error')?.migrationName;
    const reason = error instanceof Error ? error.message : String(error);
    throw new Error(`Database migration ${failed ?? ''} failed on ${database.displayUrl}: ${reason}`.replace('  ', ' '),
      { cause: error });
  }
  return results.filter((r) => r.status === 'Success').map((r) => r.migrationName);
}

/** Name of the last applied migration, or undefined for a database never migrated. */
export async function currentVersion(database: Database): Promise<string | undefined> {
  const applied = (await (await migrator(database)).getMigrations()).filter((m) => m.executedAt !== undefined);
  return applied[applied.length - 1]?.name;
}

/** Names of the migrations not yet applied, in the order they would run. */
export async function pendingMigrations(database: Database): Promise<string[]> {
  return (await (await migrator(database)).getMigrations()).filter((m) => m.executedAt === undefined).map((m) => m.name);
}
