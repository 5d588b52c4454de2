// `driver = log`: each notification is written to the log as oslo.messaging's log driver does
// (the message as JSON, logger oslo.messaging.notification.<event_type>, at the event's priority).
import type { NotificationTransport, OutboxEntry } from '../ports/events.ts';
import { osloMessageText } from './envelope.ts';

export interface NotificationLog {
  info(obj: unknown, msg?: string): void;
  warn(obj: unknown, msg?: string): void;
  error(obj: unknown, msg?: string): void;
}

export class LogTransport implements NotificationTransport {
  constructor(private readonly log: NotificationLog) {}

  async publish(entries: readonly OutboxEntry[]): Promise<void> {
    for (const entry of entries) {
      const level = entry.priority === 'ERROR' ? 'error' : entry.priority === 'WARN' ? 'warn' : 'info';
      this.log[level]({ logger: `oslo.messaging.notification.${entry.eventType}` }, osloMessageText(entry));
    }
  }

  async close(): Promise<void> {}
}

/** Several drivers at once (`driver = messagingv2, log`): each publishes every batch. */
export class FanoutTransport implements NotificationTransport {
  constructor(private readonly transports: readonly NotificationTransport[]) {}

  async publish(entries: readonly OutboxEntry[], signal?: AbortSignal): Promise<void> {
    for (const transport of this.transports) await transport.publish(entries, signal);
  }

  async close(): Promise<void> {
    for (const transport of this.transports) await transport.close();
  }
}
