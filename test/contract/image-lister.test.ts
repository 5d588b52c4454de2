// Contract of ImageLister (src/ports/repositories.ts), run against every SQL dialect:
// visibility, filters, tags, os_hidden, excluded statuses, order with NULLs, keyset paging and
// storageUsed. Each test starts from an empty images table.
import { beforeEach, test } from 'node:test';
import assert from 'node:assert/strict';
import { SqlImageLister } from '../../src/db/image-lister.ts';
import { SqlImageRepository } from '../../src/db/image-repository.ts';
import type { Image, MemberStatus, Visibility } from '../../src/domain/image.ts';
import type { ImageColumn, ImageListQuery, ListFilter, SortDir, SortKey } from '../../src/ports/repositories.ts';
import { forEachDatabase } from '../helpers/databases.ts';
import {
  assertNames, at, compareBy, listQuery, seed, wipeImages, type Seed,
} from '../helpers/image-fixtures.ts';

const V = 'p-viewer';
const O = 'p-other';
const memberStatuses = ['accepted', 'pending', 'rejected', 'all'] as const;

/** One image per visibility case; the name is the label the expectations use. */
const visibilityWorld: Seed[] = [
  ...(['private', 'shared', 'community', 'public'] as const).map((v) => ({ name: `own-${v}`, owner: V, visibility: v })),
  ...(['private', 'shared', 'community', 'public'] as const).map((v) => ({ name: `null-${v}`, owner: null, visibility: v })),
  { name: 'other-private', owner: O, visibility: 'private' },
  { name: 'other-public', owner: O, visibility: 'public' },
  { name: 'other-community', owner: O, visibility: 'community' },
  { name: 'other-shared-none', owner: O, visibility: 'shared' },
  { name: 'other-shared-third', owner: O, visibility: 'shared', members: { 'p-third': 'accepted' } },
  ...(['accepted', 'pending', 'rejected'] as const).map((s) => ({
    name: `other-shared-${s}`, owner: O, visibility: 'shared' as const, members: { [V]: s, 'p-third': 'accepted' as const },
  })),
  { name: 'other-private-member', owner: O, visibility: 'private', members: { [V]: 'accepted' } },
];
const all = visibilityWorld.map((s) => s.name!);
const ofVisibility = (v: Visibility) => visibilityWorld.filter((s) => s.visibility === v).map((s) => s.name!);
const sharedWithMe = (ms: (typeof memberStatuses)[number]) =>
  (ms === 'all' ? ['accepted', 'pending', 'rejected'] : [ms]).map((s) => `other-shared-${s}`);
const own = ['own-private', 'own-shared', 'own-community', 'own-public'];
const ownerless = ['null-private', 'null-shared', 'null-community', 'null-public'];

function nonAdminExpected(visibility: ImageListQuery['visibility'], ms: (typeof memberStatuses)[number]): string[] {
  switch (visibility) {
    case undefined: return [...own, ...ownerless, 'other-public', ...sharedWithMe(ms)];
    case 'all': return [...own, ...ownerless, 'other-public', 'other-community', ...sharedWithMe(ms)];
    case 'public': case 'community': return ofVisibility(visibility);
    case 'private': return ['own-private', 'null-private'];
    case 'shared': return ['own-shared', 'null-shared', ...sharedWithMe(ms)];
  }
}

/** Walks every page with `limit` via markers; asserts no page is longer than the limit. */
async function walk(lister: SqlImageLister, query: ImageListQuery, limit: number): Promise<Image[]> {
  const out: Image[] = [];
  let marker: Image | undefined;
  for (let pages = 0; pages < 1000; pages++) {
    const page = await lister.list({ ...query, limit, marker });
    assert.ok(page.length <= limit);
    if (page.length === 0) return out;
    out.push(...page);
    marker = page[page.length - 1];
  }
  throw new Error('paging does not end');
}

const withTieBreakers = (sort: { key: SortKey; dir: SortDir }[]) => {
  const dir = sort[0]!.dir;
  return [...sort, ...(sort.some((s) => s.key === 'created_at') ? [] : [{ key: 'created_at' as const, dir }]), { key: 'id' as const, dir }];
};

forEachDatabase('image lister', (getDb) => {
  const lister = () => new SqlImageLister(getDb());
  const list = (overrides: Partial<ImageListQuery> = {}) => lister().list(listQuery(overrides));
  beforeEach(() => wipeImages(getDb()));

  test('non-admin visibility matrix: every visibility value × member status', async () => {
    await seed(getDb(), visibilityWorld);
    for (const visibility of [undefined, 'all', 'public', 'community', 'private', 'shared'] as const) {
      for (const memberStatus of memberStatuses) {
        assertNames(await list({ visibility, memberStatus }), nonAdminExpected(visibility, memberStatus),
          `visibility=${visibility} member_status=${memberStatus}`);
      }
    }
  });

  test('admin visibility matrix: default hides only other projects\' community images; member status has no effect', async () => {
    await seed(getDb(), visibilityWorld);
    const viewer = { projectId: V, isAdmin: true };
    for (const memberStatus of memberStatuses) {
      assertNames(await list({ viewer, memberStatus }), all.filter((n) => n !== 'other-community'));
      assertNames(await list({ viewer, memberStatus, visibility: 'all' }), all);
      for (const v of ['public', 'community', 'private', 'shared'] as const) {
        assertNames(await list({ viewer, memberStatus, visibility: v }), ofVisibility(v), `admin visibility=${v}`);
      }
    }
    assertNames(await list({ viewer: { projectId: null, isAdmin: true } }),
      all.filter((n) => n !== 'other-community' && n !== 'own-community'), 'an admin without a project owns nothing');
  });

  test('a viewer without a project sees public and owner-NULL images only', async () => {
    await seed(getDb(), visibilityWorld);
    const viewer = { projectId: null, isAdmin: false };
    assertNames(await list({ viewer }), [...ownerless, 'own-public', 'other-public']);
    assertNames(await list({ viewer, visibility: 'all' }), [...ownerless, 'own-public', 'other-public', 'own-community', 'other-community']);
    assertNames(await list({ viewer, visibility: 'shared', memberStatus: 'all' }), ['null-shared']);
  });

  test('listed images are complete: properties, tags and locations', async () => {
    const [image] = await seed(getDb(), [{
      name: 'full', properties: { os_distro: 'ubuntu', b: '2' }, tags: ['y', 'x'],
      locations: [{ url: 'file:///a', metadata: { store: 'fs' }, status: 'active' }, { url: 'file:///b', metadata: {}, status: 'active' }],
    }]);
    assert.deepEqual(await list(), [await new SqlImageRepository(getDb()).get(image!.id)]);
  });

  test('deleted, killed and pending_delete images and deleted rows are never listed', async () => {
    const statuses = ['queued', 'saving', 'active', 'killed', 'deleted', 'pending_delete', 'deactivated', 'uploading', 'importing'] as const;
    await seed(getDb(), [
      ...statuses.map((status) => ({ name: status, status })),
      { name: 'deleted-row', status: 'active' as const, deleted: true, deletedAt: at(1) },
    ]);
    const listed = ['queued', 'saving', 'active', 'deactivated', 'uploading', 'importing'];
    for (const viewer of [{ projectId: V, isAdmin: false }, { projectId: V, isAdmin: true }]) {
      assertNames(await list({ viewer, visibility: 'all' }), listed);
    }
    assertNames(await list({ filters: [{ kind: 'in', column: 'status', values: ['killed', 'deleted', 'active'] }] }), ['active']);
  });

  test('os_hidden: hidden images are excluded by default and are the only ones with osHidden', async () => {
    await seed(getDb(), [{ name: 'shown' }, { name: 'hidden', osHidden: true }, { name: 'hidden-public', osHidden: true, owner: O, visibility: 'public' }]);
    assertNames(await list(), ['shown']);
    assertNames(await list({ osHidden: true }), ['hidden', 'hidden-public']);
  });

  test('in filters: one value, several values, NULL, coerced numbers and booleans, impossible values', async () => {
    await seed(getDb(), [
      { name: 'a', size: 100, diskFormat: 'qcow2', protected: true, minRam: 512 },
      { name: 'b', size: 200, diskFormat: 'raw' },
      { name: null, size: null, diskFormat: null },
      { name: 'd', size: 2 ** 40, diskFormat: 'raw', owner: O, visibility: 'public' },
    ]);
    const by = async (column: ImageColumn, values: (string | number | boolean | null)[]) =>
      list({ filters: [{ kind: 'in', column, values }] });
    assertNames(await by('name', ['a']), ['a']);
    assertNames(await by('name', ['a', 'b', 'zzz']), ['a', 'b']);
    assertNames(await by('name', [null]), ['<null>']);
    assertNames(await by('name', ['b', null]), ['b', '<null>']);
    assertNames(await by('name', []), []);
    assertNames(await by('disk_format', ['raw', null]), ['b', 'd', '<null>']);
    assertNames(await by('size', [200, '1099511627776']), ['b', 'd']);
    assertNames(await by('size', ['abc', '12abc', 1.5, 2 ** 60]), [], 'values no BIGINT can hold match nothing, without errors');
    assertNames(await by('min_ram', ['512', 2 ** 40]), ['a'], 'an INTEGER column takes an out-of-range value without errors');
    assertNames(await by('protected', [true]), ['a']);
    assertNames(await by('protected', ['false']), ['b', '<null>', 'd']);
    assertNames(await by('protected', ['yes']), []);
    assertNames(await by('owner', [O]), ['d']);
    assertNames(await by('visibility', ['public', 'community']), ['d']);
    assertNames(await by('name', ['A']), [], 'exact matches are case-sensitive');
    const [first] = await by('name', ['a']);
    assertNames(await by('id', [first!.id]), ['a']);
    assertNames(await by('created_at', [first!.createdAt.toISOString()]), ['a', 'b', '<null>', 'd']);
    assertNames(await list({ filters: [{ kind: 'in', column: 'name', values: ['a', 'b'] }, { kind: 'in', column: 'size', values: [200] }] }),
      ['b'], 'filters are ANDed');
  });

  test('compare filters: size ranges, out-of-domain bounds, timestamps with every operator', async () => {
    await seed(getDb(), [
      { name: 'small', size: 10, createdAt: at(0), updatedAt: at(10) },
      { name: 'medium', size: 1000, createdAt: at(1), updatedAt: at(10) },
      { name: 'large', size: 5 * 2 ** 40, createdAt: at(2), updatedAt: at(20), minRam: 4096 },
      { name: 'unsized', size: null, createdAt: at(3), updatedAt: at(30) },
    ]);
    const cmp = (column: 'size' | 'min_ram' | 'created_at' | 'updated_at', op: 'eq' | 'neq' | 'gt' | 'gte' | 'lt' | 'lte', value: number | Date) =>
      ({ kind: 'compare', column, op, value }) as const;
    const by = async (...filters: ListFilter[]) => list({ filters });
    assertNames(await by(cmp('size', 'gte', 10), cmp('size', 'lte', 1000)), ['small', 'medium']);
    assertNames(await by(cmp('size', 'gt', 10)), ['medium', 'large']);
    assertNames(await by(cmp('size', 'lt', 1000)), ['small']);
    assertNames(await by(cmp('size', 'eq', 1000)), ['medium']);
    assertNames(await by(cmp('size', 'neq', 1000)), ['small', 'large'], 'neq never matches NULL (SQL semantics, as Glance)');
    assertNames(await by(cmp('size', 'gte', 5 * 2 ** 40)), ['large']);
    assertNames(await by(cmp('size', 'gt', 9.5), cmp('size', 'lt', 1000.5)), ['small', 'medium'], 'fractional bounds');
    assertNames(await by(cmp('size', 'eq', 9.5)), []);
    assertNames(await by(cmp('size', 'lte', 2 ** 70)), ['small', 'medium', 'large']);
    assertNames(await by(cmp('size', 'gte', 2 ** 70)), []);
    assertNames(await by(cmp('size', 'gt', -(2 ** 70))), ['small', 'medium', 'large']);
    assertNames(await by(cmp('min_ram', 'gte', 4096), cmp('min_ram', 'lte', 2 ** 40)), ['large'], 'INTEGER column, BIGINT-sized bound');
    assertNames(await by(cmp('min_ram', 'gt', 2 ** 40)), []);
    assertNames(await by(cmp('size', 'gte', NaN)), []);
    const t = at(1);
    assertNames(await by(cmp('created_at', 'eq', t)), ['medium']);
    assertNames(await by(cmp('created_at', 'neq', t)), ['small', 'large', 'unsized']);
    assertNames(await by(cmp('created_at', 'gt', t)), ['large', 'unsized']);
    assertNames(await by(cmp('created_at', 'gte', t)), ['medium', 'large', 'unsized']);
    assertNames(await by(cmp('created_at', 'lt', t)), ['small']);
    assertNames(await by(cmp('created_at', 'lte', t)), ['small', 'medium']);
    assertNames(await by(cmp('created_at', 'gt', new Date(t.getTime() - 1))), ['medium', 'large', 'unsized'], 'millisecond precision');
    assertNames(await by(cmp('updated_at', 'neq', at(10)), cmp('updated_at', 'lt', at(30))), ['large']);
    assertNames(await by(cmp('created_at', 'gte', new Date('+020000-01-01T00:00:00Z'))), [], 'a year beyond 9999 matches nothing');
    assertNames(await by(cmp('created_at', 'lt', new Date('+020000-01-01T00:00:00Z'))), ['small', 'medium', 'large', 'unsized']);
    await assert.rejects(by(cmp('created_at', 'gt', 5)), TypeError);
    await assert.rejects(by({ kind: 'compare', column: 'name', op: 'gt', value: 5 }), TypeError);
  });

  test('property filters: exact value of a named property, ANDed, empty value matches NULL', async () => {
    const images = await seed(getDb(), [
      { name: 'ubuntu', properties: { os_distro: 'ubuntu', os_version: '24.04' } },
      { name: 'ubuntu-old', properties: { os_distro: 'ubuntu', os_version: '22.04' } },
      { name: 'fedora', properties: { os_distro: 'fedora', empty: '' } },
      { name: 'bare', properties: {} },
    ]);
    await getDb().db.insertInto('image_properties').values({ image_id: images[3]!.id, name: 'empty', value: null }).execute();
    const prop = (name: string, value: string) => ({ kind: 'property', name, value }) as const;
    assertNames(await list({ filters: [prop('os_distro', 'ubuntu')] }), ['ubuntu', 'ubuntu-old']);
    assertNames(await list({ filters: [prop('os_distro', 'ubuntu'), prop('os_version', '24.04')] }), ['ubuntu']);
    assertNames(await list({ filters: [prop('os_distro', 'Ubuntu')] }), []);
    assertNames(await list({ filters: [prop('os_version', 'ubuntu')] }), [], 'the value belongs to the named property');
    assertNames(await list({ filters: [prop('empty', '')] }), ['fedora', 'bare']);
  });

  test('tags: every tag must be present (AND), case-sensitive', async () => {
    await seed(getDb(), [
      { name: 'ab', tags: ['a', 'b'] }, { name: 'a', tags: ['a'] }, { name: 'b', tags: ['b'] },
      { name: 'abc', tags: ['a', 'b', 'c'] }, { name: 'upper', tags: ['A', 'B'] }, { name: 'none' },
    ]);
    assertNames(await list({ tags: ['a', 'b'] }), ['ab', 'abc']);
    assertNames(await list({ tags: ['a'] }), ['ab', 'a', 'abc']);
    assertNames(await list({ tags: ['a', 'a'] }), ['ab', 'a', 'abc']);
    assertNames(await list({ tags: ['c', 'b', 'a'] }), ['abc']);
    assertNames(await list({ tags: ['A'] }), ['upper']);
    assertNames(await list({ tags: ['a', 'zzz'] }), []);
    assertNames(await list({ tags: [] }), ['ab', 'a', 'b', 'abc', 'upper', 'none']);
  });

  test('limit: at most limit rows; 0 is an empty page', async () => {
    await seed(getDb(), Array.from({ length: 5 }, (_, i) => ({ name: `i${i}`, createdAt: at(i) })));
    assert.deepEqual((await list({ limit: 2 })).map((i) => i.name), ['i4', 'i3']);
    assert.deepEqual(await list({ limit: 0 }), []);
  });

  // ---- order and paging ---------------------------------------------------------------------

  /** Images with NULLs, duplicates and timestamp ties in every sort key; `visible` = seen by p-viewer. */
  const pagingWorld = (): (Seed & { visible: boolean })[] => {
    const names = ['delta', null, 'alpha', 'charlie', null, 'alpha', 'bravo', 'echo', null, 'charlie'];
    const sizes = [null, 5, 5, 2 ** 40, null, 1, 7, 5, 0, null];
    const disks = ['raw', null, 'qcow2', 'raw', 'iso', null, 'qcow2', 'raw', null, 'vmdk'];
    const containers = [null, 'bare', 'bare', null, 'ovf', 'bare', null, 'docker', 'bare', 'ova'];
    const statuses = ['active', 'queued', 'active', 'saving', 'active', 'deactivated', 'active', 'importing', 'queued', 'active'] as const;
    const scopes: [string | null, Visibility, boolean, Record<string, MemberStatus>?][] = [
      [V, 'private', true], [null, 'private', true], [O, 'public', true], [O, 'shared', true, { [V]: 'accepted' }],
      [O, 'private', false], [O, 'community', false], [O, 'shared', false, { [V]: 'pending' }],
    ];
    return Array.from({ length: 30 }, (_, i) => {
      const [owner, visibility, visible, members] = scopes[i % scopes.length]!;
      return {
        name: names[i % 10]!, size: sizes[(i * 3) % 10]!, diskFormat: disks[(i * 7) % 10]!, containerFormat: containers[i % 10]!,
        status: statuses[(i * 3) % 10]!, createdAt: at(Math.floor(i / 3)), updatedAt: at(100 - Math.floor(i / 4)),
        owner, visibility, visible, members,
      };
    });
  };

  const sorts: { key: SortKey; dir: SortDir }[][] = [
    ...(['name', 'status', 'container_format', 'disk_format', 'size', 'id', 'created_at', 'updated_at'] as const)
      .flatMap((key) => (['asc', 'desc'] as const).map((dir) => withTieBreakers([{ key, dir }]))),
    [{ key: 'disk_format', dir: 'asc' }, { key: 'container_format', dir: 'desc' }, { key: 'created_at', dir: 'desc' }, { key: 'id', dir: 'desc' }],
    [{ key: 'name', dir: 'desc' }, { key: 'size', dir: 'asc' }, { key: 'created_at', dir: 'asc' }, { key: 'id', dir: 'desc' }],
    [{ key: 'status', dir: 'asc' }, { key: 'size', dir: 'desc' }, { key: 'name', dir: 'asc' }, { key: 'created_at', dir: 'desc' }, { key: 'id', dir: 'asc' }],
    [{ key: 'size', dir: 'desc' }, { key: 'disk_format', dir: 'asc' }, { key: 'updated_at', dir: 'asc' }, { key: 'created_at', dir: 'desc' }, { key: 'id', dir: 'desc' }],
  ];
  const describeSort = (sort: { key: SortKey; dir: SortDir }[]) => sort.map((s) => `${s.key}:${s.dir}`).join(',');

  for (const [who, viewer] of [['non-admin', { projectId: V, isAdmin: false }], ['admin', { projectId: V, isAdmin: true }]] as const) {
    test(`${who}: every sort order (NULL smallest) and paging with limit 1, 2, 3 yields each row once, in order`, async () => {
      const world = pagingWorld();
      const stored = await seed(getDb(), world);
      const visible = stored.filter((image, i) => viewer.isAdmin ? image.visibility !== 'community' : world[i]!.visible);
      for (const sort of sorts) {
        const query = listQuery({ viewer, sort });
        const unpaged = await lister().list(query);
        assert.deepEqual(unpaged.map((i) => i.id), [...visible].sort(compareBy(sort)).map((i) => i.id),
          `order of ${describeSort(sort)}`);
        for (const limit of [1, 2, 3]) {
          assert.deepEqual((await walk(lister(), query, limit)).map((i) => i.id), unpaged.map((i) => i.id),
            `pages of ${limit} for ${describeSort(sort)}`);
        }
      }
    });
  }

  test('paging with filters, tags and a member status keeps to the filtered set', async () => {
    const stored = await seed(getDb(), pagingWorld().map((s, i) => ({ ...s, tags: i % 2 === 0 ? ['even'] : ['odd'] })));
    const query = listQuery({
      memberStatus: 'all', tags: ['even'], sort: withTieBreakers([{ key: 'name', dir: 'asc' }]),
      filters: [{ kind: 'in', column: 'disk_format', values: ['raw', 'qcow2', null] }],
    });
    const unpaged = await lister().list(query);
    assert.ok(unpaged.length > 3);
    assert.ok(unpaged.every((i) => i.tags.includes('even') && ['raw', 'qcow2', null].includes(i.diskFormat)));
    assert.ok(unpaged.some((i) => i.owner === O && i.visibility === 'shared'), 'pending memberships count with member status all');
    assert.ok(stored.length > unpaged.length);
    for (const limit of [1, 2, 3]) assert.deepEqual((await walk(lister(), query, limit)).map((i) => i.id), unpaged.map((i) => i.id));
  });

  test('a sort without tie-breakers still pages completely (id is appended in the last direction)', async () => {
    const stored = await seed(getDb(), pagingWorld());
    const query = listQuery({ viewer: { projectId: V, isAdmin: true }, visibility: 'all', sort: [{ key: 'disk_format', dir: 'desc' }] });
    const unpaged = await lister().list(query);
    assert.deepEqual(unpaged.map((i) => i.id),
      [...stored].sort(compareBy([{ key: 'disk_format', dir: 'desc' }, { key: 'id', dir: 'desc' }])).map((i) => i.id));
    assert.deepEqual((await walk(lister(), query, 2)).map((i) => i.id), unpaged.map((i) => i.id));
  });

  test('a marker image that no longer matches (e.g. deleted meanwhile) still positions the page', async () => {
    const images = await seed(getDb(), Array.from({ length: 4 }, (_, i) => ({ name: `i${i}`, createdAt: at(i) })));
    const marker = { ...images[2]!, status: 'deleted' as const, name: 'renamed' };
    assert.deepEqual((await list({ marker })).map((i) => i.name), ['i1', 'i0']);
  });

  // ---- storage ------------------------------------------------------------------------------

  test('storageUsed sums the sizes of the owner\'s images that are not deleted or killed', async () => {
    const lister0 = lister();
    assert.equal(await lister0.storageUsed(V), 0);
    await seed(getDb(), [
      { size: 3 * 2 ** 40 }, { size: 2 ** 40 + 5 }, { size: null }, { size: 7, status: 'pending_delete' },
      { size: 1000, status: 'deleted', deleted: true, deletedAt: at(1) }, { size: 100, status: 'killed' },
      { size: 11, status: 'queued', visibility: 'public', osHidden: true },
      { size: 50, owner: O }, { size: 60, owner: null },
    ]);
    assert.equal(await lister0.storageUsed(V), 4 * 2 ** 40 + 5 + 7 + 11);
    assert.equal(await lister0.storageUsed(O), 50);
    assert.equal(await lister0.storageUsed('p-nobody'), 0);
    assert.equal(typeof (await lister0.storageUsed(V)), 'number');
  });
});
