// Contract of ImageRepository (src/ports/repositories.ts), run against every SQL dialect.
import { randomUUID } from 'node:crypto';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SqlImageRepository } from '../../src/db/image-repository.ts';
import { SqlMemberRepository } from '../../src/db/member-repository.ts';
import { isDomainError, type DomainError } from '../../src/domain/errors.ts';
import type { Image } from '../../src/domain/image.ts';
import { forEachDatabase } from '../helpers/databases.ts';

const T0 = new Date('2025-03-04T05:06:07.089Z');

function newImage(overrides: Partial<Image> = {}): Image {
  return {
    id: randomUUID(), name: 'cirros', status: 'queued', visibility: 'shared', protected: false, osHidden: false,
    owner: 'project-a', size: null, virtualSize: null, diskFormat: null, containerFormat: null, checksum: null,
    osHashAlgo: null, osHashValue: null, minDisk: 0, minRam: 0, createdAt: T0, updatedAt: T0, deletedAt: null,
    deleted: false, properties: {}, tags: [], locations: [], version: 1, ...overrides,
  };
}

/** The image as the repository gives it back: tags as a sorted set. */
function stored(image: Image, version = image.version): Image {
  return { ...image, tags: [...new Set(image.tags)].sort(), version };
}

function conflictWith(code: string) {
  return (error: unknown) => {
    assert.ok(isDomainError(error), `expected a DomainError, got ${String(error)}`);
    assert.equal((error as DomainError).kind, 'Conflict');
    assert.equal((error as DomainError).code, code);
    return true;
  };
}

forEachDatabase('image repository', (getDb) => {
  const repo = () => new SqlImageRepository(getDb());

  test('round-trips every field, properties, tags and locations', async () => {
    const image = newImage({
      name: '测试镜像 🚀 Ünïcødé', status: 'active', visibility: 'community', protected: true, osHidden: true,
      owner: 'Project-Ω', size: 2 ** 40 + 7, virtualSize: Number.MAX_SAFE_INTEGER, diskFormat: 'qcow2',
      containerFormat: 'bare', checksum: 'd41d8cd98f00b204e9800998ecf8427e', osHashAlgo: 'sha512',
      osHashValue: 'f'.repeat(128), minDisk: 20, minRam: 2048,
      properties: { os_distro: 'ubuntu', description: '多语言 ✓ 🚀', empty: '', 'a/b': 'x', ['k'.repeat(255)]: 'long name',
        kernel_id: null, '': 'a property named "" (Glance\'s PATCH path "/")' },
      tags: ['web', 'Ünï', '🚀', 'web', 't'.repeat(255)],
      locations: [
        { url: 'file:///var/lib/glimpse/images/1', metadata: { store: 'fs', nested: { a: 1, b: [true, null] } }, status: 'active' },
        { url: 'swift+https://swift/v1/c/o', metadata: {}, status: 'pending_delete' },
      ],
    });
    const created = await repo().create(image);
    assert.deepEqual(created, stored(image));
    assert.deepEqual(await repo().get(image.id), stored(image));
  });

  test('round-trips an image whose optional fields are all null', async () => {
    const image = newImage({ name: null, owner: null });
    assert.deepEqual(await repo().create(image), stored(image));
    assert.deepEqual(await repo().get(image.id), stored(image));
  });

  test('sizes beyond 2^32 and up to 2^53 - 1 come back as exact numbers', async () => {
    for (const size of [2 ** 32, 2 ** 32 + 1, 5 * 2 ** 40 + 3, Number.MAX_SAFE_INTEGER]) {
      const image = newImage({ size, virtualSize: size - 1 });
      const loaded = await repo().get((await repo().create(image)).id);
      assert.equal(loaded?.size, size);
      assert.equal(loaded?.virtualSize, size - 1);
      assert.equal(typeof loaded?.size, 'number');
    }
  });

  test('timestamps round-trip to the millisecond in UTC', async () => {
    const createdAt = new Date('1999-12-31T23:59:59.999Z');
    const updatedAt = new Date(Date.UTC(2038, 0, 19, 3, 14, 8, 1)); // past the 32-bit time_t limit
    const deletedAt = new Date('2024-02-29T12:00:00.500Z');
    const image = newImage({ createdAt, updatedAt, deletedAt, deleted: true, status: 'deleted' });
    await repo().create(image);
    const loaded = await repo().get(image.id, { includeDeleted: true });
    assert.equal(loaded?.createdAt.toISOString(), '1999-12-31T23:59:59.999Z');
    assert.equal(loaded?.updatedAt.toISOString(), '2038-01-19T03:14:08.001Z');
    assert.equal(loaded?.deletedAt?.toISOString(), '2024-02-29T12:00:00.500Z');
  });

  test('create stores version 1 and get of an unknown id is undefined', async () => {
    const created = await repo().create(newImage({ version: 7 }));
    assert.equal(created.version, 1);
    assert.equal(await repo().get(randomUUID()), undefined);
  });

  test('getWithMembership: the image and the member\'s membership in one read, as get and MemberRepository.get give them', async () => {
    const image = newImage({ tags: ['b', 'a'], properties: { os_distro: 'ubuntu', kernel_id: null } });
    await repo().create(image);
    const members = new SqlMemberRepository(getDb());
    const created = new Date('2025-03-04T05:06:07.089Z');
    await members.add({ imageId: image.id, memberId: 'project-m', status: 'accepted', canShare: true, createdAt: created, updatedAt: new Date(created.getTime() + 1234) });
    const found = await repo().getWithMembership(image.id, 'project-m');
    assert.deepEqual(found, { image: stored(image), membership: await members.get(image.id, 'project-m') });
    assert.equal(found!.membership!.updatedAt.getTime(), created.getTime() + 1234);
    assert.deepEqual(await repo().getWithMembership(image.id, 'project-x'), { image: stored(image), membership: undefined });
    assert.equal(await repo().getWithMembership(randomUUID(), 'project-m'), undefined);
    const gone = newImage({ status: 'deleted', deleted: true, deletedAt: T0 });
    await repo().create(gone);
    assert.equal(await repo().getWithMembership(gone.id, 'project-m'), undefined);
  });

  test('deleted images are returned only with includeDeleted', async () => {
    const image = newImage({ status: 'deleted', deleted: true, deletedAt: T0 });
    await repo().create(image);
    assert.equal(await repo().get(image.id), undefined);
    assert.deepEqual(await repo().get(image.id, { includeDeleted: true }), stored(image));
  });

  test('a used id is a Conflict (image.duplicate_id), also when that image is deleted', async () => {
    const image = await repo().create(newImage());
    await assert.rejects(repo().create(newImage({ id: image.id, name: 'other' })), (error: unknown) => {
      conflictWith('image.duplicate_id')(error);
      assert.equal((error as DomainError).detail.params.id, image.id);
      return true;
    });
    await repo().update({ ...image, status: 'deleted', deleted: true, deletedAt: T0 }, { expectVersion: 1 });
    await assert.rejects(repo().create(newImage({ id: image.id })), conflictWith('image.duplicate_id'));
    assert.equal((await repo().get(image.id, { includeDeleted: true }))?.name, 'cirros', 'the first image is untouched');
  });

  test('ids, tags and property names are case-sensitive on every dialect', async () => {
    const upper = 'ABCDEF00-0000-4000-8000-00000000000A';
    await repo().create(newImage({ id: upper }));
    await repo().create(newImage({ id: upper.toLowerCase(), name: 'lower' }));
    assert.equal((await repo().get(upper))?.name, 'cirros');
    assert.equal((await repo().get(upper.toLowerCase()))?.name, 'lower');

    const image = newImage({ tags: ['a', 'A', 'ä', 'Ä'], properties: { Key: 'upper', key: 'lower', KEY: 'caps' } });
    const loaded = await repo().get((await repo().create(image)).id);
    assert.deepEqual(loaded?.tags, ['A', 'a', 'Ä', 'ä']);
    assert.deepEqual(loaded?.properties, { Key: 'upper', key: 'lower', KEY: 'caps' });
  });

  test('update is compare-and-set: it bumps the version and replaces properties, tags and locations', async () => {
    const image = await repo().create(newImage({
      properties: { keep: '1', drop: '2' }, tags: ['old', 'both'],
      locations: [{ url: 'file:///a', metadata: {}, status: 'active' }, { url: 'file:///b', metadata: { x: 1 }, status: 'active' }],
    }));
    const changed: Image = {
      ...image, name: 'renamed', status: 'active', size: 2 ** 33, updatedAt: new Date(T0.getTime() + 1500),
      properties: { keep: '1', added: 'ü' }, tags: ['both', 'new'],
      locations: [{ url: 'file:///b', metadata: { x: 2 }, status: 'active' }, { url: 'file:///c', metadata: {}, status: 'active' }],
    };
    const updated = await repo().update(changed, { expectVersion: 1 });
    assert.deepEqual(updated, stored(changed, 2));
    assert.deepEqual(await repo().get(image.id), stored(changed, 2));
    const again = await repo().update({ ...updated, tags: [], properties: {}, locations: [] }, { expectVersion: 2 });
    assert.equal(again.version, 3);
    assert.deepEqual([again.tags, again.properties, again.locations], [[], {}, []]);
  });

  test('a stale version is a Conflict (image.version_conflict) and changes nothing', async () => {
    const image = await repo().create(newImage({ tags: ['t'] }));
    await repo().update({ ...image, name: 'first' }, { expectVersion: 1 });
    await assert.rejects(repo().update({ ...image, name: 'stale', tags: [] }, { expectVersion: 1 }),
      conflictWith('image.version_conflict'));
    const loaded = await repo().get(image.id);
    assert.equal(loaded?.name, 'first');
    assert.equal(loaded?.version, 2);
    assert.deepEqual(loaded?.tags, ['t']);
    await assert.rejects(repo().update(newImage(), { expectVersion: 1 }), conflictWith('image.version_conflict'),
      'an image that does not exist matches no row either');
  });

  test('expectStatus must also match', async () => {
    const image = await repo().create(newImage({ status: 'queued' }));
    await assert.rejects(repo().update({ ...image, status: 'active' }, { expectVersion: 1, expectStatus: 'saving' }),
      conflictWith('image.version_conflict'));
    const saving = await repo().update({ ...image, status: 'saving' }, { expectVersion: 1, expectStatus: 'queued' });
    assert.equal(saving.status, 'saving');
    assert.equal(saving.version, 2);
  });

  test('of two concurrent updates with the same expected version exactly one wins', async () => {
    const image = await repo().create(newImage({ tags: ['base'] }));
    const results = await Promise.allSettled([
      repo().update({ ...image, name: 'left', tags: ['left'] }, { expectVersion: 1, expectStatus: 'queued' }),
      repo().update({ ...image, name: 'right', tags: ['right'] }, { expectVersion: 1, expectStatus: 'queued' }),
    ]);
    const won = results.filter((r) => r.status === 'fulfilled');
    const lost = results.filter((r) => r.status === 'rejected');
    assert.equal(won.length, 1);
    assert.equal(lost.length, 1);
    conflictWith('image.version_conflict')((lost[0] as PromiseRejectedResult).reason);
    const winner = (won[0] as PromiseFulfilledResult<Image>).value;
    const loaded = await repo().get(image.id);
    assert.equal(loaded?.version, 2);
    assert.equal(loaded?.name, winner.name);
    assert.deepEqual(loaded?.tags, [winner.name!], 'the loser wrote none of its child rows');
  });

  test('many properties and tags (more than one insert batch) round-trip', async () => {
    const properties = Object.fromEntries(Array.from({ length: 1200 }, (_, i) => [`prop_${i}`, `value ${i}`]));
    const tags = Array.from({ length: 700 }, (_, i) => `tag-${String(i).padStart(4, '0')}`);
    const image = newImage({ properties, tags });
    await repo().create(image);
    assert.deepEqual(await repo().get(image.id), stored(image));
  });

  test('locationInUse: true only while another live image has the URL as an active or pending_delete location', async () => {
    const url = `swift+https://swift/v1/c/${randomUUID()}`;
    const location = (status: Image['locations'][number]['status']) => [{ url, metadata: {}, status }];
    const a = await repo().create(newImage({ status: 'active', locations: location('active') }));
    assert.equal(await repo().locationInUse(url, a.id), false, 'its own image does not count');
    const b = await repo().create(newImage({ status: 'active', locations: location('active') }));
    assert.equal(await repo().locationInUse(url, a.id), true);
    assert.equal(await repo().locationInUse(`${url}x`, a.id), false, 'exact URL match only');
    const pending = await repo().update({ ...b, status: 'pending_delete', deleted: true,
      locations: location('pending_delete') }, { expectVersion: b.version });
    assert.equal(await repo().locationInUse(url, a.id), true, 'delayed delete still holds the data');
    await repo().update({ ...pending, status: 'deleted', locations: location('deleted') }, { expectVersion: pending.version });
    assert.equal(await repo().locationInUse(url, a.id), false, 'a deleted image holds nothing');
  });

  test('pendingDeletes: pending_delete images deleted by the cutoff, by id, in keyset pages, with their locations', async () => {
    const owner = `scrub-${randomUUID()}`;
    const at = (minutes: number) => new Date(Date.UTC(2030, 0, 1, 0, minutes));
    const pending = (minutes: number) => newImage({ owner, status: 'pending_delete', deleted: true, deletedAt: at(minutes),
      locations: [{ url: `file:///data/${randomUUID()}`, metadata: {}, status: 'pending_delete' }] });
    const due = [pending(1), pending(2), pending(3)];
    for (const image of [...due, pending(30), newImage({ owner, status: 'deleted', deleted: true, deletedAt: at(1) }),
      newImage({ owner, status: 'active' })]) {
      await repo().create(image);
    }
    const mine = (images: Image[]) => images.filter((i) => i.owner === owner);
    const cutoff = at(10);
    const all = mine(await repo().pendingDeletes({ deletedBefore: cutoff, limit: 1000 }));
    assert.deepEqual(all.map((i) => i.id), due.map((i) => i.id).sort());
    assert.deepEqual(all[0]!.locations, due.find((i) => i.id === all[0]!.id)!.locations);
    const first = await repo().pendingDeletes({ deletedBefore: cutoff, limit: 1 });
    assert.equal(first.length, 1);
    const rest = await repo().pendingDeletes({ deletedBefore: cutoff, afterId: first[0]!.id, limit: 1000 });
    assert.ok(rest.every((i) => i.id > first[0]!.id), 'keyset: only ids after the marker');
    assert.equal(mine([...first, ...rest]).length, 3);
  });
});
