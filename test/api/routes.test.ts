// The RouteTable's method rules, exercised through a real app with a fixture route.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import type { FastifyInstance } from 'fastify';
import { pino } from 'pino';
import { loadConfig } from '../../src/config/load.ts';
import { buildApp } from '../../src/http/app.ts';
import { TrustedHeadersIdentityProvider } from '../../src/identity/trusted-headers.ts';
import { openDatabase, type Database } from '../../src/db/connect.ts';
import { as } from '../helpers/app.ts';

let app: FastifyInstance;
let database: Database;
const admin = as('p1', 'admin');

before(async () => {
  const { config } = loadConfig({ env: { GLIMPSE_DATABASE__CONNECTION: 'sqlite://' } });
  database = await openDatabase(config.database.connection);
  app = buildApp({
    config, database, identity: new TrustedHeadersIdentityProvider(), logger: pino({ level: 'silent' }),
    routers: [(routes) => {
      routes.add('GET', '/v2/things', async (_req, reply) => reply.send({ things: [] }));
      routes.add('POST', '/v2/things', async (_req, reply) => reply.code(201).send({}));
      routes.add('DELETE', '/v2/things/:id', async (_req, reply) => reply.code(204).send());
    }],
  });
  await app.ready();
});
after(async () => { await app.close(); await database.close(); });

test('a known path with another method is 405 with Allow in registration order', async () => {
  const res = await app.inject({ method: 'PUT', url: '/v2/things', headers: { ...admin, accept: 'application/json' } });
  assert.equal(res.statusCode, 405);
  assert.equal(res.headers.allow, 'GET, POST');
  assert.deepEqual(res.json(), {
    message: 'The method PUT is not allowed for this resource. <br /><br />\n',
    code: '405 Method Not Allowed', title: 'Method Not Allowed' });
  const one = await app.inject({ method: 'GET', url: '/v2/things/abc', headers: admin });
  assert.equal(one.statusCode, 405);
  assert.equal(one.headers.allow, 'DELETE');
});

test('HEAD is never implied by GET: 405', async () => {
  const res = await app.inject({ method: 'HEAD', url: '/v2/things', headers: admin });
  assert.equal(res.statusCode, 405);
  assert.equal(res.headers.allow, 'GET, POST');
});

test('served methods work and trailing slashes or suffixes are 404', async () => {
  assert.equal((await app.inject({ url: '/v2/things', headers: admin })).statusCode, 200);
  assert.equal((await app.inject({ url: '/v2/things/', headers: admin })).statusCode, 404);
  assert.equal((await app.inject({ url: '/v2/things.json', headers: admin })).statusCode, 404);
  assert.equal((await app.inject({ method: 'DELETE', url: '/v2/things/x', headers: admin })).statusCode, 204);
});

test('405 needs authentication first, as in Glance', async () => {
  const res = await app.inject({ method: 'PUT', url: '/v2/things' });
  assert.equal(res.statusCode, 401);
});

test('405 messages are localized', async () => {
  const res = await app.inject({ method: 'PATCH', url: '/v2/things',
    headers: { ...admin, accept: 'application/json', 'accept-language': 'zh-CN' } });
  assert.equal(res.json().message, '此资源不允许使用方法 PATCH。 <br /><br />\n');
});
