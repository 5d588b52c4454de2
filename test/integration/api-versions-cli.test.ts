// The openstack and glance command-line clients with `--os-image-api-version 2.17` and 2.18
// (issue 21) against Glimpse with the cache on, through the real Keystone of keystone.sh (its
// catalog names http://127.0.0.1:9292 as the image endpoint, so Glimpse listens there; hold
// /tmp/glimpse-port-9292.lock while running this file). python-glanceclient 4.1 refuses any
// --os-image-api-version other than 1 or 2 by itself, so the glance client runs with 2 and finds
// 2.14 (cache) in the versions document. Each glance call gets its own HOME (~/.glanceclient).
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { startTestApp, type TestApp } from '../helpers/app.ts';
import { keystoneClientsSkip, keystoneClouds, keystoneEnv, keystoneSh, keystoneUrl as keystone } from '../helpers/keystone.ts';

const skip = keystoneClientsSkip;
const clouds = keystoneClouds;

let t: TestApp;
const dir = mkdtempSync(join(tmpdir(), 'glimpse-versions-cli-'));
const run = promisify(execFile);
const osc = async (version: string, ...args: string[]) => (await run('/usr/bin/openstack',
  ['--os-image-api-version', version, ...args],
  { env: { ...process.env, PATH: `/usr/bin:${process.env.PATH}`, OS_CLIENT_CONFIG_FILE: clouds, OS_CLOUD: 'admin' },
    encoding: 'utf8' })).stdout.trim();

async function glance(...args: string[]): Promise<string> {
  const openrc = execFileSync(keystoneSh, ['env', 'admin'], { encoding: 'utf8' });
  const vars = Object.fromEntries([...openrc.matchAll(/(OS_[A-Z_]+)=(\S+)/g)].map((m) => [m[1]!, m[2]!.replace(/^['"]|['"]$/g, '')]));
  const home = mkdtempSync(join(dir, 'home-'));
  try {
    const { stdout } = await run('/bin/bash', ['-c', 'exec /usr/bin/glance "$@" <&-', 'glance', '--os-image-api-version', '2', ...args],
      { env: { ...process.env, PATH: `/usr/bin:${process.env.PATH}`, HOME: home, ...vars }, encoding: 'utf8' });
    return stdout.trim();
  } finally {
    rmSync(home, { recursive: true, force: true });
  }
}

if (skip) test('openstack and glance clients with API versions 2.17 and 2.18', { skip }, () => {});

before(async () => {
  if (skip) return;
  t = await startTestApp(keystoneEnv(keystone!, { GLIMPSE_DEFAULT__IMAGE_CACHE_DIR: join(dir, 'cache') }));
  await t.app.listen({ host: '127.0.0.1', port: 9292 });
});
after(async () => {
  await t?.close();
  rmSync(dir, { recursive: true, force: true });
});

for (const version of ['2.17', '2.18']) {
  test(`openstack --os-image-api-version ${version}: create with data, list, show, save, delete`, { skip }, async () => {
    const data = join(dir, `disk-${version}.img`);
    writeFileSync(data, randomBytes(64 * 1024));
    const name = `v${version}-${Date.now()}`;
    const id = await osc(version, 'image', 'create', '--disk-format', 'raw', '--container-format', 'bare', '--file', data,
      name, '-f', 'value', '-c', 'id');
    assert.match(await osc(version, 'image', 'list', '--name', name, '-f', 'value'), new RegExp(`${id} ${name} active`));
    assert.equal(JSON.parse(await osc(version, 'image', 'show', id, '-f', 'json')).status, 'active');
    const copy = join(dir, `copy-${version}.img`);
    await osc(version, 'image', 'save', '--file', copy, id);
    assert.ok(readFileSync(copy).equals(readFileSync(data)));
    await osc(version, 'image', 'delete', id);
  });
}

test('glance client: the versions document offers 2.18/2.14, so cache-list and cache-queue work', { skip }, async () => {
  const versions = await (await fetch('http://127.0.0.1:9292/versions')).json() as { versions: { id: string; status: string }[] };
  assert.equal(versions.versions[0]!.id, 'v2.18');
  const data = join(dir, 'cached.img');
  writeFileSync(data, randomBytes(4096));
  const created = await glance('image-create', '--disk-format', 'raw', '--container-format', 'bare', '--name', 'cache-cli',
    '--file', data);
  const id = /\|\s*id\s*\|\s*([0-9a-f-]{36})/.exec(created)?.[1];
  assert.ok(id, created);
  await glance('cache-queue', id);
  await t.cache!.prefetcher.runOnce();
  assert.match(await glance('cache-list'), new RegExp(`${id}\\s*\\|\\s*cached`));
  await glance('cache-clear');
  await glance('image-delete', id);
});
