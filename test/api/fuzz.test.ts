// Fuzzing every v1 and v2 route (taken from the app's RouteTable) with a fixed seed: random path
// parameters, query strings, headers and bodies (malformed, deep, huge, wrongly typed JSON; raw
// bytes). No answer may be a 5xx, and the server must keep serving. Also: deep JSON is a 400 on
// every route that reads JSON, before anything recursive sees it.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { FastifyInstance } from 'fastify';
import { maxJsonDepth } from '../../src/http/body.ts';
import type { RouteTable } from '../../src/http/routes.ts';
import { startTestApp, type TestApp } from '../helpers/app.ts';
import { admin, createActive, createImage, ownerMember } from '../helpers/v2.ts';
import { prng } from '../helpers/prng.ts';

const SEED = 0x5eed1;
const REQUESTS = Number(process.env.GLIMPSE_FUZZ_REQUESTS ?? 3000);


let t: TestApp;
let routes: Array<{ method: string; url: string }>;
const known: Record<string, string> = {};

before(async () => {
  t = await startTestApp({ GLIMPSE_DEFAULT__ENABLE_V1_API: 'true' });
  routes = ((t.app as FastifyInstance & { routeTable: RouteTable }).routeTable).entries();
  known.image = (await createActive(t, 'fuzz data')).id as string;
  known.queued = (await createImage(t, { disk_format: 'raw', container_format: 'bare' })).id as string;
  const ns = await t.app.inject({ method: 'POST', url: '/v2/metadefs/namespaces', headers: admin, payload: { namespace: 'fuzz-ns' } });
  assert.equal(ns.statusCode, 201, ns.body);
});
after(async () => { await t?.close(); });

test('the route table lists the v1 and v2 routes', () => {
  assert.ok(routes.some((r) => r.url.startsWith('/v1/')), 'v1 routes');
  assert.ok(routes.some((r) => r.url.startsWith('/v2/images')), 'v2 image routes');
  assert.ok(routes.some((r) => r.url.startsWith('/v2/metadefs')), 'v2 metadef routes');
  assert.ok(routes.length > 60, `${routes.length} routes`);
});

function deep(depth: number): string {
  return `${'{"a":'.repeat(depth)}1${'}'.repeat(depth)}`;
}

test('JSON nested deeper than the limit is 400 on every route that reads JSON; at the limit it is not refused for depth', async () => {
  const writes = routes.filter((r) => ['POST', 'PUT', 'PATCH'].includes(r.method));
  let refused = 0;
  for (const route of writes) {
    const url = fill(route.url, () => 0);
    for (const depth of [5000, maxJsonDepth + 1]) {
      const res = await t.app.inject({ method: route.method as 'POST', url, headers: { ...admin, 'content-type': 'application/json' },
        payload: deep(depth) });
      assert.ok(res.statusCode < 500, `${route.method} ${url} depth ${depth}: ${res.statusCode} ${res.body}`);
      if (/nested deeper than/.test(res.body)) {
        assert.equal(res.statusCode, 400);
        refused++;
      }
    }
    const atLimit = await t.app.inject({ method: route.method as 'POST', url,
      headers: { ...admin, 'content-type': 'application/json' }, payload: deep(maxJsonDepth) });
    assert.ok(atLimit.statusCode < 500);
    assert.doesNotMatch(atLimit.body, /nested deeper than/);
  }
  // The two routes of the report, explicitly.
  for (const url of ['/v2/images', '/v2/metadefs/namespaces']) {
    const res = await t.app.inject({ method: 'POST', url, headers: { ...admin, 'content-type': 'application/json' }, payload: deep(5000) });
    assert.equal(res.statusCode, 400, `${url}: ${res.body}`);
    assert.match(res.body, new RegExp(`nested deeper than ${maxJsonDepth} levels`));
  }
  assert.ok(refused >= 20, `${refused} refusals`);
});

/** Fills `:param`s: mostly ids that exist, sometimes random or hostile strings. */
function fill(url: string, rnd: () => number): string {
  return url.replace(/:(\w+)/g, (_m, name: string) => {
    const r = rnd();
    if (name.includes('namespace')) return r < 0.6 ? 'fuzz-ns' : pick(rnd, hostile);
    if (r < 0.45) return known.image!;
    if (r < 0.6) return known.queued!;
    if (r < 0.7) return crypto.randomUUID();
    return encodeURIComponent(pick(rnd, hostile));
  });
}

const hostile = ['', ' ', '..', '%00', '\u0000', 'x'.repeat(5000), '😀', 'a/b', "'; drop table images;--", '{}', '[]',
  'null', '-1', '1e400', 'OS::Compute::Flavor', 'owner', 'admin', 'file:///etc/passwd', '<script>', 'café'];

function pick<T>(rnd: () => number, items: readonly T[]): T {
  return items[Math.floor(rnd() * items.length)]!;
}

function randomValue(rnd: () => number, depth: number): unknown {
  const r = rnd();
  if (depth > 3 || r < 0.3) return pick(rnd, [null, true, false, 0, -1, 1.5, 2 ** 63, 'x', '', 'raw', 'bare', 'public',
    'queued', 'glance-direct', 'web-download', 'http://127.0.0.1:1/x', hostile[5], [], {}]);
  if (r < 0.5) return Array.from({ length: Math.floor(rnd() * 4) }, () => randomValue(rnd, depth + 1));
  const keys = ['name', 'disk_format', 'container_format', 'visibility', 'tags', 'member', 'status', 'method', 'op', 'path',
    'value', 'namespace', 'properties', 'objects', 'stores', 'all_stores', 'url', 'metadata', 'type', 'input', 'min_ram',
    'protected', 'id', 'os_hidden', 'resource_type_associations', 'display_name', 'title', 'items', 'enum'];
  return Object.fromEntries(Array.from({ length: 1 + Math.floor(rnd() * 5) }, () => [pick(rnd, keys), randomValue(rnd, depth + 1)]));
}

function randomBody(rnd: () => number): { payload?: string | Buffer; type?: string } {
  const r = rnd();
  if (r < 0.15) return {};
  if (r < 0.55) return { payload: JSON.stringify(randomValue(rnd, 0)), type: 'application/json' };
  if (r < 0.65) {
    const ops = Array.from({ length: 1 + Math.floor(rnd() * 3) }, () => ({ op: pick(rnd, ['add', 'replace', 'remove', 'test', 'bad']),
      path: pick(rnd, ['/name', '/tags/0', '/locations/-', '/visibility', '/x', '', '/~1', '/status']), value: randomValue(rnd, 2) }));
    return { payload: JSON.stringify(ops), type: pick(rnd, ['application/openstack-images-v2.1-json-patch', 'application/json']) };
  }
  if (r < 0.75) return { payload: pick(rnd, ['{', '[1,', '"\\ud800"', '{"a":1}{', 'nul', '\u0000', deep(200), '[' .repeat(3000)]),
    type: 'application/json' };
  const bytes = Buffer.alloc(Math.floor(rnd() * 2048));
  for (let i = 0; i < bytes.length; i++) bytes[i] = Math.floor(rnd() * 256);
  return { payload: bytes, type: pick(rnd, ['application/octet-stream', 'text/plain', 'application/json']) };
}

function randomHeaders(rnd: () => number): Record<string, string> {
  const who = pick(rnd, [ownerMember, admin, { 'x-identity-status': 'Confirmed', 'x-tenant-id': 'other', 'x-roles': 'reader' }]);
  const headers: Record<string, string> = { ...who };
  const extras: Array<[string, () => string]> = [
    ['range', () => pick(rnd, ['bytes=-0', 'bytes=0-', 'bytes=5-1', 'bytes=-', 'bytes=99999999999999999999-', 'bytes=0-1,2-3', 'x'])],
    ['content-range', () => pick(rnd, ['bytes 0-1/*', 'bytes */*', 'bytes 5-1/2', 'garbage'])],
    ['x-image-meta-name', () => pick(rnd, hostile)],
    ['x-image-meta-size', () => pick(rnd, ['-1', '1e3', '99999999999999999999', 'abc'])],
    ['x-image-meta-disk_format', () => pick(rnd, ['raw', 'qcow2', 'bogus'])],
    ['x-image-meta-container_format', () => pick(rnd, ['bare', 'ovf', 'bogus'])],
    ['x-image-meta-is_public', () => pick(rnd, ['true', 'maybe'])],
    ['x-image-meta-property-foo', () => pick(rnd, hostile)],
    ['x-image-meta-checksum', () => pick(rnd, ['abc', 'd41d8cd98f00b204e9800998ecf8427e'])],
    ['x-openstack-image-size', () => pick(rnd, ['-5', '10', 'x'])],
    ['x-image-meta-store', () => pick(rnd, ['file', 'nope', 'os_glance_staging_store'])],
    ['accept', () => pick(rnd, ['application/json', 'text/html', '*/*', 'application/vnd.openstack.images-v2.1'])],
    ['accept-language', () => pick(rnd, ['zh-CN', 'xx', '*'])],
  ];
  for (const [name, value] of extras) if (rnd() < 0.12) headers[name] = value();
  return headers;
}

function randomQuery(rnd: () => number): string {
  if (rnd() < 0.6) return '';
  const keys = ['limit', 'marker', 'sort', 'sort_key', 'sort_dir', 'name', 'status', 'visibility', 'member_status', 'tag',
    'size_min', 'created_at', 'owner', 'os_hidden', 'resource_types', 'is_public', 'changes-since', 'type'];
  const values = ['-1', '0', '1', 'abc', 'in:a,b', 'gte:2020-01-01T00:00:00Z', 'name:asc', 'bogus:desc', '', '99999999999999999999',
    'true', 'all', crypto.randomUUID(), '%zz'];
  return `?${Array.from({ length: 1 + Math.floor(rnd() * 3) }, () => `${pick(rnd, keys)}=${pick(rnd, values)}`).join('&')}`;
}

test(`${REQUESTS} random requests over every route (seed ${SEED.toString(16)}): no 5xx, no crash`, async () => {
  const rnd = prng(SEED);
  const statuses = new Map<number, number>();
  for (let i = 0; i < REQUESTS; i++) {
    const route = pick(rnd, routes);
    // Now and then a method the route does not serve (405 path) or a bogus one.
    const method = rnd() < 0.05 ? pick(rnd, ['GET', 'PUT', 'POST', 'PATCH', 'DELETE', 'HEAD', 'OPTIONS']) : route.method;
    const url = fill(route.url, rnd) + randomQuery(rnd);
    const body = randomBody(rnd);
    const headers = randomHeaders(rnd);
    if (body.type) headers['content-type'] = body.type;
    const res = await t.app.inject({ method: method as 'GET', url, headers, payload: body.payload });
    statuses.set(res.statusCode, (statuses.get(res.statusCode) ?? 0) + 1);
    assert.ok(res.statusCode < 500, `request ${i}: ${method} ${url} → ${res.statusCode} ${res.body.slice(0, 300)}`);
    // Deleting the fixtures would leave later requests only 404s: bring them back.
    if (method === 'DELETE' && res.statusCode < 300 && url.includes(known.image!)) known.image = (await createActive(t, 'again')).id as string;
    if (method === 'DELETE' && res.statusCode < 300 && url.includes(known.queued!)) known.queued = (await createImage(t, { disk_format: 'raw', container_format: 'bare' })).id as string;
  }
  const ok = [...statuses].filter(([s]) => s < 300).reduce((n, [, c]) => n + c, 0);
  assert.ok(ok > REQUESTS / 50, `some requests succeed too (${JSON.stringify([...statuses])})`);
  const alive = await t.app.inject({ url: '/versions' });
  assert.equal(alive.statusCode, 200);
});
