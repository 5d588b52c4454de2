// Builds the notification machinery of one process from NotificationsConfig: the services'
// Notifier and, when a driver sends anywhere, the relay that empties the outbox.
import type { NotificationsConfig } from '../config/types.ts';
import type { NotificationTransport, OutboxStore } from '../ports/events.ts';
import { Notifier } from '../services/notifier.ts';
import { AmqpTransport } from './amqp-transport.ts';
import { FanoutTransport, LogTransport, type NotificationLog } from './log-transport.ts';
import { NotificationRelay } from './relay.ts';

export interface Notifications {
  notifier: Notifier;
  relay?: NotificationRelay;
}

export function createNotifications(config: NotificationsConfig, store: OutboxStore, log: NotificationLog,
  holder: string): Notifications {
  const transports: NotificationTransport[] = [];
  for (const driver of new Set(config.drivers)) {
    if (driver === 'messagingv2' || driver === 'messaging') {
      transports.push(new AmqpTransport(config, driver === 'messagingv2' ? '2.0' : '1.0', log));
    } else if (driver === 'log') {
      transports.push(new LogTransport(log));
    }
  }
  if (transports.length === 0) return { notifier: Notifier.off };
  const holderOf: { relay?: NotificationRelay } = {};
  const notifier = new Notifier({ enabled: true, publisherId: config.publisherId, disabled: config.disabled }, store,
    { onAppend: () => holderOf.relay?.nudge(), log });
  const relay = new NotificationRelay({
    store, transport: transports.length === 1 ? transports[0]! : new FanoutTransport(transports), holder,
    leaseSeconds: config.relayLeaseSeconds, retryIntervalSeconds: config.rabbit.retryIntervalSeconds,
    retryMaxSeconds: config.rabbit.retryMaxSeconds, maxRows: config.outboxMaxRows,
    onFull: (full) => notifier.setOutboxFull(full), log,
  });
  holderOf.relay = relay;
  return { notifier, relay };
}
