// The real OpenStack command-line clients (Debian's python3-openstackclient and
// python3-glanceclient) against Glimpse through a real Keystone. keystone.sh puts
// http://127.0.0.1:9292 in the catalog as the image endpoint, so Glimpse listens there.
// Needs GLIMPSE_TEST_KEYSTONE_URL, the clients, and /tmp/keystone/clouds.yaml (keystone.sh).
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, execFileSync } from 'node:child_process';
import { promisify } from 'node:util';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startTestApp, type TestApp } from '../helpers/app.ts';
import { keystoneClientsSkip, keystoneClouds, keystoneEnv, keystoneSh, keystoneUrl as keystone } from '../helpers/keystone.ts';
import { qcow2 } from '../unit/formats-images.ts';

const skip = keystoneClientsSkip;
const clouds = keystoneClouds;

let t: TestApp;
const dir = mkdtempSync(join(tmpdir(), 'glimpse-clients-'));
const env = (cloud: string) => ({ ...process.env, PATH: `/usr/bin:${process.env.PATH}`, OS_CLIENT_CONFIG_FILE: clouds,
  OS_CLOUD: cloud });
// Asynchronous: Glimpse is served by this very process, so a blocking call would deadlock.
const run = promisify(execFile);
const osc = async (cloud: string, ...args: string[]) =>
  (await run('/usr/bin/openstack', args, { env: env(cloud), encoding: 'utf8' })).stdout.trim();

/** The glance client reads credentials from OS_* variables (keystone.sh env prints them). */
async function glance(cloud: string, ...args: string[]): Promise<string> {
  const openrc = execFileSync(keystoneSh, ['env', cloud], { encoding: 'utf8' });
  const vars = Object.fromEntries([...openrc.matchAll(/(OS_[A-Z_]+)=(\S+)/g)].map((m) => [m[1]!, m[2]!.replace(/^['"]|['"]$/g, '')]));
  // stdin closed (not /dev/null): the glance client reads image data from any non-tty stdin.
  // `--tty` (first of args after the version flag): run on a pseudo-terminal instead.
  const tty = args.includes('--tty');
  const rest = args.filter((a) => a !== '--tty');
  const command = tty ? ['-c', 'exec script -qec "$(printf \'%q \' /usr/bin/glance "$@")" /dev/null', 'glance', ...rest]
    : ['-c', 'exec /usr/bin/glance "$@" <&-', 'glance', ...rest];
  const { stdout } = await run('/bin/bash', command,
    { env: { ...process.env, PATH: `/usr/bin:${process.env.PATH}`, ...vars }, encoding: 'utf8' });
  return stdout.trim();
}

if (skip) test('openstack and glance clients', { skip }, () => {});

before(async () => {
  if (skip) return;
  t = await startTestApp(keystoneEnv(keystone!));
  await t.app.listen({ host: '127.0.0.1', port: 9292 });
});
after(async () => { await t?.close(); });

test('openstack CLI: create with data, list, show, update, share, download, delete', { skip }, async () => {
  const data = join(dir, 'disk.img');
  writeFileSync(data, randomBytes(256 * 1024));
  const name = `osc-${Date.now()}`;
  const id = await osc('demo1-member', 'image', 'create', '--disk-format', 'raw', '--container-format', 'bare',
    '--file', data, '--property', 'os_distro=cirros', name, '-f', 'value', '-c', 'id');
  assert.match(await osc('demo1-member', 'image', 'list', '-f', 'value'), new RegExp(`${id} ${name} active`));
  await osc('demo1-member', 'image', 'set', '--name', `${name}-renamed`, '--tag', 't1', id);
  const shown = JSON.parse(await osc('demo1-member', 'image', 'show', id, '-f', 'json')) as Record<string, unknown>;
  assert.equal(shown.name, `${name}-renamed`);
  assert.deepEqual(shown.tags, ['t1']);
  assert.equal((shown.properties as Record<string, string>).os_distro, 'cirros');
  const demo2 = await osc('admin', 'project', 'show', 'demo2', '-f', 'value', '-c', 'id');
  await osc('demo1-member', 'image', 'add', 'project', id, demo2);
  await osc('demo2-member', 'image', 'set', '--accept', id);
  const copy = join(dir, 'copy.img');
  await osc('demo2-member', 'image', 'save', '--file', copy, id);
  assert.ok(readFileSync(copy).equals(readFileSync(data)), 'the member downloads the same bytes');
  await osc('demo1-member', 'image', 'delete', id);
  await assert.rejects(osc('demo1-member', 'image', 'show', id));
});

test('glance CLI: create, upload, update, share, download, delete', { skip }, async () => {
  const data = join(dir, 'g.img');
  // A real (empty, 1 GiB virtual) qcow2 header: uploads are checked against the declared disk_format.
  writeFileSync(data, qcow2({ length: 128 * 1024 }));
  const created = await glance('demo1-member', 'image-create', '--name', `g-${Date.now()}`, '--disk-format', 'qcow2',
    '--container-format', 'bare');
  const id = /\|\s*id\s*\|\s*([0-9a-f-]{36})/.exec(created)![1]!;
  await glance('demo1-member', 'image-upload', '--file', data, id);
  assert.match(await glance('demo1-member', 'image-show', id), /\|\s*status\s*\|\s*active/);
  assert.match(await glance('demo1-member', 'image-update', '--property', 'foo=bar', id), /\|\s*foo\s*\|\s*bar/);
  const demo2 = await osc('admin', 'project', 'show', 'demo2', '-f', 'value', '-c', 'id');
  assert.match(await glance('demo1-member', 'member-create', id, demo2), /pending/);
  const copy = join(dir, 'g.out');
  await glance('demo1-member', 'image-download', '--file', copy, id);
  assert.ok(readFileSync(copy).equals(readFileSync(data)));
  await glance('demo1-member', 'image-delete', id);
  await assert.rejects(glance('demo1-member', 'image-show', id));
});

test('glance CLI with --os-image-api-version 1: create with data, list, show, update, share, download, delete', { skip }, async () => {
  const v1 = (cloud: string, ...args: string[]) => glance(cloud, '--os-image-api-version', '1', ...args);
  const data = join(dir, 'v1.img');
  writeFileSync(data, randomBytes(200 * 1024));
  const name = `g1-${Date.now()}`;
  const created = await v1('demo1-member', 'image-create', '--name', name, '--disk-format', 'raw', '--container-format', 'bare',
    '--file', data, '--property', 'Arch=x86_64');
  const id = /\|\s*id\s*\|\s*([0-9a-f-]{36})/.exec(created)![1]!;
  assert.match(created, /\|\s*status\s*\|\s*active/);
  assert.match(await v1('demo1-member', 'image-list'), new RegExp(`${id}\\s*\\|\\s*${name}`));
  const shown = await v1('demo1-member', 'image-show', id);
  assert.match(shown, /\|\s*Property 'arch'\s*\|\s*x86_64/);
  assert.match(shown, /\|\s*is_public\s*\|\s*False/);
  // The v1 client decides whether image data is piped by asking stdin isatty(), which fails with no stdin
  // at all: image-update runs on a pseudo-terminal (util-linux script), as when typed by hand.
  const updated = await v1('demo1-member', '--tty', 'image-update', '--name', `${name}-2`, '--min-ram', '64', '--property', 'foo=bar', id);
  assert.match(updated, /\|\s*min_ram\s*\|\s*64/);
  assert.match(updated, /\|\s*Property 'foo'\s*\|\s*bar/);
  assert.match(updated, /\|\s*Property 'arch'\s*\|\s*x86_64/);
  const demo2 = await osc('admin', 'project', 'show', 'demo2', '-f', 'value', '-c', 'id');
  await v1('demo1-member', 'member-create', '--can-share', id, demo2);
  assert.match(await v1('demo1-member', 'member-list', '--image-id', id), new RegExp(`${demo2}\\s*\\|\\s*True`));
  const copy = join(dir, 'v1.out');
  await v1('demo2-member', 'image-download', '--file', copy, id);
  assert.ok(readFileSync(copy).equals(readFileSync(data)), 'the member downloads the same bytes');
  await v1('demo1-member', 'member-delete', id, demo2);
  await v1('demo1-member', 'image-delete', id);
  await assert.rejects(v1('demo1-member', 'image-show', id));
});
