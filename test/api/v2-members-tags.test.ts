import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { as, startTestApp, type TestApp } from '../helpers/app.ts';
import { admin, createImage, json, otherMember, ownerMember, ownerReader, show } from '../helpers/v2.ts';

let t: TestApp;
before(async () => { t = await startTestApp({ GLIMPSE_DEFAULT__IMAGE_MEMBER_QUOTA: '2', GLIMPSE_DEFAULT__IMAGE_TAG_QUOTA: '2' }); });
after(async () => { await t.close(); });

const members = (id: string) => `/v2/images/${id}/members`;
const addMember = (id: string, member: unknown, headers = ownerMember) =>
  t.app.inject({ method: 'POST', url: members(id), headers: { ...headers, ...json }, payload: { member } });
const setStatus = (id: string, member: string, status: unknown, headers: Record<string, string>) =>
  t.app.inject({ method: 'PUT', url: `${members(id)}/${member}`, headers: { ...headers, ...json }, payload: { status } });

describe('members', () => {
  test('create 200 pending with Glance\'s member view; duplicate 409; quota 413', async () => {
    const image = await createImage(t);
    const res = await addMember(image.id, 'other');
    assert.equal(res.statusCode, 200);
    const body = res.json();
    assert.equal(body.status, 'pending');
    assert.equal(body.member_id, 'other');
    assert.equal(body.image_id, image.id);
    assert.equal(body.schema, '/v2/schemas/member');
    assert.equal((await addMember(image.id, 'other')).statusCode, 409);
    assert.equal((await addMember(image.id, 'third')).statusCode, 200);
    assert.equal((await addMember(image.id, 'fourth')).statusCode, 413);
  });

  test('bad bodies are 400', async () => {
    const image = await createImage(t);
    const post = (payload: unknown) => t.app.inject({ method: 'POST', url: members(image.id),
      headers: { ...ownerMember, ...json }, payload: JSON.stringify(payload) });
    assert.match((await post({})).json().message, /Member to be added not specified/);
    assert.match((await post({ member: '' })).json().message, /Member can't be empty/);
    assert.equal((await post('x')).statusCode, 400);
  });

  test('only shared images have members (403), invisible image 404', async () => {
    const priv = await createImage(t, { visibility: 'private' });
    const res = await addMember(priv.id, 'other');
    assert.equal(res.statusCode, 403);
    assert.match(res.json().message, /Not allowed to create members for image/);
    assert.equal((await t.app.inject({ url: members(priv.id), headers: { ...ownerMember, ...json } })).statusCode, 403);
    assert.equal((await addMember(priv.id, 'x', otherMember)).statusCode, 404);
  });

  test('only the member changes its status; owner 403; bad status 400; member sees only its row', async () => {
    const image = await createImage(t);
    await addMember(image.id, 'other');
    await addMember(image.id, 'third');
    assert.equal((await setStatus(image.id, 'other', 'accepted', ownerMember)).statusCode, 403);
    assert.equal((await setStatus(image.id, 'other', 'maybe', otherMember)).statusCode, 400);
    const ok = await setStatus(image.id, 'other', 'accepted', otherMember);
    assert.equal(ok.statusCode, 200);
    assert.equal(ok.json().status, 'accepted');
    const seen = await t.app.inject({ url: members(image.id), headers: { ...otherMember, ...json } });
    assert.deepEqual(seen.json().members.map((m: { member_id: string }) => m.member_id), ['other']);
    assert.equal(seen.json().schema, '/v2/schemas/members');
    const all = await t.app.inject({ url: members(image.id), headers: { ...ownerMember, ...json } });
    assert.deepEqual(all.json().members.map((m: { member_id: string }) => m.member_id).sort(), ['other', 'third']);
    assert.equal((await t.app.inject({ url: `${members(image.id)}/third`, headers: { ...otherMember, ...json } })).statusCode, 404);
    assert.equal((await t.app.inject({ url: `${members(image.id)}/other`, headers: { ...otherMember, ...json } })).statusCode, 200);
  });

  test('only the owner deletes members; deletion revokes access at once', async () => {
    const image = await createImage(t);
    await addMember(image.id, 'other');
    assert.equal((await show(t, image.id, otherMember)).statusCode, 200);
    assert.equal((await t.app.inject({ method: 'DELETE', url: `${members(image.id)}/other`, headers: otherMember })).statusCode, 403);
    assert.equal((await t.app.inject({ method: 'DELETE', url: `${members(image.id)}/other`, headers: ownerMember })).statusCode, 204);
    assert.equal((await show(t, image.id, otherMember)).statusCode, 404);
    assert.equal((await t.app.inject({ method: 'DELETE', url: `${members(image.id)}/other`, headers: ownerMember })).statusCode, 404);
  });

  test('private hides existing members; shared again restores them', async () => {
    const image = await createImage(t);
    await addMember(image.id, 'other');
    const patch = (visibility: string) => t.app.inject({ method: 'PATCH', url: `/v2/images/${image.id}`,
      headers: { ...ownerMember, 'content-type': 'application/openstack-images-v2.1-json-patch' },
      payload: JSON.stringify([{ op: 'replace', path: '/visibility', value: visibility }]) });
    assert.equal((await patch('private')).statusCode, 200);
    assert.equal((await show(t, image.id, otherMember)).statusCode, 404);
    assert.equal((await patch('shared')).statusCode, 200);
    assert.equal((await show(t, image.id, otherMember)).statusCode, 200);
  });
});

describe('tags', () => {
  test('PUT is idempotent 204, DELETE 204 then 404, quota 413, long tag 400, reader 403', async () => {
    const image = await createImage(t);
    const tag = (method: 'PUT' | 'DELETE', value: string, headers = ownerMember) => t.app.inject({ method,
      url: `/v2/images/${image.id}/tags/${encodeURIComponent(value)}`, headers: { ...headers, ...json } });
    assert.equal((await tag('PUT', 'a b')).statusCode, 204);
    assert.equal((await tag('PUT', 'a b')).statusCode, 204);
    assert.deepEqual((await show(t, image.id)).json().tags, ['a b']);
    assert.equal((await tag('PUT', 'c')).statusCode, 204);
    assert.equal((await tag('PUT', 'd')).statusCode, 413);
    assert.equal((await tag('PUT', 'x'.repeat(256))).statusCode, 400);
    assert.equal((await tag('PUT', 'e', ownerReader)).statusCode, 403);
    assert.equal((await tag('PUT', 'e', as('stranger'))).statusCode, 404);
    assert.equal((await tag('DELETE', 'c')).statusCode, 204);
    assert.equal((await tag('DELETE', 'c')).statusCode, 404);
    assert.equal((await tag('PUT', 'e', admin)).statusCode, 204);
  });
});
