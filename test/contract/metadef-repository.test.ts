// Contract of MetadefRepository (src/ports/metadef-repository.ts), run against every SQL dialect.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SqlMetadefRepository } from '../../src/db/metadef-repository.ts';
import type { MetadefNamespace, MetadefNamespaceContent } from '../../src/domain/metadef.ts';
import { forEachDatabase } from '../helpers/databases.ts';
import { errorWith } from '../helpers/domain-errors.ts';

const T0 = new Date('2025-03-04T05:06:07.089Z');
const at = (s: number) => new Date(T0.getTime() + s * 1000);

function namespace(name: string, overrides: Partial<MetadefNamespace> = {}): MetadefNamespace {
  return { namespace: name, displayName: null, description: null, visibility: 'private', protected: false,
    owner: 'p1', createdAt: T0, updatedAt: T0, ...overrides };
}

function content(name: string, overrides: Partial<MetadefNamespaceContent> = {}): MetadefNamespaceContent {
  return { namespace: namespace(name), associations: [], properties: [], objects: [], tags: [], ...overrides };
}

const stamps = { createdAt: T0, updatedAt: T0 };

forEachDatabase('metadef repository', (getDb) => {
  const repo = () => new SqlMetadefRepository(getDb());

  test('a namespace with every child round-trips', async () => {
    const full = content('full', {
      namespace: namespace('full', { displayName: 'Full ✓', description: 'd', visibility: 'public', protected: true }),
      associations: [{ name: 'OS::Glance::Image', prefix: 'hw_', propertiesTarget: 'image', ...stamps }],
      properties: [{ name: 'p', definition: { title: 'P', type: 'array', items: { type: 'string', enum: ['a'] } }, ...stamps }],
      objects: [{ name: 'o', description: null, required: ['p'], properties: { p: { title: 'P', type: 'string' } }, ...stamps }],
      tags: [{ name: 't1', ...stamps }, { name: 't2', ...stamps }],
    });
    await repo().createNamespace(full);
    assert.deepEqual(await repo().getContent('full'), full);
    assert.equal(await repo().getContent('nope'), undefined);
  });

  test('names are unique: namespaces globally, children per namespace, case-sensitively', async () => {
    await assert.rejects(repo().createNamespace(content('full')), errorWith('Conflict', 'metadef.duplicate_namespace'));
    await repo().createNamespace(content('Full'));
    await assert.rejects(repo().createObject('full', { name: 'o', description: null, required: null, properties: {}, ...stamps }),
      errorWith('Conflict', 'metadef.duplicate_object'));
    await repo().createObject('Full', { name: 'o', description: null, required: null, properties: {}, ...stamps });
    await assert.rejects(repo().createTag('full', { name: 't1', ...stamps }), errorWith('Conflict', 'metadef.duplicate_tag'));
    await repo().createTag('full', { name: 'T1', ...stamps });
    await assert.rejects(repo().createProperty('full', { name: 'p', definition: {}, ...stamps }),
      errorWith('Conflict', 'metadef.duplicate_property'));
    await assert.rejects(repo().createAssociation('full', { name: 'OS::Glance::Image', prefix: null,
      propertiesTarget: null, ...stamps }), errorWith('Conflict', 'metadef.duplicate_association'));
  });

  test('a create that fails half-way leaves nothing', async () => {
    await assert.rejects(repo().createNamespace(content('half', { tags: [{ name: 'x', ...stamps }, { name: 'x', ...stamps }] })),
      errorWith('Conflict', 'metadef.duplicate_tag'));
    assert.equal(await repo().getNamespace('half'), undefined);
  });

  test('missing namespaces and children are NotFound', async () => {
    await assert.rejects(repo().listObjects('nope'), errorWith('NotFound', 'metadef.namespace_not_found'));
    await assert.rejects(repo().deleteObject('full', 'nope'), errorWith('NotFound', 'metadef.object_not_found'));
    await assert.rejects(repo().deleteProperty('full', 'nope'), errorWith('NotFound', 'metadef.property_not_found'));
    await assert.rejects(repo().updateTag('full', 'nope', { name: 'x', ...stamps }), errorWith('NotFound', 'metadef.tag_not_found'));
    await assert.rejects(repo().deleteAssociation('full', 'nope'), errorWith('NotFound', 'metadef.association_not_found'));
    await assert.rejects(repo().deleteNamespace('nope'), errorWith('NotFound', 'metadef.namespace_not_found'));
  });

  test('updates rename and refuse to collide', async () => {
    await repo().updateObject('Full', 'o', { name: 'o2', description: 'x', required: ['a'], properties: {}, ...stamps });
    assert.equal((await repo().getObject('Full', 'o2'))?.description, 'x');
    await repo().createTag('Full', { name: 'a', ...stamps });
    await repo().createTag('Full', { name: 'b', ...stamps });
    await assert.rejects(repo().updateTag('Full', 'a', { name: 'b', ...stamps }), errorWith('Conflict', 'metadef.duplicate_tag'));
    await repo().updateNamespace('Full', namespace('Full2', { visibility: 'public' }));
    assert.equal((await repo().getNamespace('Full2'))?.visibility, 'public');
    await assert.rejects(repo().updateNamespace('Full2', namespace('full')), errorWith('Conflict', 'metadef.duplicate_namespace'));
  });

  test('bulk tags replace or append in one transaction', async () => {
    await repo().createNamespace(content('tags'));
    await repo().createTags('tags', [{ name: 'a', ...stamps }, { name: 'b', ...stamps }], false);
    await repo().createTags('tags', [{ name: 'c', ...stamps }], true);
    await assert.rejects(repo().createTags('tags', [{ name: 'd', ...stamps }, { name: 'a', ...stamps }], true),
      errorWith('Conflict', 'metadef.duplicate_tag'));
    const names = async () => (await repo().listTags('tags', { sortKey: 'name', sortDir: 'asc' })).map((t) => t.name);
    assert.deepEqual(await names(), ['a', 'b', 'c']);
    await repo().createTags('tags', [{ name: 'z', ...stamps }], false);
    assert.deepEqual(await names(), ['z']);
  });

  test('tag lists sort and page by key with created_at and insertion order as tie-breakers', async () => {
    await repo().createNamespace(content('paged', { tags: ['m', 'k', 'l'].map((name, i) => ({ name, createdAt: at(i % 2),
      updatedAt: T0 })) }));
    const page = (q: Parameters<SqlMetadefRepository['listTags']>[1]) => repo().listTags('paged', q).then((l) => l.map((t) => t.name));
    assert.deepEqual(await page({ sortKey: 'created_at', sortDir: 'desc' }), ['k', 'l', 'm']);
    assert.deepEqual(await page({ sortKey: 'created_at', sortDir: 'asc', limit: 2 }), ['m', 'l']);
    assert.deepEqual(await page({ sortKey: 'created_at', sortDir: 'asc', marker: 'l' }), ['k']);
    assert.deepEqual(await page({ sortKey: 'name', sortDir: 'desc', marker: 'm' }), ['l', 'k']);
  });

  test('namespace lists: visibility in SQL, filters, keyset paging on every sort key', async () => {
    const db = repo();
    await db.deleteEverything();
    const specs: [string, Partial<MetadefNamespace>][] = [
      ['a', { owner: 'p1', displayName: null, createdAt: at(3) }], ['b', { owner: 'p2', displayName: 'x', createdAt: at(1) }],
      ['c', { owner: 'p2', visibility: 'public', displayName: 'x', createdAt: at(2) }],
      ['d', { owner: 'p1', visibility: 'public', displayName: 'a', createdAt: at(2) }],
    ];
    for (const [name, o] of specs) await db.createNamespace(content(name, { namespace: namespace(name, o) }));
    await db.createAssociation('c', { name: 'RT', prefix: null, propertiesTarget: null, ...stamps });
    const list = async (q: Partial<Parameters<SqlMetadefRepository['listNamespaces']>[0]>) => (await db.listNamespaces({
      viewer: { projectId: 'p1', isAdmin: false }, sortKey: 'created_at', sortDir: 'desc', limit: 10, ...q,
    })).map((n) => n.namespace);
    assert.deepEqual(await list({}), ['a', 'd', 'c']);
    assert.deepEqual(await list({ viewer: { projectId: null, isAdmin: false } }), ['d', 'c']);
    assert.deepEqual(await list({ viewer: { projectId: null, isAdmin: true } }), ['a', 'd', 'c', 'b']);
    assert.deepEqual(await list({ visibility: 'private' }), ['a']);
    assert.deepEqual(await list({ resourceTypes: ['RT', 'other'] }), ['c']);
    assert.deepEqual(await list({ resourceTypes: ['none'] }), []);
    const admin = { projectId: null, isAdmin: true };
    for (const sortKey of ['namespace', 'display_name', 'created_at', 'owner', 'visibility', 'protected'] as const) {
      for (const sortDir of ['asc', 'desc'] as const) {
        const whole = await list({ viewer: admin, sortKey, sortDir });
        const paged: string[] = [];
        let marker: string | undefined;
        for (;;) {
          const page = await list({ viewer: admin, sortKey, sortDir, limit: 1, marker });
          if (page.length === 0) break;
          paged.push(...page);
          marker = page[0];
        }
        assert.deepEqual(paged, whole, `${sortKey} ${sortDir}`);
      }
    }
    assert.deepEqual(await list({ viewer: admin, sortKey: 'display_name', sortDir: 'asc' }), ['a', 'd', 'b', 'c']);
    await assert.rejects(list({ marker: 'nope' }), errorWith('NotFound', 'metadef.namespace_not_found'));
  });

  test('deleting a namespace removes its children and keeps resource types; unload removes everything', async () => {
    const db = repo();
    await db.createNamespace(content('gone', { associations: [{ name: 'RT2', prefix: null, propertiesTarget: null, ...stamps }],
      objects: [{ name: 'o', description: null, required: null, properties: {}, ...stamps }], tags: [{ name: 't', ...stamps }] }));
    await db.deleteNamespace('gone');
    assert.equal(await db.getNamespace('gone'), undefined);
    assert.ok((await db.listResourceTypes()).some((rt) => rt.name === 'RT2'));
    await db.createNamespace(content('gone'));
    assert.deepEqual(await db.listObjects('gone'), [], 'no orphan rows reappear');
    await db.deleteEverything();
    assert.deepEqual(await db.listResourceTypes(), []);
    assert.deepEqual(await db.listNamespaces({ viewer: { projectId: null, isAdmin: true }, sortKey: 'created_at',
      sortDir: 'asc', limit: 10 }), []);
  });
});
