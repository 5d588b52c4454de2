// 0007_image_transfers — who runs each upload and stage, so a dead owner's transfer is recovered.
//
// A row per transfer that moved an image to `saving` (upload) or `uploading` (stage): the image,
// what kind of transfer it is, the store it writes to, the status a failure leaves, and the lease of
// the process that runs it (owner + lease_expires_at, renewed by a heartbeat like a task lease). A
// row whose lease ran out belongs to a process that is gone; the recovery sweep (src/tasks/recovery.ts)
// takes it over by compare-and-set on (owner, lease_expires_at) and reverts the image. Imports are
// owned by their task's lease (tasks.lease_owner / lease_expires_at, migration 0001).
// The index on lease_expires_at keeps the sweep's "expired leases" query off a table scan.
import { sql, type Kysely, type Migration } from 'kysely';
import type { Dialect } from '../url.ts';

export function imageTransfers(dialect: Dialect): Migration {
  const timestamp = dialect === 'postgres' ? sql`timestamptz(6)` : dialect === 'mysql' ? sql`datetime(6)` : sql`text`;
  const tableOptions = dialect === 'mysql' ? sql`ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin` : sql``;
  return {
    async up(db: Kysely<unknown>) {
      await db.schema.createTable('image_transfers')
        .addColumn('image_id', 'varchar(36)', (c) => c.notNull())
        .addColumn('kind', 'varchar(16)', (c) => c.notNull())
        .addColumn('store', 'varchar(255)', (c) => c.notNull())
        .addColumn('revert_status', 'varchar(30)', (c) => c.notNull())
        .addColumn('owner', 'varchar(255)', (c) => c.notNull())
        .addColumn('started_at', timestamp, (c) => c.notNull())
        .addColumn('lease_expires_at', timestamp, (c) => c.notNull())
        .addPrimaryKeyConstraint('pk_image_transfers', ['image_id'])
        .modifyEnd(tableOptions)
        .execute();
      await db.schema.createIndex('ix_image_transfers_lease').on('image_transfers').column('lease_expires_at').execute();
      await db.schema.createIndex('ix_image_transfers_owner').on('image_transfers').column('owner').execute();
    },
    async down(db: Kysely<unknown>) {
      await db.schema.dropTable('image_transfers').execute();
    },
  };
}
