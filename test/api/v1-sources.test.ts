// Images API v1, spec/v1.md checklist F1-038, F1-039, F1-051: external locations and copy-from,
// read through the SSRF-safe fetcher from a real HTTP server on loopback (allowed by
// [import_filtering_opts] for this port only). Runs on every configured database dialect.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, test } from 'node:test';
import type { TestApp } from '../helpers/app.ts';
import { admin, owner, v1Create, v1Head, v1List, v1Reserve, v1Suite, v1Update } from '../helpers/v1.ts';

const md5 = (text: string) => createHash('md5').update(text).digest('hex');
const raw = { 'x-image-meta-disk_format': 'raw', 'x-image-meta-container_format': 'bare' };
const payload = 'remote image bytes';

let server: Server;
let base = '';
before(async () => {
  server = createServer((req, res) => {
    if (req.url === '/image.img') {
      res.writeHead(200, { 'content-length': String(payload.length) });
      res.end(req.method === 'HEAD' ? undefined : payload);
    } else if (req.url === '/redirect') {
      res.writeHead(302, { location: 'http://127.0.0.2:1/secret' }).end();
    } else res.writeHead(404).end();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
after(() => new Promise<void>((resolve) => server.close(() => resolve())));

async function waitForStatus(t: TestApp, id: string, wanted: string[]): Promise<string> {
  for (let i = 0; i < 100; i++) {
    const status = String((await v1Head(t, id, admin)).headers['x-image-meta-status']);
    if (wanted.includes(status)) return status;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`image ${id} never reached ${wanted.join('/')}`);
}

v1Suite('v1 locations and copy-from', (app, start) => {
  let t: TestApp;
  before(async () => {
    const port = new URL(base).port;
    t = await start({ GLIMPSE_IMPORT_FILTERING_OPTS__ALLOWED_HOSTS: '127.0.0.1', GLIMPSE_IMPORT_FILTERING_OPTS__ALLOWED_PORTS: port });
  });
  after(async () => { await t.close(); });

  test('F1-038 location: local schemes refused, empty/bad 400, missing 404, size probe and conflict, active at once', async () => {
    for (const [url, pattern] of [['file:///etc/passwd', /External sources are not supported/],
      ['filesystem:///var/lib/glance', /not supported/], ['swift+config://ref/c/o', /not supported/],
      ['', /should not be empty/], ['http//no-scheme', /Invalid location/]] as const) {
      const res = await v1Create(t, { ...raw, 'x-image-meta-location': url });
      assert.equal(res.statusCode, 400, url);
      assert.match(res.body, pattern);
    }
    const before404 = (await v1List(t, 'name=f38-missing')).length;
    const missing = await v1Create(t, { ...raw, 'x-image-meta-name': 'f38-missing', 'x-image-meta-location': `${base}/nope` });
    assert.equal(missing.statusCode, 404);
    assert.equal((await v1List(t, 'name=f38-missing')).length, before404);
    const conflict = await v1Create(t, { ...raw, 'x-image-meta-location': `${base}/image.img`, 'x-image-meta-size': '3' });
    assert.equal(conflict.statusCode, 409);
    const res = await v1Create(t, { ...raw, 'x-image-meta-name': 'f38', 'x-image-meta-location': `${base}/image.img`,
      'x-image-meta-property-key1': 'value1' });
    assert.equal(res.statusCode, 201, res.body);
    const image = res.json().image;
    assert.deepEqual([image.status, image.size, image.checksum, image.properties], ['active', payload.length, null, { key1: 'value1' }]);
    assert.ok(!res.body.includes(base));
    const download = await t.app.inject({ url: `/v1/images/${image.id}`, headers: owner });
    assert.equal(download.body, payload);
    const head = await v1Head(t, image.id);
    assert.ok(!Object.values(head.headers).some((v) => String(v).includes('/image.img')));
  });

  test('F1-038 location: the SSRF guard refuses loopback unless the operator allows it', async () => {
    const res = await v1Create(app(), { ...raw, 'x-image-meta-location': `${base}/image.img` });
    assert.equal(res.statusCode, 400);
    const redirect = await v1Create(t, { ...raw, 'x-glance-api-copy-from': `${base}/redirect` });
    assert.equal(redirect.statusCode, 400);
  });

  test('F1-039 copy-from: 201 queued at once, copied in the background to active; failures kill', async () => {
    const res = await v1Create(t, { ...raw, 'x-image-meta-name': 'f39', 'x-glance-api-copy-from': `${base}/image.img` });
    assert.equal(res.statusCode, 201, res.body);
    assert.equal(res.json().image.status, 'queued');
    const id = res.json().image.id;
    assert.equal(await waitForStatus(t, id, ['active', 'killed']), 'active');
    const download = await t.app.inject({ url: `/v1/images/${id}`, headers: owner });
    assert.equal(download.body, payload);
    assert.equal(download.headers.etag, md5(payload));
    assert.equal((await v1Create(t, { ...raw, 'x-glance-api-copy-from': `${base}/nope` })).statusCode, 404);
    assert.equal((await v1Create(t, { ...raw, 'x-glance-api-copy-from': 'file:///etc/passwd' })).statusCode, 400);
    const bad = await v1Create(t, { ...raw, 'x-glance-api-copy-from': `${base}/image.img`, 'x-image-meta-checksum': md5('x') });
    assert.equal(bad.statusCode, 201);
    assert.equal(await waitForStatus(t, bad.json().image.id, ['active', 'killed']), 'killed');
  });

  test('F1-051 PUT location or copy-from on a queued image activates / copies it', async () => {
    const a = await v1Reserve(t, raw);
    const res = await v1Update(t, a.id, { 'x-image-meta-location': `${base}/image.img` });
    assert.equal(res.statusCode, 200, res.body);
    assert.equal(res.json().image.status, 'active');
    const b = await v1Reserve(t, raw);
    assert.equal((await v1Update(t, b.id, { 'x-glance-api-copy-from': `${base}/image.img` })).statusCode, 200);
    assert.equal(await waitForStatus(t, b.id, ['active', 'killed']), 'active');
  });
});
