// Image signature verification against a real Barbican (scripts/barbican.sh start → BARBICAN_URL)
// and a real Keystone (GLIMPSE_TEST_KEYSTONE_URL): certificates are stored in Barbican by the
// caller, Glimpse finds Barbican in the caller's catalog and reads them with the caller's token.
// Signatures are made with node:crypto the way cursive / the openstack CLI expect them (the real CLI
// is exercised in test/integration/signatures-cli.test.ts). Skipped, visibly, without both.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { startTestApp, type TestApp } from '../helpers/app.ts';
import { barbicanUrl, storeCertificate, storeSecret } from '../helpers/barbican.ts';
import { keystoneEnv, keystoneSkip, keystoneUrl, login } from '../helpers/keystone.ts';
import { ALL_HASH_METHODS, ALL_KEY_TYPES, makeSigningKey, signatureProps, type SigningKey } from '../helpers/signing.ts';

const skip: string | false = keystoneSkip || (barbicanUrl ? false : 'BARBICAN_URL not set (scripts/barbican.sh start)');
if (skip) test('image signature verification with Barbican', { skip }, () => {});

/** Files left in a file store directory (the data of every image). */
function storedFiles(dir: string): string[] {
  return existsSync(dir) ? readdirSync(dir, { recursive: true }).map(String).filter((f) => !f.endsWith('/')) : [];
}

describe('image signature verification (Barbican + Keystone)', { skip }, () => {
  let t: TestApp;
  let user: Awaited<ReturnType<typeof login>>;
  const keys = new Map<string, { key: SigningKey; id: string }>();
  const data = Buffer.from('signed image data\n'.repeat(50_000));
  const call = (method: string, url: string, payload?: unknown, headers: Record<string, string> = {}, token = user.token) =>
    t.app.inject({ method: method as 'GET', url, payload: payload as string,
      headers: { accept: 'application/json', ...(token ? { 'x-auth-token': token } : {}), ...headers } });
  const images = () => join(t.dir, 'images');

  async function upload(props: Record<string, string>, body = data) {
    const created = await call('POST', '/v2/images', { disk_format: 'raw', container_format: 'bare', ...props });
    assert.equal(created.statusCode, 201, created.body);
    const id = created.json().id as string;
    const res = await call('PUT', `/v2/images/${id}/file`, body, { 'content-type': 'application/octet-stream' });
    const image = (await call('GET', `/v2/images/${id}`)).json();
    return { id, res, image };
  }

  async function refused(props: Record<string, string>, message: string, body = data) {
    const before = storedFiles(images()).length;
    const { id, res, image } = await upload(props, body);
    assert.equal(res.statusCode, 400, res.body);
    assert.match(res.body, new RegExp(escape(`Signature verification failed for image ${id}: ${message}`)));
    assert.equal(image.status, 'queued', 'Glance restores the image to queued');
    assert.equal(image.size, null);
    assert.equal(image.checksum, null);
    assert.equal(storedFiles(images()).length, before, 'no data left in the store');
  }

  before(async () => {
    t = await startTestApp(keystoneEnv(keystoneUrl!, { GLIMPSE_BARBICAN__AUTH_ENDPOINT: keystoneUrl! }));
    user = await login('demo1-member', 'demo1');
    for (const type of ALL_KEY_TYPES) {
      const key = makeSigningKey(type);
      keys.set(type, { key, id: await storeCertificate(user.token, key.certificatePem) });
    }
  });
  after(async () => { await t?.close(); });

  for (const type of ALL_KEY_TYPES) {
    test(`${type} / SHA-256: a correctly signed image becomes active`, async () => {
      const { key, id } = keys.get(type)!;
      const { res, image } = await upload(signatureProps(key, 'SHA-256', data, id));
      assert.equal(res.statusCode, 204, res.body);
      assert.equal(image.status, 'active');
      assert.equal(image.size, data.length);
    });
  }

  test('every hash method (RSA-PSS and ECC)', async () => {
    for (const hash of ALL_HASH_METHODS) {
      for (const type of ['RSA-PSS', 'ECC_SECP384R1']) {
        const { key, id } = keys.get(type)!;
        const { res, image } = await upload(signatureProps(key, hash, data, id));
        assert.equal(res.statusCode, 204, `${type} ${hash}: ${res.body}`);
        assert.equal(image.status, 'active');
      }
    }
  });

  test('a wrong signature fails: 400, queued, nothing stored', async () => {
    const { key, id } = keys.get('RSA-PSS')!;
    await refused({ ...signatureProps(key, 'SHA-256', data, id), img_signature: Buffer.alloc(256, 7).toString('base64') },
      'Signature verification failed');
  });

  test('a tampered byte fails', async () => {
    const { key, id } = keys.get('ECC_SECP521R1')!;
    const tampered = Buffer.from(data);
    tampered[tampered.length - 1] = tampered[tampered.length - 1]! ^ 0x20;
    await refused(signatureProps(key, 'SHA-256', data, id), 'Signature verification failed', tampered);
  });

  test('a wrong key type fails before any data is stored', async () => {
    const { key, id } = keys.get('RSA-PSS')!;
    await refused(signatureProps(key, 'SHA-256', data, id, 'DSA'),
      'Signature verification for the image failed: Invalid public key type for signature key type: DSA.');
    await refused(signatureProps(key, 'SHA-256', data, id, 'RSA-PKCS1'),
      'Signature verification for the image failed: Invalid signature key type: RSA-PKCS1.');
  });

  test('a missing certificate fails', async () => {
    const { key } = keys.get('RSA-PSS')!;
    const missing = randomUUID();
    await refused(signatureProps(key, 'SHA-256', data, missing),
      `Signature verification for the image failed: Certificate not found with ID: ${missing}.`);
  });

  test('another project\'s certificate cannot be read: "Unable to retrieve certificate"', async () => {
    const { key, id } = keys.get('RSA-PSS')!;
    const other = await login('demo2-member', 'demo2');
    const created = await call('POST', '/v2/images', { disk_format: 'raw', container_format: 'bare',
      ...signatureProps(key, 'SHA-256', data, id) }, {}, other.token);
    const res = await call('PUT', `/v2/images/${created.json().id}/file`, data, { 'content-type': 'application/octet-stream' },
      other.token);
    assert.equal(res.statusCode, 400, res.body);
    assert.match(res.body, new RegExp(escape(`Certificate not found with ID: ${id}`) + '|' + escape(`Unable to retrieve certificate with ID: ${id}`)));
  });

  test('an expired certificate is accepted, as by Glance (cursive checks no validity period)', async () => {
    const expired = makeSigningKey('RSA-PSS', { days: -5 });
    const id = await storeCertificate(user.token, expired.certificatePem);
    const { res, image } = await upload(signatureProps(expired, 'SHA-256', data, id));
    assert.equal(res.statusCode, 204, res.body);
    assert.equal(image.status, 'active');
  });

  test('a secret that is not a certificate: "Invalid certificate format"', async () => {
    const id = await storeSecret(user.token, { secret_type: 'opaque', payload: 'c2VjcmV0', payload_content_type: 'application/octet-stream',
      payload_content_encoding: 'base64' });
    const { key } = keys.get('RSA-PSS')!;
    await refused(signatureProps(key, 'SHA-256', data, id), 'Signature verification for the image failed: Invalid certificate format: Opaque.');
  });

  test('partial signature properties: no verification, as in Glance', async () => {
    const { key, id } = keys.get('RSA-PSS')!;
    const props: Record<string, string> = signatureProps(key, 'SHA-256', data, id);
    props.img_signature = Buffer.alloc(256, 1).toString('base64');
    delete props.img_signature_key_type;
    const { res, image } = await upload(props);
    assert.equal(res.statusCode, 204, res.body);
    assert.equal(image.status, 'active');
  });

  test('v1: create with data verifies too; a bad signature kills the image', async () => {
    const { key, id } = keys.get('RSA-PSS')!;
    const good = signatureProps(key, 'SHA-256', data, id);
    const headers = (imageId: string, props: Record<string, string>) => ({
      'content-type': 'application/octet-stream', 'x-image-meta-id': imageId, 'x-image-meta-name': 'v1-signed',
      'x-image-meta-disk_format': 'raw', 'x-image-meta-container_format': 'bare',
      ...Object.fromEntries(Object.entries(props).map(([k, v]) => [`x-image-meta-property-${k}`, v])),
    });
    const okId = randomUUID();
    const ok = await call('POST', '/v1/images', data, headers(okId, good));
    assert.equal(ok.statusCode, 201, ok.body);
    assert.equal(ok.json().image.status, 'active');
    const badId = randomUUID();
    const before = storedFiles(images()).length;
    const bad = await call('POST', '/v1/images', data, headers(badId, { ...good, img_signature: Buffer.alloc(256, 3).toString('base64') }));
    assert.equal(bad.statusCode, 400, bad.body);
    assert.match(bad.body, /Signature verification failed/);
    const head = await call('HEAD', `/v1/images/${badId}`);
    assert.equal(head.headers['x-image-meta-status'], 'killed');
    assert.equal(storedFiles(images()).length, before);
  });
});

describe('image signature verification without a caller token', { skip: barbicanUrl ? false : 'BARBICAN_URL not set' }, () => {
  test('trusted headers without X-Auth-Token: the certificate cannot be fetched (400), image back to queued', async () => {
    const t = await startTestApp({ GLIMPSE_BARBICAN__BARBICAN_ENDPOINT: barbicanUrl! });
    try {
      const headers = { 'x-identity-status': 'Confirmed', 'x-tenant-id': 'p1', 'x-user-id': 'u1', 'x-roles': 'member,reader',
        accept: 'application/json' };
      const cert = randomUUID();
      const created = await t.app.inject({ method: 'POST', url: '/v2/images', headers, payload: {
        disk_format: 'raw', container_format: 'bare', img_signature: 'c2ln', img_signature_hash_method: 'SHA-256',
        img_signature_key_type: 'RSA-PSS', img_signature_certificate_uuid: cert } });
      const id = created.json().id as string;
      const res = await t.app.inject({ method: 'PUT', url: `/v2/images/${id}/file`, payload: Buffer.from('x'),
        headers: { ...headers, 'content-type': 'application/octet-stream' } });
      assert.equal(res.statusCode, 400, res.body);
      assert.match(res.body, new RegExp(escape(`Unable to retrieve certificate with ID: ${cert}`)));
      const image = (await t.app.inject({ method: 'GET', url: `/v2/images/${id}`, headers })).json();
      assert.equal(image.status, 'queued');
    } finally {
      await t.close();
    }
  });
});

function escape(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
