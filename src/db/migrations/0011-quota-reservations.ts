// 0011_quota_reservations — exact per-project quotas (Keystone unified limits, decision 0021).
//
// quota_reservations: what transfers and creates in progress hold against a project's limits, one
// row per (reservation, resource), in usage units (bytes, images). A row counts while its lease
// (renewed by the process that holds it, the same owner id as its transfer leases) has not run out;
// the recovery sweep drops expired rows, so a dead node's reservations are released.
// quota_projects: one row per project that ever reserved, updated first in every reserving
// transaction: the row lock serialises check-and-reserve per project across all nodes (PostgreSQL,
// MariaDB) — SQLite serialises writers anyway.
import { sql, type Kysely, type Migration } from 'kysely';
import type { Dialect } from '../url.ts';

export function quotaReservations(dialect: Dialect): Migration {
  const timestamp = dialect === 'postgres' ? sql`timestamptz(6)` : dialect === 'mysql' ? sql`datetime(6)` : sql`text`;
  const tableOptions = dialect === 'mysql' ? sql`ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin` : sql``;
  return {
    async up(db: Kysely<unknown>) {
      await db.schema.createTable('quota_projects')
        .addColumn('project_id', 'varchar(255)', (c) => c.notNull().primaryKey())
        .addColumn('serial', 'bigint', (c) => c.notNull().defaultTo(0))
        .modifyEnd(tableOptions)
        .execute();
      await db.schema.createTable('quota_reservations')
        .addColumn('id', 'varchar(36)', (c) => c.notNull())
        .addColumn('resource', 'varchar(64)', (c) => c.notNull())
        .addColumn('project_id', 'varchar(255)', (c) => c.notNull())
        .addColumn('image_id', 'varchar(36)')
        .addColumn('owner', 'varchar(255)', (c) => c.notNull())
        .addColumn('amount', 'bigint', (c) => c.notNull())
        .addColumn('lease_expires_at', timestamp, (c) => c.notNull())
        .addPrimaryKeyConstraint('pk_quota_reservations', ['id', 'resource'])
        .modifyEnd(tableOptions)
        .execute();
      await db.schema.createIndex('ix_quota_reservations_project').on('quota_reservations').columns(['project_id', 'resource']).execute();
      await db.schema.createIndex('ix_quota_reservations_lease').on('quota_reservations').column('lease_expires_at').execute();
    },
    async down(db: Kysely<unknown>) {
      await db.schema.dropTable('quota_reservations').execute();
      await db.schema.dropTable('quota_projects').execute();
    },
  };
}
