// The notifications a test app wrote to its outbox (SQLite), in order, for tests whose broker is
// unreachable so that every notification stays there.
import { join } from 'node:path';
import Database from 'better-sqlite3';

export interface OutboxRow {
  event_type: string;
  priority: string;
  subject: string;
  payload: string;
  /** The payload, parsed. */
  body: Record<string, unknown>;
}

/** The outbox rows about `subject` of the app whose files are in `dir`. */
export function outboxRows(dir: string, subject: string): OutboxRow[] {
  const db = new Database(join(dir, 'glimpse.db'), { readonly: true });
  try {
    const rows = db.prepare('SELECT event_type, priority, subject, payload FROM notification_outbox WHERE subject = ? ORDER BY seq')
      .all(subject) as Omit<OutboxRow, 'body'>[];
    return rows.map((r) => ({ ...r, body: JSON.parse(r.payload) as Record<string, unknown> }));
  } finally {
    db.close();
  }
}

/**
 * Settings for an app whose notifications all stay in its outbox: messagingv2 to a broker address
 * nothing listens on, so the relay never publishes and outboxRows() sees every notification.
 */
export const unreachableBroker = {
  GLIMPSE_DEFAULT__TRANSPORT_URL: 'rabbit://guest:guest@127.0.0.1:1/',
  GLIMPSE_OSLO_MESSAGING_NOTIFICATIONS__DRIVER: 'messagingv2',
} as const;
