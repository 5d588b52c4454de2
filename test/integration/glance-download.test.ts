// glance-download end to end through a real Keystone (../shared/tools/keystone.sh start): a second
// Glimpse plays the other region. The test registers a region of its own with an image endpoint
// pointing at that Glimpse (as an operator's catalog would), a member imports an image of the remote
// region by id, and the local image becomes active with the remote data and the remote's
// hw_/os_ properties; the worker reads the data with Glimpse's service token. Set
// GLIMPSE_TEST_KEYSTONE_URL (e.g. http://127.0.0.1:5000/v3); skipped, visibly, when it is unset.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { startTestApp, type TestApp } from '../helpers/app.ts';
import { keystoneEnv, keystoneSkip, keystoneUrl, login } from '../helpers/keystone.ts';

const keystone = keystoneUrl;
const skip = keystoneSkip;

/** A call to the Keystone API as `token`; the JSON answer. */
async function identity<T = unknown>(token: string, method: string, path: string, body?: unknown): Promise<T> {
  const res = await fetch(`${keystone}${path}`, { method, headers: { 'x-auth-token': token, 'content-type': 'application/json' },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }) });
  const text = await res.text();
  assert.ok(res.status < 300, `${method} ${path}: ${res.status} ${text}`);
  return (text ? JSON.parse(text) : {}) as T;
}

// Node 20 leaves skipped suites out of the summary count; a skipped test is counted.
if (skip) test('glance-download through Keystone', { skip }, () => {});

describe('glance-download from another region', { skip }, () => {
  let remote: TestApp;
  let local: TestApp;
  let admin: string;
  let member: string;
  const region = `glimpse-test-${randomBytes(4).toString('hex')}`;
  let endpointId: string | undefined;

  before(async () => {
    remote = await startTestApp(keystoneEnv(keystone!));
    await remote.app.listen({ host: '127.0.0.1', port: 0 });
    const remoteUrl = `http://127.0.0.1:${(remote.app.server.address() as AddressInfo).port}`;
    local = await startTestApp(keystoneEnv(keystone!, { GLIMPSE_DEFAULT__ENABLED_IMPORT_METHODS: 'glance-direct,glance-download' }));
    admin = (await login('admin', 'admin', 'admin')).token;
    member = (await login('demo1-member', 'demo1')).token;
    await identity(admin, 'POST', '/regions', { region: { id: region, description: 'a Glimpse test region' } });
    const services = await identity<{ services: Array<{ id: string }> }>(admin, 'GET', '/services?type=image');
    const serviceId = services.services[0]?.id;
    assert.ok(serviceId, 'keystone.sh registers an image service');
    endpointId = (await identity<{ endpoint: { id: string } }>(admin, 'POST', '/endpoints', { endpoint: {
      service_id: serviceId, interface: 'public', region_id: region, url: remoteUrl } })).endpoint.id;
  });
  after(async () => {
    if (endpointId) await identity(admin, 'DELETE', `/endpoints/${endpointId}`).catch(() => undefined);
    if (admin) await identity(admin, 'DELETE', `/regions/${region}`).catch(() => undefined);
    await local?.close();
    await remote?.close();
  });

  const call = (t: TestApp, method: string, url: string, payload?: unknown, headers: Record<string, string> = {}) =>
    t.app.inject({ method: method as 'GET', url, payload: payload === undefined ? undefined : payload as string,
      headers: { accept: 'application/json', 'x-auth-token': member, ...headers } });

  test('the remote image\'s data, checksum and hw_/os_ properties arrive; a missing remote image fails the task', async () => {
    const data = randomBytes(300_000);
    const source = await call(remote, 'POST', '/v2/images', { name: 'remote', disk_format: 'raw', container_format: 'bare',
      hw_rng_model: 'virtio', os_distro: 'cirros', internal_note: 'stays remote' });
    assert.equal(source.statusCode, 201, source.body);
    const sourceId = source.json().id as string;
    const upload = await call(remote, 'PUT', `/v2/images/${sourceId}/file`, data, { 'content-type': 'application/octet-stream' });
    assert.equal(upload.statusCode, 204, upload.body);

    const image = (await call(local, 'POST', '/v2/images', { name: 'copy', disk_format: 'raw', container_format: 'bare' })).json();
    const method = { name: 'glance-download', glance_image_id: sourceId, glance_region: region, glance_service_interface: 'public' };
    const accepted = await call(local, 'POST', `/v2/images/${image.id}/import`, { method });
    assert.equal(accepted.statusCode, 202, accepted.body);

    const until = Date.now() + 60_000;
    let shown: Record<string, unknown> = {};
    while (Date.now() < until) {
      shown = (await call(local, 'GET', `/v2/images/${image.id}`)).json();
      if (shown.status === 'active' || shown.os_glance_import_error) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    assert.equal(shown.status, 'active', JSON.stringify(shown));
    assert.equal(shown.size, data.length);
    assert.equal(shown.checksum, createHash('md5').update(data).digest('hex'));
    assert.equal(shown.os_hash_value, createHash('sha512').update(data).digest('hex'));
    assert.equal(shown.hw_rng_model, 'virtio');
    assert.equal(shown.os_distro, 'cirros');
    assert.equal(shown.internal_note, undefined, 'only the configured property prefixes are copied');
    const body = await call(local, 'GET', `/v2/images/${image.id}/file`);
    assert.ok(body.rawPayload.equals(data), 'the local copy serves the remote bytes');

    const other = (await call(local, 'POST', '/v2/images', { name: 'x', disk_format: 'raw', container_format: 'bare' })).json();
    const missing = await call(local, 'POST', `/v2/images/${other.id}/import`,
      { method: { ...method, glance_image_id: '00000000-0000-4000-8000-000000000000' } });
    assert.equal(missing.statusCode, 202, 'as Glance: accepted, and the task fails');
    const tasks = (await call(local, 'GET', `/v2/images/${other.id}/tasks`)).json().tasks as Array<Record<string, unknown>>;
    assert.equal(tasks.length, 1);
    assert.equal(tasks[0]!.status, 'failure');
    assert.match(String(tasks[0]!.message), /404/);
    assert.equal((await call(local, 'GET', `/v2/images/${other.id}`)).json().status, 'queued');
  });
});
