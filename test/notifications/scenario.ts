// The scripted sequence whose notifications are compared with the reference Glance's
// (test/notifications/reference.json, recorded by scripts/record-notifications.sh): v2 create /
// upload / patch / download / members / glance-direct import / delete, a legacy `POST /v2/tasks`
// import (from a loopback HTTP server the script starts on `sourcePort`; the server under test must
// allow 127.0.0.1 and that port in [import_filtering_opts]), metadefs. It talks HTTP to any endpoint
// with trusted-auth headers, so the same script runs against both servers.
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- response bodies of many shapes
type Json = any;

export const PROJECT = 'notify-owner';
export const OTHER = 'notify-other';

const as = (project: string, roles: string) => ({
  'x-identity-status': 'Confirmed', 'x-tenant-id': project, 'x-user-id': `${project}-user`, 'x-roles': roles,
});
const owner = as(PROJECT, 'admin,member,reader');
const other = as(OTHER, 'member,reader');

async function call(base: string, method: string, path: string, options: {
  headers?: Record<string, string>; body?: unknown; raw?: Buffer; contentType?: string; expect?: number[];
} = {}): Promise<{ status: number; json: Json; bytes: Buffer }> {
  const headers: Record<string, string> = { ...(options.headers ?? owner), accept: 'application/json' };
  let body: Uint8Array | string | undefined;
  if (options.raw) {
    body = new Uint8Array(options.raw);
    headers['content-type'] = 'application/octet-stream';
  } else if (options.body !== undefined) {
    body = JSON.stringify(options.body);
    headers['content-type'] = options.contentType ?? 'application/json';
  }
  const res = await fetch(`${base}${path}`, { method, headers, body: body as BodyInit | undefined });
  const bytes = Buffer.from(await res.arrayBuffer());
  if (options.expect) assert.ok(options.expect.includes(res.status), `${method} ${path} → ${res.status} ${bytes.toString().slice(0, 300)}`);
  let json: Json;
  try { json = JSON.parse(bytes.toString()); } catch { json = undefined; }
  return { status: res.status, json, bytes };
}

async function waitFor(check: () => Promise<boolean>, what: string, ms = 30_000): Promise<void> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`timed out waiting for ${what}`);
}

/** Runs the sequence against `base`; the legacy task imports from 127.0.0.1:`sourcePort`. */
export async function runScenario(base: string, options: { sourcePort: number; metadefs?: boolean }): Promise<void> {
  const data = Buffer.alloc(4096, 7);
  // create / upload / patch / download / members / delete
  const image = (await call(base, 'POST', '/v2/images', { expect: [201], body: {
    name: 'notify-one', disk_format: 'raw', container_format: 'bare', tags: ['t1'], color: 'blue', min_ram: 64,
  } })).json;
  await call(base, 'PUT', `/v2/images/${image.id}/file`, { raw: data, expect: [204] });
  await call(base, 'PATCH', `/v2/images/${image.id}`, { expect: [200],
    contentType: 'application/openstack-images-v2.1-json-patch',
    body: [{ op: 'replace', path: '/name', value: 'notify-renamed' }, { op: 'add', path: '/shade', value: 'dark' }] });
  const download = await call(base, 'GET', `/v2/images/${image.id}/file`, { headers: other, expect: [404] });
  void download;
  await call(base, 'PATCH', `/v2/images/${image.id}`, { expect: [200],
    contentType: 'application/openstack-images-v2.1-json-patch', body: [{ op: 'replace', path: '/visibility', value: 'shared' }] });
  await call(base, 'POST', `/v2/images/${image.id}/members`, { body: { member: OTHER }, expect: [200] });
  await call(base, 'PUT', `/v2/images/${image.id}/members/${OTHER}`, { headers: other, body: { status: 'accepted' }, expect: [200] });
  const got = await call(base, 'GET', `/v2/images/${image.id}/file`, { headers: other, expect: [200] });
  assert.equal(got.bytes.length, data.length);
  await call(base, 'DELETE', `/v2/images/${image.id}/members/${OTHER}`, { expect: [204] });
  // glance-direct import
  const imported = (await call(base, 'POST', '/v2/images', { expect: [201], body: {
    name: 'notify-import', disk_format: 'raw', container_format: 'bare',
  } })).json;
  await call(base, 'PUT', `/v2/images/${imported.id}/stage`, { raw: data, expect: [204] });
  await call(base, 'POST', `/v2/images/${imported.id}/import`, { body: { method: { name: 'glance-direct' } }, expect: [202] });
  await waitFor(async () => (await call(base, 'GET', `/v2/images/${imported.id}`)).json?.status === 'active', 'import');
  await call(base, 'DELETE', `/v2/images/${image.id}`, { expect: [204] });
  await call(base, 'DELETE', `/v2/images/${imported.id}`, { expect: [204] });
  await legacyTask(base, data, options.sourcePort);
  if (options.metadefs !== false) await metadefSequence(base);
}

/**
 * The legacy import task as a v2.x client (`glance task-create --type import`) sends it; the image
 * it made is deleted after it succeeded.
 */
async function legacyTask(base: string, data: Buffer, sourcePort: number): Promise<void> {
  const source = createServer((req, res) => {
    res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': data.length });
    res.end(data);
  });
  await new Promise<void>((resolve, reject) => {
    source.once('error', reject);
    source.listen(sourcePort, '127.0.0.1', resolve);
  });
  try {
    const task = (await call(base, 'POST', '/v2/tasks', { expect: [201], body: { type: 'import', input: {
      import_from: `http://127.0.0.1:${(source.address() as AddressInfo).port}/notify-task.raw`,
      import_from_format: 'raw',
      image_properties: { name: 'notify-task', disk_format: 'raw', container_format: 'bare' },
    } } })).json;
    let done: Json;
    await waitFor(async () => {
      done = (await call(base, 'GET', `/v2/tasks/${task.id}`)).json;
      return done?.status === 'success' || done?.status === 'failure';
    }, 'task');
    assert.equal(done.status, 'success', JSON.stringify(done));
    await call(base, 'DELETE', `/v2/images/${done.result.image_id}`, { expect: [204] });
  } finally {
    source.closeAllConnections();
    await new Promise((r) => source.close(r));
  }
}

async function metadefSequence(base: string): Promise<void> {
  const ns = 'NotifyNs';
  await call(base, 'POST', '/v2/metadefs/namespaces', { expect: [201], body: {
    namespace: ns, display_name: 'Notify', description: 'd', visibility: 'public', protected: false,
  } });
  await call(base, 'PUT', `/v2/metadefs/namespaces/${ns}`, { expect: [200], body: {
    namespace: ns, display_name: 'Notify two', description: 'd2', visibility: 'public', protected: false,
  } });
  await call(base, 'POST', `/v2/metadefs/namespaces/${ns}/objects`, { expect: [201], body: {
    name: 'obj', description: 'o', required: [], properties: { speed: { type: 'integer', title: 'Speed', minimum: 1 } },
  } });
  await call(base, 'PUT', `/v2/metadefs/namespaces/${ns}/objects/obj`, { expect: [200], body: {
    name: 'obj2', description: 'o2', required: [], properties: {},
  } });
  await call(base, 'POST', `/v2/metadefs/namespaces/${ns}/properties`, { expect: [201], body: {
    name: 'prop', title: 'Prop', type: 'string', enum: ['a', 'b'],
  } });
  await call(base, 'PUT', `/v2/metadefs/namespaces/${ns}/properties/prop`, { expect: [200], body: {
    name: 'prop2', title: 'Prop', type: 'string', enum: ['a', 'b', 'c'],
  } });
  await call(base, 'POST', `/v2/metadefs/namespaces/${ns}/tags/tag1`, { expect: [201] });
  await call(base, 'PUT', `/v2/metadefs/namespaces/${ns}/tags/tag1`, { expect: [200], body: { name: 'tag2' } });
  await call(base, 'POST', `/v2/metadefs/namespaces/${ns}/resource_types`, { expect: [201], body: {
    name: 'OS::Glance::Image', prefix: 'p_',
  } });
  await call(base, 'DELETE', `/v2/metadefs/namespaces/${ns}/resource_types/OS::Glance::Image`, { expect: [204] });
  await call(base, 'DELETE', `/v2/metadefs/namespaces/${ns}/tags/tag2`, { expect: [204] });
  await call(base, 'DELETE', `/v2/metadefs/namespaces/${ns}/properties/prop2`, { expect: [204] });
  await call(base, 'DELETE', `/v2/metadefs/namespaces/${ns}/objects/obj2`, { expect: [204] });
  await call(base, 'DELETE', `/v2/metadefs/namespaces/${ns}`, { expect: [204] });
}
