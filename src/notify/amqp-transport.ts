// Publishes notifications to RabbitMQ the way oslo.messaging's rabbit driver does, so consumers
// written for Glance work unchanged: a topic exchange named control_exchange, routing key
// <topic>.<priority>, and — before the first message of each routing key on a connection — the
// queue of that name, bound to the exchange, so notifications wait for consumers that start later.
// The exchange and queue properties are the driver's (amqp_durable_queues, amqp_auto_delete,
// rabbit_ha_queues, rabbit_quorum_queue): a consumer declaring them its way gets no precondition
// error. Messages are persistent JSON. Publishing uses a confirm channel: publish() resolves only
// after the broker acknowledged every message of the batch, and gives the batch up (dropping the
// connection) when the relay's deadline passes first: the relay derives it from its lease.
import { readFileSync } from 'node:fs';
import { connect, type ChannelModel, type ConfirmChannel } from 'amqplib';
import type { NotificationsConfig } from '../config/types.ts';
import { parseTransportUrl, type BrokerHost, type TransportUrl } from '../config/transport-url.ts';
import type { NotificationTransport, OutboxEntry } from '../ports/events.ts';
import { messageBody } from './envelope.ts';

/** The longest a connection attempt may take (a shorter publish deadline ends it sooner). */
const CONNECT_TIMEOUT_MS = 10_000;

interface Connected {
  model: ChannelModel;
  channel: ConfirmChannel;
  declared: Set<string>;
  broken: boolean;
}

export class AmqpTransport implements NotificationTransport {
  private readonly url: TransportUrl;
  private current?: Connected;
  /** Rotates through the URL's hosts on each new connection. */
  private nextHost = 0;

  constructor(private readonly config: NotificationsConfig, private readonly version: '1.0' | '2.0',
    private readonly log?: { warn(obj: unknown, msg?: string): void; info(obj: unknown, msg?: string): void }) {
    const parsed = parseTransportUrl(config.transportUrl ?? '');
    if ('problem' in parsed) throw new Error(parsed.problem);
    this.url = parsed;
  }

  async publish(entries: readonly OutboxEntry[], signal?: AbortSignal): Promise<void> {
    if (entries.length === 0) return;
    signal?.throwIfAborted();
    // A broker that stops answering (a dead link without a TCP reset) must not hold the batch past the deadline.
    let onAbort: (() => void) | undefined;
    const stalled = new Promise<never>((_, reject) => {
      onAbort = () => reject(new Error('the notification broker did not confirm in time'));
      signal?.addEventListener('abort', onAbort, { once: true });
    });
    let conn: Connected | undefined;
    try {
      await Promise.race([(async () => {
        conn = await this.connection();
        if (signal?.aborted) return;
        await this.send(conn, entries);
      })(), stalled]);
    } catch (error) {
      if (conn) await this.drop(conn);
      throw error;
    } finally {
      if (onAbort) signal?.removeEventListener('abort', onAbort);
    }
  }

  private async send(conn: Connected, entries: readonly OutboxEntry[]): Promise<void> {
    for (const entry of entries) {
      for (const topic of this.config.topics) {
        const key = `${topic}.${entry.priority.toLowerCase()}`;
        if (!conn.declared.has(key)) await this.declare(conn, key);
        const ok = conn.channel.publish(this.config.exchange, key, messageBody(entry, this.version), {
          contentType: 'application/json', contentEncoding: 'utf-8', deliveryMode: 2, priority: 0,
          messageId: entry.messageId,
        });
        if (!ok) await new Promise<void>((resolve) => conn.channel.once('drain', resolve));
      }
    }
    await conn.channel.waitForConfirms();
  }

  async close(): Promise<void> {
    if (this.current) await this.drop(this.current);
  }

  private async declare(conn: Connected, key: string): Promise<void> {
    const { rabbit, exchange } = this.config;
    if (!conn.declared.has('')) {
      await conn.channel.assertExchange(exchange, 'topic', { durable: rabbit.durable, autoDelete: rabbit.autoDelete });
      conn.declared.add('');
    }
    if (conn.declared.has(key)) return;
    const args: Record<string, unknown> = {};
    if (rabbit.haQueues) args['x-ha-policy'] = 'all';
    if (rabbit.quorumQueue) args['x-queue-type'] = 'quorum';
    await conn.channel.assertQueue(key, { durable: rabbit.durable, autoDelete: rabbit.autoDelete, arguments: args });
    await conn.channel.bindQueue(key, exchange, key);
    conn.declared.add(key);
  }

  private async connection(): Promise<Connected> {
    if (this.current && !this.current.broken) return this.current;
    const hosts = this.url.hosts;
    let lastError: unknown;
    for (let i = 0; i < hosts.length; i++) {
      const host = hosts[(this.nextHost + i) % hosts.length]!;
      try {
        const connected = await this.open(host);
        this.nextHost = (this.nextHost + i + 1) % hosts.length;
        this.current = connected;
        this.log?.info({ host: host.host, port: host.port }, 'connected to the notification broker');
        return connected;
      } catch (error) {
        lastError = error;
      }
    }
    throw lastError instanceof Error ? lastError : new Error(String(lastError));
  }

  private async open(host: BrokerHost): Promise<Connected> {
    const { rabbit } = this.config;
    const tls = this.url.ssl || rabbit.ssl;
    const model = await connect({
      protocol: tls ? 'amqps' : 'amqp', hostname: host.host, port: host.port, username: host.username,
      password: host.password, vhost: this.url.virtualHost, heartbeat: Math.floor(rabbit.heartbeatSeconds / 2),
    }, {
      timeout: CONNECT_TIMEOUT_MS,
      ...(rabbit.sslCaFile ? { ca: [readFileSync(rabbit.sslCaFile)] } : {}),
      ...(rabbit.sslCertFile ? { cert: readFileSync(rabbit.sslCertFile) } : {}),
      ...(rabbit.sslKeyFile ? { key: readFileSync(rabbit.sslKeyFile) } : {}),
      clientProperties: { connection_name: 'glimpse-notifications' },
    });
    const connected: Connected = { model, channel: await model.createConfirmChannel(), declared: new Set(), broken: false };
    const broken = (error?: Error) => {
      if (!connected.broken) this.log?.warn({ err: error }, 'lost the notification broker connection');
      connected.broken = true;
    };
    model.on('error', broken);
    model.on('close', broken);
    connected.channel.on('error', broken);
    connected.channel.on('close', () => broken());
    return connected;
  }

  private async drop(conn: Connected): Promise<void> {
    conn.broken = true;
    if (this.current === conn) this.current = undefined;
    try {
      await conn.model.close();
    } catch {
      // already closed
    }
  }
}
