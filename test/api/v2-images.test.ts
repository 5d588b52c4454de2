import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { startTestApp, type TestApp } from '../helpers/app.ts';
import { admin, createImage, json, otherMember, ownerMember, ownerReader, patchImage, show } from '../helpers/v2.ts';

let t: TestApp;
before(async () => { t = await startTestApp(); });
after(async () => { await t.close(); });

describe('create', () => {
  test('201 with Location, import-methods header, Glance defaults and key order', async () => {
    const res = await t.app.inject({ method: 'POST', url: '/v2/images', headers: { ...ownerMember, ...json, host: 'h:1' },
      payload: { name: 't1', foo: 'bar', tags: ['b', 'a', 'b'], disk_format: 'raw', container_format: 'bare' } });
    assert.equal(res.statusCode, 201);
    const body = res.json();
    assert.equal(res.headers.location, `http://h:1/v2/images/${body.id}`);
    assert.equal(res.headers['content-type'], 'application/json');
    assert.deepEqual(Object.keys(body), ['foo', 'name', 'disk_format', 'container_format', 'visibility', 'size',
      'virtual_size', 'status', 'checksum', 'protected', 'min_ram', 'min_disk', 'owner', 'os_hidden', 'os_hash_algo',
      'os_hash_value', 'id', 'created_at', 'updated_at', 'tags', 'self', 'file', 'schema']);
    assert.equal(body.visibility, 'shared');
    assert.equal(body.status, 'queued');
    assert.equal(body.owner, 'owner');
    assert.deepEqual(body.tags, ['a', 'b']);
    assert.match(body.created_at, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
    assert.equal(body.self, `/v2/images/${body.id}`);
  });

  test('caller-supplied id is kept; a used id, even of a deleted image, is 409', async () => {
    const id = 'ABCDEF01-2345-6789-abcd-ef0123456789';
    const image = await createImage(t, { id });
    assert.equal(image.id, id);
    const again = await t.app.inject({ method: 'POST', url: '/v2/images', headers: { ...ownerMember, ...json }, payload: { id } });
    assert.equal(again.statusCode, 409);
    assert.equal((await t.app.inject({ method: 'DELETE', url: `/v2/images/${id}`, headers: ownerMember })).statusCode, 204);
    const reuse = await t.app.inject({ method: 'POST', url: '/v2/images', headers: { ...ownerMember, ...json }, payload: { id } });
    assert.equal(reuse.statusCode, 409);
  });

  test('schema violations are 400 with jsonschema wording', async () => {
    const cases: [Record<string, unknown>, RegExp][] = [
      [{ name: 1 }, /1 is not of type 'null', 'string'/],
      [{ foo: 1 }, /1 is not of type 'string'/],
      [{ id: 'bad' }, /'bad' does not match/],
      [{ disk_format: 'floppy' }, /'floppy' is not one of/],
      [{ min_ram: '1' }, /'1' is not of type 'integer'/],
      [{ min_ram: -1 }, /Invalid value '-1' for parameter 'min_ram': Cannot be a negative value/],
      [{ [`k${'x'.repeat(255)}`]: 'v' }, /Custom property should not be greater than 255 characters/],
    ];
    for (const [payload, message] of cases) {
      const res = await t.app.inject({ method: 'POST', url: '/v2/images', headers: { ...ownerMember, ...json }, payload });
      assert.equal(res.statusCode, 400, JSON.stringify(payload));
      assert.match(res.json().message, message);
    }
  });

  test('read-only and reserved attributes are 403', async () => {
    for (const [key, word] of [['status', 'read-only'], ['self', 'read-only'], ['size', 'read-only'],
      ['os_glance_x', 'reserved'], ['os_glanceX', 'reserved'], ['locations', 'reserved'], ['deleted', 'reserved']]) {
      const res = await t.app.inject({ method: 'POST', url: '/v2/images', headers: { ...ownerMember, ...json },
        payload: { [key!]: key === 'locations' ? [] : 'x' } });
      assert.equal(res.statusCode, 403, String(key));
      assert.match(res.json().message, new RegExp(`Attribute '${key}' is ${word}\\.`));
    }
  });

  test('owner rules and publicize policy', async () => {
    let res = await t.app.inject({ method: 'POST', url: '/v2/images', headers: { ...ownerMember, ...json }, payload: { owner: 'p2' } });
    assert.equal(res.statusCode, 403);
    assert.equal(res.json().message, "Access was denied to this resource.<br /><br />\nYou are not permitted to create images owned by 'p2'\n\n");
    res = await t.app.inject({ method: 'POST', url: '/v2/images', headers: { ...ownerMember, ...json }, payload: { visibility: 'public' } });
    assert.equal(res.statusCode, 403);
    assert.match(res.json().message, /You are not authorized to complete publicize_image action/);
    const adminOwned = await createImage(t, { owner: 'someone', visibility: 'public' }, admin);
    assert.equal(adminOwned.owner, 'someone');
    assert.equal((await createImage(t, { visibility: 'community' })).visibility, 'community');
    res = await t.app.inject({ method: 'POST', url: '/v2/images', headers: { ...ownerReader, ...json }, payload: {} });
    assert.equal(res.statusCode, 403);
  });

  test('bodies: malformed JSON 400, scalar 400, missing body 400; Content-Type is not checked', async () => {
    const post = (payload: string, headers: Record<string, string> = {}) => t.app.inject({ method: 'POST',
      url: '/v2/images', headers: { ...ownerMember, ...json, ...headers }, payload });
    assert.match((await post('{bad')).json().message, /Malformed JSON in request body/);
    assert.match((await post('"x"')).json().message, /Unexpected body type\. Expected list\/dict\./);
    assert.equal((await post('{"name":"plain"}', { 'content-type': 'text/plain' })).statusCode, 201);
  });

  test('property and tag quotas are 413', async () => {
    const many = Object.fromEntries(Array.from({ length: 129 }, (_, i) => [`p${i}`, 'v']));
    let res = await t.app.inject({ method: 'POST', url: '/v2/images', headers: { ...ownerMember, ...json }, payload: many });
    assert.equal(res.statusCode, 413);
    res = await t.app.inject({ method: 'POST', url: '/v2/images', headers: { ...ownerMember, ...json },
      payload: { tags: Array.from({ length: 129 }, (_, i) => `t${i}`) } });
    assert.equal(res.statusCode, 413);
    assert.match(res.json().message, /Attempted: 129, Maximum: 128/);
  });
});

describe('show and visibility', () => {
  test('404 for unknown and invisible images; visible ones by visibility and membership', async () => {
    const priv = await createImage(t, { visibility: 'private' });
    const shared = await createImage(t, {});
    const community = await createImage(t, { visibility: 'community' });
    assert.equal((await show(t, priv.id, otherMember)).statusCode, 404);
    assert.equal((await show(t, shared.id, otherMember)).statusCode, 404);
    assert.equal((await show(t, community.id, otherMember)).statusCode, 200);
    assert.equal((await show(t, priv.id, admin)).statusCode, 200);
    const missing = await show(t, '00000000-0000-0000-0000-000000000000');
    assert.equal(missing.statusCode, 404);
    assert.equal(missing.json().message, 'No image found with ID 00000000-0000-0000-0000-000000000000<br /><br />\n\n\n');
    // becoming a member (even pending) makes a shared image visible
    await t.app.inject({ method: 'POST', url: `/v2/images/${shared.id}/members`, headers: { ...ownerMember, ...json },
      payload: { member: 'other' } });
    assert.equal((await show(t, shared.id, otherMember)).statusCode, 200);
  });

  test('a body on GET is refused', async () => {
    const image = await createImage(t);
    const res = await t.app.inject({ url: `/v2/images/${image.id}`, headers: { ...ownerMember, ...json }, payload: '{}' });
    assert.equal(res.statusCode, 400);
    assert.match(res.json().message, /A body is not expected with this request/);
  });
});

describe('patch', () => {
  test('add/replace/remove of custom properties, 2.1 add overwrites, missing ones 409', async () => {
    const image = await createImage(t, { foo: 'a' });
    let res = await patchImage(t, image.id, [{ op: 'add', path: '/foo', value: 'b' }, { op: 'add', path: '/bar', value: 'c' }]);
    assert.equal(res.statusCode, 200, res.body);
    assert.equal(res.json().foo, 'b');
    assert.equal(res.json().bar, 'c');
    res = await patchImage(t, image.id, [{ op: 'replace', path: '/nope', value: 'x' }]);
    assert.equal(res.statusCode, 409);
    res = await patchImage(t, image.id, [{ op: 'remove', path: '/nope' }]);
    assert.equal(res.statusCode, 409);
    res = await patchImage(t, image.id, [{ op: 'remove', path: '/foo' }, { op: 'replace', path: '/name', value: 'n' }]);
    assert.equal(res.statusCode, 200);
    assert.equal(res.json().foo, undefined);
    assert.equal(res.json().name, 'n');
  });

  test('2.0 dialect: add of an existing property is 409', async () => {
    const image = await createImage(t, { foo: 'a' });
    const res = await t.app.inject({ method: 'PATCH', url: `/v2/images/${image.id}`,
      headers: { ...ownerMember, ...json, 'content-type': 'application/openstack-images-v2.0-json-patch' },
      payload: JSON.stringify([{ add: '/foo', value: 'b' }]) });
    assert.equal(res.statusCode, 409);
    const ok = await t.app.inject({ method: 'PATCH', url: `/v2/images/${image.id}`,
      headers: { ...ownerMember, ...json, 'content-type': 'application/openstack-images-v2.0-json-patch' },
      payload: JSON.stringify([{ replace: '/foo', value: 'b' }]) });
    assert.equal(ok.statusCode, 200);
  });

  test('other media types are 415 with Accept-Patch', async () => {
    const image = await createImage(t);
    const res = await t.app.inject({ method: 'PATCH', url: `/v2/images/${image.id}`,
      headers: { ...ownerMember, ...json, 'content-type': 'application/json' }, payload: '[]' });
    assert.equal(res.statusCode, 415);
    assert.equal(res.headers['accept-patch'],
      'application/openstack-images-v2.0-json-patch, application/openstack-images-v2.1-json-patch');
  });

  test('core removal 403, read-only 403, reserved 403, bad pointer and bad op 400', async () => {
    const image = await createImage(t);
    const expectations: [unknown, number][] = [
      [[{ op: 'remove', path: '/name' }], 403],
      [[{ op: 'replace', path: '/status', value: 'active' }], 403],
      [[{ op: 'add', path: '/os_glance_x', value: 'x' }], 403],
      [[{ op: 'add', path: '/tags/-', value: 'x' }], 400],
      [[{ op: 'add', path: 'name', value: 'x' }], 400],
      [[{ op: 'test', path: '/name', value: 'x' }], 400],
      [[{ op: 'add', path: '/name' }], 400],
      [{ op: 'add' }, 400],
      [[{ op: 'replace', path: '/min_ram', value: -5 }], 400],
      [[{ op: 'replace', path: '/name', value: 5 }], 400],
    ];
    for (const [ops, status] of expectations) {
      assert.equal((await patchImage(t, image.id, ops)).statusCode, status, JSON.stringify(ops));
    }
    const res = await patchImage(t, image.id, [{ op: 'add', path: '/a~1b', value: 'slash' }]);
    assert.equal(res.json()['a/b'], 'slash');
  });

  test('formats are immutable once data is attached; owner changes need admin; empty patch is a no-op', async () => {
    const image = await createImage(t, { disk_format: 'raw', container_format: 'bare' });
    await t.app.inject({ method: 'PUT', url: `/v2/images/${image.id}/file`,
      headers: { ...ownerMember, 'content-type': 'application/octet-stream' }, payload: Buffer.from('x') });
    assert.equal((await patchImage(t, image.id, [{ op: 'replace', path: '/disk_format', value: 'qcow2' }])).statusCode, 403);
    assert.equal((await patchImage(t, image.id, [{ op: 'replace', path: '/owner', value: 'x' }])).statusCode, 403);
    assert.equal((await patchImage(t, image.id, [{ op: 'replace', path: '/owner', value: 'owner' }])).statusCode, 200);
    assert.equal((await patchImage(t, image.id, [{ op: 'replace', path: '/owner', value: 'x' }], admin)).json().owner, 'x');
    const community = await createImage(t, { visibility: 'community' });
    assert.equal((await patchImage(t, community.id, [], otherMember)).statusCode, 200);
    assert.equal((await patchImage(t, community.id, [{ op: 'replace', path: '/name', value: 'x' }], otherMember)).statusCode, 403);
  });
});

describe('delete, protected, deactivate', () => {
  test('delete 204 then 404; protected 403', async () => {
    const image = await createImage(t, { protected: true });
    let res = await t.app.inject({ method: 'DELETE', url: `/v2/images/${image.id}`, headers: { ...ownerMember, ...json } });
    assert.equal(res.statusCode, 403);
    assert.match(res.json().message, /is protected and cannot be deleted/);
    await patchImage(t, image.id, [{ op: 'replace', path: '/protected', value: false }]);
    res = await t.app.inject({ method: 'DELETE', url: `/v2/images/${image.id}`, headers: ownerMember });
    assert.equal(res.statusCode, 204);
    assert.equal((await show(t, image.id)).statusCode, 404);
    assert.equal((await show(t, image.id, admin)).statusCode, 404);
  });

  test('deactivate only from active (403 otherwise), idempotent; reactivate back', async () => {
    const queued = await createImage(t);
    const res = await t.app.inject({ method: 'POST', url: `/v2/images/${queued.id}/actions/deactivate`, headers: { ...ownerMember, ...json } });
    assert.equal(res.statusCode, 403);
    assert.match(res.json().message, /Not allowed to deactivate image in status 'queued'/);
  });
});
