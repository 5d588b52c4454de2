import { test } from 'node:test';
import assert from 'node:assert/strict';
import { advertisedVersions, allowedVersionTokens, negotiate, versionsDocument } from '../../src/http/versions.ts';

const base = { v1: false, v2: true, multiStore: false, cache: false };

test('single store, no cache: 2.15, 2.9, 2.17 CURRENT, then 2.7…2.0 (Glance master order)', () => {
  assert.deepEqual(advertisedVersions(base).map((v) => `${v.id}:${v.status}`), [
    'v2.15:SUPPORTED', 'v2.9:SUPPORTED', 'v2.17:CURRENT', 'v2.7:SUPPORTED', 'v2.6:SUPPORTED', 'v2.5:SUPPORTED',
    'v2.4:SUPPORTED', 'v2.3:SUPPORTED', 'v2.2:SUPPORTED', 'v2.1:SUPPORTED', 'v2.0:SUPPORTED',
  ]);
});

test('multi-store lists 2.13…2.8; cache makes 2.18 CURRENT and adds 2.16 and 2.14', () => {
  const versions = advertisedVersions({ ...base, multiStore: true, cache: true });
  const ids = versions.map((v) => v.id);
  assert.deepEqual(ids.slice(0, 11),
    ['v2.18', 'v2.17', 'v2.16', 'v2.15', 'v2.14', 'v2.13', 'v2.12', 'v2.11', 'v2.10', 'v2.9', 'v2.8']);
  assert.equal(ids.length, 19);
  assert.deepEqual(versions.filter((v) => v.status === 'CURRENT').map((v) => v.id), ['v2.18']);
});

test('v1 adds v1.1 and v1.0 DEPRECATED after the v2 entries, linking to /v1/', () => {
  const doc = versionsDocument({ ...base, v1: true }, 'http://h:1/');
  const last = doc.versions.slice(-2);
  assert.deepEqual(last.map((v) => [v.id, v.status, v.links[0]!.href]),
    [['v1.1', 'DEPRECATED', 'http://h:1/v1/'], ['v1.0', 'DEPRECATED', 'http://h:1/v1/']]);
  assert.equal(doc.versions[0]!.links[0]!.href, 'http://h:1/v2/');
});

test('URL negotiation rewrites allowed tokens to /v2 and sends everything else to the 300 document', () => {
  const tokens = allowedVersionTokens(base);
  assert.deepEqual(negotiate('/v2/images', undefined, tokens), { kind: 'api', major: 2, path: '/v2/images' });
  assert.deepEqual(negotiate('/v2.3/images/x', '*/*', tokens), { kind: 'api', major: 2, path: '/v2/images/x' });
  assert.deepEqual(negotiate('/v2', undefined, tokens), { kind: 'api', major: 2, path: '/v2' });
  assert.deepEqual(negotiate('/v2.17/images/x/locations', undefined, tokens), { kind: 'api', major: 2, path: '/v2/images/x/locations' });
  for (const path of ['/', '/images', '/v2.8/images', '/v2.14/images', '/v2.16/images', '/v2.18/cache', '/v3/images',
    '/v1/images', '/v2.x', '/foo']) {
    assert.deepEqual(negotiate(path, undefined, tokens), { kind: 'versions', explicit: false }, path);
  }
  assert.deepEqual(negotiate('/versions', undefined, tokens), { kind: 'versions', explicit: true });
  assert.deepEqual(negotiate('/versions/foo', undefined, tokens), { kind: 'versions', explicit: true });
});

test('multi-store allows /v2.8 and /v2.13; v1 enabled allows /v1, /v1.0, /v1.1', () => {
  const tokens = allowedVersionTokens({ ...base, v1: true, multiStore: true });
  assert.equal(negotiate('/v2.8/images', undefined, tokens).kind, 'api');
  assert.equal(negotiate('/v2.13/images', undefined, tokens).kind, 'api');
  assert.deepEqual(negotiate('/v1.1/images/detail', undefined, tokens), { kind: 'api', major: 1, path: '/v1/images/detail' });
  assert.equal(negotiate('/v1.2/images', undefined, tokens).kind, 'versions');
});

test('vnd Accept negotiation keeps the path and prefixes the major version', () => {
  const tokens = allowedVersionTokens(base);
  const vnd = 'application/vnd.openstack.images-v2.1';
  assert.deepEqual(negotiate('/images', vnd, tokens), { kind: 'api', major: 2, path: '/v2/images' });
  assert.deepEqual(negotiate('/v2/images', vnd, tokens), { kind: 'api', major: 2, path: '/v2/v2/images' });
  assert.equal(negotiate('/images', 'application/vnd.openstack.images-v3', tokens).kind, 'versions');
  assert.equal(negotiate('/images', `${vnd}, */*`, tokens).kind, 'versions');
});

test('v2 disabled: no v2 tokens, nothing advertised for v2', () => {
  const features = { ...base, v2: false, v1: true };
  assert.equal(negotiate('/v2/images', undefined, allowedVersionTokens(features)).kind, 'versions');
  assert.deepEqual(advertisedVersions(features).map((v) => v.id), ['v1.1', 'v1.0']);
});
