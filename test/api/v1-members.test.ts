// Images API v1, spec/v1.md checklist F1-058…F1-074: members, visibility, v1 ↔ v2 views of one
// image, error bodies, client compatibility. Runs on every configured database dialect.
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { as } from '../helpers/app.ts';
import { admin, octet, other, owner, v1Active, v1Create, v1Head, v1List, v1Reserve, v1Suite, v1Update } from '../helpers/v1.ts';

const third = as('third', 'member,reader');
const json = { 'content-type': 'application/json' };

v1Suite('v1 members and two views', (app, start) => {
  const put = (id: string, member: string, body?: unknown, who = owner) => app().app.inject({ method: 'PUT',
    url: `/v1/images/${id}/members/${member}`, headers: { ...who, ...json }, ...(body === undefined ? {} : { payload: JSON.stringify(body) }) });
  const members = async (id: string, who = owner) => app().app.inject({ url: `/v1/images/${id}/members`, headers: who });

  test('F1-058 members list {"members":[{member_id,can_share}]}; a member sees only its own row', async () => {
    const image = await v1Reserve(app());
    assert.equal((await put(image.id, 'other', { member: { can_share: true } })).statusCode, 204);
    assert.equal((await put(image.id, 'third')).statusCode, 204);
    assert.deepEqual((await members(image.id)).json(), { members: [
      { member_id: 'other', can_share: true }, { member_id: 'third', can_share: false }] });
    assert.deepEqual((await members(image.id, other)).json(), { members: [{ member_id: 'other', can_share: true }] });
  });

  test('F1-059 member PUT → 204; body optional; can_share unchanged without it', async () => {
    const image = await v1Reserve(app());
    await put(image.id, 'other', { member: { can_share: true } });
    await put(image.id, 'other');
    assert.deepEqual((await members(image.id)).json().members, [{ member_id: 'other', can_share: true }]);
    await put(image.id, 'other', { member: { can_share: 'false' } });
    assert.deepEqual((await members(image.id)).json().members, [{ member_id: 'other', can_share: true }]);
    await put(image.id, 'other', { member: { can_share: false } });
    assert.deepEqual((await members(image.id)).json().members, [{ member_id: 'other', can_share: false }]);
  });

  test('F1-060 members replace PUT {"memberships":[…]} → 204 with add/update/remove; entries need member_id', async () => {
    const image = await v1Reserve(app());
    await put(image.id, 'other', { member: { can_share: true } });
    await put(image.id, 'gone');
    const replace = (body: unknown) => app().app.inject({ method: 'PUT', url: `/v1/images/${image.id}/members`,
      headers: { ...owner, ...json }, payload: JSON.stringify(body) });
    assert.equal((await replace({ memberships: [{ member_id: 'other' }, { member_id: 'new', can_share: true }] })).statusCode, 204);
    assert.deepEqual((await members(image.id)).json().members, [
      { member_id: 'other', can_share: true }, { member_id: 'new', can_share: true }]);
    const bad = await replace({ memberships: [{ can_share: true }] });
    assert.equal(bad.statusCode, 400);
    assert.match(bad.body, /Invalid membership association/);
    const malformed = await app().app.inject({ method: 'PUT', url: `/v1/images/${image.id}/members`, headers: { ...owner, ...json }, payload: '{' });
    assert.equal(malformed.statusCode, 400);
  });

  test('F1-061 member DELETE → 204; not a member → 404', async () => {
    const image = await v1Reserve(app());
    await put(image.id, 'other');
    const del = (m: string) => app().app.inject({ method: 'DELETE', url: `/v1/images/${image.id}/members/${m}`, headers: owner });
    assert.equal((await del('other')).statusCode, 204);
    const again = await del('other');
    assert.equal(again.statusCode, 404);
    assert.match(again.body, /Membership could not be found/);
  });

  test('F1-062 GET of one member → 405', async () => {
    const image = await v1Reserve(app());
    await put(image.id, 'other');
    assert.equal((await app().app.inject({ url: `/v1/images/${image.id}/members/other`, headers: owner })).statusCode, 405);
  });

  test('F1-063 sharing: admin, owner or a can_share member; anyone else 404', async () => {
    const image = await v1Reserve(app());
    await put(image.id, 'other', { member: { can_share: true } });
    await put(image.id, 'third');
    assert.equal((await put(image.id, 'fourth', undefined, other)).statusCode, 204);
    assert.equal((await put(image.id, 'fifth', undefined, third)).statusCode, 404);
    assert.equal((await put(image.id, 'sixth', undefined, admin)).statusCode, 204);
  });

  test('F1-064 member ops: 401 without a tenant, 404 on deleted/invisible images, quota 413', async () => {
    const image = await v1Reserve(app());
    const noTenant = { 'x-identity-status': 'Confirmed', 'x-user-id': 'u', 'x-roles': 'member,reader' };
    assert.equal((await put(image.id, 'x', undefined, noTenant)).statusCode, 401);
    const hidden = await v1Reserve(app(), {}, other);
    assert.equal((await put(hidden.id, 'x')).statusCode, 404);
    const gone = await v1Active(app());
    await app().app.inject({ method: 'DELETE', url: `/v1/images/${gone.id}`, headers: owner });
    const res = await members(gone.id, admin);
    assert.equal(res.statusCode, 404);
    assert.match(res.body, /has been deleted/);
    const t = await start({ GLIMPSE_DEFAULT__IMAGE_MEMBER_QUOTA: '1' });
    try {
      const limited = await v1Reserve(t);
      const add = (m: string) => t.app.inject({ method: 'PUT', url: `/v1/images/${limited.id}/members/${m}`, headers: owner });
      assert.equal((await add('a')).statusCode, 204);
      assert.equal((await add('b')).statusCode, 413);
      assert.equal((await add('a')).statusCode, 413);
    } finally { await t.close(); }
  });

  test('F1-065 /v1/shared-images/{member} → {"shared_images":[{image_id,can_share}]} scoped to the caller', async () => {
    const image = await v1Reserve(app());
    await put(image.id, 'sharee', { member: { can_share: true } });
    const sharee = as('sharee');
    const mine = await app().app.inject({ url: '/v1/shared-images/sharee', headers: sharee });
    assert.deepEqual(mine.json(), { shared_images: [{ image_id: image.id, can_share: true }] });
    const byOwner = await app().app.inject({ url: '/v1/shared-images/sharee', headers: owner });
    assert.deepEqual(byOwner.json().shared_images, [{ image_id: image.id, can_share: true }]);
    const byStranger = await app().app.inject({ url: '/v1/shared-images/sharee', headers: other });
    assert.deepEqual(byStranger.json(), { shared_images: [] });
  });

  test('F1-066 v1 lists include shared images of any member status; v1 memberships are v2 pending', async () => {
    const image = await v1Reserve(app(), { 'x-image-meta-name': 'f66' });
    await put(image.id, 'other');
    assert.deepEqual((await v1List(app(), 'name=f66', other)).map((i) => i.id), [image.id]);
    const v2 = await app().app.inject({ url: `/v2/images/${image.id}/members/other`, headers: other });
    assert.equal(v2.json().status, 'pending');
    const v2list = await app().app.inject({ url: '/v2/images?name=f66', headers: other });
    assert.equal(v2list.json().images.length, 0);
    await app().app.inject({ method: 'PUT', url: `/v2/images/${image.id}/members/other`, headers: { ...other, ...json },
      payload: JSON.stringify({ status: 'rejected' }) });
    assert.deepEqual((await v1List(app(), 'name=f66', other)).map((i) => i.id), [image.id]);
  });

  test('F1-067 visibility: admin all, owner, public, community, shared members; invisible → 404', async () => {
    const mine = await v1Reserve(app());
    assert.equal((await v1Head(app(), mine.id, other)).statusCode, 404);
    assert.equal((await v1Head(app(), mine.id, admin)).statusCode, 200);
    await put(mine.id, 'other');
    assert.equal((await v1Head(app(), mine.id, other)).statusCode, 200);
    const community = await app().app.inject({ method: 'POST', url: '/v2/images', headers: { ...owner, ...json },
      payload: JSON.stringify({ visibility: 'community' }) });
    assert.equal((await v1Head(app(), community.json().id, other)).statusCode, 200);
  });

  test('F1-068 list scoping: public + owned + shared with me; others\' community images not listed', async () => {
    const community = await app().app.inject({ method: 'POST', url: '/v2/images', headers: { ...owner, ...json },
      payload: JSON.stringify({ name: 'f68', visibility: 'community' }) });
    const pub = await v1Reserve(app(), { 'x-image-meta-name': 'f68', 'x-image-meta-is_public': 'True' }, admin);
    const shared = await v1Reserve(app(), { 'x-image-meta-name': 'f68' });
    await put(shared.id, 'other');
    await v1Reserve(app(), { 'x-image-meta-name': 'f68' });
    const seen = new Set((await v1List(app(), 'name=f68', other)).map((i) => i.id));
    assert.deepEqual(seen, new Set([pub.id, shared.id]));
    assert.ok((await v1List(app(), 'name=f68')).some((i) => i.id === community.json().id));
  });

  test('F1-069 is_public ↔ visibility: true→public, false→shared, default shared; public→true else false', async () => {
    const image = await v1Reserve(app());
    const v2 = async () => (await app().app.inject({ url: `/v2/images/${image.id}`, headers: admin })).json();
    assert.equal((await v2()).visibility, 'shared');
    await v1Update(app(), image.id, { 'x-image-meta-is_public': 'True' }, admin);
    assert.equal((await v2()).visibility, 'public');
    await v1Update(app(), image.id, { 'x-image-meta-is_public': 'False' }, admin);
    assert.equal((await v2()).visibility, 'shared');
    for (const visibility of ['private', 'community', 'public']) {
      await app().app.inject({ method: 'PATCH', url: `/v2/images/${image.id}`, headers: { ...admin,
        'content-type': 'application/openstack-images-v2.1-json-patch' },
      payload: JSON.stringify([{ op: 'replace', path: '/visibility', value: visibility }]) });
      assert.equal((await v1Head(app(), image.id)).headers['x-image-meta-is_public'], visibility === 'public' ? 'True' : 'False');
    }
  });

  test('F1-070 v1 properties are v2 extra attributes; tags and locations have no v1 form', async () => {
    const created = await app().app.inject({ method: 'POST', url: '/v2/images', headers: { ...owner, ...json },
      payload: JSON.stringify({ name: 'f70', Distro: 'debian', tags: ['t1'], disk_format: 'raw', container_format: 'bare' }) });
    const id = created.json().id;
    await app().app.inject({ method: 'PUT', url: `/v2/images/${id}/file`, headers: { ...owner, ...octet }, payload: 'abc' });
    const detail = (await v1List(app(), 'name=f70'))[0]!;
    assert.deepEqual(detail.properties, { Distro: 'debian' });
    assert.ok(!('tags' in detail) && !('locations' in detail));
    assert.equal((await v1Head(app(), id)).headers['x-image-meta-property-distro'], 'debian');
    await v1Update(app(), id, { 'x-glance-registry-purge-props': 'false', 'x-image-meta-property-release': '12' });
    const v2 = (await app().app.inject({ url: `/v2/images/${id}`, headers: owner })).json();
    assert.deepEqual([v2.Distro, v2.release, v2.tags], ['debian', '12', ['t1']]);
  });

  test('F1-071 property protections: 403 on forbidden create/update/delete; unreadable stripped', async () => {
    const rules = '[^x_admin_.*]\ncreate = admin\nread = admin\nupdate = admin\ndelete = admin\n\n[.*]\ncreate = @\nread = @\nupdate = @\ndelete = @\n';
    const file = join(mkdtempSync(join(tmpdir(), 'glimpse-v1-pp-')), 'protections.conf');
    writeFileSync(file, rules);
    const p = await start({ GLIMPSE_DEFAULT__PROPERTY_PROTECTION_FILE: file, GLIMPSE_DEFAULT__PROPERTY_PROTECTION_RULE_FORMAT: 'roles' });
    try {
      assert.equal((await v1Create(p, { 'x-image-meta-property-x_admin_secret': '1' })).statusCode, 403);
      const image = await v1Reserve(p, { 'x-image-meta-property-x_admin_secret': '1', 'x-image-meta-property-open': 'a' }, admin);
      await v1Update(p, image.id, { 'x-image-meta-owner': 'owner', 'x-glance-registry-purge-props': 'false' }, admin);
      const head = await v1Head(p, image.id);
      assert.equal(head.headers['x-image-meta-property-x_admin_secret'], undefined);
      assert.equal(head.headers['x-image-meta-property-open'], 'a');
      assert.equal((await v1Update(p, image.id, { 'x-image-meta-property-x_admin_secret': '2' })).statusCode, 403);
      const purged = await v1Update(p, image.id, { 'x-image-meta-property-open': 'b' });
      assert.equal(purged.statusCode, 200);
      assert.equal((await v1Head(p, image.id, admin)).headers['x-image-meta-property-x_admin_secret'], '1');
    } finally { await p.close(); }
  });

  test('F1-072 v1 error bodies are text/plain or HTML per Accept, never flat JSON', async () => {
    const missing = `/v1/images/${crypto.randomUUID()}`;
    const star = await app().app.inject({ url: missing, headers: { ...owner, accept: '*/*' } });
    assert.match(String(star.headers['content-type']), /^text\/html/);
    const plain = await app().app.inject({ url: missing, headers: owner });
    assert.match(String(plain.headers['content-type']), /^text\/plain/);
    assert.match(plain.body, /^404 Not Found\n\n/);
    const asJson = await app().app.inject({ url: missing, headers: { ...owner, accept: 'application/json' } });
    assert.ok(!String(asJson.headers['content-type']).includes('json'));
  });

  test('F1-073 client shapes: is_public None, octet-stream on every request, purge false, double HEAD', async () => {
    const res = await app().app.inject({ method: 'POST', url: '/v1/images', headers: { ...owner, ...octet,
      'x-image-meta-name': 'f73', 'x-image-meta-is_public': 'None', 'content-length': '0' } });
    assert.equal(res.statusCode, 201);
    const id = res.json().image.id;
    for (let i = 0; i < 2; i++) assert.equal((await app().app.inject({ method: 'HEAD', url: `/v1/images/${id}`, headers: { ...owner, ...octet, 'content-length': '0' } })).statusCode, 200);
    const upd = await v1Update(app(), id, { 'x-glance-registry-purge-props': 'false', 'x-image-meta-min_ram': '64', 'content-length': '0' });
    assert.equal(upd.json().image.min_ram, 64);
    assert.equal((await app().app.inject({ url: '/v1/images/detail?limit=20&name=f73', headers: { ...owner, ...octet, 'content-length': '0' } })).statusCode, 200);
  });

  test('F1-074 create answers Location: <base>/v1/images/<id> (absolute)', async () => {
    const res = await v1Create(app(), { host: 'images.example:9292' });
    assert.equal(res.headers.location, `http://images.example:9292/v1/images/${res.json().image.id}`);
  });
});
