// The process-wide transfer buffer budget (src/services/transfer-budget.ts): grants while there is
// room, queues first come first served, refuses with 503 + Retry-After after the wait, gives up a
// wait when the client goes, and gets every byte back however transfers end.
import { Readable } from 'node:stream';
import { test } from 'node:test';
import assert from 'node:assert/strict';

import { DomainError } from '../../src/domain/errors.ts';
import { TRANSFER_WINDOW, TransferBudget, getReservation, putReservation, releaseOnClose } from '../../src/services/transfer-budget.ts';
import type { StoreDriver } from '../../src/ports/store.ts';
import { RbdStoreDriver } from '../../src/stores/rbd/rbd-driver.ts';
import { S3StoreDriver } from '../../src/stores/s3/s3-driver.ts';

test('grants while there is room, then queues in order and grants as room comes back', async () => {
  const budget = new TransferBudget({ bytes: 10, waitMs: 5000 });
  const a = await budget.acquire(4);
  const b = await budget.acquire(4);
  assert.equal(budget.used, 8);
  const order: string[] = [];
  const c = budget.acquire(4).then((release) => { order.push('c'); return release; });
  const d = budget.acquire(2).then((release) => { order.push('d'); return release; });
  assert.equal(budget.waiting, 2, 'd fits but waits behind c: first come, first served');
  a();
  a(); // idempotent
  const releaseC = await c;
  const releaseD = await d;
  assert.deepEqual(order, ['c', 'd']);
  assert.equal(budget.used, 10);
  b();
  releaseC();
  releaseD();
  assert.equal(budget.used, 0);
  assert.equal(budget.waiting, 0);
});

test('a transfer that finds no room within the wait gets 503 with Retry-After; the queue moves on', async () => {
  const budget = new TransferBudget({ bytes: 4, waitMs: 30 });
  const held = await budget.acquire(4);
  const started = Date.now();
  await assert.rejects(budget.acquire(4), (error: unknown) => {
    assert.ok(error instanceof DomainError);
    assert.equal(error.kind, 'ServiceUnavailable');
    assert.equal(error.code, 'transfer.budget_exhausted');
    assert.equal(error.headers['retry-after'], '1');
    return true;
  });
  assert.ok(Date.now() - started >= 25, 'it waited first');
  assert.equal(budget.waiting, 0);
  held();
  (await budget.acquire(4))();
  assert.equal(budget.used, 0);
});

test('a client that goes away while waiting leaves the queue; a larger request than the budget takes all of it', async () => {
  const budget = new TransferBudget({ bytes: 4, waitMs: 5000 });
  const held = await budget.acquire(4);
  const controller = new AbortController();
  const waiting = budget.acquire(4, controller.signal);
  controller.abort(new Error('client gone'));
  await assert.rejects(waiting, /client gone/);
  assert.equal(budget.waiting, 0);
  held();
  const all = await budget.acquire(100);
  assert.equal(budget.used, 4);
  all();
});

test('no limit: bytes 0 grants everything at once', async () => {
  const budget = new TransferBudget({ bytes: 0, waitMs: 0 });
  const releases = await Promise.all(Array.from({ length: 1000 }, () => budget.acquire()));
  assert.equal(budget.waiting, 0);
  for (const release of releases) release();
  assert.equal(budget.used, 0);
});

test('releaseOnClose gives the reservation back when a download stream ends or is destroyed', async () => {
  const budget = new TransferBudget({ bytes: 10, waitMs: 0 });
  const ended = Readable.from([Buffer.from('abc')]);
  releaseOnClose(ended, await budget.acquire(5));
  const destroyed = new Readable({ read() {} });
  releaseOnClose(destroyed, await budget.acquire(5));
  assert.equal(budget.used, 10);
  for await (const chunk of ended) assert.ok(chunk);
  destroyed.destroy();
  await new Promise((resolve) => setImmediate(resolve));
  assert.equal(budget.used, 0);
});

test('an S3 put reserves its part buffers on top of the window; one PutObject and the file store only the window', () => {
  const MiB = 1024 * 1024;
  const s3 = new S3StoreDriver({
    id: 's3', endpoint: '127.0.0.1:1', accessKey: 'a', secretKey: 's', region: 'r', bucket: 'b', forcePathStyle: true,
    largeObjectSize: 100 * MiB, largeObjectChunkSize: 10 * MiB, threadPools: 10, maxParts: 1000,
  });
  assert.equal(putReservation(s3, 50 * MiB), TRANSFER_WINDOW, 'a single PutObject streams');
  assert.equal(putReservation(s3, undefined), TRANSFER_WINDOW + 10 * 10 * MiB, 'unknown size: thread_pools parts of the chunk size');
  assert.equal(putReservation(s3, 1024 * 1024 * MiB), TRANSFER_WINDOW + 10 * Math.ceil(1024 * 1024 * MiB / 1000),
    'a size that needs larger parts reserves those');
  assert.equal(putReservation({}, 1e9), TRANSFER_WINDOW);
  // rbd: a chunk per write in flight (4) and one filling, plus the zero chunk with thin provisioning.
  const rbd = (thinProvisioning: boolean) => new RbdStoreDriver({
    id: 'rbd', pool: 'images', confFile: '/nonexistent/ceph.conf', chunkSize: 8 * MiB, connectTimeout: -1, thinProvisioning,
  });
  assert.equal(putReservation(rbd(false), 1e9), TRANSFER_WINDOW + 5 * 8 * MiB);
  assert.equal(putReservation(rbd(true)), TRANSFER_WINDOW + 6 * 8 * MiB);
  // Its downloads: three 4 MiB read buffers in all.
  assert.equal(getReservation(rbd(false)), 3 * 4 * MiB);
  assert.equal(getReservation(s3 as StoreDriver), TRANSFER_WINDOW);
});
