// Contract of TaskRepository (src/ports/tasks.ts), run against every SQL dialect: round-trips,
// listing with filters, sort and keyset paging, expiry, and the lease rules the task engine relies on.
import { randomUUID } from 'node:crypto';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { openDatabase } from '../../src/db/connect.ts';
import { SqlTaskRepository } from '../../src/db/task-repository.ts';
import type { Task } from '../../src/domain/task.ts';
import { forEachDatabase } from '../helpers/databases.ts';

const T0 = new Date('2026-01-02T03:04:05.678Z');
const at = (seconds: number) => new Date(T0.getTime() + seconds * 1000);

function task(overrides: Partial<Task> = {}): Task {
  return {
    id: randomUUID(), type: 'api_image_import', status: 'pending', owner: 'p1', imageId: randomUUID(),
    requestId: 'req-1', userId: 'u1', input: { image_id: 'x', import_req: { method: { name: 'glance-direct' } } },
    result: null, message: '', expiresAt: null, createdAt: T0, updatedAt: T0, deleted: false, deletedAt: null,
    ...overrides,
  };
}

forEachDatabase('task repository', (getDb, target) => {
  const repo = () => new SqlTaskRepository(getDb());

  test('create and get round-trip every field; JSON input and result stay objects', async () => {
    const t = task({ result: { image_id: 'i' }, message: 'note', expiresAt: at(3600) });
    await repo().create(t);
    assert.deepEqual(await repo().get(t.id, T0), t);
    assert.equal(await repo().get(randomUUID(), T0), undefined);
  });

  test('an expired task is gone from get, list and listForImage', async () => {
    const t = task({ status: 'success', expiresAt: at(10), owner: 'expiry' });
    await repo().create(t);
    assert.ok(await repo().get(t.id, at(5)));
    assert.equal(await repo().get(t.id, at(11)), undefined);
    const query = { owner: 'expiry', sortKey: 'created_at' as const, sortDir: 'desc' as const, limit: 10 };
    assert.equal((await repo().list({ ...query, now: at(5) })).length, 1);
    assert.equal((await repo().list({ ...query, now: at(11) })).length, 0);
    assert.equal((await repo().listForImage(t.imageId!, at(11))).length, 0);
  });

  test('list: owner, status and type filters; sort both ways; keyset paging without gaps or repeats', async () => {
    const owner = `list-${randomUUID()}`;
    const made: Task[] = [];
    for (let i = 0; i < 7; i++) {
      made.push(await repo().create(task({ owner, createdAt: at(i % 3), updatedAt: at(10 - i),
        status: i % 2 === 0 ? 'success' : 'failure', type: i === 6 ? 'import' : 'api_image_import' })));
    }
    await repo().create(task({ owner: 'someone-else' }));
    const base = { owner, now: T0, limit: 100 };
    assert.equal((await repo().list({ ...base, sortKey: 'created_at', sortDir: 'desc' })).length, 7);
    assert.equal((await repo().list({ ...base, status: 'success', sortKey: 'created_at', sortDir: 'desc' })).length, 4);
    assert.deepEqual((await repo().list({ ...base, type: 'import', sortKey: 'created_at', sortDir: 'desc' })).map((t) => t.id), [made[6]!.id]);
    for (const sortKey of ['created_at', 'updated_at', 'id', 'status'] as const) {
      for (const sortDir of ['asc', 'desc'] as const) {
        const all = await repo().list({ ...base, sortKey, sortDir });
        const key = (t: Task) => sortKey === 'created_at' ? t.createdAt.getTime() : sortKey === 'updated_at' ? t.updatedAt.getTime()
          : sortKey === 'id' ? t.id : t.status;
        for (let i = 1; i < all.length; i++) {
          const [a, b] = [key(all[i - 1]!), key(all[i]!)];
          assert.ok(sortDir === 'asc' ? a <= b : a >= b, `${sortKey} ${sortDir} order`);
        }
        const paged: string[] = [];
        let marker: Task | undefined;
        for (;;) {
          const page = await repo().list({ ...base, sortKey, sortDir, limit: 2, marker });
          paged.push(...page.map((t) => t.id));
          if (page.length < 2) break;
          marker = page.at(-1);
        }
        assert.deepEqual(paged, all.map((t) => t.id), `${sortKey} ${sortDir} paging`);
      }
    }
  });

  test('listForImage: newest first, optionally one owner', async () => {
    const imageId = randomUUID();
    const a = await repo().create(task({ imageId, owner: 'a', createdAt: at(1) }));
    const b = await repo().create(task({ imageId, owner: 'b', createdAt: at(2) }));
    assert.deepEqual((await repo().listForImage(imageId, T0)).map((t) => t.id), [b.id, a.id]);
    assert.deepEqual((await repo().listForImage(imageId, T0, 'a')).map((t) => t.id), [a.id]);
  });

  test('internal tasks (v1_copy_from) are left out of list and listForImage, but get and claim see them', async () => {
    const imageId = randomUUID();
    const owner = `internal-${randomUUID()}`;
    const shown = await repo().create(task({ imageId, owner, createdAt: at(1) }));
    const internal = await repo().create(task({ imageId, owner, type: 'v1_copy_from', createdAt: at(2), input: { url: 'http://x/' } }));
    assert.deepEqual((await repo().listForImage(imageId, T0)).map((t) => t.id), [shown.id]);
    const listed = await repo().list({ owner, sortKey: 'created_at', sortDir: 'desc', limit: 10, now: T0 });
    assert.deepEqual(listed.map((t) => t.id), [shown.id]);
    assert.equal((await repo().get(internal.id, T0))?.type, 'v1_copy_from');
    const claimed = await repo().claim('w-internal', at(1), at(60), internal.id);
    assert.equal(claimed?.task.id, internal.id);
    // Leave nothing runnable for the claim tests below.
    const done = { status: 'success' as const, result: null, message: '', now: at(2), expiresAt: at(3600) };
    assert.ok(await repo().finish(internal.id, 'w-internal', done));
    assert.ok(await repo().finish(shown.id, null, done));
  });

  test('claim: a pending task once; a live lease is never taken; an expired one is taken over', async () => {
    const t = await repo().create(task({ createdAt: new Date('2000-01-01T00:00:00Z') }));
    const first = await repo().claim('w1', T0, at(30), t.id);
    assert.equal(first?.task.id, t.id);
    assert.equal(first?.task.status, 'processing');
    assert.equal(first?.lease.attempts, 1);
    const again = await repo().claim('w2', at(10), at(40), t.id);
    assert.notEqual(again?.task.id, t.id, 'a live lease is not taken');
    if (again) await repo().release(again.task.id, 'w2');
    assert.equal(await repo().renew(t.id, 'w2', at(10), at(40)), false, 'only the holder renews');
    assert.equal(await repo().renew(t.id, 'w1', at(10), at(40)), true);
    assert.equal((await repo().get(t.id, T0))?.updatedAt.getTime(), at(10).getTime(), 'renew marks the task alive');
    const takeover = await repo().claim('w2', at(41), at(70), t.id);
    assert.equal(takeover?.task.id, t.id);
    assert.equal(takeover?.lease.attempts, 2);
    const outcome = { status: 'success' as const, result: { image_id: 'i' }, message: '', expiresAt: at(999), now: at(50) };
    assert.equal(await repo().finish(t.id, 'w1', outcome), false, 'the old holder can no longer finish');
    assert.equal(await repo().saveResult(t.id, 'w1', { x: 1 }, at(50)), false);
    assert.equal(await repo().finish(t.id, 'w2', outcome), true);
    const done = await repo().get(t.id, T0);
    assert.equal(done?.status, 'success');
    assert.deepEqual(done?.result, { image_id: 'i' });
    assert.equal(done?.expiresAt?.getTime(), at(999).getTime());
    const after = await repo().claim('w3', at(2000), at(2030), t.id);
    assert.notEqual(after?.task.id, t.id, 'a finished task is never claimed');
    if (after) await repo().release(after.task.id, 'w3');
  });

  test('release hands a task back at once; finish without a worker only fails a pending, unclaimed task', async () => {
    const t = await repo().create(task({ createdAt: new Date('2000-01-01T00:00:00Z') }));
    const outcome = { status: 'failure' as const, result: null, message: 'no', expiresAt: at(99), now: T0 };
    const claimed = await repo().claim('w1', T0, at(30), t.id);
    assert.equal(claimed?.task.id, t.id);
    assert.equal(await repo().finish(t.id, null, outcome), false);
    await repo().release(t.id, 'w1');
    const reclaimed = await repo().claim('w2', at(1), at(31), t.id);
    assert.equal(reclaimed?.task.id, t.id, 'released: claimable before the lease would have expired');
    const pending = await repo().create(task());
    assert.equal(await repo().finish(pending.id, null, outcome), true);
    assert.equal((await repo().get(pending.id, T0))?.status, 'failure');
  });

  test('of racing workers on separate connections exactly one claims a task', async () => {
    const t = await repo().create(task({ createdAt: new Date('1990-01-01T00:00:00Z') }));
    const databases = await Promise.all([0, 1, 2, 3].map(() => openDatabase(target.url())));
    try {
      const claims = await Promise.all(databases.map((d, i) => new SqlTaskRepository(d).claim(`racer${i}`, T0, at(30), t.id)));
      const winners = claims.filter((c) => c?.task.id === t.id);
      assert.equal(winners.length, 1);
      for (const [i, c] of claims.entries()) if (c && c.task.id !== t.id) await repo().release(c.task.id, `racer${i}`);
    } finally {
      await Promise.all(databases.map((d) => d.close()));
    }
  });
});
