// The outbox relay without a broker or database (notify/relay.ts): the publish deadline is derived
// from the relay lease and always ends a batch while the lease is still held, whatever the lease;
// a stuck transport is given up (nothing deleted, the entries published again later); a burst of
// nudges leads to one batch, not one pass per change; the AMQP transport gives a batch up when the
// deadline aborts it, even while the broker never answers; an entry's stored payload text goes into
// the message as it is, giving the same bytes as serializing the payload.
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createServer, type Socket } from 'node:net';
import { describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';

import { OPTIONS } from '../../src/config/schema.ts';
import type { NotificationsConfig } from '../../src/config/types.ts';
import { AmqpTransport } from '../../src/notify/amqp-transport.ts';
import { messageBody, osloMessage } from '../../src/notify/envelope.ts';
import { NotificationRelay, publishDeadlineMs } from '../../src/notify/relay.ts';
import type { Notification, NotificationTransport, OutboxEntry, OutboxStore } from '../../src/ports/events.ts';

const quiet = { warn() {}, error() {}, info() {} };

/** An in-memory outbox with the lease row's rule (held by `holder`, or free once `until` passed). */
class MemoryOutbox implements OutboxStore {
  entries: OutboxEntry[] = [];
  holder = '';
  until = 0;
  removes = 0;
  private seq = 0;

  async append(notifications: readonly Notification[]): Promise<void> {
    for (const n of notifications) this.entries.push({ ...n, seq: ++this.seq });
  }

  async lease(holder: string, now: Date, until: Date): Promise<boolean> {
    if (this.holder !== holder && this.until >= now.getTime()) return false;
    this.holder = holder;
    this.until = until.getTime();
    return true;
  }

  async releaseLease(holder: string): Promise<void> {
    if (this.holder === holder) this.until = 0;
  }

  async oldest(limit: number): Promise<OutboxEntry[]> {
    return this.entries.slice(0, limit);
  }

  async remove(seqs: readonly number[]): Promise<void> {
    this.removes++;
    const gone = new Set(seqs);
    this.entries = this.entries.filter((e) => !gone.has(e.seq));
  }

  async count(): Promise<number> {
    return this.entries.length;
  }
}

function notification(i: number): Notification {
  return { messageId: crypto.randomUUID(), publisherId: 'image.localhost', eventType: 'image.update', priority: 'INFO',
    payload: { i }, timestamp: new Date(), subject: `image-${i}` };
}

function relayWith(store: OutboxStore, transport: NotificationTransport, leaseSeconds: number, lingerMs?: number) {
  return new NotificationRelay({ store, transport, holder: 'node-a', leaseSeconds, lingerMs, pollMs: 60_000, retryIntervalSeconds: 60, retryMaxSeconds: 60,
    maxRows: 10_000, onFull: () => undefined, log: quiet });
}

describe('notification relay', () => {
  test('the publish deadline is derived from the lease: under half of it for every allowed relay_lease', () => {
    const option = OPTIONS.find((o) => o.section === 'glimpse_notifications' && o.name === 'relay_lease');
    assert.ok(option, 'relay_lease is a config option');
    const min = Number(option.min);
    const max = Number(option.max);
    for (const lease of [min, Number(option.default), 7, 59, max]) {
      // A pass starts with at least half the lease left (renewed at half-life); the batch must end before that runs out.
      assert.ok(publishDeadlineMs(lease) < (lease * 1000) / 2, `lease ${lease} s: deadline ${publishDeadlineMs(lease)} ms`);
      assert.ok(publishDeadlineMs(lease) > 0);
    }
  });

  test('a transport that never confirms is given up while this relay still holds the lease; nothing is deleted', async () => {
    const store = new MemoryOutbox();
    await store.append([notification(1), notification(2)]);
    let called = 0;
    let abortedAt = 0;
    let leaseAtAbort = 0;
    const stuck: NotificationTransport = {
      publish: (_entries, signal) => {
        called++;
        signal?.addEventListener('abort', () => { abortedAt = Date.now(); leaseAtAbort = store.until; });
        return new Promise<void>(() => undefined); // ignores the signal: the relay must give up on its own
      },
      close: async () => undefined,
    };
    const relay = relayWith(store, stuck, 2);
    relay.start();
    for (let i = 0; i < 100 && abortedAt === 0; i++) await sleep(50);
    await relay.stop();
    assert.equal(called, 1);
    assert.ok(abortedAt > 0, 'the deadline aborted the publish');
    assert.ok(abortedAt < leaseAtAbort, 'the batch was given up before the lease ran out, so no other node could hold it yet');
    assert.equal(store.entries.length, 2, 'unconfirmed entries stay in the outbox');
    assert.equal(store.removes, 0);
  });

  test('appends a few ms apart are published in one batch after the linger, not one pass per change', async () => {
    const store = new MemoryOutbox();
    const batches: number[] = [];
    const transport: NotificationTransport = { publish: async (entries) => { batches.push(entries.length); }, close: async () => undefined };
    // A long linger (the default is 50 ms) so that the appends below, ~5 ms apart, fall inside it on any machine.
    const relay = relayWith(store, transport, 15, 1000);
    relay.start();
    await sleep(100); // the first (empty) pass took the lease; the next poll is a minute off
    for (let i = 0; i < 10; i++) {
      await store.append([notification(i)]);
      relay.nudge();
      await sleep(5);
    }
    for (let i = 0; i < 100 && store.entries.length > 0; i++) await sleep(25);
    await relay.stop();
    assert.equal(store.entries.length, 0);
    assert.deepEqual(batches, [10]);
    assert.equal(store.removes, 1);
  });

  test('the AMQP transport rejects and gives the batch up when the deadline aborts, though the broker never answers', async () => {
    const sockets: Socket[] = [];
    const silent = createServer((socket) => { sockets.push(socket); }); // accepts, never speaks AMQP
    silent.listen(0, '127.0.0.1');
    await once(silent, 'listening');
    const { port } = silent.address() as { port: number };
    const config: NotificationsConfig = {
      drivers: ['messagingv2'], transportUrl: `rabbit://guest:guest@127.0.0.1:${port}/`, topics: ['notifications'],
      exchange: 'glance', publisherId: 'image.localhost', disabled: [], outboxMaxRows: 1000, relayLeaseSeconds: 15,
      rabbit: { durable: false, autoDelete: false, haQueues: false, quorumQueue: false, ssl: false, heartbeatSeconds: 60,
        retryIntervalSeconds: 1, retryMaxSeconds: 30 },
    };
    const transport = new AmqpTransport(config, '2.0');
    try {
      const deadline = AbortSignal.timeout(300);
      await assert.rejects(transport.publish([{ ...notification(1), seq: 1 }], deadline), /did not confirm in time/);
      assert.ok(deadline.aborted);
    } finally {
      for (const socket of sockets) socket.destroy();
      silent.close();
      await transport.close();
    }
  });

  test('a stored payload text is sent as it is: the same body as serializing the payload, in both envelopes', () => {
    const n = { ...notification(7), timestamp: new Date('2026-12-07T20:48:13.885Z'),
      payload: { id: 'x', name: 'quote " and \\ and ü', properties: { a: '1' }, tags: ['t'], size: null } };
    const stored = { ...n, payloadJson: JSON.stringify(n.payload) };
    for (const version of ['1.0', '2.0'] as const) {
      assert.equal(messageBody(stored, version).toString(), messageBody(n, version).toString(), version);
    }
    const wrapped = JSON.parse(messageBody(stored, '2.0').toString()) as Record<string, string>;
    assert.equal(wrapped['oslo.version'], '2.0');
    assert.deepEqual(JSON.parse(wrapped['oslo.message']!), JSON.parse(JSON.stringify(osloMessage(n))));
  });
});
