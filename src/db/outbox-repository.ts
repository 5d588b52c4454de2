// The notification outbox over Kysely (migration 0012): writeOutbox adds a change's notifications
// inside the change's own transaction; SqlOutbox is the relay's side (lease, oldest, remove).
// Contract: test/contract/outbox-repository.test.ts.
import type { Kysely } from 'kysely';
import type { Notification, OutboxEntry, OutboxStore } from '../ports/events.ts';
import type { Database } from './connect.ts';
import { toDate } from './image-mapper.ts';
import type { Schema } from './schema.ts';

const LEASE_ROW = 'relay';
/** Rows per INSERT (far below every dialect's bound-parameter limit at 7 columns). */
const INSERT_BATCH = 200;

/** Writes `notifications` with `db`, which is the transaction of the change they report. */
export async function writeOutbox(db: Kysely<Schema>, notifications: readonly Notification[] | undefined): Promise<void> {
  if (!notifications || notifications.length === 0) return;
  for (let i = 0; i < notifications.length; i += INSERT_BATCH) {
    await db.insertInto('notification_outbox').values(notifications.slice(i, i + INSERT_BATCH).map((n) => ({
      message_id: n.messageId, publisher_id: n.publisherId, event_type: n.eventType, priority: n.priority,
      subject: n.subject.slice(0, 255), payload: JSON.stringify(n.payload), created_at: n.timestamp,
    }))).execute();
  }
}

export class SqlOutbox implements OutboxStore {
  private readonly db: Kysely<Schema>;

  constructor(database: Database) {
    this.db = database.db;
  }

  async append(notifications: readonly Notification[]): Promise<void> {
    await this.db.transaction().execute((trx) => writeOutbox(trx, notifications));
  }

  async lease(holder: string, now: Date, until: Date): Promise<boolean> {
    const result = await this.db.updateTable('notification_relay').set({ holder, lease_until: until })
      .where('name', '=', LEASE_ROW)
      .where((eb) => eb.or([eb('holder', '=', holder), eb('lease_until', '<', now)]))
      .executeTakeFirst();
    return Number(result.numUpdatedRows) === 1;
  }

  async releaseLease(holder: string): Promise<void> {
    await this.db.updateTable('notification_relay').set({ holder: '', lease_until: new Date(0) })
      .where('name', '=', LEASE_ROW).where('holder', '=', holder).execute();
  }

  async oldest(limit: number): Promise<OutboxEntry[]> {
    const rows = await this.db.selectFrom('notification_outbox').selectAll().orderBy('seq', 'asc').limit(limit).execute();
    return rows.map((r) => ({
      seq: Number(r.seq), messageId: r.message_id, publisherId: r.publisher_id, eventType: r.event_type,
      priority: r.priority as OutboxEntry['priority'], subject: r.subject, payload: JSON.parse(r.payload) as unknown,
      timestamp: toDate(r.created_at),
    }));
  }

  async remove(seqs: readonly number[]): Promise<void> {
    for (let i = 0; i < seqs.length; i += 500) {
      await this.db.deleteFrom('notification_outbox').where('seq', 'in', seqs.slice(i, i + 500)).execute();
    }
  }

  async count(): Promise<number> {
    const row = await this.db.selectFrom('notification_outbox').select((eb) => eb.fn.countAll().as('n')).executeTakeFirstOrThrow();
    return Number(row.n);
  }
}
