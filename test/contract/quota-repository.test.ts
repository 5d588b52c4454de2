// Contract of QuotaRepository (src/ports/quotas.ts), on every SQL dialect: usage counted as Glance
// counts each resource (statuses, locations, copies in progress), and reservations that are exact
// under concurrency (many reservers over separate connections never pass a limit together, and
// every one that fits is admitted), grow, release, renew and expire.
import { randomUUID } from 'node:crypto';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { openDatabase, type Database } from '../../src/db/connect.ts';
import { SqlQuotaRepository } from '../../src/db/quota-repository.ts';
import type { ReserveRequest } from '../../src/ports/quotas.ts';
import { forEachDatabase } from '../helpers/databases.ts';
import { newImage, seed } from '../helpers/image-fixtures.ts';
import { SqlImageRepository } from '../../src/db/image-repository.ts';

const NOW = new Date('2026-06-01T00:00:00.000Z');
const LATER = new Date(NOW.getTime() + 60_000);
const loc = (n: number, status: 'active' | 'deleted' = 'active') =>
  ({ url: `file:///x/${randomUUID()}-${n}`, metadata: {}, status } as const);

function request(projectId: string, overrides: Partial<ReserveRequest> = {}): ReserveRequest {
  return { projectId, amounts: {}, limits: {}, owner: 'node-a', now: NOW, leaseUntil: LATER, ...overrides };
}

forEachDatabase('quota repository', (getDb, target) => {
  const repo = () => new SqlQuotaRepository(getDb());

  test('usage counts each resource as Glance does', async () => {
    const p = `p-${randomUUID()}`;
    await seed(getDb(), [
      { owner: p, status: 'active', size: 100, locations: [loc(1), loc(2)] }, // two copies: 200
      { owner: p, status: 'active', size: 7, locations: [loc(3), loc(4, 'deleted')] }, // deleted location: 7
      { owner: p, status: 'killed', size: 1000, locations: [loc(5)] },
      { owner: p, status: 'pending_delete', size: 1000, locations: [loc(6)] },
      { owner: p, status: 'queued', size: null },
      { owner: p, status: 'saving', size: null },
      { owner: p, status: 'uploading', size: 30 }, // staged
      { owner: p, status: 'importing', size: 40 }, // staged
      { owner: p, status: 'active', size: 5, locations: [loc(7)], properties: { os_glance_importing_to_stores: 'b2' } }, // copying
      { owner: p, status: 'active', size: 9, locations: [loc(8)], properties: { os_glance_importing_to_stores: '' } },
      { owner: 'someone-else', status: 'active', size: 50, locations: [loc(9)] },
    ]);
    assert.deepEqual(await repo().usage(p), {
      image_size_total: 200 + 7 + 5 + 9,
      image_stage_total: 30 + 40 + 5,
      image_count_total: 8,
      image_count_uploading: 4,
    });
  });

  test('reserve admits what fits with the live reservations, refuses what does not, and names the usage', async () => {
    const p = `p-${randomUUID()}`;
    await seed(getDb(), [{ owner: p, status: 'active', size: 10, locations: [loc(1)] }]);
    const limits = { image_size_total: 100 };
    const first = await repo().reserve(request(p, { amounts: { image_size_total: 60 }, limits }));
    assert.equal(first.ok, true);
    const refused = await repo().reserve(request(p, { amounts: { image_size_total: 31 }, limits }));
    assert.deepEqual(refused, { ok: false, over: [{ resource: 'image_size_total', limit: 100, usage: 70, delta: 31 }] });
    const fits = await repo().reserve(request(p, { amounts: { image_size_total: 30 }, limits }));
    assert.equal(fits.ok, true);
    // An expired reservation no longer counts; a released one neither.
    const expired = await repo().reserve(request(p, { amounts: { image_size_total: 0 }, limits, now: new Date(LATER.getTime() + 1) }));
    assert.equal(expired.ok, true);
    if (first.ok) await repo().release(first.reservationId);
    assert.equal((await repo().reserve(request(p, { amounts: { image_size_total: 60 }, limits }))).ok, true);
    // A negative limit is unlimited.
    assert.equal((await repo().reserve(request(p, { amounts: { image_size_total: 10 ** 12 }, limits: { image_size_total: -1 } }))).ok, true);
  });

  test('a reservation grows (its own amount not counted against itself), renews and is swept after its lease', async () => {
    const p = `p-${randomUUID()}`;
    const limits = { image_stage_total: 100 };
    const r = await repo().reserve(request(p, { amounts: { image_stage_total: 40 }, limits }));
    assert.ok(r.ok);
    assert.equal((await repo().reserve(request(p, { amounts: { image_stage_total: 60 }, limits, reservationId: r.reservationId }))).ok, true);
    const full = await repo().reserve(request(p, { amounts: { image_stage_total: 1 }, limits }));
    assert.deepEqual(full, { ok: false, over: [{ resource: 'image_stage_total', limit: 100, usage: 100, delta: 1 }] });
    const muchLater = new Date(LATER.getTime() + 3_600_000);
    await repo().renew('node-a', [r.reservationId], new Date(muchLater.getTime() + 1));
    await repo().renew('node-b', [r.reservationId], new Date(muchLater.getTime() + 10_000));
    await repo().sweep(new Date(LATER.getTime() + 1));
    const afterLease = new Date(LATER.getTime() + 2);
    assert.equal((await repo().reserve(request(p, { amounts: { image_stage_total: 1 }, limits, now: afterLease }))).ok, false,
      'renewed by its owner: still held after its first lease');
    assert.ok(await repo().sweep(new Date(muchLater.getTime() + 2)) >= 1);
    assert.equal((await repo().reserve(request(p, { amounts: { image_stage_total: 100 }, limits, now: new Date(muchLater.getTime() + 3) }))).ok, true,
      'swept: the whole limit is free again');
  });

  test('concurrent reservers on separate connections never pass the limit, and all that fit are admitted', async () => {
    const p = `p-${randomUUID()}`;
    const connections: Database[] = target.dialect === 'sqlite' ? [getDb()]
      : await Promise.all([0, 1, 2].map(() => openDatabase(target.url())));
    try {
      const limits = { image_count_uploading: 7, image_size_total: 1000 };
      const results = await Promise.all(Array.from({ length: 20 }, (_, i) =>
        new SqlQuotaRepository(connections[i % connections.length]!).reserve(request(p, {
          amounts: { image_count_uploading: 1, image_size_total: 100 }, limits }))));
      assert.equal(results.filter((r) => r.ok).length, 7, 'exactly as many as fit');
      for (const r of results.filter((x) => !x.ok)) {
        assert.ok(!r.ok && r.over.some((o) => o.resource === 'image_count_uploading' && o.usage === 7));
      }
    } finally {
      if (target.dialect !== 'sqlite') await Promise.all(connections.map((c) => c.close()));
    }
  });

  test('image_count_total: creates count in quota_projects.images, kept in step by deletes, restores and owner changes', async () => {
    const db = getDb();
    const images = new SqlImageRepository(db);
    const p = `p-${randomUUID()}`;
    const q = `q-${randomUUID()}`;
    const countLimit = (limit: number) => ({ limit, now: NOW, refuse: () => new Error('over the limit') });
    const stored = async (project: string) => (await db.db.selectFrom('quota_projects').select('images')
      .where('project_id', '=', project).executeTakeFirst())?.images;
    const counted = async (project: string) => { const v = await stored(project); return v === null || v === undefined ? v : Number(v); };
    // Images from before the count existed (and a deleted one, which does not count).
    await seed(db, [{ owner: p, status: 'active' }, { owner: p, status: 'deleted', deleted: true }]);
    assert.equal(await counted(p), null, 'created with the images, not counted yet');
    const a = await images.create(newImage({ id: randomUUID(), owner: p, status: 'queued', size: null }), { countLimit: countLimit(3) });
    assert.equal(await counted(p), 2, 'the first counted create counts: 1 + itself');
    const b = await images.create(newImage({ id: randomUUID(), owner: p, status: 'queued', size: null }), { countLimit: countLimit(3) });
    assert.equal(await counted(p), 3);
    await assert.rejects(images.create(newImage({ id: randomUUID(), owner: p, status: 'queued', size: null }), { countLimit: countLimit(3) }),
      /over the limit/);
    assert.equal(await counted(p), 3, 'a refused create leaves the count as it was');
    // A delete frees a place; a restore takes it again.
    const deleted = await images.update({ ...a, status: 'pending_delete', deleted: true }, { expectVersion: a.version });
    assert.equal(await counted(p), 2);
    await images.update({ ...deleted, status: 'active', deleted: false }, { expectVersion: deleted.version });
    assert.equal(await counted(p), 3);
    // An owner change takes the image out of p's count; q's row is made for it, its count unknown until
    // q's next counted create counts.
    await images.update({ ...b, owner: q }, { expectVersion: b.version });
    assert.deepEqual([await counted(p), await counted(q)], [2, null]);
    await images.create(newImage({ id: randomUUID(), owner: q, status: 'queued', size: null }), { countLimit: countLimit(-1) });
    assert.equal(await counted(q), 2);
    // A create without a limit (unified limits off) counts too.
    await images.create(newImage({ id: randomUUID(), owner: p, status: 'queued', size: null }));
    assert.equal(await counted(p), 3);
    assert.equal((await repo().usage(p)).image_count_total, 3, 'the count is what usage counts');
    // A count that drifted high is counted again before it refuses.
    await db.db.updateTable('quota_projects').set({ images: 100 }).where('project_id', '=', p).execute();
    await images.create(newImage({ id: randomUUID(), owner: p, status: 'queued', size: null }), { countLimit: countLimit(4) });
    assert.equal(await counted(p), 4);
  });

  test('concurrent creates on separate connections: exactly as many images as the count limit admits', async () => {
    const p = `p-${randomUUID()}`;
    const connections: Database[] = target.dialect === 'sqlite' ? [getDb()]
      : await Promise.all([0, 1, 2].map(() => openDatabase(target.url())));
    try {
      await seed(getDb(), [{ owner: p, status: 'active' }]);
      const results = await Promise.allSettled(Array.from({ length: 20 }, (_, i) =>
        new SqlImageRepository(connections[i % connections.length]!).create(
          newImage({ id: randomUUID(), owner: p, status: 'queued', size: null }),
          { countLimit: { limit: 8, now: NOW, refuse: () => new Error('over the limit') } })));
      assert.equal(results.filter((r) => r.status === 'fulfilled').length, 7, 'the 7 that fit next to the seeded one');
      for (const r of results) if (r.status === 'rejected') assert.match(String(r.reason), /over the limit/);
      assert.equal((await repo().usage(p)).image_count_total, 8);
    } finally {
      if (target.dialect !== 'sqlite') await Promise.all(connections.map((c) => c.close()));
    }
  });
});
