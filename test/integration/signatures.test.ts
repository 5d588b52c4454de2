// Image signature verification against a real Barbican (scripts/barbican.sh start → BARBICAN_URL)
// and a real Keystone (GLIMPSE_TEST_KEYSTONE_URL): certificates are stored in Barbican by the
// caller, Glimpse finds Barbican in the caller's catalog and reads them with the caller's token.
// Signatures are made with node:crypto the way cursive / the openstack CLI expect them (the real CLI
// is exercised in test/integration/signatures-cli.test.ts). Skipped, visibly, without both.
import assert from 'node:assert/strict';
import { X509Certificate, randomUUID } from 'node:crypto';
import { existsSync, readdirSync, rmSync } from 'node:fs';
import { createServer, request as httpRequest, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
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

  test('an expired or not yet valid certificate fails (Glance\'s former check; decision 0029)', async () => {
    const when = (date: string) => new Date(date).toISOString().slice(0, 19).replace('T', ' ');
    const expired = makeSigningKey('RSA-PSS', { days: -5 });
    const id = await storeCertificate(user.token, expired.certificatePem);
    await refused(signatureProps(expired, 'SHA-256', data, id), 'Signature verification for the image failed: '
      + `Certificate is not valid after: ${when(new X509Certificate(expired.certificatePem).validTo)} UTC.`);
    const future = makeSigningKey('ECC_SECP384R1', { startsInDays: 2 });
    const futureId = await storeCertificate(user.token, future.certificatePem);
    await refused(signatureProps(future, 'SHA-256', data, futureId), 'Signature verification for the image failed: '
      + `Certificate is not valid before: ${when(new X509Certificate(future.certificatePem).validFrom)} UTC.`);
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

describe('signed imports: glance-direct, web-download, copy-image (Barbican + Keystone)', { skip }, () => {
  let t: TestApp;
  let server: Server;
  let user: Awaited<ReturnType<typeof login>>;
  let key: SigningKey;
  let certId: string;
  const data = Buffer.from('imported signed data\n'.repeat(20_000));
  const call = (method: string, url: string, payload?: unknown, headers: Record<string, string> = {}) =>
    t.app.inject({ method: method as 'GET', url, payload: payload as string,
      headers: { accept: 'application/json', 'x-auth-token': user.token, ...headers } });
  const files = () => storedFiles(join(t.dir, 'fast')).length + storedFiles(join(t.dir, 'cheap')).length;

  const tasksOf = async (id: string) => (await call('GET', `/v2/images/${id}/tasks`)).json().tasks as Record<string, unknown>[];
  /** The task that is not among `seen` (the import just asked for), once every task has finished. */
  async function waitTask(id: string, seen: string[] = []) {
    for (let i = 0; i < 600; i++) {
      const tasks = await tasksOf(id);
      const fresh = tasks.filter((task) => !seen.includes(String(task.id)));
      if (fresh.length > 0 && tasks.every((task) => task.status === 'success' || task.status === 'failure')) return fresh[0]!;
      await new Promise((r) => setTimeout(r, 50));
    }
    assert.fail(`the import of ${id} did not finish`);
  }

  async function imported(props: Record<string, string>, method: 'glance-direct' | 'web-download', body = data) {
    const created = await call('POST', '/v2/images', { disk_format: 'raw', container_format: 'bare', ...props });
    assert.equal(created.statusCode, 201, created.body);
    const id = created.json().id as string;
    if (method === 'glance-direct') {
      const staged = await call('PUT', `/v2/images/${id}/stage`, body, { 'content-type': 'application/octet-stream' });
      assert.equal(staged.statusCode, 204, staged.body);
    }
    const port = (server.address() as AddressInfo).port;
    const res = await call('POST', `/v2/images/${id}/import`, { method: method === 'glance-direct' ? { name: method }
      : { name: method, uri: `http://127.0.0.1:${port}/${body === data ? 'good' : 'bad'}` } }, { 'content-type': 'application/json' });
    assert.equal(res.statusCode, 202, res.body);
    const task = await waitTask(id);
    return { id, task, image: (await call('GET', `/v2/images/${id}`)).json() };
  }

  before(async () => {
    const tampered = Buffer.from(data);
    tampered[100] = tampered[100]! ^ 1;
    server = createServer((req, res) => res.end(req.url === '/good' ? data : tampered));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    t = await startTestApp(keystoneEnv(keystoneUrl!, {
      GLIMPSE_BARBICAN__AUTH_ENDPOINT: keystoneUrl!,
      GLIMPSE_DEFAULT__ENABLED_BACKENDS: 'fast:file, cheap:file',
      GLIMPSE_GLANCE_STORE__DEFAULT_BACKEND: 'fast',
      GLIMPSE_FAST__FILESYSTEM_STORE_DATADIR: join(tmpdir(), `glimpse-sig-fast-${process.pid}`),
      GLIMPSE_CHEAP__FILESYSTEM_STORE_DATADIR: join(tmpdir(), `glimpse-sig-cheap-${process.pid}`),
      GLIMPSE_IMPORT_FILTERING_OPTS__ALLOWED_HOSTS: '127.0.0.1',
      GLIMPSE_IMPORT_FILTERING_OPTS__ALLOWED_PORTS: String((server.address() as AddressInfo).port),
    }));
    user = await login('demo1-member', 'demo1');
    key = makeSigningKey('RSA-PSS');
    certId = await storeCertificate(user.token, key.certificatePem);
  });
  after(async () => {
    await t?.close();
    server?.close();
    for (const store of ['fast', 'cheap']) rmSync(join(tmpdir(), `glimpse-sig-${store}-${process.pid}`), { recursive: true, force: true });
  });

  test('glance-direct and web-download: a signed image becomes active', async () => {
    for (const method of ['glance-direct', 'web-download'] as const) {
      const { task, image } = await imported(signatureProps(key, 'SHA-256', data, certId), method);
      assert.equal(task.status, 'success', `${method}: ${String(task.message)}`);
      assert.equal(image.status, 'active');
    }
  });

  test('glance-direct and web-download: tampered data fails the import, the image goes back to queued, nothing stored', async () => {
    const tampered = Buffer.from(data);
    tampered[100] = tampered[100]! ^ 1;
    for (const method of ['glance-direct', 'web-download'] as const) {
      const before = files();
      const { id, task, image } = await imported(signatureProps(key, 'SHA-256', data, certId), method, tampered);
      assert.equal(task.status, 'failure');
      assert.match(String(task.message), new RegExp(escape(`Signature verification failed for image ${id}: Signature verification failed`)));
      assert.equal(image.status, 'queued');
      assert.match(String(image.os_glance_import_error), /Signature verification failed/);
      assert.equal(files(), before, `${method}: no data left in the stores`);
    }
  });

  test('a missing certificate fails the import with cursive\'s reason', async () => {
    const missing = randomUUID();
    const { task, image } = await imported(signatureProps(key, 'SHA-256', data, missing), 'glance-direct');
    assert.equal(task.status, 'failure');
    assert.match(String(task.message), new RegExp(escape(`Certificate not found with ID: ${missing}`)));
    assert.equal(image.status, 'queued');
  });

  test('copy-image verifies the copy: a signature changed after upload fails the copy, the image stays active', async () => {
    const { id, image } = await imported(signatureProps(key, 'SHA-256', data, certId), 'glance-direct');
    assert.equal(image.status, 'active');
    // copy_image is admin-only by default: the project's admin asks (and the certificate is read with its token)
    const admin = await login('demo1-admin', 'demo1');
    const copy = async () => {
      const seen = (await tasksOf(id)).map((task) => String(task.id));
      const res = await call('POST', `/v2/images/${id}/import`, { method: { name: 'copy-image' }, stores: ['cheap'] },
        { 'content-type': 'application/json', 'x-auth-token': admin.token });
      assert.equal(res.statusCode, 202, res.body);
      return waitTask(id, seen);
    };
    const patched = await call('PATCH', `/v2/images/${id}`, [{ op: 'replace', path: '/img_signature', value: Buffer.alloc(256, 9).toString('base64') }],
      { 'content-type': 'application/openstack-images-v2.1-json-patch' });
    assert.equal(patched.statusCode, 200, patched.body);
    const before = files();
    const failed = await copy();
    assert.equal(failed.status, 'failure');
    assert.match(String(failed.message), /Signature verification failed/);
    const after = (await call('GET', `/v2/images/${id}`)).json();
    assert.equal(after.status, 'active');
    assert.deepEqual(after.stores.split(','), ['fast']);
    assert.equal(files(), before);
    await call('PATCH', `/v2/images/${id}`, [{ op: 'replace', path: '/img_signature', value: signatureProps(key, 'SHA-256', data, certId).img_signature }],
      { 'content-type': 'application/openstack-images-v2.1-json-patch' });
    const ok = await copy();
    assert.equal(ok.status, 'success', String(ok.message));
    assert.deepEqual((await call('GET', `/v2/images/${id}`)).json().stores.split(',').sort(), ['cheap', 'fast']);
  });
});

/** Trusted headers without X-Auth-Token, and an image whose certificate therefore cannot be fetched. */
async function unfetchableSignedImage(t: TestApp) {
  const headers = { 'x-identity-status': 'Confirmed', 'x-tenant-id': 'p1', 'x-user-id': 'u1', 'x-roles': 'member,reader',
    accept: 'application/json' };
  const cert = randomUUID();
  const created = await t.app.inject({ method: 'POST', url: '/v2/images', headers, payload: {
    disk_format: 'raw', container_format: 'bare', img_signature: 'c2ln', img_signature_hash_method: 'SHA-256',
    img_signature_key_type: 'RSA-PSS', img_signature_certificate_uuid: cert } });
  return { headers, cert, id: created.json().id as string };
}

describe('image signature verification without a caller token', { skip: barbicanUrl ? false : 'BARBICAN_URL not set' }, () => {
  test('trusted headers without X-Auth-Token: the certificate cannot be fetched (400), image back to queued', async () => {
    const t = await startTestApp({ GLIMPSE_BARBICAN__BARBICAN_ENDPOINT: barbicanUrl! });
    try {
      const { headers, cert, id } = await unfetchableSignedImage(t);
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

describe('image signature verification refused before the data, over a real socket', { skip: barbicanUrl ? false : 'BARBICAN_URL not set' }, () => {
  test('the client still reading its 8 MiB body gets the 400, not a reset', async () => {
    const t = await startTestApp({ GLIMPSE_BARBICAN__BARBICAN_ENDPOINT: barbicanUrl! });
    try {
      const address = await t.app.listen({ host: '127.0.0.1', port: 0 });
      const { headers, cert, id } = await unfetchableSignedImage(t);
      const body = Buffer.alloc(8 * 1024 * 1024, 1);
      const answer = await new Promise<{ status: number; text: string }>((resolve, reject) => {
        const req = httpRequest(`${address}/v2/images/${id}/file`, { method: 'PUT',
          headers: { ...headers, 'content-type': 'application/octet-stream', 'content-length': body.length } }, (res) => {
          let text = '';
          res.setEncoding('utf8');
          res.on('data', (chunk: string) => { text += chunk; });
          res.on('end', () => resolve({ status: res.statusCode ?? 0, text }));
          res.on('error', reject);
        });
        req.on('error', reject);
        req.end(body);
      });
      assert.equal(answer.status, 400, answer.text);
      assert.match(answer.text, new RegExp(escape(`Unable to retrieve certificate with ID: ${cert}`)));
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
