// Metadata definitions API (spec/v2.md §1.8, §8): every route, the visibility and policy rules,
// protected namespaces, prefixes, paging and the schema documents.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { as, startTestApp, type TestApp } from '../helpers/app.ts';
import { metadefSchemas, pythonJson } from '../../src/http/v2/metadef-schemas.ts';

const admin = as('adminproject', 'admin,member,reader');
const ownerAdmin = as('owner', 'admin,member,reader');
const ownerReader = as('owner', 'reader');
const otherReader = as('other', 'reader');
const member = as('owner', 'member,reader');
const ns = '/v2/metadefs/namespaces';

let t: TestApp;
before(async () => { t = await startTestApp(); });
after(async () => { await t.close(); });

async function call(method: string, url: string, headers: Record<string, string> = ownerAdmin, body?: unknown) {
  const res = await t.app.inject({ method: method as 'GET', url, headers: { accept: 'application/json', ...headers },
    ...(body === undefined ? {} : { payload: typeof body === 'string' ? body : JSON.stringify(body) }) });
  let json: Record<string, unknown> = {};
  try { json = res.json(); } catch { /* not JSON */ }
  return { status: res.statusCode, json, body: res.body, headers: res.headers };
}

async function createNs(body: Record<string, unknown>, headers = ownerAdmin) {
  const res = await call('POST', ns, headers, body);
  assert.equal(res.status, 201, res.body);
  return res;
}

describe('metadef schemas', () => {
  test('the ten documents are served byte for byte as Glance serves them', async () => {
    assert.equal(Object.keys(metadefSchemas).length, 10);
    for (const [name, doc] of Object.entries(metadefSchemas)) {
      const res = await call('GET', `/v2/schemas/metadefs/${name}`, ownerReader);
      assert.equal(res.status, 200);
      assert.equal(res.body, pythonJson(doc));
      assert.match(res.body, /^\{"name": "/);
    }
    const names = await Promise.all(Object.keys(metadefSchemas).map(async (n) =>
      (await call('GET', `/v2/schemas/metadefs/${n}`)).json.name));
    assert.deepEqual(names, ['namespace', 'namespaces', 'resource_type_association', 'resource_type_associations',
      'property', 'properties', 'object', 'objects', 'tag', 'tags']);
  });

  test('POST on a schema is 405', async () => {
    assert.equal((await call('POST', '/v2/schemas/metadefs/namespace', ownerAdmin, {})).status, 405);
  });
});

describe('namespaces', () => {
  test('create with embedded children answers 201 with Location and echoes them; show renders them stored', async () => {
    const res = await createNs({ namespace: 'n-full', display_name: 'Full', resource_type_associations: [
      { name: 'OS::Glance::Image', prefix: 'hw_' }], properties: { cpu: { title: 'CPU', type: 'integer', minimum: 1 } },
    objects: [{ name: 'o1', required: ['cpu'], properties: { cpu: { title: 'c', type: 'string' } } }],
    tags: [{ name: 'Foo' }, { name: 'bar' }] });
    assert.match(String(res.headers.location), /\/v2\/metadefs\/namespaces\/n-full$/);
    assert.equal(res.json.owner, 'owner');
    assert.equal(res.json.visibility, 'private');
    assert.equal(res.json.protected, false);
    assert.deepEqual(res.json.resource_type_associations, [{ name: 'OS::Glance::Image', prefix: 'hw_' }]);
    assert.deepEqual(res.json.tags, [{ name: 'Foo' }, { name: 'bar' }]);
    const shown = await call('GET', `${ns}/n-full`);
    assert.equal(shown.status, 200);
    assert.deepEqual(shown.json.properties, { cpu: { title: 'CPU', type: 'integer', minimum: 1 } });
    assert.deepEqual(shown.json.tags, [{ name: 'bar' }, { name: 'Foo' }], 'newest first, then by insertion');
    const [object] = shown.json.objects as Record<string, unknown>[];
    assert.equal(object!.self, `${ns}/n-full/objects/o1`);
    assert.equal(shown.json.description, undefined, 'absent attributes are left out');
  });

  test('?resource_type= prefixes property names, inside objects and their required lists', async () => {
    const res = await call('GET', `${ns}/n-full?resource_type=OS::Glance::Image`);
    assert.deepEqual(Object.keys(res.json.properties as object), ['hw_cpu']);
    const [object] = res.json.objects as Record<string, unknown>[];
    assert.deepEqual(object!.required, ['hw_cpu']);
    assert.deepEqual(Object.keys(object!.properties as object), ['hw_cpu']);
    const unknown = await call('GET', `${ns}/n-full?resource_type=Nope`);
    assert.deepEqual(Object.keys(unknown.json.properties as object), ['cpu']);
  });

  test('bad bodies: unknown key 400, read-only 403, missing namespace 400, duplicate 409, non-admin 403', async () => {
    assert.equal((await call('POST', ns, ownerAdmin, { namespace: 'x', bogus: 1 })).status, 400);
    const readOnly = await call('POST', ns, ownerAdmin, { namespace: 'x', self: 'a' });
    assert.equal(readOnly.status, 403);
    assert.match(readOnly.body, /Attribute 'self' is read-only/);
    assert.equal((await call('POST', ns, ownerAdmin, {})).status, 400);
    assert.equal((await call('POST', ns, ownerAdmin, { namespace: 'x', properties: { p: { title: 't' } } })).status, 400);
    const dup = await call('POST', ns, ownerAdmin, { namespace: 'n-full' });
    assert.equal(dup.status, 409);
    assert.match(dup.body, /namespace=n-full already exists/);
    const denied = await call('POST', ns, member, { namespace: 'by-member' });
    assert.equal(denied.status, 403);
    assert.match(denied.body, /add_metadef_namespace/);
  });

  test('a failed create leaves nothing behind (duplicate object names roll back the namespace)', async () => {
    const res = await call('POST', ns, ownerAdmin, { namespace: 'n-half', objects: [{ name: 'a' }, { name: 'a' }] });
    assert.equal(res.status, 409);
    assert.equal((await call('GET', `${ns}/n-half`)).status, 404);
  });

  test('visibility: private namespaces are 404 to other projects, public ones readable by any reader', async () => {
    await createNs({ namespace: 'n-public', visibility: 'public' });
    assert.equal((await call('GET', `${ns}/n-full`, otherReader)).status, 404);
    assert.equal((await call('GET', `${ns}/n-full/objects`, otherReader)).status, 404);
    assert.match((await call('GET', `${ns}/n-full/properties`, otherReader)).body, /Namespace n-full not found/);
    assert.equal((await call('GET', `${ns}/n-public`, otherReader)).status, 200);
    assert.equal((await call('GET', `${ns}/n-full`, ownerReader)).status, 200);
    assert.equal((await call('GET', `${ns}/n-full`, admin)).status, 200);
    const missing = await call('GET', `${ns}/nope`);
    assert.equal(missing.status, 404);
    assert.match(missing.body, /namespace=nope was not found/);
    const list = await call('GET', ns, otherReader);
    const names = (list.json.namespaces as { namespace: string }[]).map((n) => n.namespace);
    assert.ok(names.includes('n-public') && !names.includes('n-full'));
  });

  test('writes on a visible namespace by a non-admin are 403, on an invisible one 404', async () => {
    assert.equal((await call('DELETE', `${ns}/n-public`, otherReader)).status, 403);
    assert.equal((await call('POST', `${ns}/n-public/tags/x`, otherReader)).status, 403);
    assert.equal((await call('DELETE', `${ns}/n-full`, as('other', 'member,reader'))).status, 404);
  });

  test('list: limit, marker, sort, first/next envelope, visibility and resource_types filters', async () => {
    for (const n of ['p-a', 'p-b', 'p-c']) await createNs({ namespace: n, visibility: 'public' });
    const page = await call('GET', `${ns}?limit=2&sort_key=namespace&sort_dir=asc`, admin);
    assert.equal(page.status, 200);
    const first = (page.json.namespaces as { namespace: string }[]).map((n) => n.namespace);
    assert.deepEqual(first, ['n-full', 'n-public']);
    assert.equal(page.json.first, '/v2/metadefs/namespaces?limit=2&sort_key=namespace&sort_dir=asc');
    assert.equal(page.json.next, '/v2/metadefs/namespaces?limit=2&sort_key=namespace&sort_dir=asc&marker=n-public');
    assert.equal(page.json.schema, '/v2/schemas/metadefs/namespaces');
    const second = await call('GET', String(page.json.next), admin);
    assert.deepEqual((second.json.namespaces as { namespace: string }[]).map((n) => n.namespace), ['p-a', 'p-b']);
    const desc = await call('GET', `${ns}?sort_key=namespace&sort_dir=desc&limit=1`, admin);
    assert.equal((desc.json.namespaces as { namespace: string }[])[0]!.namespace, 'p-c');
    const byRt = await call('GET', `${ns}?resource_types=OS::Glance::Image,Other`, admin);
    assert.deepEqual((byRt.json.namespaces as { namespace: string }[]).map((n) => n.namespace), ['n-full']);
    const [withRt] = byRt.json.namespaces as Record<string, unknown>[];
    assert.equal((withRt!.resource_type_associations as unknown[]).length, 1);
    assert.equal(withRt!.properties, undefined, 'list entries carry no properties');
    const priv = await call('GET', `${ns}?visibility=private`, admin);
    assert.deepEqual((priv.json.namespaces as { namespace: string }[]).map((n) => n.namespace), ['n-full']);
    assert.equal((await call('GET', `${ns}?marker=nope`, admin)).status, 404);
  });

  test('list: bad parameters are 400 (Glance answers 500 for a bad limit or sort_key)', async () => {
    for (const q of ['limit=abc', 'limit=-1', 'sort_key=bogus', 'sort_dir=up', 'visibility=shared']) {
      const res = await call('GET', `${ns}?${q}`, admin);
      assert.equal(res.status, 400, q);
    }
  });

  test('PUT replaces every attribute; omitted ones reset, children stay; rename; duplicate rename 409', async () => {
    await createNs({ namespace: 'n-put', display_name: 'D', description: 'desc', visibility: 'public', protected: true,
      tags: [{ name: 't' }] });
    const res = await call('PUT', `${ns}/n-put`, ownerAdmin, { namespace: 'n-put2' });
    assert.equal(res.status, 200, res.body);
    assert.equal(res.json.visibility, 'private');
    assert.equal(res.json.protected, false);
    assert.equal(res.json.display_name, undefined);
    assert.equal(res.json.self, `${ns}/n-put2`);
    assert.deepEqual((await call('GET', `${ns}/n-put2`)).json.tags, [{ name: 't' }]);
    assert.equal((await call('PUT', `${ns}/n-put2`, ownerAdmin, { namespace: 'n-full' })).status, 409);
    assert.equal((await call('PUT', `${ns}/nope`, ownerAdmin, { namespace: 'x' })).status, 404);
  });

  test('protected namespaces refuse every delete, singly and in bulk; bulk tag replace still works', async () => {
    await createNs({ namespace: 'n-prot', protected: true, resource_type_associations: [{ name: 'OS::Glance::Image' }],
      properties: { p: { title: 'p', type: 'string' } }, objects: [{ name: 'o' }], tags: [{ name: 't' }] });
    for (const path of ['', '/objects', '/properties', '/tags', '/objects/o', '/properties/p', '/tags/t',
      '/resource_types/OS::Glance::Image']) {
      const res = await call('DELETE', `${ns}/n-prot${path}`);
      assert.equal(res.status, 403, path);
      assert.match(res.body, /is protected and cannot be deleted/, path);
    }
    const replaced = await call('POST', `${ns}/n-prot/tags`, ownerAdmin, { tags: [{ name: 'u' }] });
    assert.equal(replaced.status, 201);
    assert.deepEqual((await call('GET', `${ns}/n-prot/tags`)).json.tags, [{ name: 'u' }]);
  });

  test('delete removes the namespace and its children, keeps the resource types; bulk deletes', async () => {
    await createNs({ namespace: 'n-del', resource_type_associations: [{ name: 'RT::Kept' }],
      properties: { p: { title: 'p', type: 'string' } }, objects: [{ name: 'o' }], tags: [{ name: 't' }] });
    for (const what of ['objects', 'properties', 'tags']) {
      assert.equal((await call('DELETE', `${ns}/n-del/${what}`)).status, 204, what);
    }
    const shown = await call('GET', `${ns}/n-del`);
    assert.equal(shown.json.objects, undefined);
    assert.equal(shown.json.tags, undefined);
    assert.equal((await call('DELETE', `${ns}/n-del`)).status, 204);
    assert.equal((await call('GET', `${ns}/n-del`)).status, 404);
    const types = (await call('GET', '/v2/metadefs/resource_types')).json.resource_types as { name: string }[];
    assert.ok(types.some((rt) => rt.name === 'RT::Kept'));
  });
});

describe('resource types and associations', () => {
  test('create (implicit resource type), list, duplicate 409, delete, unknown 404', async () => {
    await createNs({ namespace: 'n-rt' });
    const res = await call('POST', `${ns}/n-rt/resource_types`, ownerAdmin,
      { name: 'OS::Nova::Server', properties_target: 'scheduler_hints', prefix: 'x_' });
    assert.equal(res.status, 201, res.body);
    assert.equal(res.json.properties_target, 'scheduler_hints');
    assert.equal((await call('POST', `${ns}/n-rt/resource_types`, ownerAdmin, { name: 'OS::Nova::Server' })).status, 409);
    assert.equal((await call('POST', `${ns}/n-rt/resource_types`, ownerAdmin, { name: 'x', extra: 1 })).status, 400);
    const list = await call('GET', `${ns}/n-rt/resource_types`);
    assert.deepEqual((list.json.resource_type_associations as { name: string }[]).map((a) => a.name), ['OS::Nova::Server']);
    const all = await call('GET', '/v2/metadefs/resource_types', ownerReader);
    assert.ok((all.json.resource_types as { name: string }[]).some((rt) => rt.name === 'OS::Nova::Server'));
    assert.equal((await call('DELETE', `${ns}/n-rt/resource_types/OS::Nova::Server`)).status, 204);
    const gone = await call('DELETE', `${ns}/n-rt/resource_types/OS::Nova::Server`);
    assert.equal(gone.status, 404);
    assert.match(gone.body, /Failed to find resource type OS::Nova::Server to delete/);
  });
});

describe('objects', () => {
  test('create 201 without Location, show, list with the slash-less schema link, update renames, delete', async () => {
    await createNs({ namespace: 'n-obj' });
    const res = await call('POST', `${ns}/n-obj/objects`, ownerAdmin,
      { name: 'o1', description: 'd', properties: { a: { title: 'A', type: 'string' } }, required: ['a'] });
    assert.equal(res.status, 201, res.body);
    assert.equal(res.headers.location, undefined);
    assert.equal(res.json.schema, '/v2/schemas/metadefs/object');
    assert.equal((await call('POST', `${ns}/n-obj/objects`, ownerAdmin, { name: 'o1' })).status, 409);
    assert.equal((await call('POST', `${ns}/n-obj/objects`, ownerAdmin,
      { name: 'o2', properties: { a: { title: 'A', type: 'string', bogus: 1 } } })).status, 400);
    const bare = await call('POST', `${ns}/n-obj/objects`, ownerAdmin, { name: 'bare' });
    assert.equal(bare.json.required, undefined);
    const shownBare = await call('GET', `${ns}/n-obj/objects/bare`);
    assert.deepEqual([shownBare.json.required, shownBare.json.properties], [[], {}]);
    const list = await call('GET', `${ns}/n-obj/objects`);
    assert.equal(list.json.schema, 'v2/schemas/metadefs/objects');
    assert.deepEqual((list.json.objects as { name: string }[]).map((o) => o.name), ['o1', 'bare']);
    const updated = await call('PUT', `${ns}/n-obj/objects/o1`, ownerAdmin, { name: 'o1-renamed' });
    assert.equal(updated.status, 200);
    assert.equal(updated.json.description, undefined, 'update is a full replacement');
    assert.equal((await call('PUT', `${ns}/n-obj/objects/o1-renamed`, ownerAdmin, { name: 'bare' })).status, 409);
    const missing = await call('GET', `${ns}/n-obj/objects/o1`);
    assert.equal(missing.status, 404);
    assert.match(missing.body, /Could not find metadata object o1/);
    assert.equal((await call('DELETE', `${ns}/n-obj/objects/o1-renamed`)).status, 204);
    assert.equal((await call('DELETE', `${ns}/n-obj/objects/o1-renamed`)).status, 404);
    assert.match((await call('GET', `${ns}/nope/objects`)).body, /namespace=nope was not found/);
  });
});

describe('properties', () => {
  test('create, list as a dict, show with and without a prefix, update renames, delete', async () => {
    await createNs({ namespace: 'n-prop', resource_type_associations: [{ name: 'OS::Glance::Image', prefix: 'hw_' }] });
    const definition = { title: 'Hypervisor', type: 'string', enum: ['kvm', 'xen'], description: 'd', readonly: false,
      items: { type: 'string' }, minLength: 0, default: 'kvm' };
    const res = await call('POST', `${ns}/n-prop/properties`, ownerAdmin, { name: 'hv', ...definition });
    assert.equal(res.status, 201, res.body);
    assert.deepEqual(res.json, { name: 'hv', ...definition });
    assert.equal((await call('POST', `${ns}/n-prop/properties`, ownerAdmin, { name: 'hv', ...definition })).status, 409);
    assert.equal((await call('POST', `${ns}/n-prop/properties`, ownerAdmin, { name: 'x', title: 't' })).status, 400);
    assert.equal((await call('POST', `${ns}/n-prop/properties`, ownerAdmin,
      { name: 'x', title: 't', type: 'text' })).status, 400);
    // Written through the properties API, a definition keeps its name inside (as Glance stores it).
    assert.deepEqual((await call('GET', `${ns}/n-prop/properties`)).json, { properties: { hv: { name: 'hv', ...definition } } });
    assert.deepEqual((await call('GET', `${ns}/n-prop/properties/hv`)).json, { name: 'hv', ...definition });
    const prefixed = await call('GET', `${ns}/n-prop/properties/hw_hv?resource_type=OS::Glance::Image`);
    assert.equal(prefixed.status, 200);
    assert.equal(prefixed.json.name, 'hv');
    assert.equal((await call('GET', `${ns}/n-prop/properties/hv?resource_type=OS::Glance::Image`)).status, 404);
    assert.equal((await call('GET', `${ns}/n-prop/properties/hw_hv?resource_type=Nope`)).status, 404);
    const updated = await call('PUT', `${ns}/n-prop/properties/hv`, ownerAdmin, { name: 'hv2', title: 'T', type: 'string' });
    assert.equal(updated.status, 200);
    assert.deepEqual(updated.json, { name: 'hv2', title: 'T', type: 'string' });
    assert.match((await call('GET', `${ns}/n-prop/properties/hv`)).body, /Could not find property hv/);
    assert.equal((await call('DELETE', `${ns}/n-prop/properties/hv2`)).status, 204);
    assert.deepEqual((await call('GET', `${ns}/n-prop/properties`)).json, { properties: {} });
  });
});

describe('tags', () => {
  test('single create, show, rename, duplicate 409, delete; names are unique as stored (case-sensitive)', async () => {
    await createNs({ namespace: 'n-tag' });
    const res = await call('POST', `${ns}/n-tag/tags/foo`);
    assert.equal(res.status, 201);
    assert.deepEqual(Object.keys(res.json), ['name', 'created_at', 'updated_at']);
    assert.equal((await call('POST', `${ns}/n-tag/tags/foo`)).status, 409);
    assert.equal((await call('POST', `${ns}/n-tag/tags/FOO`)).status, 201, 'like the reference Glance');
    assert.equal((await call('POST', `${ns}/n-tag/tags/${'x'.repeat(81)}`)).status, 400);
    assert.equal((await call('GET', `${ns}/n-tag/tags/foo`)).json.name, 'foo');
    const renamed = await call('PUT', `${ns}/n-tag/tags/foo`, ownerAdmin, { name: 'bar' });
    assert.equal(renamed.json.name, 'bar');
    assert.equal((await call('PUT', `${ns}/n-tag/tags/bar`, ownerAdmin, { name: 'FOO' })).status, 409);
    assert.match((await call('GET', `${ns}/n-tag/tags/foo`)).body, /Could not find metadata tag foo/);
    assert.equal((await call('DELETE', `${ns}/n-tag/tags/bar`)).status, 204);
    assert.equal((await call('POST', `${ns}/n-tag/tags/x`, ownerAdmin, '{"a":1}')).status, 400, 'no body expected');
  });

  test('bulk create replaces, X-Openstack-Append appends, duplicates in the request 409 and change nothing', async () => {
    await createNs({ namespace: 'n-bulk', tags: [{ name: 'old' }] });
    const replaced = await call('POST', `${ns}/n-bulk/tags`, ownerAdmin, { tags: [{ name: 'a' }, { name: 'b' }] });
    assert.equal(replaced.status, 201);
    assert.deepEqual(replaced.json, { tags: [{ name: 'a' }, { name: 'b' }] });
    const appended = await call('POST', `${ns}/n-bulk/tags`, { ...ownerAdmin, 'x-openstack-append': 'True' },
      { tags: [{ name: 'c' }] });
    assert.equal(appended.status, 201);
    const names = async (q = '') => ((await call('GET', `${ns}/n-bulk/tags${q}`)).json.tags as { name: string }[])
      .map((x) => x.name);
    assert.deepEqual((await names('?sort_key=name&sort_dir=asc')), ['a', 'b', 'c']);
    assert.equal((await call('POST', `${ns}/n-bulk/tags`, ownerAdmin, { tags: [{ name: 'z' }, { name: 'z' }] })).status, 409);
    assert.equal((await call('POST', `${ns}/n-bulk/tags`, { ...ownerAdmin, 'x-openstack-append': 'true' },
      { tags: [{ name: 'a' }] })).status, 409);
    assert.deepEqual((await names('?sort_key=name&sort_dir=asc')), ['a', 'b', 'c'], 'unchanged after a failed bulk create');
    assert.deepEqual(await names('?sort_key=name&sort_dir=asc&limit=1&marker=a'), ['b']);
    assert.equal((await call('GET', `${ns}/n-bulk/tags?sort_key=bogus`)).status, 400);
    assert.equal((await call('GET', `${ns}/n-bulk/tags?marker=nope`)).status, 404);
    assert.equal((await call('POST', `${ns}/n-bulk/tags`, ownerAdmin, { tags: [{ name: 'a', x: 1 }] })).status, 400);
    assert.equal((await call('DELETE', `${ns}/n-bulk/tags`)).status, 204);
    assert.deepEqual(await names(), []);
  });
});
