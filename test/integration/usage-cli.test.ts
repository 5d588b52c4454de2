// `glance usage` (python-glanceclient) against Glimpse with unified limits, through the real
// Keystone of keystone.sh: the table the client prints holds the limits and usage that
// GET /v2/info/usage answers, for a project with limits of its own and two images (one with 3 MiB of
// data). Glimpse listens on a free port and the client is pointed there (--os-image-url), so the
// catalog's 9292 is not needed. The client authenticates with a token scoped to the fixture's
// project (admin is given the member role there). Skipped visibly without Keystone or the clients.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { startTestApp, type TestApp } from '../helpers/app.ts';
import { keystoneClientsSkip, keystoneEnv, keystoneUrl, login } from '../helpers/keystone.ts';
import { limitsEnv, limitsFixture, type LimitsFixture } from '../helpers/keystone-limits.ts';

const skip = keystoneClientsSkip;
const run = promisify(execFile);
const dir = mkdtempSync(join(tmpdir(), 'glimpse-usage-cli-'));
let ks: LimitsFixture;
let t: TestApp;
let url: string;
let token: string;

async function keystone(authToken: string, method: string, path: string, body?: unknown) {
  const res = await fetch(`${keystoneUrl}${path}`, { method, body: body === undefined ? undefined : JSON.stringify(body),
    headers: { 'x-auth-token': authToken, 'content-type': 'application/json' } });
  const text = await res.text();
  return { res, json: text ? JSON.parse(text) : undefined };
}

if (skip) test('glance usage against Glimpse', { skip }, () => {});

before(async () => {
  if (skip) return;
  ks = await limitsFixture();
  await ks.setLimits({ image_size_total: 7, image_stage_total: 3, image_count_total: 5, image_count_uploading: 2 });
  const admin = await login('admin', 'admin', 'admin');
  const userId = (await keystone(admin.token, 'GET', '/users?name=admin')).json.users[0].id as string;
  const roleId = (await keystone(admin.token, 'GET', '/roles?name=member')).json.roles[0].id as string;
  const granted = await keystone(admin.token, 'PUT', `/projects/${ks.projectId}/users/${userId}/roles/${roleId}`);
  assert.equal(granted.res.status, 204);
  const scoped = await fetch(`${keystoneUrl}/auth/tokens?nocatalog`, {
    method: 'POST', headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ auth: {
      identity: { methods: ['password'], password: { user: { name: 'admin', password: 'admin', domain: { name: 'Default' } } } },
      scope: { project: { id: ks.projectId } } } }),
  });
  assert.equal(scoped.status, 201);
  token = scoped.headers.get('x-subject-token')!;
  t = await startTestApp({ ...keystoneEnv(keystoneUrl!), ...limitsEnv(ks.endpointId) });
  url = await t.app.listen({ host: '127.0.0.1', port: 0 });
  const headers = { 'x-auth-token': token, 'content-type': 'application/json' };
  for (const name of ['with-data', 'empty']) {
    const created = await fetch(`${url}/v2/images`, { method: 'POST', headers,
      body: JSON.stringify({ name, disk_format: 'raw', container_format: 'bare' }) });
    assert.equal(created.status, 201);
    if (name !== 'with-data') continue;
    const { id } = await created.json() as { id: string };
    const put = await fetch(`${url}/v2/images/${id}/file`, { method: 'PUT',
      headers: { 'x-auth-token': token, 'content-type': 'application/octet-stream' }, body: Buffer.alloc(3 * 1024 * 1024, 1) });
    assert.equal(put.status, 204);
  }
});
after(async () => {
  await t?.close();
  await ks?.cleanup();
  rmSync(dir, { recursive: true, force: true });
});

test('glance usage prints the limits and usage of GET /v2/info/usage', { skip }, async () => {
  const home = mkdtempSync(join(dir, 'home-'));
  const { stdout } = await run('/bin/bash', ['-c', 'exec /usr/bin/glance "$@" <&-', 'glance', '--os-image-api-version', '2',
    '--os-image-url', url, '--os-auth-token', token, 'usage'],
  { env: { PATH: `/usr/bin:/bin:${process.env.PATH}`, HOME: home }, encoding: 'utf8' });
  const printed = Object.fromEntries([...stdout.matchAll(/^\|\s*(image_\w+)\s*\|\s*(-?\d+)\s*\|\s*(\d+)\s*\|$/gm)]
    .map((m) => [m[1]!, { limit: Number(m[2]), usage: Number(m[3]) }]));
  const api = await (await fetch(`${url}/v2/info/usage`, { headers: { 'x-auth-token': token } })).json() as
    { usage: Record<string, { limit: number; usage: number }> };
  assert.deepEqual(printed, api.usage, stdout);
  assert.deepEqual(printed, {
    image_size_total: { limit: 7, usage: 3 }, image_stage_total: { limit: 3, usage: 0 },
    image_count_total: { limit: 5, usage: 2 }, image_count_uploading: { limit: 2, usage: 0 },
  }, stdout);
});
