// 0012_notification_outbox — notifications waiting to be published (docs/decisions/0022).
//
// notification_outbox: one row per notification, written in the transaction of the change it
// reports; `seq` (auto-increment) is the order the relay publishes in. A row is deleted only after
// the broker confirmed it. notification_relay: the one lease row; the node holding it publishes,
// so the outbox leaves in order with any number of API and worker processes.
import { sql, type Kysely, type Migration } from 'kysely';
import type { Dialect } from '../url.ts';

export function notificationOutbox(dialect: Dialect): Migration {
  const timestamp = dialect === 'postgres' ? sql`timestamptz(6)` : dialect === 'mysql' ? sql`datetime(6)` : sql`text`;
  const tableOptions = dialect === 'mysql' ? sql`ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin` : sql``;
  return {
    async up(db: Kysely<unknown>) {
      await db.schema.createTable('notification_outbox')
        .addColumn('seq', dialect === 'postgres' ? 'bigserial' : dialect === 'mysql' ? 'bigint' : 'integer',
          (c) => dialect === 'postgres' ? c.primaryKey() : c.primaryKey().autoIncrement())
        .addColumn('message_id', 'varchar(36)', (c) => c.notNull())
        .addColumn('publisher_id', 'varchar(255)', (c) => c.notNull())
        .addColumn('event_type', 'varchar(255)', (c) => c.notNull())
        .addColumn('priority', 'varchar(16)', (c) => c.notNull())
        .addColumn('subject', 'varchar(255)', (c) => c.notNull())
        .addColumn('payload', dialect === 'mysql' ? sql`mediumtext` : 'text', (c) => c.notNull())
        .addColumn('created_at', timestamp, (c) => c.notNull())
        .modifyEnd(tableOptions)
        .execute();
      await db.schema.createTable('notification_relay')
        .addColumn('name', 'varchar(64)', (c) => c.primaryKey())
        .addColumn('holder', 'varchar(255)', (c) => c.notNull())
        .addColumn('lease_until', timestamp, (c) => c.notNull())
        .modifyEnd(tableOptions)
        .execute();
      const epoch = dialect === 'sqlite' ? sql`'1970-01-01T00:00:00.000Z'` : sql`'1970-01-01 00:00:00'`;
      await sql`INSERT INTO notification_relay (name, holder, lease_until) VALUES ('relay', '', ${epoch})`.execute(db);
    },
    async down(db: Kysely<unknown>) {
      await db.schema.dropTable('notification_relay').execute();
      await db.schema.dropTable('notification_outbox').execute();
    },
  };
}
