// Images API v1, spec/v1.md checklist F1-001…F1-037, F1-041…F1-045: routing, lists, HEAD/GET, the
// header codec and create. Runs on every configured database dialect.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { test } from 'node:test';
import { as } from '../helpers/app.ts';
import {
  admin, clientMeta, httpRequest, octet, other, owner, v1Active, v1Create, v1Head, v1List, v1Reserve, v1Suite, v1Update,
} from '../helpers/v1.ts';

const md5 = (text: string) => createHash('md5').update(text).digest('hex');
const raw = { 'x-image-meta-disk_format': 'raw', 'x-image-meta-container_format': 'bare' };

v1Suite('v1 images API', (app, start) => {
  test('F1-001 versions document lists v1.1 and v1.0 as DEPRECATED after the v2 entries', async () => {
    const res = await app().app.inject({ url: '/versions', headers: { host: 'glimpse.example:9292' } });
    const versions = (res.json() as { versions: { id: string; status: string; links: { href: string }[] }[] }).versions;
    assert.deepEqual(versions.slice(-2).map((v) => [v.id, v.status, v.links[0]!.href]), [
      ['v1.1', 'DEPRECATED', 'http://glimpse.example:9292/v1/'], ['v1.0', 'DEPRECATED', 'http://glimpse.example:9292/v1/']]);
    assert.ok(versions.slice(0, -2).every((v) => v.id.startsWith('v2')));
  });

  test('F1-001 enable_v1_api = false removes v1: versions, /v1 prefixes, vnd negotiation, GET /images', async () => {
    const t = await start({ GLIMPSE_DEFAULT__ENABLE_V1_API: 'false' });
    try {
      const doc = (await t.app.inject({ url: '/versions' })).json() as { versions: { id: string }[] };
      assert.ok(doc.versions.every((v) => v.id.startsWith('v2')));
      for (const url of ['/v1/images', '/v1.1/images/detail', '/images']) {
        assert.equal((await t.app.inject({ url, headers: owner })).statusCode, 300, url);
      }
      const vnd = await t.app.inject({ url: '/images', headers: { ...owner, accept: 'application/vnd.openstack.images-v1' } });
      assert.equal(vnd.statusCode, 300);
    } finally { await t.close(); }
  });

  test('F1-002 / and unknown versions → 300, /versions → 200, /v1/versions → 404', async () => {
    assert.equal((await app().app.inject({ url: '/' })).statusCode, 300);
    assert.equal((await app().app.inject({ url: '/v3/images' })).statusCode, 300);
    assert.equal((await app().app.inject({ url: '/versions' })).statusCode, 200);
    assert.equal((await app().app.inject({ url: '/v1/versions', headers: owner })).statusCode, 404);
  });

  test('F1-003 /v1, /v1.0 and /v1.1 route to v1; /v1.2 and /v1.a → 300', async () => {
    for (const prefix of ['/v1', '/v1.0', '/v1.1']) {
      assert.equal((await app().app.inject({ url: `${prefix}/images`, headers: owner })).statusCode, 200, prefix);
    }
    for (const prefix of ['/v1.2', '/v1.a', '/va.1', '/v10']) {
      assert.equal((await app().app.inject({ url: `${prefix}/images`, headers: owner })).statusCode, 300, prefix);
    }
  });

  test('F1-004 a whole vnd Accept on an unversioned path serves v1; with extra media types → 300', async () => {
    const vnd = { ...owner, accept: 'application/vnd.openstack.images-v1' };
    const res = await app().app.inject({ url: '/images/detail', headers: vnd });
    assert.equal(res.statusCode, 200);
    assert.ok(Array.isArray(res.json().images));
    assert.equal((await app().app.inject({ url: '/images', headers: { ...owner, accept: 'application/vnd.openstack.images-v1, */*' } })).statusCode, 300);
    assert.equal((await app().app.inject({ url: '/v1/images', headers: vnd })).statusCode, 404);
    // The seed's unversioned GET /images is the brief list.
    const seed = await app().app.inject({ url: '/images', headers: owner });
    assert.equal(seed.statusCode, 200);
    assert.ok(Array.isArray(seed.json().images));
  });

  test('F1-005 API responses carry x-openstack-request-id: req-<uuid>', async () => {
    const res = await app().app.inject({ url: '/v1/images', headers: owner });
    assert.match(String(res.headers['x-openstack-request-id']), /^req-[0-9a-f-]{36}$/);
  });

  test('F1-006 brief list has id, name, size, disk_format, container_format, checksum (+ the seed uri)', async () => {
    const image = await v1Active(app(), 'brief', { 'x-image-meta-name': 'brief-one' });
    const entry = (await v1List(app(), '', owner, false)).find((i) => i.id === image.id)!;
    assert.deepEqual(Object.keys(entry).sort(), ['checksum', 'container_format', 'disk_format', 'id', 'name', 'size', 'uri']);
    assert.equal(entry.size, 5);
    assert.equal(entry.checksum, md5('brief'));
    assert.match(String(entry.uri), new RegExp(`/v1/images/${image.id}$`));
  });

  test('F1-007 detail list has full records and never a location', async () => {
    const image = await v1Active(app(), 'detail', { 'x-image-meta-property-foo': 'bar' });
    const entry = (await v1List(app())).find((i) => i.id === image.id)!;
    for (const key of ['status', 'is_public', 'protected', 'owner', 'min_ram', 'min_disk', 'deleted', 'deleted_at', 'created_at']) {
      assert.ok(key in entry, key);
    }
    assert.deepEqual(entry.properties, { foo: 'bar' });
    assert.ok(!JSON.stringify(entry).includes('file://'));
    assert.ok(!('location' in entry));
  });

  test('F1-008 wrong methods → 405 with the route\'s Allow', async () => {
    const image = await v1Reserve(app());
    const cases: [string, string, string | undefined][] = [
      ['HEAD', '/v1/images/detail', 'GET'], ['PATCH', '/v1/images', 'GET, POST'], ['DELETE', '/v1/images', 'GET, POST'],
      ['POST', `/v1/images/${image.id}`, 'GET, HEAD, PUT, DELETE'], ['POST', `/v1/images/${image.id}/members`, 'GET, PUT'],
    ];
    for (const [method, url, allow] of cases) {
      const res = await app().app.inject({ method: method as 'GET', url, headers: owner });
      assert.equal(res.statusCode, 405, `${method} ${url}`);
      assert.equal(res.headers.allow, allow, `${method} ${url}`);
    }
  });

  test('F1-009 format-suffix URLs are not routes (404)', async () => {
    const image = await v1Reserve(app());
    for (const url of ['/v1/images.xxx', '/v1/images/detail.xxx', `/v1/images/${image.id}/members.xxx`, '/v1/images/new']) {
      assert.equal((await app().app.inject({ url, headers: owner })).statusCode, 404, url);
    }
  });

  test('F1-010 name, status, container_format and disk_format filters match exactly', async () => {
    // ploop: not inspected, so the text payload passes require_image_format_match (default true).
    const a = await v1Active(app(), 'x', { 'x-image-meta-name': 'f10-a', 'x-image-meta-disk_format': 'ploop' });
    const b = await v1Reserve(app(), { 'x-image-meta-name': 'f10-b', 'x-image-meta-container_format': 'ovf' });
    assert.deepEqual((await v1List(app(), 'name=f10-a')).map((i) => i.id), [a.id]);
    assert.deepEqual((await v1List(app(), 'name=f10')).length, 0);
    assert.ok((await v1List(app(), 'status=queued')).some((i) => i.id === b.id));
    assert.ok(!(await v1List(app(), 'status=active')).some((i) => i.id === b.id));
    assert.deepEqual((await v1List(app(), 'name=f10-a&disk_format=ploop')).map((i) => i.id), [a.id]);
    assert.deepEqual((await v1List(app(), 'name=f10-b&container_format=ovf')).map((i) => i.id), [b.id]);
    assert.deepEqual((await v1List(app(), 'name=f10-b&container_format=bare')).length, 0);
  });

  test('F1-011 size_min/size_max are inclusive and must be integers ≥ 0', async () => {
    const t = await start();
    try {
      const sizes = [10, 20, 30];
      const ids = [];
      for (const n of sizes) ids.push((await v1Active(t, 'x'.repeat(n), { 'x-image-meta-name': 'f11' })).id);
      assert.deepEqual(new Set((await v1List(t, 'name=f11&size_min=20&size_max=30')).map((i) => i.id)), new Set(ids.slice(1)));
      assert.deepEqual((await v1List(t, 'name=f11&size_max=10')).map((i) => i.id), [ids[0]]);
      for (const q of ['size_min=-1', 'size_max=abc']) {
        const res = await t.app.inject({ url: `/v1/images/detail?${q}`, headers: owner });
        assert.equal(res.statusCode, 400, q);
        assert.match(res.body, /Bad value passed to filter/);
      }
    } finally { await t.close(); }
  });

  test('F1-012 min_ram/min_disk exact filters; protected filter with boolean validation', async () => {
    const a = await v1Reserve(app(), { 'x-image-meta-name': 'f12', 'x-image-meta-min_ram': '512', 'x-image-meta-protected': 'True' });
    const b = await v1Reserve(app(), { 'x-image-meta-name': 'f12', 'x-image-meta-min_disk': '7' });
    assert.deepEqual((await v1List(app(), 'name=f12&min_ram=512')).map((i) => i.id), [a.id]);
    assert.deepEqual((await v1List(app(), 'name=f12&min_disk=7')).map((i) => i.id), [b.id]);
    assert.deepEqual((await v1List(app(), 'name=f12&protected=true')).map((i) => i.id), [a.id]);
    assert.deepEqual((await v1List(app(), 'name=f12&protected=0')).map((i) => i.id), [b.id]);
    for (const q of ['protected=maybe', 'min_ram=-5']) {
      assert.equal((await app().app.inject({ url: `/v1/images/detail?${q}`, headers: owner })).statusCode, 400, q);
    }
    await v1Update(app(), a.id, { 'x-image-meta-protected': 'False' });
  });

  test('F1-013 property-<key>=<value> filters are ANDed; an unknown key matches nothing', async () => {
    const a = await v1Reserve(app(), { 'x-image-meta-name': 'f13', 'x-image-meta-property-distro': 'debian', 'x-image-meta-property-arch': 'x86_64' });
    await v1Reserve(app(), { 'x-image-meta-name': 'f13', 'x-image-meta-property-distro': 'debian', 'x-image-meta-property-arch': 'arm' });
    assert.equal((await v1List(app(), 'name=f13&property-distro=debian')).length, 2);
    assert.deepEqual((await v1List(app(), 'name=f13&property-distro=debian&property-arch=x86_64')).map((i) => i.id), [a.id]);
    assert.equal((await v1List(app(), 'name=f13&property-nope=1')).length, 0);
  });

  test('F1-014 is_public: validated for all, honoured only for admins', async () => {
    const mine = await v1Reserve(app(), { 'x-image-meta-name': 'f14' });
    const theirs = await v1Reserve(app(), { 'x-image-meta-name': 'f14' }, other);
    const pub = await v1Reserve(app(), { 'x-image-meta-name': 'f14', 'x-image-meta-is_public': 'True' }, admin);
    const ids = async (q: string, who = admin) => new Set((await v1List(app(), `name=f14${q}`, who)).map((i) => i.id));
    assert.deepEqual(await ids(''), new Set([pub.id]));
    assert.deepEqual(await ids('&is_public=true'), new Set([pub.id]));
    assert.deepEqual(await ids('&is_public=false'), new Set([mine.id, theirs.id]));
    assert.deepEqual(await ids('&is_public=none'), new Set([mine.id, theirs.id, pub.id]));
    assert.deepEqual(await ids('&is_public=none', owner), new Set([mine.id, pub.id]));
    assert.equal((await app().app.inject({ url: '/v1/images/detail?is_public=maybe', headers: owner })).statusCode, 400);
  });

  test('F1-015 changes-since: updated_at strictly later, offsets honoured, bad values 400, deleted and killed included', async () => {
    const before = new Date(Date.now() - 2000).toISOString();
    const gone = await v1Active(app(), 'x', { 'x-image-meta-name': 'f15' });
    await app().app.inject({ method: 'DELETE', url: `/v1/images/${gone.id}`, headers: owner });
    const killed = await v1Reserve(app(), { 'x-image-meta-name': 'f15', ...raw, 'x-image-meta-size': '3' });
    await v1Update(app(), killed.id, {}, owner, 'toolong');
    const found = await v1List(app(), `name=f15&changes-since=${encodeURIComponent(before)}`);
    assert.deepEqual(new Map(found.map((i) => [i.id, i.status])), new Map([[gone.id, 'deleted'], [killed.id, 'killed']]));
    assert.equal((await v1List(app(), `name=f15&changes-since=${encodeURIComponent('2999-01-01T00:00:00+02:00')}`)).length, 0);
    assert.equal((await v1List(app(), 'name=f15&changes-since=2000-01-01')).length, 2);
    for (const value of ['', 'yesterday', '2020-13-45']) {
      const res = await app().app.inject({ url: `/v1/images/detail?changes-since=${value}`, headers: owner });
      assert.equal(res.statusCode, 400, value);
    }
  });

  test('F1-016 lists hide deleted and killed images unless changes-since', async () => {
    const gone = await v1Active(app(), 'x', { 'x-image-meta-name': 'f16' });
    await app().app.inject({ method: 'DELETE', url: `/v1/images/${gone.id}`, headers: owner });
    const killed = await v1Reserve(app(), { 'x-image-meta-name': 'f16', ...raw, 'x-image-meta-checksum': md5('a') });
    await v1Update(app(), killed.id, {}, owner, 'b');
    assert.equal((await v1Head(app(), killed.id)).headers['x-image-meta-status'], 'killed');
    assert.equal((await v1List(app(), 'name=f16')).length, 0);
    assert.equal((await v1List(app(), 'name=f16', admin)).length, 0);
  });

  test('F1-017 sort_key/sort_dir whitelist with defaults created_at desc', async () => {
    const ids = [];
    for (const name of ['b', 'c', 'a']) ids.push((await v1Reserve(app(), { 'x-image-meta-name': name, 'x-image-meta-property-f17': 'y' })).id);
    assert.deepEqual((await v1List(app(), 'property-f17=y')).map((i) => i.id), [...ids].reverse());
    assert.deepEqual((await v1List(app(), 'property-f17=y&sort_key=name&sort_dir=asc')).map((i) => i.name), ['a', 'b', 'c']);
    for (const q of ['sort_key=owner', 'sort_dir=up']) {
      const res = await app().app.inject({ url: `/v1/images/detail?${q}`, headers: owner });
      assert.equal(res.statusCode, 400, q);
      assert.match(res.body, /Unsupported sort_/);
    }
  });

  test('F1-018 limit: default 25, capped by api_limit_max, 400 on bad values, 0 → empty', async () => {
    const t = await start({ GLIMPSE_DEFAULT__API_LIMIT_MAX: '3', GLIMPSE_DEFAULT__LIMIT_PARAM_DEFAULT: '2' });
    try {
      for (let i = 0; i < 4; i++) await v1Reserve(t, { 'x-image-meta-name': 'f18', 'x-image-meta-property-f18': t.dir });
      const q = `property-f18=${encodeURIComponent(t.dir)}`;
      assert.equal((await v1List(t, q)).length, 2);
      assert.equal((await v1List(t, `${q}&limit=100`)).length, 3);
      assert.equal((await v1List(t, `${q}&limit=0`)).length, 0);
      for (const limit of ['-1', 'x']) assert.equal((await t.app.inject({ url: `/v1/images/detail?limit=${limit}`, headers: owner })).statusCode, 400);
    } finally { await t.close(); }
  });

  test('F1-019 marker: UUID-like and visible, else 400; results strictly after it', async () => {
    const ids = [];
    for (const name of ['m1', 'm2', 'm3']) ids.push((await v1Reserve(app(), { 'x-image-meta-name': name, 'x-image-meta-property-f19': 'y' })).id);
    const page = await v1List(app(), `property-f19=y&sort_key=name&sort_dir=asc&marker=${ids[0]}`);
    assert.deepEqual(page.map((i) => i.id), ids.slice(1));
    const hidden = await v1Reserve(app(), {}, other);
    for (const marker of ['not-a-uuid', crypto.randomUUID(), hidden.id]) {
      const res = await app().app.inject({ url: `/v1/images/detail?marker=${marker}`, headers: owner });
      assert.equal(res.statusCode, 400, marker);
      assert.match(res.body, marker === 'not-a-uuid' ? /Invalid marker format/ : /Invalid marker. Image could not be found/);
    }
  });

  test('F1-020 HEAD: headers for non-null fields, property headers, ETag, True/False', async () => {
    const image = await v1Active(app(), 'head', { 'x-image-meta-property-Arch': 'x86_64', 'x-image-meta-protected': 'yes' });
    const res = await v1Head(app(), image.id);
    assert.equal(res.statusCode, 200);
    assert.equal(res.body, '');
    assert.equal(res.headers.etag, md5('head'));
    assert.equal(res.headers['x-image-meta-protected'], 'True');
    assert.equal(res.headers['x-image-meta-is_public'], 'False');
    assert.equal(res.headers['x-image-meta-property-arch'], 'x86_64');
    assert.equal(res.headers['x-image-meta-size'], '4');
    assert.ok(!('x-image-meta-deleted_at' in res.headers));
    assert.ok(!Object.keys(res.headers).some((h) => h.includes('location')));
    const meta = clientMeta(res.headers);
    assert.equal(meta.protected, true);
    assert.equal(meta.size, 4);
    await v1Update(app(), image.id, { 'x-image-meta-protected': 'False' });
  });

  test('F1-021 admin HEAD of a deleted or pending_delete image → 200 with deleted True; others 404', async () => {
    const image = await v1Active(app());
    await app().app.inject({ method: 'DELETE', url: `/v1/images/${image.id}`, headers: owner });
    const res = await v1Head(app(), image.id, admin);
    assert.equal(res.statusCode, 200);
    assert.equal(res.headers['x-image-meta-status'], 'deleted');
    assert.equal(res.headers['x-image-meta-deleted'], 'True');
    assert.ok(res.headers['x-image-meta-deleted_at']);
    assert.equal((await v1Head(app(), image.id)).statusCode, 404);
    const t = await start({ GLIMPSE_DEFAULT__DELAYED_DELETE: 'true' });
    try {
      const pending = await v1Active(t);
      assert.equal((await t.app.inject({ method: 'DELETE', url: `/v1/images/${pending.id}`, headers: owner })).statusCode, 200);
      const head = await v1Head(t, pending.id, admin);
      assert.equal(head.headers['x-image-meta-status'], 'pending_delete');
      assert.equal(head.headers['x-image-meta-deleted'], 'True');
      assert.equal((await v1Head(t, pending.id)).statusCode, 404);
    } finally { await t.close(); }
  });

  test('F1-022 GET: octet-stream, Content-Length = size, metadata headers, ETag', async () => {
    const image = await v1Active(app(), 'download me');
    const res = await app().app.inject({ url: `/v1/images/${image.id}`, headers: owner });
    assert.equal(res.statusCode, 200);
    assert.equal(res.body, 'download me');
    assert.equal(res.headers['content-type'], 'application/octet-stream');
    assert.equal(res.headers['content-length'], '11');
    assert.equal(res.headers.etag, md5('download me'));
    assert.equal(res.headers['x-image-meta-checksum'], md5('download me'));
  });

  test('F1-023 download: deactivated → 403 (admin too), not active → 404, size 0 → empty 200', async () => {
    const image = await v1Active(app());
    await app().app.inject({ method: 'POST', url: `/v2/images/${image.id}/actions/deactivate`, headers: owner });
    assert.equal((await app().app.inject({ url: `/v1/images/${image.id}`, headers: admin })).statusCode, 403);
    const queued = await v1Reserve(app());
    const res = await app().app.inject({ url: `/v1/images/${queued.id}`, headers: owner });
    assert.equal(res.statusCode, 404);
    assert.match(res.body, /is not active/);
    const empty = await v1Reserve(app(), { 'x-image-meta-size': '0' });
    const got = await app().app.inject({ url: `/v1/images/${empty.id}`, headers: owner });
    assert.equal(got.statusCode, 200);
    assert.equal(got.body, '');
  });

  test('F1-024 header names are case-insensitive with - ≡ _; unknown x-image-meta-* → 400', async () => {
    const image = await v1Reserve(app(), { 'X-Image-Meta-Disk-Format': 'qcow2', 'x-image-meta-container-format': 'bare', 'X-IMAGE-META-MIN-RAM': '8' });
    assert.equal(image.disk_format, 'qcow2');
    assert.equal(image.container_format, 'bare');
    assert.equal(image.min_ram, 8);
    const res = await v1Create(app(), { 'x-image-meta-colour': 'blue' });
    assert.equal(res.statusCode, 400);
    assert.match(res.body, /Bad header: x-image-meta-colour/);
  });

  test('F1-025 property keys are lowercased with - → _; empty header values are null', async () => {
    const image = await v1Reserve(app(), { 'x-image-meta-property-My-Key.v': 'A', 'x-image-meta-name': '' });
    assert.deepEqual(image.properties, { 'my_key.v': 'A' });
    assert.equal(image.name, null);
  });

  test('F1-026 lenient booleans: None and garbage are false', async () => {
    for (const [value, expected] of [['None', false], ['garbage', false], ['yes', true], ['T', true], ['1', true], ['on', true]] as const) {
      const image = await v1Reserve(app(), { 'x-image-meta-protected': value });
      assert.equal(image.protected, expected, value);
      if (expected) await v1Update(app(), image.id, { 'x-image-meta-protected': 'False' });
    }
    assert.equal((await v1Reserve(app(), { 'x-image-meta-is_public': 'None' })).is_public, false);
  });

  test('F1-027 integer headers: negative, non-integer, > int32 → 400', async () => {
    const bad: [string, string, RegExp][] = [
      ['x-image-meta-size', 'x', /Cannot convert image size/], ['x-image-meta-size', '-1', /negative/],
      ['x-image-meta-min_disk', '2147483648', /out of range/], ['x-image-meta-min_ram', '1.5', /Invalid value/],
      ['x-image-meta-virtual_size', 'big', /Invalid value/],
    ];
    for (const [name, value, pattern] of bad) {
      const res = await v1Create(app(), { [name]: value });
      assert.equal(res.statusCode, 400, `${name}: ${value}`);
      assert.match(res.body, pattern);
    }
    assert.equal((await v1Reserve(app(), { 'x-image-meta-virtual_size': 'None' })).virtual_size, null);
  });

  test('F1-028 timestamps: ISO with year ≥ 1900; honoured on create, ignored on update', async () => {
    const image = await v1Reserve(app(), { 'x-image-meta-created_at': '2015-05-05T10:00:00' });
    assert.equal(image.created_at, '2015-05-05T10:00:00.000000');
    for (const value of ['1899-01-01T00:00:00', 'yesterday']) {
      const res = await v1Create(app(), { 'x-image-meta-created_at': value });
      assert.equal(res.statusCode, 400, value);
      assert.match(res.body, /Invalid time format for created_at/);
    }
    const res = await v1Update(app(), image.id, { 'x-image-meta-created_at': '2001-01-01T00:00:00' });
    assert.equal(res.statusCode, 200);
    assert.equal(res.json().image.created_at, '2015-05-05T10:00:00.000000');
  });

  test('F1-029 name ≤ 255 and checksum ≤ 32 characters', async () => {
    assert.equal((await v1Create(app(), { 'x-image-meta-name': 'n'.repeat(256) })).statusCode, 400);
    const res = await v1Create(app(), { 'x-image-meta-checksum': 'c'.repeat(33) });
    assert.equal(res.statusCode, 400);
    assert.match(res.body, /can(&#x27;|')t exceed 32 characters/);
    assert.equal((await v1Reserve(app(), { 'x-image-meta-name': 'n'.repeat(255) })).name, 'n'.repeat(255));
  });

  test('F1-030 format whitelists and the aki/ari/ami pairing rule', async () => {
    assert.match((await v1Create(app(), { 'x-image-meta-disk_format': 'floppy' })).body, /Invalid disk format &#x27;floppy&#x27;|Invalid disk format 'floppy'/);
    assert.equal((await v1Create(app(), { 'x-image-meta-container_format': 'box' })).statusCode, 400);
    const amazon = await v1Reserve(app(), { 'x-image-meta-disk_format': 'aki' });
    assert.equal(amazon.container_format, 'aki');
    const res = await v1Create(app(), { 'x-image-meta-disk_format': 'ami', 'x-image-meta-container_format': 'bare' });
    assert.equal(res.statusCode, 400);
    assert.match(res.body, /Invalid mix of disk and container formats/);
  });

  test('F1-031 POST without data reserves: 201 queued, size 0, name optional, Location, {"image":…}', async () => {
    const res = await v1Create(app(), { 'content-length': '0' });
    assert.equal(res.statusCode, 201);
    const image = res.json().image;
    assert.equal(image.status, 'queued');
    assert.equal(image.size, 0);
    assert.equal(image.name, null);
    assert.equal(res.headers['content-type'], 'application/json');
    assert.match(String(res.headers.location), new RegExp(`^http://[^/]+/v1/images/${image.id}$`));
  });

  test('F1-032 x-image-meta-size: 0 without data → active at once', async () => {
    const image = await v1Reserve(app(), { 'x-image-meta-size': '0' });
    assert.equal(image.status, 'active');
    assert.equal(image.size, 0);
  });

  test('F1-033 upload in POST: octet-stream required (else 400 + killed), formats required, size and MD5 computed', async () => {
    const ok = await v1Active(app(), 'data!');
    assert.deepEqual([ok.status, ok.size, ok.checksum], ['active', 5, md5('data!')]);
    const badType = await v1Create(app(), { ...raw, 'content-type': 'text/plain', 'x-image-meta-name': 'f33-badtype' }, 'x');
    assert.equal(badType.statusCode, 400);
    assert.match(badType.body, /Content-Type must be application\/octet-stream/);
    const killed = (await v1List(app(), 'name=f33-badtype&changes-since=2000-01-01'))[0]!;
    assert.equal(killed.status, 'killed');
    const noFormat = await v1Create(app(), { 'x-image-meta-name': 'f33-noformat', 'x-image-meta-container_format': 'bare' }, 'x');
    assert.equal(noFormat.statusCode, 400);
    assert.match(noFormat.body, /Disk format is not specified/);
    assert.equal((await v1List(app(), 'name=f33-noformat'))[0]!.status, 'queued');
  });

  test('F1-035 size or checksum mismatch → 400, image killed, data removed', async () => {
    for (const meta of [{ 'x-image-meta-size': '3' }, { 'x-image-meta-checksum': md5('other') }] as Record<string, string>[]) {
      const res = await v1Create(app(), { ...raw, ...meta, 'x-image-meta-name': 'f35' }, 'hello');
      assert.equal(res.statusCode, 400, JSON.stringify(meta));
    }
    const killed = await v1List(app(), 'name=f35&changes-since=2000-01-01');
    assert.deepEqual(killed.map((i) => i.status), ['killed', 'killed']);
    for (const image of killed) assert.equal((await app().app.inject({ url: `/v1/images/${image.id}`, headers: owner })).statusCode, 404);
  });

  test('F1-036 image_size_cap: declared too big → 400; streamed too big → 413 + killed; storage quota → 413', async () => {
    const t = await start({ GLIMPSE_DEFAULT__IMAGE_SIZE_CAP: '10', GLIMPSE_DEFAULT__USER_STORAGE_QUOTA: '12' });
    try {
      const declared = await v1Create(t, { ...raw, 'x-image-meta-size': '11' }, 'x'.repeat(11));
      assert.equal(declared.statusCode, 400);
      const image = await v1Reserve(t, raw);
      const streamed = await httpRequest(t, 'PUT', `/v1/images/${image.id}`, { ...owner, ...octet }, ['x'.repeat(6), 'x'.repeat(5)]);
      assert.equal(streamed.status, 413);
      assert.equal((await v1Head(t, image.id)).headers['x-image-meta-status'], 'killed');
      const quotaOwner = as('quota-project');
      await v1Active(t, 'x'.repeat(8), {}, quotaOwner);
      const quota = await v1Create(t, raw, 'y'.repeat(8), quotaOwner);
      assert.equal(quota.statusCode, 413);
    } finally { await t.close(); }
  });

  test('F1-037 x-image-meta-store picks the backend; an unknown one → 400', async () => {
    const res = await v1Create(app(), { ...raw, 'x-image-meta-store': 'nowhere' }, 'x');
    assert.equal(res.statusCode, 400);
    assert.match(res.body, /Required store nowhere is invalid/);
    assert.equal((await v1Create(app(), { ...raw, 'x-image-meta-store': 'file' }, 'x')).statusCode, 201);
  });

  test('F1-041 x-image-meta-id must be UUID-like (400); an existing id → 409', async () => {
    assert.equal((await v1Create(app(), { 'x-image-meta-id': 'abc' })).statusCode, 400);
    const id = crypto.randomUUID();
    assert.equal((await v1Reserve(app(), { 'x-image-meta-id': id })).id, id);
    assert.equal((await v1Create(app(), { 'x-image-meta-id': id })).statusCode, 409);
  });

  test('F1-042 status header ignored on create; owner header ignored for non-admins, honoured for admins', async () => {
    const image = await v1Reserve(app(), { 'x-image-meta-status': 'active', 'x-image-meta-owner': 'someone' });
    assert.equal(image.status, 'queued');
    assert.equal(image.owner, 'owner');
    assert.equal((await v1Reserve(app(), { 'x-image-meta-owner': 'someone' }, admin)).owner, 'someone');
    assert.equal((await v1Reserve(app(), { 'x-image-meta-owner': '' }, admin)).owner, null);
  });

  test('F1-043 is_public true needs publicize_image (admin only by default)', async () => {
    assert.equal((await v1Create(app(), { 'x-image-meta-is_public': 'True' })).statusCode, 403);
    assert.equal((await v1Reserve(app(), { 'x-image-meta-is_public': 'True' }, admin)).is_public, true);
    const image = await v1Reserve(app());
    assert.equal((await v1Update(app(), image.id, { 'x-image-meta-is_public': 'true' })).statusCode, 403);
  });

  test('F1-044 image_property_quota → 413 on create and update (union when not purging)', async () => {
    const t = await start({ GLIMPSE_DEFAULT__IMAGE_PROPERTY_QUOTA: '2' });
    try {
      const three = { 'x-image-meta-property-a': '1', 'x-image-meta-property-b': '2', 'x-image-meta-property-c': '3' };
      assert.equal((await v1Create(t, three)).statusCode, 413);
      const image = await v1Reserve(t, { 'x-image-meta-property-a': '1', 'x-image-meta-property-b': '2' });
      assert.equal((await v1Update(t, image.id, { 'x-glance-registry-purge-props': 'false', 'x-image-meta-property-c': '3' })).statusCode, 413);
      assert.equal((await v1Update(t, image.id, { 'x-image-meta-property-c': '3' })).statusCode, 200);
    } finally { await t.close(); }
  });

  test('F1-045 PUT answers 200 {"image":…} with ETag', async () => {
    const image = await v1Active(app(), 'etag');
    const res = await v1Update(app(), image.id, { 'x-image-meta-name': 'renamed' });
    assert.equal(res.statusCode, 200);
    assert.equal(res.json().image.name, 'renamed');
    assert.equal(res.headers.etag, md5('etag'));
    assert.ok(!Object.keys(res.headers).some((h) => h.startsWith('x-image-meta-')));
  });
});
