import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { as, startTestApp, type TestApp } from '../helpers/app.ts';
import { admin, createImage, json, patchImage } from '../helpers/v2.ts';

let t: TestApp;
const alice = as('alice', 'member,reader');
const bob = as('bob', 'member,reader');
const ids: Record<string, string> = {};

async function list(query = '', headers = alice) {
  const res = await t.app.inject({ url: `/v2/images${query}`, headers: { ...headers, ...json } });
  return res;
}
const names = (res: { json(): unknown }) => (res.json() as { images: { name: string }[] }).images.map((i) => i.name).sort();

before(async () => {
  t = await startTestApp();
  const make = async (name: string, body: Record<string, unknown>, headers = alice) => {
    ids[name] = (await createImage(t, { name, ...body }, headers)).id;
  };
  await make('a-private', { visibility: 'private', disk_format: 'raw', container_format: 'bare', min_ram: 512 });
  await make('a-shared', { tags: ['x', 'y'], os_distro: 'ubuntu', disk_format: 'qcow2' });
  await make('a-community', { visibility: 'community' });
  await make('a-hidden', { os_hidden: true });
  await make('b-private', { visibility: 'private' }, bob);
  await make('b-shared', { tags: ['x'] }, bob);
  await make('b-shared-pending', {}, bob);
  await make('b-community', { visibility: 'community' }, bob);
  await make('public', { visibility: 'public', tags: ['x'] }, admin);
  for (const [image, status] of [['b-shared', 'accepted'], ['b-shared-pending', 'pending']] as const) {
    await t.app.inject({ method: 'POST', url: `/v2/images/${ids[image]}/members`, headers: { ...bob, ...json },
      payload: { member: 'alice' } });
    if (status === 'accepted') {
      await t.app.inject({ method: 'PUT', url: `/v2/images/${ids[image]}/members/alice`, headers: { ...alice, ...json },
        payload: { status } });
    }
  }
});
after(async () => { await t.close(); });

describe('visibility in lists', () => {
  test('default list: own images, public, accepted shared; not others\' community, not hidden', async () => {
    const res = await list();
    assert.equal(res.statusCode, 200);
    assert.deepEqual(names(res), ['a-community', 'a-private', 'a-shared', 'b-shared', 'public']);
    assert.deepEqual(Object.keys(res.json()), ['images', 'first', 'schema']);
    assert.equal(res.json().first, '/v2/images');
    assert.equal(res.json().schema, '/v2/schemas/images');
  });

  test('visibility=… and member_status=…', async () => {
    assert.deepEqual(names(await list('?visibility=community')), ['a-community', 'b-community']);
    assert.deepEqual(names(await list('?visibility=all')),
      ['a-community', 'a-private', 'a-shared', 'b-community', 'b-shared', 'public']);
    assert.deepEqual(names(await list('?visibility=shared')), ['a-shared', 'b-shared']);
    assert.deepEqual(names(await list('?visibility=shared&member_status=pending')), ['a-shared', 'b-shared-pending']);
    assert.deepEqual(names(await list('?member_status=all&visibility=shared')), ['a-shared', 'b-shared', 'b-shared-pending']);
    assert.deepEqual(names(await list('?visibility=private')), ['a-private']);
    assert.equal((await list('?visibility=secret')).statusCode, 400);
    assert.equal((await list('?member_status=maybe')).statusCode, 400);
  });

  test('admin sees everything but other projects\' community images unless asked', async () => {
    const all = names(await list('', admin));
    assert.ok(all.includes('b-private') && all.includes('a-private'));
    assert.ok(!all.includes('a-community') && !all.includes('b-community'));
    assert.ok(names(await list('?visibility=all', admin)).includes('b-community'));
  });

  test('os_hidden', async () => {
    assert.deepEqual(names(await list('?os_hidden=true')), ['a-hidden']);
    assert.deepEqual(names(await list('?os_hidden=TRUE')), ['a-hidden']);
    assert.equal((await list('?os_hidden=maybe')).statusCode, 400);
  });

  test('a reader-less token may not list', async () => {
    assert.equal((await list('', as('alice', 'member'))).statusCode, 403);
  });
});

describe('filters', () => {
  test('exact, in:, custom property, tags (AND), ranges, protected', async () => {
    assert.deepEqual(names(await list('?name=a-private')), ['a-private']);
    assert.deepEqual(names(await list('?name=in:a-private,public')), ['a-private', 'public']);
    assert.deepEqual(names(await list('?name=in:"a-private",public')), ['a-private', 'public']);
    assert.deepEqual(names(await list('?disk_format=qcow2')), ['a-shared']);
    assert.deepEqual(names(await list('?os_distro=ubuntu')), ['a-shared']);
    assert.deepEqual(names(await list('?tag=x')), ['a-shared', 'b-shared', 'public']);
    assert.deepEqual(names(await list('?tag=x&tag=y')), ['a-shared']);
    assert.deepEqual(names(await list('?min_ram_min=500')), ['a-private']);
    assert.deepEqual(names(await list('?owner=bob')), ['b-shared']);
    assert.equal((await list('?protected=true')).json().images.length, 0);
    assert.equal((await list('?protected=True')).statusCode, 400);
    assert.equal((await list('?name=gt:a')).statusCode, 400);
    assert.equal((await list('?size_min=big')).statusCode, 400);
    assert.equal((await list('?name=a%00b')).statusCode, 400);
    assert.equal((await list('?os_distro=%00')).statusCode, 400);
  });

  test('created_at operators and bad values', async () => {
    assert.equal((await list('?created_at=gte:2000-01-01T00:00:00Z')).json().images.length, 5);
    assert.equal((await list('?created_at=lt:2000-01-01T00:00:00Z')).json().images.length, 0);
    assert.equal((await list('?created_at=foo:2000-01-01T00:00:00Z')).statusCode, 400);
    assert.equal((await list('?created_at=gte:yesterday')).statusCode, 400);
    assert.equal((await list('?changes-since=2000-01-01')).statusCode, 400);
  });
});

describe('sorting and pagination', () => {
  test('sort_key/sort_dir and sort=', async () => {
    const byName = (await list('?sort_key=name&sort_dir=asc')).json().images.map((i: { name: string }) => i.name);
    assert.deepEqual(byName, ['a-community', 'a-private', 'a-shared', 'b-shared', 'public']);
    const desc = (await list('?sort=name:desc')).json().images.map((i: { name: string }) => i.name);
    assert.deepEqual(desc, [...byName].reverse());
    assert.equal((await list('?sort_key=owner')).statusCode, 400);
    assert.equal((await list('?sort_dir=up')).statusCode, 400);
    assert.equal((await list('?sort=name&sort_key=name')).statusCode, 400);
    assert.equal((await list('?sort_key=name&sort_key=id&sort_dir=asc&sort_dir=desc&sort_dir=asc')).statusCode, 400);
  });

  test('limit/marker walk every image once; next on full pages; hidden marker 403, unknown 400', async () => {
    const seen: string[] = [];
    let url = '?limit=2&sort_key=name&sort_dir=asc';
    for (let page = 0; page < 10; page++) {
      const body = (await list(url)).json();
      seen.push(...body.images.map((i: { name: string }) => i.name));
      if (!body.next) break;
      assert.equal(body.images.length, 2);
      url = body.next.slice('/v2/images'.length);
    }
    assert.deepEqual(seen, ['a-community', 'a-private', 'a-shared', 'b-shared', 'public']);
    assert.equal((await list('?limit=0')).json().images.length, 0);
    assert.equal((await list('?limit=x')).statusCode, 400);
    assert.equal((await list('?limit=-1')).statusCode, 400);
    // As the reference Glance: a marker the caller cannot see is 403, an unknown one 400.
    const hidden = await list(`?marker=${ids['b-private']}`);
    assert.equal(hidden.statusCode, 403);
    assert.match(hidden.json().message, /Forbidding request, image .* not visible/);
    const unknown = await list('?marker=00000000-0000-4000-8000-000000000000');
    assert.equal(unknown.statusCode, 400);
    assert.match(unknown.json().message, /No image found with ID/);
  });

  test('first/next links keep the query and collapse repeated keys like Glance', async () => {
    const body = (await list('?limit=1&tag=y&tag=x&sort_key=name')).json();
    assert.equal(body.first, '/v2/images?limit=1&tag=x&sort_key=name');
    assert.match(body.next, /^\/v2\/images\?limit=1&tag=x&sort_key=name&marker=/);
  });

  test('deleted images never appear', async () => {
    const gone = await createImage(t, { name: 'gone' }, alice);
    await t.app.inject({ method: 'DELETE', url: `/v2/images/${gone.id}`, headers: alice });
    assert.ok(!names(await list('?visibility=all', admin)).includes('gone'));
    await patchImage(t, ids['a-private']!, []);
  });
});
