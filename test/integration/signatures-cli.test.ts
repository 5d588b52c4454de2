// The real `openstack image create --sign-key-path KEY --sign-cert-id CERT` (Debian's
// python3-openstackclient, which signs with openstacksdk's image_signer: RSA-PSS, SHA-256) against
// Glimpse. Debian 12's client sends the signature as "b'<base64>'" (str of bytes), which Glance's
// cursive decodes to other bytes (the reference Glance refuses the upload); Glimpse unwraps the
// literal (decision 0029), so the CLI-signed image becomes active. Against
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
 * `openstack` on a pseudo-terminal (util-linux script) with empty lines typed in, one a second:
 * --sign-key-path asks for the key's password and insists on a terminal, and getpass flushes what
 * was typed before it asked; an empty answer means no password.
 */
const oscTty = async (...args: string[]) => {
  try {
    return (await run('/bin/bash', ['-c', '(for _ in $(seq 1 120); do sleep 1; printf "\\n"; done) | script -qec "$(printf \'%q \' /usr/bin/openstack "$@")" /dev/null', 'osc', ...args], {
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

test('openstack image create --sign-key-path --sign-cert-id: the CLI\'s signature verifies and the image is active; signed with another key: refused',
  { skip }, async () => {
    const user = await login('demo1-member', 'demo1');
    const key = makeSigningKey('RSA-PSS');
    const stranger = makeSigningKey('RSA-PSS');
    const certId = await storeCertificate(user.token, key.certificatePem, { binary: true });
    writeFileSync(join(dir, 'key.pem'), key.privateKeyPem);
    writeFileSync(join(dir, 'stranger.pem'), stranger.privateKeyPem);
    const data = join(dir, 'disk.img');
    writeFileSync(data, randomBytes(300 * 1024));

    const name = `signed-${Date.now()}`;
    // Debian 12's client (openstackclient 6.0 + openstacksdk 0.101) sends the signature as str(bytes),
    // "b'<base64>'" (captured on the wire; the reference Glance refuses it), which Glimpse unwraps
    // (decision 0029): the real CLI's upload verifies and the image is active.
    const created = await oscTty('image', 'create', '--disk-format', 'raw', '--container-format', 'bare', '--file', data,
      '--sign-key-path', join(dir, 'key.pem'), '--sign-cert-id', certId, name, '-f', 'value', '-c', 'id');
    const id = /[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/.exec(created)![0];
    const shown = JSON.parse(await osc('image', 'show', id, '-f', 'json')) as Record<string, unknown>;
    assert.equal(shown.status, 'active');
    const props = shown.properties as Record<string, string>;
    assert.match(props.img_signature!, /^b'[A-Za-z0-9+/]+={0,2}'$/, 'the client sent a Python bytes literal');
    assert.equal(props.img_signature_certificate_uuid, certId);
    assert.equal(props.img_signature_hash_method, 'SHA-256');
    assert.equal(props.img_signature_key_type, 'RSA-PSS');

    const bad = `badly-signed-${Date.now()}`;
    await assert.rejects(oscTty('image', 'create', '--disk-format', 'raw', '--container-format', 'bare', '--file', data,
      '--sign-key-path', join(dir, 'stranger.pem'), '--sign-cert-id', certId, bad),
    (error: { stderr?: string }) => /BadRequest|Signature verification failed/.test(String(error.stderr)));
    // the SDK deletes the image whose upload failed: none of that name is left active
    assert.doesNotMatch(await osc('image', 'list', '--name', bad, '-f', 'value', '-c', 'Status'), /active/);
  });
