// Contract of TransferRepository (src/ports/transfers.ts), on every SQL dialect: the lease rules
// the recovery sweep relies on (renew only by the owner, take-over only after expiry and by exactly
// one sweeper) and the "stranded" query (transfer statuses and import locks without a live owner).
import { randomUUID } from 'node:crypto';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SqlTaskRepository } from '../../src/db/task-repository.ts';
import { SqlTransferRepository } from '../../src/db/transfer-repository.ts';
import type { Transfer } from '../../src/ports/transfers.ts';
import { forEachDatabase } from '../helpers/databases.ts';
import { newImage, seed } from '../helpers/image-fixtures.ts';

const T0 = new Date('2026-06-01T00:00:00.000Z');
const at = (seconds: number) => new Date(T0.getTime() + seconds * 1000);

function transfer(overrides: Partial<Transfer> = {}): Transfer {
  return { imageId: randomUUID(), kind: 'upload', store: 'file', revertStatus: 'queued', owner: 'node-a:1:aa',
    startedAt: T0, leaseExpiresAt: at(60), ...overrides };
}

forEachDatabase('transfer repository', (getDb) => {
  const repo = () => new SqlTransferRepository(getDb());

  test('begin and get round-trip; a second begin of the image replaces the leftover row; end only by the owner', async () => {
    const t = transfer({ kind: 'stage', store: 'os_glance_staging_store', revertStatus: 'queued' });
    await repo().begin(t);
    assert.deepEqual(await repo().get(t.imageId), t);
    const again = { ...t, owner: 'node-b:2:bb', kind: 'upload' as const, revertStatus: 'killed' as const };
    await repo().begin(again);
    assert.deepEqual(await repo().get(t.imageId), again);
    await repo().end(t.imageId, 'node-a:1:aa');
    assert.ok(await repo().get(t.imageId), 'another owner cannot end it');
    await repo().end(t.imageId, 'node-b:2:bb');
    assert.equal(await repo().get(t.imageId), undefined);
  });

  test('renew extends only the owner\'s rows and reports which it still holds', async () => {
    const mine = transfer({ owner: 'renewer' });
    const theirs = transfer({ owner: 'someone' });
    await repo().begin(mine);
    await repo().begin(theirs);
    const held = await repo().renew('renewer', [mine.imageId, theirs.imageId, randomUUID()], at(600));
    assert.deepEqual(held, [mine.imageId]);
    assert.deepEqual((await repo().get(mine.imageId))!.leaseExpiresAt, at(600));
    assert.deepEqual((await repo().get(theirs.imageId))!.leaseExpiresAt, at(60));
  });

  test('expired lists only rows whose lease ran out; takeOver succeeds once, and never on a live lease', async () => {
    const live = transfer({ leaseExpiresAt: at(10_000) });
    const dead = transfer({ leaseExpiresAt: at(-5) });
    await repo().begin(live);
    await repo().begin(dead);
    const expired = await repo().expired(T0, 1000);
    assert.ok(expired.some((t) => t.imageId === dead.imageId));
    assert.ok(!expired.some((t) => t.imageId === live.imageId));
    assert.equal(await repo().takeOver(live, 'sweeper-1', T0, at(60)), false);
    const wins = await Promise.all([repo().takeOver(dead, 'sweeper-1', T0, at(60)), repo().takeOver(dead, 'sweeper-2', T0, at(60))]);
    assert.deepEqual(wins.filter(Boolean).length, 1);
    assert.match((await repo().get(dead.imageId))!.owner, /^sweeper-[12]$/);
  });

  test('stranded: saving/uploading without a row, locks of ended or missing tasks, importing without a lock', async () => {
    const tasks = new SqlTaskRepository(getDb());
    const old = at(-3600);
    const running = randomUUID();
    const ended = randomUUID();
    for (const [id, status] of [[running, 'processing'], [ended, 'failure']] as const) {
      await tasks.create({ id, type: 'api_image_import', status, owner: 'p', imageId: null, requestId: null, userId: null,
        input: null, result: null, message: '', expiresAt: null, createdAt: old, updatedAt: old, deleted: false, deletedAt: null });
    }
    const [owned, unowned, uploading, fresh, lockedLive, lockedEnded, lockedGone, lockless, active] = await seed(getDb(), [
      { id: randomUUID(), status: 'saving', updatedAt: old },
      { id: randomUUID(), status: 'saving', updatedAt: old },
      { id: randomUUID(), status: 'uploading', updatedAt: old, size: null },
      { id: randomUUID(), status: 'saving', updatedAt: at(0) },
      { id: randomUUID(), status: 'importing', updatedAt: old, properties: { os_glance_import_task: running } },
      { id: randomUUID(), status: 'importing', updatedAt: old, properties: { os_glance_import_task: ended } },
      { id: randomUUID(), status: 'active', updatedAt: old, properties: { os_glance_import_task: randomUUID() } },
      { id: randomUUID(), status: 'importing', updatedAt: old },
      { id: randomUUID(), status: 'active', updatedAt: old },
    ]);
    await seed(getDb(), [{ ...newImage({ id: randomUUID(), status: 'saving', updatedAt: old }), deleted: true }]);
    await repo().begin(transfer({ imageId: owned!.id }));
    const found = await repo().stranded(at(-60), T0, 1000);
    const ids = new Map(found.map((s) => [s.imageId, s]));
    assert.ok(ids.has(unowned!.id) && ids.has(uploading!.id) && ids.has(lockedEnded!.id) && ids.has(lockedGone!.id)
      && ids.has(lockless!.id), JSON.stringify(found));
    for (const image of [owned, fresh, lockedLive, active]) assert.ok(!ids.has(image!.id), `${image!.status} ${image!.id}`);
    assert.equal(ids.get(lockedEnded!.id)!.lockTaskId, ended);
    assert.equal(ids.get(lockless!.id)!.lockTaskId, undefined);
    assert.equal(found.filter((s) => s.status === 'saving').length, 1, 'the deleted image is not listed');
  });
});
