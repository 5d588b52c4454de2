import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { as, startTestApp, type TestApp } from '../helpers/app.ts';

const admin = as('p1', 'admin,member,reader');
const uuidId = /^req-[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

describe('versions and negotiation', () => {
  let t: TestApp;
  // v2 only, as the reference Glance 25.1 serves it (v1 routing: test/api/v1-images.test.ts).
  before(async () => { t = await startTestApp({ GLIMPSE_DEFAULT__ENABLE_V1_API: 'false' }); });
  after(async () => { await t.close(); });

  test('GET / answers 300 with the versions document, no authentication needed', async () => {
    const res = await t.app.inject({ url: '/', headers: { host: 'glance.example.org:9292' } });
    assert.equal(res.statusCode, 300);
    assert.equal(res.headers['content-type'], 'application/json');
    const doc = res.json() as { versions: { id: string; status: string; links: { rel: string; href: string }[] }[] };
    assert.deepEqual(doc.versions.filter((v) => v.status === 'CURRENT').map((v) => v.id), ['v2.17']);
    assert.ok(doc.versions.every((v) => v.links[0]!.href === 'http://glance.example.org:9292/v2/'));
    // Glance master's order (glance/api/versions.py lists 2.17 after the 2.9 block).
    assert.deepEqual(doc.versions.map((v) => v.id),
      ['v2.15', 'v2.9', 'v2.17', 'v2.7', 'v2.6', 'v2.5', 'v2.4', 'v2.3', 'v2.2', 'v2.1', 'v2.0']);
  });

  test('any method and any unversioned path gets 300; /versions and /versions/… get 200', async () => {
    for (const [method, url] of [['POST', '/'], ['GET', '/images'], ['GET', '/v3/images'], ['DELETE', '/v1/images'],
      ['GET', '/v2.8/images'], ['GET', '/v2.14/images'], ['GET', '/_glimpse/versions']] as const) {
      const res = await t.app.inject({ method, url });
      assert.equal(res.statusCode, 300, `${method} ${url}`);
    }
    for (const url of ['/versions', '/versions/', '/versions/foo']) {
      const res = await t.app.inject({ url });
      assert.equal(res.statusCode, 200, url);
      assert.equal((res.json() as { versions: unknown[] }).versions.length, 11);
    }
  });

  test('public_endpoint replaces the request host in hrefs', async () => {
    const other = await startTestApp({ GLIMPSE_DEFAULT__PUBLIC_ENDPOINT: 'https://images.example.com/' });
    try {
      const res = await other.app.inject({ url: '/versions' });
      assert.equal((res.json() as { versions: { links: { href: string }[] }[] }).versions[0]!.links[0]!.href,
        'https://images.example.com/v2/');
    } finally { await other.close(); }
  });

  test('image_cache_dir: 2.14/2.16/2.18 are advertised (and /v2.16, /v2.18 routed) exactly when GET /v2/cache is served', async () => {
    const other = await startTestApp({ GLIMPSE_DEFAULT__IMAGE_CACHE_DIR: join(t.dir, 'cache') });
    try {
      const ids = ((await other.app.inject({ url: '/versions' })).json() as { versions: { id: string; status: string }[] })
        .versions.filter((v) => v.id.startsWith('v2.1')).map((v) => `${v.id}:${v.status}`);
      const cacheList = await other.app.inject({ url: '/v2/cache', headers: admin });
      const served = cacheList.statusCode === 200;
      assert.equal(ids.includes('v2.18:CURRENT'), served, `${ids.join(' ')} while GET /v2/cache → ${cacheList.statusCode}`);
      assert.equal(ids.includes('v2.16:SUPPORTED'), served);
      assert.equal(ids.includes('v2.14:SUPPORTED'), served);
      assert.equal(ids.includes('v2.17:CURRENT'), !served);
      for (const version of ['v2.16', 'v2.18']) {
        assert.equal((await other.app.inject({ url: `/${version}/images`, headers: admin })).statusCode, served ? 200 : 300);
      }
    } finally { await other.close(); }
  });

  test('multi-store adds 2.13…2.8 and the /v2.8 URL prefix', async () => {
    const other = await startTestApp({
      GLIMPSE_DEFAULT__ENABLED_BACKENDS: 'fast:file',
      GLIMPSE_GLANCE_STORE__DEFAULT_BACKEND: 'fast',
      GLIMPSE_FAST__FILESYSTEM_STORE_DATADIR: join(t.dir, 'fast'),
    });
    try {
      const doc = (await other.app.inject({ url: '/' })).json() as { versions: { id: string }[] };
      assert.deepEqual(doc.versions.slice(0, 8).map((v) => v.id), ['v2.15', 'v2.13', 'v2.12', 'v2.11', 'v2.10', 'v2.9', 'v2.8', 'v2.17']);
      const res = await other.app.inject({ url: '/v2.8', headers: admin });
      assert.equal(res.statusCode, 302);
    } finally { await other.close(); }
  });

  test('GET /v2 and /v2.N redirect to /v2/; /v2/ and unknown paths are 404', async () => {
    for (const url of ['/v2', '/v2.3', '/v2.15', '/v2.17']) {
      const res = await t.app.inject({ url, headers: { ...admin, host: 'h:9292' } });
      assert.equal(res.statusCode, 302, url);
      assert.equal(res.headers.location, 'http://h:9292/v2/');
    }
    for (const url of ['/v2/', '/v2/nothing', '/v2.1/nothing/here']) {
      const res = await t.app.inject({ url, headers: { ...admin, accept: 'application/json' } });
      assert.equal(res.statusCode, 404, url);
      assert.deepEqual(res.json(), {
        message: 'The resource could not be found.<br /><br />\n\n\n', code: '404 Not Found', title: 'Not Found' });
    }
  });

  test('vnd Accept negotiation: the path is kept and prefixed, so /v2/… plus vnd is 404 and / plus vnd is not 300', async () => {
    const vnd = 'application/vnd.openstack.images-v2.1';
    const root = await t.app.inject({ url: '/', headers: { ...admin, accept: vnd } });
    assert.equal(root.statusCode, 404);
    const doubled = await t.app.inject({ url: '/v2', headers: { ...admin, accept: vnd } });
    assert.equal(doubled.statusCode, 404);
    const unknown = await t.app.inject({ url: '/', headers: { ...admin, accept: 'application/vnd.openstack.images-v9' } });
    assert.equal(unknown.statusCode, 300);
  });

  test('API paths need an identity under trusted-auth: 401 in Glance\'s shape', async () => {
    const res = await t.app.inject({ url: '/v2/nothing', headers: { accept: 'application/json' } });
    assert.equal(res.statusCode, 401);
    const body = res.json() as { code: string; title: string; message: string };
    assert.equal(body.code, '401 Unauthorized');
    assert.match(body.message, /^This server could not verify that you are authorized/);
    const unconfirmed = await t.app.inject({ url: '/v2', headers: { ...admin, 'x-identity-status': 'Invalid' } });
    assert.equal(unconfirmed.statusCode, 401);
  });
});

describe('request ids', () => {
  let t: TestApp;
  before(async () => { t = await startTestApp(); });
  after(async () => { await t.close(); });

  test('every response carries a generated req-<uuid>, including 300, 401 and 404', async () => {
    const seen = new Set<string>();
    for (const [url, headers] of [['/', {}], ['/v2/x', {}], ['/v2/x', admin], ['/healthcheck', {}]] as const) {
      const res = await t.app.inject({ url, headers });
      const id = res.headers['x-openstack-request-id'];
      assert.match(String(id), uuidId, url);
      seen.add(String(id));
    }
    assert.equal(seen.size, 4, 'ids are unique');
  });

  test('a valid inbound id is adopted, with req- added when missing', async () => {
    const given = 'req-11111111-2222-3333-4444-555555555555';
    let res = await t.app.inject({ url: '/v2', headers: { ...admin, 'x-openstack-request-id': given } });
    assert.equal(res.headers['x-openstack-request-id'], given);
    res = await t.app.inject({ url: '/v2', headers: { ...admin, 'x-openstack-request-id': 'abc' } });
    assert.equal(res.headers['x-openstack-request-id'], 'req-abc');
  });

  test('an over-long or unsafe inbound id is replaced by a fresh one', async () => {
    for (const bad of ['x'.repeat(70), 'req-<script>', 'a b']) {
      const res = await t.app.inject({ url: '/v2', headers: { ...admin, 'x-openstack-request-id': bad } });
      assert.equal(res.statusCode, 302);
      assert.match(String(res.headers['x-openstack-request-id']), uuidId, bad);
    }
  });
});

describe('error bodies and localization', () => {
  let t: TestApp;
  before(async () => { t = await startTestApp(); });
  after(async () => { await t.close(); });

  const get404 = (headers: Record<string, string>) => t.app.inject({ url: '/v2/missing', headers: { ...admin, ...headers } });

  test('JSON when the client accepts JSON', async () => {
    const res = await get404({ accept: 'application/json' });
    assert.equal(res.headers['content-type'], 'application/json');
    assert.equal(res.json().title, 'Not Found');
  });

  test('HTML for */* and text/html', async () => {
    for (const accept of ['*/*', 'text/html']) {
      const res = await get404({ accept });
      assert.equal(res.headers['content-type'], 'text/html; charset=UTF-8');
      assert.equal(res.body, '<html>\n <head>\n  <title>404 Not Found</title>\n </head>\n <body>\n  <h1>404 Not Found</h1>\n'
        + '  The resource could not be found.<br /><br />\n\n\n\n </body>\n</html>');
    }
  });

  test('plain text without Accept', async () => {
    const res = await get404({});
    assert.equal(res.headers['content-type'], 'text/plain; charset=UTF-8');
    assert.equal(res.body, '404 Not Found\n\nThe resource could not be found.\n\n   ');
  });

  test('Accept-Language: zh-CN gives the message in Chinese, in every format', async () => {
    const json = await get404({ accept: 'application/json', 'accept-language': 'zh-CN' });
    assert.equal(json.json().message, '找不到该资源。<br /><br />\n\n\n');
    const plain = await get404({ 'accept-language': 'zh-CN,en;q=0.8' });
    assert.match(plain.body, /找不到该资源。/);
    // like Glance, no catalogue for plain `pt` (only pt_BR) or `zh` (zh_CN, zh_TW)
    for (const language of ['pt', 'zh']) {
      const english = await get404({ 'accept-language': language });
      assert.match(english.body, /The resource could not be found\./);
    }
  });

  test('401 is translated too', async () => {
    const res = await t.app.inject({ url: '/v2', headers: { accept: 'application/json', 'accept-language': 'zh-CN' } });
    assert.equal(res.statusCode, 401);
    assert.match(res.json().message, /服务器无法验证/);
  });
});

describe('healthcheck', () => {
  test('detailed mode lists the database, every store and the task worker; an unusable default store fails the check', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'glimpse-health-'));
    const env = { GLIMPSE_HEALTHCHECK__DETAILED: 'true', GLIMPSE_DEFAULT__ENABLED_BACKENDS: 'fast:file, slow:file',
      GLIMPSE_GLANCE_STORE__DEFAULT_BACKEND: 'fast' };
    const ok = await startTestApp({ ...env, GLIMPSE_FAST__FILESYSTEM_STORE_DATADIR: join(dir, 'fast'),
      GLIMPSE_SLOW__FILESYSTEM_STORE_DATADIR: '/proc/version/slow' });
    try {
      let res = await ok.app.inject({ url: '/healthcheck' });
      assert.equal(res.statusCode, 200, 'a broken non-default store is reported, not fatal');
      assert.match(res.body, /^OK\n\nok {3}database answered in \d+ ms\nok {3}store fast \(file, default\): reachable, writable\n/);
      assert.match(res.body, /FAIL store slow \(file\): reachable, not writable: \/proc\/version\/slow is not a directory/);
      assert.match(res.body, /ok {3}task worker \S+: running, 0 task\(s\) running/);
      res = await ok.app.inject({ url: '/healthcheck', headers: { accept: 'application/json' } });
      const doc = res.json() as { detailed: boolean; reasons: { reason: string; details: string }[] };
      assert.equal(doc.detailed, true);
      assert.deepEqual(doc.reasons.map((r) => r.reason), ['OK', 'OK', 'STORE UNAVAILABLE', 'OK']);
    } finally {
      await ok.close();
    }
    const broken = await startTestApp({ GLIMPSE_GLANCE_STORE__FILESYSTEM_STORE_DATADIR: '/proc/version/images' });
    try {
      const res = await broken.app.inject({ url: '/healthcheck' });
      assert.equal(res.statusCode, 503);
      assert.equal(res.body, 'DEFAULT STORE UNAVAILABLE', 'plain mode: the reason only');
    } finally {
      await broken.close();
    }
  });

  test('200 OK in plain text and oslo.middleware JSON; 503 when the disable file exists or the database is gone', async () => {
    const t = await startTestApp();
    const disable = join(t.dir, 'healthcheck_disable');
    const withFile = await startTestApp({ GLIMPSE_HEALTHCHECK__DISABLE_BY_FILE_PATH: disable });
    try {
      let res = await t.app.inject({ url: '/healthcheck' });
      assert.equal(res.statusCode, 200);
      assert.equal(res.body, 'OK');
      res = await t.app.inject({ url: '/healthcheck', headers: { accept: 'application/json' } });
      assert.deepEqual(res.json(), { detailed: false, reasons: ['OK'] });

      assert.equal((await withFile.app.inject({ url: '/healthcheck' })).statusCode, 200);
      writeFileSync(disable, '');
      res = await withFile.app.inject({ url: '/healthcheck' });
      assert.equal(res.statusCode, 503);
      assert.equal(res.body, 'DISABLED BY FILE');

      await t.database.close();
      res = await t.app.inject({ url: '/healthcheck', headers: { accept: 'application/json' } });
      assert.equal(res.statusCode, 503);
      assert.deepEqual(res.json(), { detailed: false, reasons: ['DATABASE UNAVAILABLE'] });
    } finally {
      await withFile.close();
      await t.app.close();
    }
  });
});
