// Contract of MemberRepository (src/ports/repositories.ts), run against every SQL dialect.
import { randomUUID } from 'node:crypto';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SqlImageRepository } from '../../src/db/image-repository.ts';
import { SqlMemberRepository } from '../../src/db/member-repository.ts';
import type { Image, ImageMember } from '../../src/domain/image.ts';
import { forEachDatabase } from '../helpers/databases.ts';
import { errorWith } from '../helpers/domain-errors.ts';

const T0 = new Date('2025-03-04T05:06:07.089Z');

async function createImage(repo: SqlImageRepository): Promise<Image> {
  return repo.create({
    id: randomUUID(), name: 'shared', status: 'active', visibility: 'shared', protected: false, osHidden: false,
    owner: 'owner-project', size: 1, virtualSize: null, diskFormat: 'raw', containerFormat: 'bare', checksum: null,
    osHashAlgo: null, osHashValue: null, minDisk: 0, minRam: 0, createdAt: T0, updatedAt: T0, deletedAt: null,
    deleted: false, properties: {}, tags: [], locations: [], version: 1,
  });
}

function member(imageId: string, memberId: string, overrides: Partial<ImageMember> = {}): ImageMember {
  return { imageId, memberId, status: 'pending', canShare: false, createdAt: T0, updatedAt: T0, ...overrides };
}

forEachDatabase('member repository', (getDb) => {
  const members = () => new SqlMemberRepository(getDb());
  const images = () => new SqlImageRepository(getDb());

  test('add and get round-trip every field', async () => {
    const image = await createImage(images());
    const m = member(image.id, 'project-b', { status: 'accepted', canShare: true, updatedAt: new Date('2025-03-05T00:00:00.001Z') });
    assert.deepEqual(await members().add(m), m);
    assert.deepEqual(await members().get(image.id, 'project-b'), m);
    assert.equal(await members().get(image.id, 'project-c'), undefined);
    assert.equal(await members().get(randomUUID(), 'project-b'), undefined);
  });

  test('a duplicate member is a Conflict (member.duplicate)', async () => {
    const image = await createImage(images());
    await members().add(member(image.id, 'project-b'));
    await assert.rejects(members().add(member(image.id, 'project-b', { status: 'accepted' })), errorWith('Conflict', 'member.duplicate'));
    assert.equal((await members().get(image.id, 'project-b'))?.status, 'pending');
  });

  test('member ids are case-sensitive', async () => {
    const image = await createImage(images());
    await members().add(member(image.id, 'Project'));
    await members().add(member(image.id, 'project'));
    assert.deepEqual((await members().list(image.id)).map((m) => m.memberId).sort(), ['Project', 'project']);
  });

  test('list returns the members of one image, oldest first', async () => {
    const image = await createImage(images());
    const other = await createImage(images());
    await members().add(member(image.id, 'p2', { createdAt: new Date(T0.getTime() + 2) }));
    await members().add(member(image.id, 'p1', { createdAt: new Date(T0.getTime() + 1) }));
    await members().add(member(image.id, 'p3', { createdAt: new Date(T0.getTime() + 2) }));
    await members().add(member(other.id, 'p9'));
    assert.deepEqual((await members().list(image.id)).map((m) => m.memberId), ['p1', 'p2', 'p3']);
    assert.deepEqual(await members().list(randomUUID()), []);
  });

  test('update writes status, can_share and updated_at', async () => {
    const image = await createImage(images());
    await members().add(member(image.id, 'project-b'));
    const later = new Date(T0.getTime() + 60_000);
    const updated = await members().update(member(image.id, 'project-b', { status: 'rejected', canShare: true, updatedAt: later }));
    assert.deepEqual(updated, member(image.id, 'project-b', { status: 'rejected', canShare: true, updatedAt: later }));
    assert.deepEqual(await members().get(image.id, 'project-b'), updated);
    assert.deepEqual(await members().update(updated), updated, 'an update that changes nothing still finds the row');
    await assert.rejects(members().update(member(image.id, 'nobody')), errorWith('NotFound', 'member.not_found'));
  });

  test('remove deletes the row; removing it again is NotFound', async () => {
    const image = await createImage(images());
    await members().add(member(image.id, 'project-b'));
    await members().add(member(image.id, 'project-c'));
    await members().remove(image.id, 'project-b');
    assert.equal(await members().get(image.id, 'project-b'), undefined);
    assert.deepEqual((await members().list(image.id)).map((m) => m.memberId), ['project-c']);
    await assert.rejects(members().remove(image.id, 'project-b'), errorWith('NotFound', 'member.not_found'));
    await members().add(member(image.id, 'project-b'));
    assert.ok(await members().get(image.id, 'project-b'), 'a removed member can be added again');
  });

  test('adding a member to an image that does not exist is NotFound (image.not_found)', async () => {
    await assert.rejects(members().add(member(randomUUID(), 'project-b')), errorWith('NotFound', 'image.not_found'));
  });
});
