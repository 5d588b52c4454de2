// The notification outbox over Kysely (migration 0012): writeOutbox adds a change's notifications
// inside the change's own transaction; SqlOutbox is the relay's side (lease, oldest, remove).
// Contract: test/contract/outbox-repository.test.ts.
import { CompiledQuery, sql, type Kysely } from 'kysely';
import type { Notification, OutboxEntry, OutboxStore } from '../ports/events.ts';
import type { Database } from './connect.ts';
import { toDate } from './image-mapper.ts';
import type { Schema } from './schema.ts';

const LEASE_ROW = 'relay';
/** Rows per INSERT (far below every dialect's bound-parameter limit at 7 columns). */
const INSERT_BATCH = 200;

type OutboxRow = [message_id: string, publisher_id: string, event_type: string, priority: string, subject: string,
  payload: string, created_at: Date];

/**
 * The INSERT's SQL text per dialect adapter and row count, compiled once: a change's INSERT runs on
 * every image save while notifications are on, and building and compiling the query each time cost
 * more than the insert itself (SQLite then reuses its prepared statement for the same text).
 */
const insertTexts = new WeakMap<object, Map<number, string>>();

function insertText(db: Kysely<Schema>, rows: readonly OutboxRow[]): string {
  const adapter = db.getExecutor().adapter;
  let texts = insertTexts.get(adapter);
  if (!texts) insertTexts.set(adapter, texts = new Map());
  let text = texts.get(rows.length);
  if (text === undefined) {
    text = db.insertInto('notification_outbox').values(rows.map((r) => ({
      message_id: r[0], publisher_id: r[1], event_type: r[2], priority: r[3], subject: r[4], payload: r[5], created_at: r[6],
    }))).compile().sql;
    texts.set(rows.length, text);
  }
  return text;
}

/** Writes `notifications` with `db`, which is the transaction of the change they report. */
export async function writeOutbox(db: Kysely<Schema>, notifications: readonly Notification[] | undefined): Promise<void> {
  if (!notifications || notifications.length === 0) return;
  for (let i = 0; i < notifications.length; i += INSERT_BATCH) {
    const rows = notifications.slice(i, i + INSERT_BATCH).map((n): OutboxRow => [n.messageId, n.publisherId, n.eventType,
      n.priority, n.subject.slice(0, 255), JSON.stringify(n.payload), n.timestamp]);
    await db.executeQuery(CompiledQuery.raw(insertText(db, rows), rows.flat()));
  }
}

export class SqlOutbox implements OutboxStore {
  private readonly db: Kysely<Schema>;
  private readonly dialect: Database['dialect'];
  /** SQLite: the connection's own `synchronous` level, restored after each delete. */
  private synchronous?: number;

  constructor(database: Database) {
    this.db = database.db;
    this.dialect = database.dialect;
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
    // The payload is parsed only if someone reads it: the relay sends the stored text as it is.
    return rows.map((r) => ({
      seq: Number(r.seq), messageId: r.message_id, publisherId: r.publisher_id, eventType: r.event_type,
      priority: r.priority as OutboxEntry['priority'], subject: r.subject, payloadJson: r.payload,
      get payload(): unknown { return JSON.parse(r.payload) as unknown; },
      timestamp: toDate(r.created_at),
    }));
  }

  /**
   * Deletes without waiting for the disk: a delete lost in a crash only makes the relay publish a
   * confirmed notification again, with the same message_id (at least once, as before), while a
   * durable commit per batch would cost an fsync that, on SQLite, blocks the requests' thread.
   * SQLite: `synchronous = NORMAL` for this statement (in WAL mode the next durable commit syncs
   * it too); PostgreSQL: `synchronous_commit = off` for this transaction; MySQL has no per-
   * transaction switch (its own flush setting applies).
   */
  async remove(seqs: readonly number[]): Promise<void> {
    if (seqs.length === 0) return;
    const chunks: number[][] = [];
    for (let i = 0; i < seqs.length; i += 500) chunks.push(seqs.slice(i, i + 500));
    const deleteAll = async (db: Kysely<Schema>) => {
      for (const chunk of chunks) await db.deleteFrom('notification_outbox').where('seq', 'in', chunk).execute();
    };
    if (this.dialect === 'sqlite') {
      await this.db.connection().execute(async (conn) => {
        this.synchronous ??= Number((await sql<{ synchronous: number }>`PRAGMA synchronous`.execute(conn)).rows[0]?.synchronous ?? 2);
        if (this.synchronous <= 1) return deleteAll(conn);
        await sql`PRAGMA synchronous = NORMAL`.execute(conn);
        try {
          await conn.transaction().execute(deleteAll);
        } finally {
          await sql.raw(`PRAGMA synchronous = ${this.synchronous}`).execute(conn);
        }
      });
    } else if (this.dialect === 'postgres') {
      await this.db.transaction().execute(async (trx) => {
        await sql`SET LOCAL synchronous_commit = off`.execute(trx);
        await deleteAll(trx);
      });
    } else {
      await deleteAll(this.db);
    }
  }

  async count(): Promise<number> {
    const row = await this.db.selectFrom('notification_outbox').select((eb) => eb.fn.countAll().as('n')).executeTakeFirstOrThrow();
    return Number(row.n);
  }
}
