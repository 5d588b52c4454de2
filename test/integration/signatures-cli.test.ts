// The real `openstack image create --sign-key-path KEY --sign-cert-id CERT` (Debian's
// python3-openstackclient, which signs with openstacksdk's image_signer: RSA-PSS, SHA-256) against
// Glimpse on 127.0.0.1:9292 (the image endpoint of keystone.sh's catalog) with a real Barbican.
// Needs BARBICAN_URL (scripts/barbican.sh start), GLIMPSE_TEST_KEYSTONE_URL, the openstack client and
// /tmp/keystone/clouds.yaml; skipped, visibly, otherwise. On a shared machine run it under
// `flock /tmp/glimpse-port-9292.lock` (it binds 9292).
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { promisify } from 'node:util';
import { startTestApp, type TestApp } from '../helpers/app.ts';
import { barbicanUrl, storeCertificate } from '../helpers/barbican.ts';
import { keystoneEnv, keystoneUrl, login } from '../helpers/keystone.ts';
import { makeSigningKey } from '../helpers/signing.ts';

const clouds = '/tmp/keystone/clouds.yaml';
const skip = !barbicanUrl ? 'BARBICAN_URL not set (scripts/barbican.sh start)'
  : !keystoneUrl ? 'GLIMPSE_TEST_KEYSTONE_URL not set'
    : !existsSync('/usr/bin/openstack') ? 'openstack client not installed'
      : !existsSync(clouds) ? `${clouds} missing (run keystone.sh start)` : false;
if (skip) test('openstack CLI: signed images', { skip }, () => {});

let t: TestApp;
const dir = mkdtempSync(join(tmpdir(), 'glimpse-sign-cli-'));
const run = promisify(execFile);
// Asynchronous: Glimpse is served by this very process, so a blocking call would deadlock.
const osc = async (...args: string[]) => (await run('/usr/bin/openstack', args, {
  env: { ...process.env, PATH: `/usr/bin:${process.env.PATH}`, OS_CLIENT_CONFIG_FILE: clouds, OS_CLOUD: 'demo1-member' },
  encoding: 'utf8' })).stdout.trim();
/**
 * `openstack` on a pseudo-terminal (util-linux script) with an empty line typed in: --sign-key-path
 * asks for the key's password and insists on a terminal; an empty answer means no password.
 */
const oscTty = async (...args: string[]) => {
  try {
    return (await run('/bin/bash', ['-c', 'printf "\\n" | script -qec "$(printf \'%q \' /usr/bin/openstack "$@")" /dev/null', 'osc', ...args], {
      env: { ...process.env, PATH: `/usr/bin:${process.env.PATH}`, OS_CLIENT_CONFIG_FILE: clouds, OS_CLOUD: 'demo1-member' },
      encoding: 'utf8' })).stdout;
  } catch (error) {
    // script passes the command's output (errors included) through the terminal, i.e. on stdout
    throw Object.assign(new Error(String((error as { stdout?: string }).stdout)), { stderr: (error as { stdout?: string }).stdout });
  }
};

before(async () => {
  if (skip) return;
  t = await startTestApp(keystoneEnv(keystoneUrl!, { GLIMPSE_BARBICAN__AUTH_ENDPOINT: keystoneUrl! }));
  await t.app.listen({ host: '127.0.0.1', port: 9292 });
});
after(async () => {
  await t?.close();
  rmSync(dir, { recursive: true, force: true });
});

test('openstack image create --sign-key-path --sign-cert-id: verified and active; signed with another key: refused, queued',
  { skip }, async () => {
    const user = await login('demo1-member', 'demo1');
    const key = makeSigningKey('RSA-PSS');
    const stranger = makeSigningKey('RSA-PSS');
    const certId = await storeCertificate(user.token, key.certificatePem);
    writeFileSync(join(dir, 'key.pem'), key.privateKeyPem);
    writeFileSync(join(dir, 'stranger.pem'), stranger.privateKeyPem);
    const data = join(dir, 'disk.img');
    writeFileSync(data, randomBytes(300 * 1024));

    const name = `signed-${Date.now()}`;
    const created = await oscTty('image', 'create', '--disk-format', 'raw', '--container-format', 'bare', '--file', data,
      '--sign-key-path', join(dir, 'key.pem'), '--sign-cert-id', certId, name, '-f', 'value', '-c', 'id');
    const id = /[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/.exec(created)?.[0];
    assert.ok(id, created);
    const shown = JSON.parse(await osc('image', 'show', id, '-f', 'json')) as Record<string, unknown>;
    assert.equal(shown.status, 'active');
    const props = shown.properties as Record<string, string>;
    assert.equal(props.img_signature_certificate_uuid, certId);
    assert.equal(props.img_signature_hash_method, 'SHA-256');
    assert.equal(props.img_signature_key_type, 'RSA-PSS');

    const bad = `badly-signed-${Date.now()}`;
    await assert.rejects(oscTty('image', 'create', '--disk-format', 'raw', '--container-format', 'bare', '--file', data,
      '--sign-key-path', join(dir, 'stranger.pem'), '--sign-cert-id', certId, bad),
    (error: { stderr?: string }) => /Signature verification failed/.test(String(error.stderr)));
    const left = JSON.parse(await osc('image', 'show', bad, '-f', 'json')) as Record<string, unknown>;
    assert.equal(left.status, 'queued');
    assert.equal(left.size, null);
  });
