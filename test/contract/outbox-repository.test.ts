// Contract of the notification outbox (src/ports/events.ts OutboxStore, db/outbox-repository.ts) on
// every SQL dialect: entries come back in the order they were written with their content intact,
// only confirmed entries are removed, notifications written with an image change roll back with
// it, and one relay holds the lease at a time until it expires or is released.
import { randomUUID } from 'node:crypto';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SqlOutbox } from '../../src/db/outbox-repository.ts';
import { SqlImageRepository } from '../../src/db/image-repository.ts';
import type { Notification } from '../../src/ports/events.ts';
import { forEachDatabase } from '../helpers/databases.ts';
import { newImage } from '../helpers/image-fixtures.ts';

const T0 = new Date('2026-06-01T00:00:00.000Z');
const at = (seconds: number) => new Date(T0.getTime() + seconds * 1000);

function notification(subject: string, n: number): Notification {
  return { messageId: randomUUID(), publisherId: 'image.test', eventType: 'image.update', priority: n % 2 ? 'INFO' : 'ERROR',
    payload: { n, name: 'ünïcode ✓', nested: { list: [1, null] } }, timestamp: at(n), subject };
}

forEachDatabase('notification outbox', (getDb) => {
  const outbox = () => new SqlOutbox(getDb());

  test('entries come back oldest first with what was written; remove deletes only the given ones', async () => {
    const subject = randomUUID();
    await outbox().remove((await outbox().oldest(10_000)).map((e) => e.seq));
    const written = [notification(subject, 1), notification(subject, 2), notification(subject, 3)];
    await outbox().append(written.slice(0, 2));
    await outbox().append(written.slice(2));
    const entries = await outbox().oldest(10);
    assert.deepEqual(entries.map(({ seq: _seq, payloadJson: _text, ...rest }) => ({ ...rest, payload: rest.payload })), written);
    // The stored text is the payload's JSON, which the relay sends as it is.
    assert.deepEqual(entries.map((e) => JSON.parse(e.payloadJson!) as unknown), written.map((n) => n.payload));
    assert.ok(entries[0]!.seq < entries[1]!.seq && entries[1]!.seq < entries[2]!.seq);
    assert.equal(await outbox().count(), 3);
    await outbox().remove([entries[0]!.seq, entries[2]!.seq]);
    assert.deepEqual((await outbox().oldest(10)).map((e) => e.messageId), [written[1]!.messageId]);
    await outbox().remove([entries[1]!.seq]);
  });

  test('an image change and its notifications are stored together, or neither when the change fails', async () => {
    const images = new SqlImageRepository(getDb());
    const image = newImage();
    const before = await outbox().count();
    await images.create(image, { emit: (stored) => [notification(stored.id, 1)] });
    assert.equal(await outbox().count(), before + 1);
    await assert.rejects(images.update({ ...image, name: 'x' }, { expectVersion: 99, emit: () => [notification(image.id, 2)] }));
    assert.equal(await outbox().count(), before + 1, 'a change that lost its compare-and-set wrote no notification');
    await assert.rejects(images.create(image, { emit: () => [notification(image.id, 3)] }));
    assert.equal(await outbox().count(), before + 1, 'a refused create wrote no notification');
    await outbox().remove((await outbox().oldest(10_000)).map((e) => e.seq));
  });

  test('one holder at a time: the lease is renewed by its holder, taken over only after it expired or was released', async () => {
    await outbox().releaseLease('a');
    await outbox().releaseLease('b');
    assert.equal(await outbox().lease('a', at(0), at(10)), true);
    assert.equal(await outbox().lease('b', at(5), at(15)), false);
    assert.equal(await outbox().lease('a', at(5), at(15)), true, 'renewed');
    assert.equal(await outbox().lease('b', at(12), at(22)), false, 'renewal moved the expiry');
    assert.equal(await outbox().lease('b', at(16), at(26)), true, 'taken over after expiry');
    assert.equal(await outbox().lease('a', at(17), at(27)), false);
    await outbox().releaseLease('b');
    assert.equal(await outbox().lease('a', at(18), at(28)), true, 'released: free at once');
    await outbox().releaseLease('a');
  });
});
