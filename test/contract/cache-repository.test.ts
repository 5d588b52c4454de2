// Contract of the image cache's shared metadata (src/ports/image-cache.ts) on every SQL dialect:
// entries and queue rows are per node; hits count; forgetting an image reaches every node.
import { randomUUID } from 'node:crypto';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SqlCacheMetadata } from '../../src/db/cache-repository.ts';
import type { CacheEntry } from '../../src/ports/image-cache.ts';
import { forEachDatabase } from '../helpers/databases.ts';

const T0 = new Date('2026-01-02T03:04:05.678Z');
const at = (seconds: number) => new Date(T0.getTime() + seconds * 1000);
const A = 'http://node-a.example.com:9292';
const B = 'http://node-b.example.com:9292';

function entry(overrides: Partial<CacheEntry> = {}): CacheEntry {
  return { imageId: randomUUID(), size: 5_000_000_000, hits: 0, lastAccessed: T0, lastModified: T0, checksum: 'c'.repeat(128), ...overrides };
}

forEachDatabase('image cache metadata', (getDb) => {
  const repo = () => new SqlCacheMetadata(getDb());

  test('entries round-trip (sizes beyond 2^32) and are listed per node, least recently used first', async () => {
    const older = entry({ lastAccessed: at(-10) });
    const newer = entry();
    await repo().addEntry(A, newer);
    await repo().addEntry(A, older);
    await repo().addEntry(B, entry({ imageId: newer.imageId }));
    assert.deepEqual(await repo().entries(A), [older, newer]);
    assert.deepEqual((await repo().entries(B)).map((e) => e.imageId), [newer.imageId]);
    assert.deepEqual(await repo().entry(A, newer.imageId), newer);
    assert.equal(await repo().entry(A, randomUUID()), undefined);
    assert.deepEqual(await repo().nodesCaching(newer.imageId), [A, B]);
  });

  test('addEntry replaces the node\'s entry; recordHit counts and moves last access on that node only', async () => {
    const e = entry();
    await repo().addEntry(A, e);
    await repo().addEntry(B, e);
    await repo().addEntry(A, { ...e, size: 7 });
    await repo().recordHit(A, e.imageId, at(5));
    await repo().recordHit(A, e.imageId, at(6));
    assert.deepEqual(await repo().entry(A, e.imageId), { ...e, size: 7, hits: 2, lastAccessed: at(6) });
    assert.deepEqual(await repo().entry(B, e.imageId), e);
  });

  test('the queue is per node, ordered, without duplicates; forgetImage clears an image everywhere', async () => {
    const [x, y] = [randomUUID(), randomUUID()];
    assert.equal(await repo().enqueue(A, x, at(1)), true);
    assert.equal(await repo().enqueue(A, x, at(2)), false);
    assert.equal(await repo().enqueue(A, y, at(0)), true);
    assert.equal(await repo().enqueue(B, x, at(0)), true);
    assert.deepEqual((await repo().queued(A)).filter((id) => id === x || id === y), [y, x]);
    assert.equal(await repo().dequeue(A, y), true);
    assert.equal(await repo().dequeue(A, y), false);
    await repo().addEntry(A, entry({ imageId: x }));
    await repo().addEntry(B, entry({ imageId: x }));
    await repo().forgetImage(x);
    assert.equal(await repo().entry(A, x), undefined);
    assert.equal(await repo().entry(B, x), undefined);
    assert.ok(!(await repo().queued(A)).includes(x));
    assert.ok(!(await repo().queued(B)).includes(x));
    await repo().enqueue(B, y, at(0));
    const cleared = await repo().clearQueue(B);
    assert.ok(cleared >= 1);
    assert.deepEqual(await repo().queued(B), []);
    assert.equal(await repo().removeEntry(B, randomUUID()), false);
  });
});
