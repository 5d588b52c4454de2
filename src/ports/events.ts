// The EventSink port: notifications in the shape Glance sends them (oslo.messaging's notifier).
//
// A notification reporting a database change is written to the outbox in the same transaction as
// the change (repositories take an `emit` option); one that reports no change (image.send, a failed
// upload) is appended on its own. A relay (notify/relay.ts) publishes the outbox in order and deletes
// only what the broker confirmed. See docs/decisions/0022-notification-outbox.md.

export type NotificationPriority = 'INFO' | 'WARN' | 'ERROR';

export interface Notification {
  /** oslo.messaging's message_id: a UUID, kept across re-publication so consumers can drop duplicates. */
  messageId: string;
  publisherId: string;
  eventType: string;
  priority: NotificationPriority;
  payload: unknown;
  /** When the change happened (oslo's timestamp, `str(utcnow())`). */
  timestamp: Date;
  /** What the notification is about (image id, task id, namespace): its order is kept per subject. */
  subject: string;
}

/** Builds the notifications of one change from what the repository stored, inside its transaction. */
export type Emit<T> = (stored: T) => readonly Notification[];

/** A notification waiting in the outbox; `seq` orders the outbox. */
export interface OutboxEntry extends Notification {
  seq: number;
  /** The payload as the outbox stores it (JSON text), so a transport can send it without parsing it again. */
  payloadJson?: string;
}

/** Notifications that report no database change of their own. */
export interface EventSink {
  append(notifications: readonly Notification[]): Promise<void>;
}

/** The relay's side of the outbox. */
export interface OutboxStore extends EventSink {
  /**
   * Takes or renews the relay lease for `holder` until `until` (one relay publishes at a time, so
   * the outbox leaves in order); false while another live holder has it.
   */
  lease(holder: string, now: Date, until: Date): Promise<boolean>;
  /** Gives the lease up (clean shutdown), so another node takes over at once. */
  releaseLease(holder: string): Promise<void>;
  /** The oldest `limit` entries, in outbox order. */
  oldest(limit: number): Promise<OutboxEntry[]>;
  /** Deletes entries the broker confirmed. */
  remove(seqs: readonly number[]): Promise<void>;
  count(): Promise<number>;
}

/** Where notifications go: the message bus, or the log. */
export interface NotificationTransport {
  /**
   * Publishes `entries` in order; resolves only when the broker confirmed all of them, rejects when
   * any was not (the caller keeps them and publishes them again). When `signal` aborts (the relay's
   * deadline, well inside its lease) the transport gives the batch up: it rejects and drops the
   * connection, so nothing of the batch is still being sent once another node may hold the lease.
   */
  publish(entries: readonly OutboxEntry[], signal?: AbortSignal): Promise<void>;
  close(): Promise<void>;
}
