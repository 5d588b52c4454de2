// The real `openstack` command-line client over HTTPS against `glimpse serve` with cert_file and
// key_file (certificates made here with openssl): with --os-cacert it creates, uploads and lists an
// image; without the CA it is refused. No Keystone needed: noauth and `--os-auth-type none`.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { Agent, request } from 'undici';
import { freePort, terminate } from '../helpers/processes.ts';
import { makePki, type Pki } from '../helpers/tls.ts';

const run = promisify(execFile);
const skip = existsSync('/usr/bin/openstack') ? false : 'the openstack client is not installed (python3-openstackclient)';
const bin = join(import.meta.dirname, '..', '..', 'bin', 'glimpse.js');
const dir = mkdtempSync(join(tmpdir(), 'glimpse-https-cli-'));
let pki: Pki;
let server: ChildProcess | undefined;
let output = '';
let endpoint = '';

before(async () => {
  if (skip) return;
  pki = makePki(dir);
  const port = await freePort();
  endpoint = `https://127.0.0.1:${port}`;
  writeFileSync(join(dir, 'glimpse-api.conf'), [
    '[DEFAULT]', `bind_port = ${port}`, `cert_file = ${pki.serverCert}`, `key_file = ${pki.serverKey}`,
    '[database]', `connection = sqlite:///${join(dir, 'glimpse.db')}`,
    '[glance_store]', `filesystem_store_datadir = ${join(dir, 'images')}`,
    '[os_glance_staging_store]', `filesystem_store_datadir = ${join(dir, 'staging')}`, '',
  ].join('\n'));
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('GLIMPSE_')));
  server = spawn(process.execPath, [bin, 'serve', '--config-file', 'glimpse-api.conf'], { cwd: dir, env });
  server.stdout!.on('data', (d: Buffer) => { output += d.toString(); });
  server.stderr!.on('data', (d: Buffer) => { output += d.toString(); });
  const agent = new Agent({ connect: { ca: readFileSync(pki.caCert) } });
  const until = Date.now() + 90_000;
  for (;;) {
    const up = await request(`${endpoint}/versions`, { dispatcher: agent }).then(async (r) => { await r.body.dump(); return true; },
      () => false);
    if (up) break;
    if (Date.now() > until || server.exitCode !== null) throw new Error(`glimpse did not start:\n${output}`);
    await new Promise((r) => setTimeout(r, 200));
  }
  await agent.close();
});

after(async () => {
  await terminate(server);
  rmSync(dir, { recursive: true, force: true });
});

const openstack = (args: string[], cacert = true) => run('openstack', [
  '--os-auth-type', 'none', '--os-endpoint', endpoint, ...(cacert ? ['--os-cacert', pki.caCert] : []), ...args,
], { env: { ...process.env, PATH: `/usr/bin:${process.env.PATH}`, OS_CLOUD: '', OS_CLIENT_CONFIG_FILE: '/dev/null' }, timeout: 120_000 });

test('openstack --os-cacert creates, uploads and lists an image over HTTPS', { skip, timeout: 240_000 }, async () => {
  const file = join(dir, 'cirros.raw');
  writeFileSync(file, Buffer.alloc(64 * 1024, 3));
  const created = await openstack(['image', 'create', '--disk-format', 'raw', '--container-format', 'bare', '--file', file,
    'over-https', '-f', 'json']);
  const id = (JSON.parse(created.stdout) as { id: string }).id;
  const shown = JSON.parse((await openstack(['image', 'show', id, '-f', 'json'])).stdout) as Record<string, unknown>;
  assert.equal(shown.status, 'active');
  assert.equal(shown.size, 64 * 1024);
  const listed = JSON.parse((await openstack(['image', 'list', '-f', 'json'])).stdout) as Array<{ ID: string }>;
  assert.deepEqual(listed.map((i) => i.ID), [id]);
});

test('openstack without the CA is refused (the certificate is not trusted)', { skip, timeout: 120_000 }, async () => {
  await assert.rejects(openstack(['image', 'list', '-f', 'json'], false), (error: Error & { stderr?: string }) => {
    assert.match(error.stderr ?? '', /certificate|SSL|discovery document/i);
    assert.doesNotMatch(error.stderr ?? '', /over-https/);
    return true;
  });
});
