// TLS: the API served over HTTPS from cert_file/key_file (client certificates with ca_file), and the
// outbound CA options (Keystone's cafile/insecure, swift_store_cacert, s3_store_cacert) honoured.
// Certificates are made here with openssl; the outbound checks put the real Keystone, Swift and S3
// behind a TLS-terminating forwarder (skipped visibly without them).
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Agent, request } from 'undici';
import { startTestApp, as, type TestApp } from '../helpers/app.ts';
import { makePki, tlsForwarder, type Pki } from '../helpers/tls.ts';
import { keystoneEnv, keystoneSkip, keystoneUrl, login } from '../helpers/keystone.ts';
import {
  SKIP_S3, SKIP_SWIFT, dropSwiftContainer, s3TestEnv, swiftTestDriver, swiftTestEnv, uniqueBucket,
} from '../helpers/object-stores.ts';
import { load, loadError } from '../unit/config-helpers.ts';

const dir = mkdtempSync(join(tmpdir(), 'glimpse-tls-'));
let pki: Pki;
before(() => { pki = makePki(dir); });
after(() => rmSync(dir, { recursive: true, force: true }));

const trusting = (ca: string, client?: { cert: string; key: string }) => new Agent({ connect: {
  ca: readFileSync(ca),
  ...(client ? { cert: readFileSync(client.cert), key: readFileSync(client.key) } : {}),
} });

async function listen(t: TestApp): Promise<string> {
  const address = await t.app.listen({ host: '127.0.0.1', port: 0 });
  return address.replace('localhost', '127.0.0.1');
}

describe('HTTPS from cert_file and key_file', () => {
  let t: TestApp;
  let url: string;
  before(async () => {
    t = await startTestApp({ GLIMPSE_DEFAULT__CERT_FILE: pki.serverCert, GLIMPSE_DEFAULT__KEY_FILE: pki.serverKey });
    url = await listen(t);
  });
  after(() => t.close());

  test('a client that trusts the CA is served, and links say https', async () => {
    assert.match(url, /^https:\/\/127\.0\.0\.1:\d+$/);
    const res = await request(`${url}/versions`, { dispatcher: trusting(pki.caCert) });
    assert.equal(res.statusCode, 200);
    const body = await res.body.json() as { versions: Array<{ links: Array<{ href: string }> }> };
    assert.ok(body.versions[0]!.links[0]!.href.startsWith(`${url}/`), body.versions[0]!.links[0]!.href);
    const images = await request(`${url}/v2/images`, { dispatcher: trusting(pki.caCert), headers: as('p1') });
    assert.equal(images.statusCode, 200);
    await images.body.dump();
  });

  test('a client without the CA is refused by its own certificate check', async () => {
    await assert.rejects(request(`${url}/versions`), (error: Error & { code?: string }) =>
      /UNABLE_TO_VERIFY_LEAF_SIGNATURE|SELF_SIGNED|unable to verify/i.test(`${error.code} ${error.message}`));
    await assert.rejects(request(`${url}/versions`, { dispatcher: trusting(pki.otherCaCert) }));
  });

  test('plain HTTP to the HTTPS port gets no API answer', async () => {
    const res = await request(url.replace('https:', 'http:') + '/versions').catch((error: Error) => error);
    if (!(res instanceof Error)) {
      assert.notEqual(res.statusCode, 200);
      await res.body.dump();
    }
  });
});

describe('client certificates with ca_file', () => {
  let t: TestApp;
  let url: string;
  before(async () => {
    t = await startTestApp({ GLIMPSE_DEFAULT__CERT_FILE: pki.serverCert, GLIMPSE_DEFAULT__KEY_FILE: pki.serverKey,
      GLIMPSE_DEFAULT__CA_FILE: pki.caCert });
    url = await listen(t);
  });
  after(() => t.close());

  test('a client with a certificate the CA issued is served', async () => {
    const res = await request(`${url}/versions`,
      { dispatcher: trusting(pki.caCert, { cert: pki.clientCert, key: pki.clientKey }) });
    assert.equal(res.statusCode, 200);
    await res.body.dump();
  });

  test('a client without a certificate, or with one another CA issued, is refused in the handshake', async () => {
    await assert.rejects(request(`${url}/versions`, { dispatcher: trusting(pki.caCert) }));
    await assert.rejects(request(`${url}/versions`, { dispatcher: trusting(pki.caCert, otherClient()) }));
  });
});

/** A certificate the other CA issued (to itself): not one ca_file's CA issued. */
function otherClient(): { cert: string; key: string } {
  return { cert: pki.otherCaCert, key: join(dir, 'other-ca.key') };
}

describe('TLS options are checked at load, naming the option', () => {
  test('cert_file without key_file, ca_file alone, and unreadable files are errors', () => {
    assert.match(loadError(`[DEFAULT]\ncert_file = ${pki.serverCert}\n`).message, /\[DEFAULT\] key_file must be set too/);
    assert.match(loadError(`[DEFAULT]\nca_file = ${pki.caCert}\n`).message, /\[DEFAULT\] ca_file needs cert_file and key_file/);
    assert.match(loadError(`[DEFAULT]\ncert_file = ${pki.serverCert}\nkey_file = /nonexistent/server.key\n`).message,
      /\[DEFAULT\] key_file: cannot read \/nonexistent\/server.key \(ENOENT\)/);
    assert.match(loadError(['[paste_deploy]', 'flavor = keystone', '[keystone_authtoken]', 'auth_url = https://127.0.0.1:3/v3',
      'username = glance', 'password = secret', 'project_name = service', `cafile = ${dir}`].join('\n')).message,
    /\[keystone_authtoken\] cafile: cannot read .* \(not a file\)/);
  });

  test('the outbound CA options are used, not warned about as ignored', () => {
    const { config, warnings } = load([
      '[DEFAULT]', 'enabled_backends = sw:swift, obj:s3',
      '[glance_store]', 'default_backend = sw',
      '[sw]', 'swift_store_auth_address = https://127.0.0.1:1/auth/v1.0', 'swift_store_user = a:b', 'swift_store_key = k',
      `swift_store_cacert = ${pki.caCert}`, 'swift_store_auth_insecure = true',
      '[obj]', 's3_store_host = https://127.0.0.1:2', 's3_store_access_key = a', 's3_store_secret_key = s', 's3_store_bucket = b',
      `s3_store_cacert = ${pki.caCert}`,
      '[paste_deploy]', 'flavor = keystone',
      '[keystone_authtoken]', 'auth_url = https://127.0.0.1:3/v3', 'username = glance', 'password = secret', 'project_name = service',
      `cafile = ${pki.caCert}`, 'insecure = false', `certfile = ${pki.clientCert}`, `keyfile = ${pki.clientKey}`,
      '[DEFAULT]', 'use_keystone_limits = true',
      '[oslo_limit]', 'auth_url = https://127.0.0.1:3/v3', 'username = glance', 'password = secret', 'system_scope = all',
      'endpoint_id = e1', `cafile = ${pki.caCert}`, 'insecure = true', `certfile = ${pki.clientCert}`, `keyfile = ${pki.clientKey}`,
    ].join('\n'));
    assert.deepEqual(warnings.filter((w) => /cacert|cafile|insecure|certfile|keyfile/.test(w)), []);
    const [sw, obj] = config.stores.backends;
    assert.deepEqual(sw!.swift!.tls, { caFile: pki.caCert, insecure: true });
    assert.deepEqual(obj!.s3!.tls, { caFile: pki.caCert, insecure: false });
    assert.deepEqual(config.auth.keystone!.tls,
      { caFile: pki.caCert, insecure: false, certFile: pki.clientCert, keyFile: pki.clientKey });
    assert.deepEqual(config.keystoneLimits!.tls,
      { caFile: pki.caCert, insecure: true, certFile: pki.clientCert, keyFile: pki.clientKey });
  });
});

describe('Keystone over HTTPS: [keystone_authtoken] cafile and insecure', { skip: keystoneSkip }, () => {
  let forwarder: Awaited<ReturnType<typeof tlsForwarder>>;
  let httpsAuthUrl: string;
  before(async () => {
    const target = new URL(keystoneUrl!);
    forwarder = await tlsForwarder(pki, { host: target.hostname, port: Number(target.port || 80) });
    httpsAuthUrl = `https://127.0.0.1:${forwarder.port}${target.pathname}`;
  });
  after(() => forwarder.close());

  const listAs = async (t: TestApp, token: string) =>
    (await t.app.inject({ method: 'GET', url: '/v2/images', headers: { 'x-auth-token': token } })).statusCode;

  test('with cafile the token is validated; without it Keystone is unreachable (503); insecure skips the check', async () => {
    const { token } = await login('demo1-member', 'demo1');
    for (const [extra, expected] of [
      [{ GLIMPSE_KEYSTONE_AUTHTOKEN__CAFILE: pki.caCert }, 200],
      [{}, 503],
      [{ GLIMPSE_KEYSTONE_AUTHTOKEN__CAFILE: pki.otherCaCert }, 503],
      [{ GLIMPSE_KEYSTONE_AUTHTOKEN__INSECURE: 'true' }, 200],
    ] as const) {
      const t = await startTestApp(keystoneEnv(httpsAuthUrl, extra));
      try {
        assert.equal(await listAs(t, token), expected, JSON.stringify(extra));
      } finally {
        await t.close();
      }
    }
  });
});

/** Uploads 100 KB into the app's default store; the status of the PUT. */
async function upload(t: TestApp): Promise<number> {
  const created = await t.app.inject({ method: 'POST', url: '/v2/images', headers: as('p1'),
    payload: { name: 'tls', disk_format: 'raw', container_format: 'bare' } });
  assert.equal(created.statusCode, 201, created.body);
  const put = await t.app.inject({ method: 'PUT', url: `/v2/images/${created.json().id}/file`,
    headers: { ...as('p1'), 'content-type': 'application/octet-stream' }, payload: Buffer.alloc(100_000, 7) });
  return put.statusCode;
}

/**
 * The PUT statuses of an app whose default store is `target` behind the TLS forwarder, first with
 * `cacertVar` naming the CA, then without it.
 */
async function uploadsBehindTls(target: URL, storeEnv: (base: string) => Record<string, string>,
  cacertVar: string): Promise<number[]> {
  const forwarder = await tlsForwarder(pki, { host: target.hostname, port: Number(target.port || 80) });
  const statuses: number[] = [];
  try {
    for (const cacert of [pki.caCert, undefined]) {
      const t = await startTestApp({ ...storeEnv(`https://127.0.0.1:${forwarder.port}`), ...(cacert ? { [cacertVar]: cacert } : {}) });
      try {
        statuses.push(await upload(t));
      } finally {
        await t.close();
      }
    }
  } finally {
    await forwarder.close();
  }
  return statuses;
}

describe('Swift over HTTPS: swift_store_cacert', { skip: swiftTestEnv() ? false : SKIP_SWIFT }, () => {
  const env = swiftTestEnv()!;
  test('with the CA the upload is stored; without it the store is unreachable (503)', async () => {
    const auth = new URL(env.authUrl);
    const storage = new URL(process.env.SWIFT_STORAGE_URL ?? `${auth.origin}/v1/AUTH_test`);
    const container = uniqueBucket('glimpse-tls');
    assert.deepEqual(await uploadsBehindTls(auth, (base) => ({
      GLIMPSE_GLANCE_STORE__DEFAULT_STORE: 'swift', GLIMPSE_GLANCE_STORE__STORES: 'swift',
      GLIMPSE_GLANCE_STORE__SWIFT_STORE_AUTH_VERSION: '1',
      GLIMPSE_GLANCE_STORE__SWIFT_STORE_AUTH_ADDRESS: `${base}${auth.pathname}`,
      GLIMPSE_GLANCE_STORE__SWIFT_STORE_ENDPOINT: `${base}${storage.pathname}`,
      GLIMPSE_GLANCE_STORE__SWIFT_STORE_USER: env.user, GLIMPSE_GLANCE_STORE__SWIFT_STORE_KEY: env.key,
      GLIMPSE_GLANCE_STORE__SWIFT_STORE_CONTAINER: container,
      GLIMPSE_GLANCE_STORE__SWIFT_STORE_CREATE_CONTAINER_ON_PUT: 'true',
    }), 'GLIMPSE_GLANCE_STORE__SWIFT_STORE_CACERT'), [204, 503]);
    await dropSwiftContainer(swiftTestDriver(env, { container }), container);
  });
});

describe('S3 over HTTPS: s3_store_cacert', { skip: s3TestEnv() ? false : SKIP_S3 }, () => {
  const env = s3TestEnv()!;
  test('with the CA the upload is stored; without it the store is unreachable (503)', async () => {
    const bucket = uniqueBucket('glimpse-tls');
    assert.deepEqual(await uploadsBehindTls(new URL(env.endpoint), (base) => ({
      GLIMPSE_GLANCE_STORE__DEFAULT_STORE: 's3', GLIMPSE_GLANCE_STORE__STORES: 's3',
      GLIMPSE_GLANCE_STORE__S3_STORE_HOST: base,
      GLIMPSE_GLANCE_STORE__S3_STORE_ACCESS_KEY: env.accessKey, GLIMPSE_GLANCE_STORE__S3_STORE_SECRET_KEY: env.secretKey,
      GLIMPSE_GLANCE_STORE__S3_STORE_BUCKET: bucket, GLIMPSE_GLANCE_STORE__S3_STORE_CREATE_BUCKET_ON_PUT: 'true',
      GLIMPSE_GLANCE_STORE__S3_STORE_REGION: env.region, GLIMPSE_GLANCE_STORE__S3_STORE_BUCKET_URL_FORMAT: 'path',
    }), 'GLIMPSE_GLANCE_STORE__S3_STORE_CACERT'), [204, 503]);
  });
});
