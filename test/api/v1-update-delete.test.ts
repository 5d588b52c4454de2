// Images API v1, spec/v1.md checklist F1-034, F1-040, F1-046…F1-057: chunked uploads, update,
// reserve-then-upload, delete and the status lifecycle. Runs on every configured database dialect.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, rmSync } from 'node:fs';
import { request } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { test } from 'node:test';
import {
  admin, httpRequest, octet, other, owner, v1Active, v1Create, v1Head, v1List, v1Reserve, v1Suite, v1Update,
} from '../helpers/v1.ts';

const md5 = (text: string) => createHash('md5').update(text).digest('hex');
const raw = { 'x-image-meta-disk_format': 'raw', 'x-image-meta-container_format': 'bare' };
const status = async (t: Parameters<typeof v1Head>[0], id: string) => (await v1Head(t, id, admin)).headers['x-image-meta-status'];

v1Suite('v1 update and delete', (app, start) => {
  test('F1-034 chunked request bodies without a size are accepted', async () => {
    const res = await httpRequest(app(), 'POST', '/v1/images', { ...owner, ...octet, ...raw, 'x-image-meta-name': 'chunky' },
      ['abc', 'def', 'ghi']);
    assert.equal(res.status, 201, res.body.toString());
    const image = JSON.parse(res.body.toString()).image;
    assert.deepEqual([image.status, image.size, image.checksum], ['active', 9, md5('abcdefghi')]);
  });

  test('F1-040 body with location or copy-from → 400 multiple sources (a queued record is left)', async () => {
    const res = await v1Create(app(), { ...raw, 'x-image-meta-name': 'f40', 'x-glance-api-copy-from': 'http://example.com/x' }, 'data');
    assert.equal(res.statusCode, 400);
    assert.match(res.body, /invalid to provide multiple image sources/);
    assert.equal((await v1List(app(), 'name=f40'))[0]?.status, 'queued');
  });

  test('F1-046 PUT on a deleted image → 403 (admin); on an invisible one → 404', async () => {
    const image = await v1Active(app());
    await app().app.inject({ method: 'DELETE', url: `/v1/images/${image.id}`, headers: owner });
    const res = await v1Update(app(), image.id, { 'x-image-meta-name': 'x' }, admin);
    assert.equal(res.statusCode, 403);
    assert.match(res.body, /Forbidden to update deleted image/);
    const hidden = await v1Reserve(app(), {}, other);
    assert.equal((await v1Update(app(), hidden.id, { 'x-image-meta-name': 'x' })).statusCode, 404);
  });

  test('F1-047 status/id changes → 403; size/checksum of an active image → 403 except for admins', async () => {
    const image = await v1Active(app(), 'imm');
    const changes: [string, string][] = [['x-image-meta-status', 'queued'], ['x-image-meta-id', crypto.randomUUID()],
      ['x-image-meta-size', '99'], ['x-image-meta-checksum', md5('z')]];
    for (const [name, value] of changes) {
      const res = await v1Update(app(), image.id, { [name]: value });
      assert.equal(res.statusCode, 403, name);
    }
    assert.equal((await v1Update(app(), image.id, { 'x-image-meta-status': 'active', 'x-image-meta-size': '3' })).statusCode, 200);
    assert.equal((await v1Update(app(), image.id, { 'x-image-meta-size': '99' }, admin)).json().image.size, 99);
  });

  test('F1-048 data to a non-queued image → 409; location/copy-from → 400', async () => {
    const image = await v1Active(app());
    const res = await v1Update(app(), image.id, {}, owner, 'more');
    assert.equal(res.statusCode, 409);
    assert.match(res.body, /Cannot upload to an unqueued image/);
    const loc = await v1Update(app(), image.id, { 'x-image-meta-location': 'http://example.com/a' });
    assert.equal(loc.statusCode, 400);
    assert.match(loc.body, /not in queued status/);
    assert.equal((await v1Update(app(), image.id, { 'x-glance-api-copy-from': 'http://example.com/a' })).statusCode, 400);
  });

  test('F1-049 purge: default true, false keeps unnamed properties, never with data', async () => {
    const image = await v1Reserve(app(), { ...raw, 'x-image-meta-property-a': '1', 'x-image-meta-property-b': '2' });
    let res = await v1Update(app(), image.id, { 'x-glance-registry-purge-props': 'false', 'x-image-meta-property-c': '3' });
    assert.deepEqual(res.json().image.properties, { a: '1', b: '2', c: '3' });
    res = await v1Update(app(), image.id, { 'x-image-meta-property-a': '9' }, owner, 'with data');
    assert.deepEqual(res.json().image.properties, { a: '9', b: '2', c: '3' });
    res = await v1Update(app(), image.id, { 'x-image-meta-property-b': '2' });
    assert.deepEqual(res.json().image.properties, { b: '2' });
    res = await v1Update(app(), image.id, { 'x-glance-registry-purge-props': 'true' });
    assert.deepEqual(res.json().image.properties, {});
  });

  test('F1-050 reserve then upload: checks the reserved size/checksum, keeps reserve properties', async () => {
    const image = await v1Reserve(app(), { 'x-image-meta-name': 'r', 'x-image-meta-property-keep': 'me', 'x-image-meta-checksum': md5('12345') });
    const res = await v1Update(app(), image.id, raw, owner, '12345');
    assert.equal(res.statusCode, 200, res.body);
    assert.deepEqual([res.json().image.status, res.json().image.size, res.json().image.properties], ['active', 5, { keep: 'me' }]);
    const sized = await v1Reserve(app(), { ...raw, 'x-image-meta-size': '19' });
    assert.equal((await v1Update(app(), sized.id, {}, owner, 'x'.repeat(5000))).statusCode, 400);
    assert.equal(await status(app(), sized.id), 'killed');
    const unsized = await v1Reserve(app(), raw);
    const up = await v1Update(app(), unsized.id, {}, owner, 'x'.repeat(1024));
    assert.equal(up.json().image.size, 1024);
  });

  test('F1-052 only the owner or an admin may change an image; public image of another → 403', async () => {
    const pub = await v1Reserve(app(), { 'x-image-meta-is_public': 'True' }, admin);
    assert.equal((await v1Update(app(), pub.id, { 'x-image-meta-name': 'mine now' })).statusCode, 403);
    assert.equal((await app().app.inject({ method: 'DELETE', url: `/v1/images/${pub.id}`, headers: owner })).statusCode, 403);
    const image = await v1Reserve(app());
    assert.equal((await v1Update(app(), image.id, { 'x-image-meta-name': 'admin was here' }, admin)).statusCode, 200);
    assert.equal((await v1Update(app(), image.id, { 'x-image-meta-owner': 'other' })).json().image.owner, 'owner');
  });

  test('F1-053 DELETE → 200 empty; unknown/deleted → 404; protected → 403; pending_delete → 403', async () => {
    const image = await v1Active(app());
    const res = await app().app.inject({ method: 'DELETE', url: `/v1/images/${image.id}`, headers: owner });
    assert.equal(res.statusCode, 200);
    assert.equal(res.body, '');
    assert.equal((await app().app.inject({ method: 'DELETE', url: `/v1/images/${image.id}`, headers: owner })).statusCode, 404);
    assert.equal((await app().app.inject({ method: 'DELETE', url: `/v1/images/${image.id}`, headers: admin })).statusCode, 404);
    assert.equal((await app().app.inject({ method: 'DELETE', url: `/v1/images/${crypto.randomUUID()}`, headers: owner })).statusCode, 404);
    const guarded = await v1Reserve(app(), { 'x-image-meta-protected': 'True' });
    assert.equal((await app().app.inject({ method: 'DELETE', url: `/v1/images/${guarded.id}`, headers: owner })).statusCode, 403);
    await v1Update(app(), guarded.id, { 'x-image-meta-protected': 'False' });
    const t = await start({ GLIMPSE_DEFAULT__DELAYED_DELETE: 'true' });
    try {
      const pending = await v1Active(t);
      await t.app.inject({ method: 'DELETE', url: `/v1/images/${pending.id}`, headers: owner });
      const again = await t.app.inject({ method: 'DELETE', url: `/v1/images/${pending.id}`, headers: admin });
      assert.equal(again.statusCode, 403);
      assert.match(again.body, /pending_delete/);
    } finally { await t.close(); }
  });

  test('F1-054 delete soft-deletes the record (deleted True, deleted_at) and its data', async () => {
    const image = await v1Active(app(), 'bytes');
    await app().app.inject({ method: 'DELETE', url: `/v1/images/${image.id}`, headers: owner });
    const head = await v1Head(app(), image.id, admin);
    assert.deepEqual([head.headers['x-image-meta-status'], head.headers['x-image-meta-deleted']], ['deleted', 'True']);
    assert.ok(head.headers['x-image-meta-deleted_at']);
    assert.equal((await app().app.inject({ url: `/v1/images/${image.id}`, headers: admin })).statusCode, 404);
    assert.equal((await app().app.inject({ url: `/v2/images/${image.id}`, headers: admin })).statusCode, 404);
  });

  test('F1-055 delayed_delete: data → pending_delete; queued → deleted', async () => {
    const t = await start({ GLIMPSE_DEFAULT__DELAYED_DELETE: 'true' });
    try {
      const withData = await v1Active(t);
      const queued = await v1Reserve(t);
      for (const id of [withData.id, queued.id]) await t.app.inject({ method: 'DELETE', url: `/v1/images/${id}`, headers: owner });
      assert.equal(await status(t, withData.id), 'pending_delete');
      assert.equal(await status(t, queued.id), 'deleted');
    } finally { await t.close(); }
  });

  test('F1-056 when the data cannot be deleted the image keeps its previous status', async () => {
    const image = await v1Active(app(), 'stuck');
    const file = join(app().dir, 'images', image.id);
    assert.ok(existsSync(file));
    rmSync(file);
    mkdirSync(join(file, 'blocker'), { recursive: true });
    const res = await app().app.inject({ method: 'DELETE', url: `/v1/images/${image.id}`, headers: owner });
    assert.equal(res.statusCode, 403);
    assert.equal(await status(app(), image.id), 'active');
    rmSync(file, { recursive: true });
    assert.equal((await app().app.inject({ method: 'DELETE', url: `/v1/images/${image.id}`, headers: owner })).statusCode, 200);
  });

  test('F1-057 an image deleted during its upload → 412 and no data kept', async () => {
    const image = await v1Reserve(app(), raw);
    if (app().app.server.address() === null) await app().app.listen({ host: '127.0.0.1', port: 0 });
    const { port } = app().app.server.address() as AddressInfo;
    const upload = new Promise<number>((resolve, reject) => {
      const req = request({ host: '127.0.0.1', port, method: 'PUT', path: `/v1/images/${image.id}`, headers: { ...owner, ...octet } },
        (res) => { res.resume(); resolve(res.statusCode ?? 0); });
      req.on('error', reject);
      req.write('first part ');
      void (async () => {
        for (let i = 0; i < 100 && (await status(app(), image.id)) !== 'saving'; i++) await new Promise((r) => setTimeout(r, 20));
        assert.equal((await app().app.inject({ method: 'DELETE', url: `/v1/images/${image.id}`, headers: owner })).statusCode, 200);
        req.end('last part');
      })().catch(reject);
    });
    assert.equal(await upload, 412);
    assert.ok(!existsSync(join(app().dir, 'images', image.id)));
  });

  test('F1-057 a failed upload leaves killed; a second upload during the first → 409', async () => {
    const image = await v1Reserve(app(), { ...raw, 'x-image-meta-size': '4' });
    assert.equal((await v1Update(app(), image.id, {}, owner, 'too long')).statusCode, 400);
    assert.equal(await status(app(), image.id), 'killed');
    const racing = await v1Reserve(app(), raw);
    const first = httpRequest(app(), 'PUT', `/v1/images/${racing.id}`, { ...owner, ...octet }, ['a']);
    const results = await Promise.all([first, httpRequest(app(), 'PUT', `/v1/images/${racing.id}`, { ...owner, ...octet }, ['b'])]);
    assert.deepEqual(results.map((r) => r.status).sort(), [200, 409]);
  });
});
