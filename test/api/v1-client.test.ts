// The v1 client scenario: the exact request shapes python-glanceclient 2.x sends with
// --os-image-api-version 1 (spec/v1.md §10), over real HTTP, each response checked the way the
// client parses it. Also the cross-version views of one image (spec/v1.md §6). Every dialect.
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { test } from 'node:test';
import { as, type TestApp } from '../helpers/app.ts';
import { clientMeta, httpRequest, owner, v1Suite, type Headers } from '../helpers/v1.ts';

const md5 = (data: Buffer | string) => createHash('md5').update(data).digest('hex');
/** What the client sends on every request (Content-Type octet-stream even on GET/HEAD/DELETE). */
const base = (who: Headers) => ({ ...who, 'user-agent': 'python-glanceclient', accept: '*/*',
  'accept-encoding': 'gzip, deflate', connection: 'keep-alive', 'content-type': 'application/octet-stream' });
const empty = (who: Headers) => ({ ...base(who), 'content-length': '0' });
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- response bodies are checked field by field
const json = (body: Buffer) => JSON.parse(body.toString()) as Record<string, any>;

/** find_resource with a UUID: HEAD twice, as the client does. */
async function headTwice(t: TestApp, id: string, who: Headers) {
  const first = await httpRequest(t, 'HEAD', `/v1/images/${id}`, empty(who));
  assert.equal(first.status, 200);
  const second = await httpRequest(t, 'HEAD', `/v1/images/${id}`, empty(who));
  return clientMeta(second.headers);
}

v1Suite('v1 client scenario and cross-version views', (app) => {
  test('glanceclient v1 shapes: create piped (chunked, no size), update, list paging, member PUT, download, delete', async () => {
    const t = app();
    const data = randomBytes(300_000);
    // image-create --name … --disk-format raw --container-format bare < piped stdin
    const created = await httpRequest(t, 'POST', '/v1/images', { ...base(owner), 'x-image-meta-name': 'client-img',
      'x-image-meta-disk_format': 'raw', 'x-image-meta-container_format': 'bare', 'x-image-meta-is_public': 'None',
      'x-image-meta-property-Arch': 'x86_64' }, [data.subarray(0, 65536), data.subarray(65536)]);
    assert.equal(created.status, 201, created.body.toString());
    const image = json(created.body).image;
    assert.deepEqual([image.status, image.size, image.checksum, image.is_public], ['active', data.length, md5(data), false]);
    assert.deepEqual(image.properties, { arch: 'x86_64' });

    // image-create with no data (reserve), then image-update --file on the queued image
    const reserved = json((await httpRequest(t, 'POST', '/v1/images', { ...empty(owner), 'x-image-meta-name': 'later',
      'x-image-meta-is_public': 'None' })).body).image;
    assert.equal(reserved.status, 'queued');
    assert.equal((await headTwice(t, reserved.id, owner)).status, 'queued');
    const uploaded = await httpRequest(t, 'PUT', `/v1/images/${reserved.id}`, { ...base(owner), 'x-image-meta-size': '5',
      'x-image-meta-disk_format': 'raw', 'x-image-meta-container_format': 'bare', 'x-glance-registry-purge-props': 'false' },
    ['he', 'llo']);
    assert.equal(uploaded.status, 200, uploaded.body.toString());
    assert.equal(json(uploaded.body).image.status, 'active');

    // image-update <id> --name … --min-ram 64 --property foo=bar
    const meta = await headTwice(t, image.id, owner);
    assert.equal(meta.size, data.length);
    const updated = await httpRequest(t, 'PUT', `/v1/images/${image.id}`, { ...empty(owner),
      'x-glance-registry-purge-props': 'false', 'x-image-meta-name': 'client-img-2', 'x-image-meta-min_ram': '64',
      'x-image-meta-is_public': 'False', 'x-image-meta-property-foo': 'bar' });
    assert.equal(updated.status, 200);
    assert.deepEqual(json(updated.body).image.properties, { arch: 'x86_64', foo: 'bar' });

    // image-list: detail, limit/sort defaults, pages by marker until a short page
    const seen: string[] = [];
    let marker = '';
    for (let pages = 0; pages < 10; pages++) {
      const q = `limit=1&sort_key=name&sort_dir=asc${marker ? `&marker=${marker}` : ''}`;
      const page = await httpRequest(t, 'GET', `/v1/images/detail?${q}`, empty(owner));
      const images = json(page.body).images as { id: string }[];
      seen.push(...images.map((i) => i.id));
      if (images.length < 1) break;
      marker = images.at(-1)!.id;
    }
    assert.ok(seen.includes(image.id) && seen.includes(reserved.id));
    assert.equal(new Set(seen).size, seen.length);

    // member-create <image> <tenant> [--can-share]: HEAD ×2, then PUT with a JSON body
    await headTwice(t, image.id, owner);
    const member = await httpRequest(t, 'PUT', `/v1/images/${image.id}/members/friend`, { ...base(owner),
      'content-type': 'application/json' }, [JSON.stringify({ member: { can_share: false } })]);
    assert.equal(member.status, 204);
    const members = await httpRequest(t, 'GET', `/v1/images/${image.id}/members`, empty(owner));
    assert.deepEqual(json(members.body).members, [{ member_id: 'friend', can_share: false }]);
    const shared = await httpRequest(t, 'GET', '/v1/shared-images/friend', empty(as('friend')));
    assert.deepEqual(json(shared.body).shared_images, [{ image_id: image.id, can_share: false }]);
    // The library's member get: 405, which it swallows.
    assert.equal((await httpRequest(t, 'GET', `/v1/images/${image.id}/members/friend`, empty(owner))).status, 405);

    // image-download: HEAD ×2, GET; Content-Length and MD5 against x-image-meta-checksum
    const dl = await headTwice(t, image.id, as('friend'));
    const got = await httpRequest(t, 'GET', `/v1/images/${image.id}`, empty(as('friend')));
    assert.equal(got.status, 200);
    assert.equal(Number(got.headers['content-length']), got.body.length);
    assert.equal(md5(got.body), dl.checksum);

    // errors are shown as text: the client gets HTML for Accept */*
    const missing = await httpRequest(t, 'HEAD', `/v1/images/${crypto.randomUUID()}`, empty(owner));
    assert.equal(missing.status, 404);
    const err = await httpRequest(t, 'PUT', `/v1/images/${image.id}`, { ...empty(owner), 'x-image-meta-bogus': '1' });
    assert.equal(err.status, 400);
    assert.match(String(err.headers['content-type']), /^text\/html/);
    assert.match(err.body.toString(), /Bad header: x-image-meta-bogus/);

    // member-delete, image-delete (HEAD ×2, DELETE with Content-Length: 0; any 2xx is success)
    assert.equal((await httpRequest(t, 'DELETE', `/v1/images/${image.id}/members/friend`, empty(owner))).status, 204);
    await headTwice(t, image.id, owner);
    assert.equal((await httpRequest(t, 'DELETE', `/v1/images/${image.id}`, empty(owner))).status, 200);
    assert.equal((await httpRequest(t, 'HEAD', `/v1/images/${image.id}`, empty(owner))).status, 404);
  });

  test('cross-version: created and uploaded in v1, read, listed, shared and downloaded in v2', async () => {
    const t = app();
    // ploop: a format the inspector does not check, so the text payload passes require_image_format_match.
    const res = await httpRequest(t, 'POST', '/v1/images', { ...base(owner), 'x-image-meta-name': 'v1-made',
      'x-image-meta-disk_format': 'ploop', 'x-image-meta-container_format': 'bare', 'x-image-meta-property-os_distro': 'debian',
      'x-image-meta-min_disk': '2' }, ['v1 data']);
    const id = json(res.body).image.id;
    const v2 = await t.app.inject({ url: `/v2/images/${id}`, headers: owner });
    const body = v2.json();
    assert.deepEqual([body.status, body.visibility, body.size, body.checksum, body.os_distro, body.min_disk, body.disk_format],
      ['active', 'shared', 7, md5('v1 data'), 'debian', 2, 'ploop']);
    assert.ok((await t.app.inject({ url: '/v2/images?name=v1-made', headers: owner })).json().images.some((i: { id: string }) => i.id === id));
    // share in v1, accept in v2
    await httpRequest(t, 'PUT', `/v1/images/${id}/members/peer`, { ...base(owner), 'content-type': 'application/json' },
      [JSON.stringify({ member: { can_share: true } })]);
    const peer = as('peer');
    assert.equal((await t.app.inject({ url: `/v2/images/${id}/members/peer`, headers: peer })).json().status, 'pending');
    await t.app.inject({ method: 'PUT', url: `/v2/images/${id}/members/peer`, headers: { ...peer, 'content-type': 'application/json' },
      payload: JSON.stringify({ status: 'accepted' }) });
    assert.ok((await t.app.inject({ url: '/v2/images?name=v1-made', headers: peer })).json().images.some((i: { id: string }) => i.id === id));
    assert.equal((await t.app.inject({ url: `/v2/images/${id}/file`, headers: peer })).body, 'v1 data');
  });

  test('cross-version: created and uploaded in v2, read, listed, shared and downloaded in v1', async () => {
    const t = app();
    const create = await t.app.inject({ method: 'POST', url: '/v2/images', headers: { ...owner, 'content-type': 'application/json' },
      payload: JSON.stringify({ name: 'v2-made', disk_format: 'raw', container_format: 'bare', visibility: 'shared', Release: '12' }) });
    const id = create.json().id;
    const queued = clientMeta((await httpRequest(t, 'HEAD', `/v1/images/${id}`, empty(owner))).headers);
    assert.equal(queued.status, 'queued');
    assert.equal(queued.size, undefined, 'a v2 queued image has no size: no header');
    await t.app.inject({ method: 'PUT', url: `/v2/images/${id}/file`, headers: { ...owner, 'content-type': 'application/octet-stream' }, payload: 'v2 data' });
    const meta = clientMeta((await httpRequest(t, 'HEAD', `/v1/images/${id}`, empty(owner))).headers);
    assert.deepEqual([meta.status, meta.size, meta.checksum, meta.is_public], ['active', 7, md5('v2 data'), false]);
    assert.deepEqual(meta.properties, { release: '12' });
    const listed = json((await httpRequest(t, 'GET', '/v1/images/detail?name=v2-made', empty(owner))).body).images;
    assert.deepEqual(listed.map((i: { properties: unknown }) => i.properties), [{ Release: '12' }]);
    // share in v2 (pending): the member sees it in v1 lists at once, with can_share false
    await t.app.inject({ method: 'POST', url: `/v2/images/${id}/members`, headers: { ...owner, 'content-type': 'application/json' },
      payload: JSON.stringify({ member: 'peer2' }) });
    const peer = as('peer2');
    assert.deepEqual(json((await httpRequest(t, 'GET', `/v1/images/${id}/members`, empty(owner))).body).members,
      [{ member_id: 'peer2', can_share: false }]);
    assert.ok(json((await httpRequest(t, 'GET', '/v1/images/detail?name=v2-made', empty(peer))).body).images.length === 1);
    assert.equal((await httpRequest(t, 'GET', `/v1/images/${id}`, empty(peer))).body.toString(), 'v2 data');
    // removing the member in v1 removes it for v2
    await httpRequest(t, 'DELETE', `/v1/images/${id}/members/peer2`, empty(owner));
    assert.equal((await t.app.inject({ url: `/v2/images/${id}/members`, headers: owner })).json().members.length, 0);
  });
});
