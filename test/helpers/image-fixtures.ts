// Image fixtures for database-backed suites: build entities, store them (with members) through
// the real repositories, wipe the image tables between tests, and a reference comparator for
// the list order (NULL smallest, see src/db/image-list-sql.ts).
import assert from 'node:assert/strict';
import type { Database } from '../../src/db/connect.ts';
import { SqlImageRepository } from '../../src/db/image-repository.ts';
import { SqlMemberRepository } from '../../src/db/member-repository.ts';
import type { Image, MemberStatus } from '../../src/domain/image.ts';
import type { ImageListQuery, SortDir, SortKey } from '../../src/ports/repositories.ts';

export const T0 = new Date('2025-03-04T05:06:07.089Z');

/** T0 plus `seconds`. */
export const at = (seconds: number) => new Date(T0.getTime() + seconds * 1000);

let counter = 0;

/** A fresh id with a sortable, collation-neutral shape. */
export function fixtureId(): string {
  counter += 1;
  return `00000000-0000-4000-8000-${String(counter).padStart(12, '0')}`;
}

export function newImage(overrides: Partial<Image> = {}): Image {
  return {
    id: fixtureId(), name: 'image', status: 'active', visibility: 'private', protected: false, osHidden: false,
    owner: 'p-viewer', size: 1, virtualSize: null, diskFormat: 'raw', containerFormat: 'bare', checksum: null,
    osHashAlgo: null, osHashValue: null, minDisk: 0, minRam: 0, createdAt: T0, updatedAt: T0, deletedAt: null,
    deleted: false, properties: {}, tags: [], locations: [], version: 1, ...overrides,
  };
}

export interface Seed extends Partial<Image> {
  /** Projects that are members of the image, with their status. */
  members?: Record<string, MemberStatus>;
}

/** Stores the images (and their members) and returns them as stored. */
export async function seed(database: Database, seeds: Seed[]): Promise<Image[]> {
  const images = new SqlImageRepository(database);
  const members = new SqlMemberRepository(database);
  const out: Image[] = [];
  for (const { members: memberships = {}, ...fields } of seeds) {
    const image = await images.create(newImage(fields));
    for (const [memberId, status] of Object.entries(memberships)) {
      await members.add({ imageId: image.id, memberId, status, canShare: false, createdAt: T0, updatedAt: T0 });
    }
    out.push(image);
  }
  return out;
}

/** Removes every image (children go with them: ON DELETE CASCADE). */
export async function wipeImages(database: Database): Promise<void> {
  await database.db.deleteFrom('images').execute();
}

/** A list query with the service's defaults: non-admin 'p-viewer', accepted members, newest first. */
export function listQuery(overrides: Partial<ImageListQuery> = {}): ImageListQuery {
  return {
    viewer: { projectId: 'p-viewer', isAdmin: false }, memberStatus: 'accepted', filters: [], tags: [],
    osHidden: false, sort: [{ key: 'created_at', dir: 'desc' }, { key: 'id', dir: 'desc' }], limit: 1000,
    ...overrides,
  };
}

const sortValue: Record<SortKey, (image: Image) => string | number | null> = {
  name: (i) => i.name, status: (i) => i.status, container_format: (i) => i.containerFormat,
  disk_format: (i) => i.diskFormat, size: (i) => i.size, id: (i) => i.id,
  created_at: (i) => i.createdAt.getTime(), updated_at: (i) => i.updatedAt.getTime(),
};

/** Reference order: keys in turn, NULL smallest, strings by code unit. */
export function compareBy(sort: { key: SortKey; dir: SortDir }[]) {
  return (a: Image, b: Image): number => {
    for (const { key, dir } of sort) {
      const x = sortValue[key](a);
      const y = sortValue[key](b);
      const c = x === y ? 0 : x === null ? -1 : y === null ? 1 : x < y ? -1 : 1;
      if (c !== 0) return dir === 'asc' ? c : -c;
    }
    return 0;
  };
}

/** Asserts `actual` holds exactly the named images (order ignored). */
export function assertNames(actual: Image[], expected: string[], message = 'listed images'): void {
  assert.deepEqual(actual.map((i) => i.name ?? '<null>').sort(), [...expected].sort(), message);
}
