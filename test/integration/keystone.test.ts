// Keystone token validation against a real Keystone (../shared/tools/keystone.sh start). Set
// GLIMPSE_TEST_KEYSTONE_URL (e.g. http://127.0.0.1:5000/v3); the users and projects are the ones
// keystone.sh provisions (glance/secret in project service; demoN-member, demoN-reader, demo1-admin
// with password secret in projects demoN). Skipped, visibly, when the variable is unset.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { startTestApp, type TestApp } from '../helpers/app.ts';
import { keystoneEnv, keystoneSkip, keystoneUrl, login } from '../helpers/keystone.ts';
import { TcpForwarder } from '../helpers/tcp-forwarder.ts';

const keystone = keystoneUrl;
const skip = keystoneSkip;
const env = keystoneEnv;

// Node 20 leaves skipped suites out of the summary count; a skipped test is counted.
if (skip) test('keystone integration', { skip }, () => {});

describe('keystone tokens', { skip }, () => {
  let t: TestApp;
  let member: Awaited<ReturnType<typeof login>>;
  let reader: Awaited<ReturnType<typeof login>>;
  let other: Awaited<ReturnType<typeof login>>;
  let admin: Awaited<ReturnType<typeof login>>;
  const call = (token: string | undefined, method: string, url: string, payload?: unknown, headers = {}) =>
    t.app.inject({ method: method as 'GET', url, payload: payload as string,
      headers: { accept: 'application/json', ...(token ? { 'x-auth-token': token } : {}), ...headers } });

  before(async () => {
    t = await startTestApp(env(keystone!));
    [member, reader, other, admin] = await Promise.all([login('demo1-member', 'demo1'), login('demo1-reader', 'demo1'),
      login('demo2-member', 'demo2'), login('demo1-admin', 'demo1')]);
  });
  after(async () => { await t?.close(); });

  test('a valid token acts as its user and project with its roles', async () => {
    const res = await call(member.token, 'POST', '/v2/images', { name: 'ks' });
    assert.equal(res.statusCode, 201, res.body);
    assert.equal(res.json().owner, member.projectId);
    assert.equal((await call(member.token, 'GET', '/v2/images')).statusCode, 200);
  });

  test('missing or invalid token: 401 with WWW-Authenticate naming Keystone', async () => {
    for (const token of [undefined, 'not-a-token', `${member.token}x`]) {
      const res = await call(token, 'GET', '/v2/images');
      assert.equal(res.statusCode, 401);
      assert.equal(res.headers['www-authenticate'], `Keystone uri="${keystone}"`);
    }
  });

  test('reader vs member vs admin, and another project', async () => {
    assert.equal((await call(reader.token, 'POST', '/v2/images', {})).statusCode, 403);
    assert.equal((await call(reader.token, 'GET', '/v2/images')).statusCode, 200);
    const mine = (await call(member.token, 'POST', '/v2/images', { visibility: 'private' })).json();
    assert.equal((await call(reader.token, 'GET', `/v2/images/${mine.id}`)).statusCode, 200);
    assert.equal((await call(other.token, 'GET', `/v2/images/${mine.id}`)).statusCode, 404);
    assert.equal((await call(member.token, 'POST', '/v2/images', { visibility: 'public' })).statusCode, 403);
    const pub = await call(admin.token, 'POST', '/v2/images', { visibility: 'public' });
    assert.equal(pub.statusCode, 201);
    assert.equal((await call(other.token, 'GET', `/v2/images/${pub.json().id}`)).statusCode, 200);
    await call(admin.token, 'DELETE', `/v2/images/${pub.json().id}`);
  });

  test('a revoked token is refused once the cache no longer vouches for it', async () => {
    const t0 = await startTestApp(env(keystone!, { GLIMPSE_KEYSTONE_AUTHTOKEN__TOKEN_CACHE_TIME: '0' }));
    try {
      const user = await login('demo1-member', 'demo1');
      assert.equal((await t0.app.inject({ url: '/v2/images', headers: { 'x-auth-token': user.token } })).statusCode, 200);
      const revoke = await fetch(`${keystone}/auth/tokens`, { method: 'DELETE',
        headers: { 'x-auth-token': user.token, 'x-subject-token': user.token } });
      assert.equal(revoke.status, 204);
      assert.equal((await t0.app.inject({ url: '/v2/images', headers: { 'x-auth-token': user.token } })).statusCode, 401);
    } finally { await t0.close(); }
  });

  test('X-Service-Token: its roles count when it carries a service role; required → refused otherwise', async () => {
    const service = await login('glance', 'service');
    const lenient = await startTestApp(env(keystone!, { GLIMPSE_KEYSTONE_AUTHTOKEN__SERVICE_TOKEN_ROLES: 'admin' }));
    const strict = await startTestApp(env(keystone!, { GLIMPSE_KEYSTONE_AUTHTOKEN__SERVICE_TOKEN_ROLES_REQUIRED: 'true' }));
    try {
      const ok = await lenient.app.inject({ url: '/v2/images', headers: { 'x-auth-token': member.token, 'x-service-token': service.token } });
      assert.equal(ok.statusCode, 200);
      const refused = await strict.app.inject({ url: '/v2/images',
        headers: { 'x-auth-token': member.token, 'x-service-token': member.token } });
      assert.equal(refused.statusCode, 401);
      const bad = await lenient.app.inject({ url: '/v2/images', headers: { 'x-auth-token': member.token, 'x-service-token': 'bogus' } });
      assert.equal(bad.statusCode, 401);
    } finally { await lenient.close(); await strict.close(); }
  });
});

describe('keystone outage', { skip }, () => {
  test('Keystone unreachable → 503 (not 500, not a hang); cached tokens keep working; recovery after', async () => {
    const url = new URL(keystone!);
    const forwarder = new TcpForwarder(url.hostname, Number(url.port || 80));
    const port = await forwarder.start();
    const t = await startTestApp(env(`http://127.0.0.1:${port}${url.pathname}`));
    try {
      const known = await login('demo1-member', 'demo1');
      const fresh = await login('demo2-member', 'demo2');
      assert.equal((await t.app.inject({ url: '/v2/images', headers: { 'x-auth-token': known.token } })).statusCode, 200);
      await forwarder.cut();
      const started = Date.now();
      const down = await t.app.inject({ url: '/v2/images', headers: { 'x-auth-token': fresh.token, accept: 'application/json' } });
      assert.equal(down.statusCode, 503);
      assert.match(down.json().message, /identity service is unavailable/);
      assert.ok(Date.now() - started < 10_000, 'answered within the configured timeout');
      assert.equal((await t.app.inject({ url: '/v2/images', headers: { 'x-auth-token': known.token } })).statusCode, 200,
        'a token validated before the outage is still trusted from the cache');
      await forwarder.restore();
      assert.equal((await t.app.inject({ url: '/v2/images', headers: { 'x-auth-token': fresh.token } })).statusCode, 200);
    } finally {
      await t.close();
      await forwarder.cut();
    }
  });
});
