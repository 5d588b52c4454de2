// [oslo_messaging_notifications], [oslo_messaging_rabbit] and [DEFAULT]'s messaging options → NotificationsConfig.
import { ConfigError } from './errors.ts';
import type { Settings } from './settings.ts';
import type { NotificationsConfig } from './types.ts';

export function resolveNotifications(s: Settings, warnings: string[]): NotificationsConfig {
  const drivers = s.list('oslo_messaging_notifications', 'driver') as NotificationsConfig['drivers'];
  const transportUrl = s.optionalString('oslo_messaging_notifications', 'transport_url') ?? s.optionalString('DEFAULT', 'transport_url');
  const bus = drivers.some((d) => d === 'messagingv2' || d === 'messaging');
  if (bus && transportUrl === undefined) {
    throw new ConfigError('[oslo_messaging_notifications] driver sends to the message bus, but no transport_url is set '
      + '([DEFAULT] transport_url or [oslo_messaging_notifications] transport_url)',
    { section: 'oslo_messaging_notifications', option: 'driver' });
  }
  if (!bus && transportUrl !== undefined) {
    warnings.push('transport_url is set but no notification is sent to the message bus: set [oslo_messaging_notifications] driver = messagingv2');
  }
  const quorum = s.boolean('oslo_messaging_rabbit', 'rabbit_quorum_queue');
  if (quorum && s.boolean('oslo_messaging_rabbit', 'rabbit_ha_queues')) {
    throw new ConfigError('[oslo_messaging_rabbit] rabbit_quorum_queue and rabbit_ha_queues cannot both be on',
      { section: 'oslo_messaging_rabbit', option: 'rabbit_quorum_queue' });
  }
  return {
    drivers, transportUrl,
    topics: s.list('oslo_messaging_notifications', 'topics'),
    exchange: s.string('DEFAULT', 'control_exchange'),
    publisherId: s.string('DEFAULT', 'default_publisher_id'),
    disabled: s.list('DEFAULT', 'disabled_notifications'),
    rabbit: {
      // oslo.messaging: quorum queues are durable, so the exchange is declared durable with them.
      durable: s.boolean('oslo_messaging_rabbit', 'amqp_durable_queues') || quorum,
      autoDelete: s.boolean('oslo_messaging_rabbit', 'amqp_auto_delete'),
      haQueues: s.boolean('oslo_messaging_rabbit', 'rabbit_ha_queues'),
      quorumQueue: quorum,
      ssl: s.boolean('oslo_messaging_rabbit', 'ssl'),
      sslCaFile: s.optionalString('oslo_messaging_rabbit', 'ssl_ca_file'),
      sslCertFile: s.optionalString('oslo_messaging_rabbit', 'ssl_cert_file'),
      sslKeyFile: s.optionalString('oslo_messaging_rabbit', 'ssl_key_file'),
      heartbeatSeconds: s.number('oslo_messaging_rabbit', 'heartbeat_timeout_threshold'),
      retryIntervalSeconds: s.number('oslo_messaging_rabbit', 'rabbit_retry_interval'),
      retryMaxSeconds: s.number('oslo_messaging_rabbit', 'rabbit_interval_max'),
    },
    outboxMaxRows: s.number('glimpse_notifications', 'outbox_max_rows'),
    relayLeaseSeconds: s.number('glimpse_notifications', 'relay_lease'),
  };
}
