// use_keystone_limits against the real Keystone (GLIMPSE_TEST_KEYSTONE_URL; skipped visibly
// without it): registered limits and a project's overrides created through Keystone's API, each of
// Glance's four limits refusing at the operation where Glance refuses (413 in Glance's words),
// GET /v2/info/usage, user_storage_quota ignored, and Keystone unreachable → Glance's 500.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { as, startTestApp, type TestApp } from '../helpers/app.ts';
import { keystoneSkip, keystoneUrl } from '../helpers/keystone.ts';
import { limitsEnv, limitsFixture, type LimitsFixture } from '../helpers/keystone-limits.ts';
import { TcpForwarder } from '../helpers/tcp-forwarder.ts';
import { makePki, tlsForwarder } from '../helpers/tls.ts';

const MIB = 1024 * 1024;
const overLimit = (project: string, resource: string, limit: number, usage: number, delta: number) =>
  'The request returned a 413 Request Entity Too Large. This generally means that rate limiting or a quota threshold was '
  + `breached.\n\nThe response body:\nProject ${project} is over a limit for [Resource ${resource} is over limit of ${limit} `
  + `due to current usage ${usage} and delta ${delta}]`;

describe('Keystone unified limits', { skip: keystoneSkip }, () => {
  let ks: LimitsFixture;
  let t: TestApp;
  let caller: Record<string, string>;
  const json = { accept: 'application/json' };

  before(async () => {
    ks = await limitsFixture();
    await ks.setLimits({ image_count_total: 3, image_size_total: 1, image_stage_total: 1, image_count_uploading: 1 });
    // user_storage_quota is ignored under unified limits, as in Glance.
    t = await startTestApp({ ...limitsEnv(ks.endpointId), GLIMPSE_DEFAULT__USER_STORAGE_QUOTA: '10B',
      GLIMPSE_IMAGE_IMPORT_OPTS__IMAGE_IMPORT_PLUGINS: '[]' });
    caller = as(ks.projectId);
  });
  after(async () => {
    await t?.close();
    await ks?.cleanup();
  });

  const create = (name: string) => t.app.inject({ method: 'POST', url: '/v2/images', headers: { ...caller, ...json },
    payload: { name, disk_format: 'raw', container_format: 'bare' } });
  const usage = async () => {
    const res = await t.app.inject({ method: 'GET', url: '/v2/info/usage', headers: { ...caller, ...json } });
    assert.equal(res.statusCode, 200);
    return res.json().usage as Record<string, { limit: number; usage: number }>;
  };
  const put = (id: string, path: 'file' | 'stage', body: Buffer | PassThrough) => t.app.inject({ method: 'PUT', url: `/v2/images/${id}/${path}`,
    headers: { ...caller, 'content-type': 'application/octet-stream' }, payload: body });

  test('GET /v2/info/usage shows the project limits from Keystone and zero usage', async () => {
    assert.deepEqual(await usage(), {
      image_size_total: { limit: 1, usage: 0 }, image_stage_total: { limit: 1, usage: 0 },
      image_count_total: { limit: 3, usage: 0 }, image_count_uploading: { limit: 1, usage: 0 },
    });
  });

  test('uploads: image_size_total refuses the bytes beyond the limit; image_count_uploading a second upload at once', async () => {
    const a = (await create('a')).json().id as string;
    const b = (await create('b')).json().id as string;
    // An upload of unknown size held open: it counts as uploading.
    const slow = new PassThrough();
    const inFlight = put(a, 'file', slow);
    slow.write(Buffer.alloc(MIB / 2));
    await waitFor(async () => (await usage()).image_count_uploading!.usage === 1);
    const second = await put(b, 'file', Buffer.alloc(10));
    assert.equal(second.statusCode, 413);
    assert.match(second.body, /Resource image_count_uploading is over limit of 1 due to current usage 1 and delta 1/);
    slow.end(Buffer.alloc(MIB / 2));
    assert.equal((await inFlight).statusCode, 204);
    assert.equal((await usage()).image_size_total!.usage, 1);
    // The limit is full: one more byte is refused, declared up front or not.
    const declared = await t.app.inject({ method: 'PUT', url: `/v2/images/${b}/file`,
      headers: { ...caller, 'content-type': 'application/octet-stream', 'x-openstack-image-size': '1' }, payload: Buffer.alloc(1) });
    assert.equal(declared.statusCode, 413);
    assert.match(declared.body, /Resource image_size_total is over limit of 1 due to current usage 1 and delta 1/);
    const image = await t.app.inject({ method: 'GET', url: `/v2/images/${b}`, headers: { ...caller, ...json } });
    assert.equal(image.json().status, 'queued', 'a refused upload leaves the image queued');
  });

  test('image_count_total refuses the create beyond the limit with Glance\'s message', async () => {
    const before = (await usage()).image_count_total!.usage;
    for (let i = before; i < 3; i++) assert.equal((await create(`c${i}`)).statusCode, 201);
    const refused = await create('one too many');
    assert.equal(refused.statusCode, 413);
    assert.ok((refused.json().message as string).startsWith(overLimit(ks.projectId, 'image_count_total', 3, 3, 1)), refused.body);
    assert.equal((await usage()).image_count_total!.usage, 3);
  });

  test('stage: image_stage_total refuses staged data beyond the limit and the image goes back to queued', async () => {
    await ks.setLimits({ image_count_total: 10, image_size_total: 100 });
    const id = (await create('staged')).json().id as string;
    const res = await put(id, 'stage', Buffer.alloc(MIB + 1));
    assert.equal(res.statusCode, 413);
    assert.match(res.body, /Resource image_stage_total is over limit of 1 due to current usage 0 and delta 2/);
    const image = await t.app.inject({ method: 'GET', url: `/v2/images/${id}`, headers: { ...caller, ...json } });
    assert.equal(image.json().status, 'queued');
    assert.equal((await put(id, 'stage', Buffer.alloc(MIB))).statusCode, 204);
    assert.equal((await usage()).image_stage_total!.usage, 1);
  });

  test('import: refused at once (413) when the project is over image_size_total', async () => {
    await ks.setLimits({ image_size_total: 0 });
    const staged = await t.app.inject({ method: 'GET', url: '/v2/images?status=uploading', headers: { ...caller, ...json } });
    const id = staged.json().images[0].id as string;
    const res = await t.app.inject({ method: 'POST', url: `/v2/images/${id}/import`, headers: { ...caller, ...json },
      payload: { method: { name: 'glance-direct' } } });
    assert.equal(res.statusCode, 413);
    assert.match(res.body, /Resource image_size_total is over limit of 0 due to current usage 1 and delta 0/);
  });

  test('Keystone unreachable: the checked operation fails with 500, as in Glance', async () => {
    const upstream = new URL(keystoneUrl!);
    const forwarder = new TcpForwarder(upstream.hostname, Number(upstream.port));
    const port = await forwarder.start();
    const app = await startTestApp(limitsEnv(ks.endpointId, `http://127.0.0.1:${port}/v3`));
    try {
      const ok = await app.app.inject({ method: 'GET', url: '/v2/info/usage', headers: { ...caller, ...json } });
      assert.equal(ok.statusCode, 200);
      await forwarder.cut();
      const res = await app.app.inject({ method: 'POST', url: '/v2/images', headers: { ...caller, ...json },
        payload: { name: 'x' } });
      assert.equal(res.statusCode, 500);
      assert.match(res.body, /The server has either erred or is incapable of performing the requested operation/);
    } finally {
      await app.close();
      await forwarder.cut();
    }
  });

  test('[oslo_limit] cafile / insecure: Keystone over HTTPS is read with the CA, refused without it', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'glimpse-limits-tls-'));
    const pki = makePki(dir);
    const upstream = new URL(keystoneUrl!);
    const forwarder = await tlsForwarder(pki, { host: upstream.hostname, port: Number(upstream.port || 80) });
    const httpsUrl = `https://127.0.0.1:${forwarder.port}${upstream.pathname}`;
    try {
      for (const [extra, expected] of [
        [{ GLIMPSE_OSLO_LIMIT__CAFILE: pki.caCert }, 200],
        [{}, 500],
        [{ GLIMPSE_OSLO_LIMIT__CAFILE: pki.otherCaCert }, 500],
        [{ GLIMPSE_OSLO_LIMIT__INSECURE: 'true' }, 200],
      ] as const) {
        const app = await startTestApp({ ...limitsEnv(ks.endpointId, httpsUrl), ...extra });
        try {
          const res = await app.app.inject({ method: 'GET', url: '/v2/info/usage', headers: { ...caller, ...json } });
          assert.equal(res.statusCode, expected, `${JSON.stringify(extra)}: ${res.body}`);
          if (expected === 200) assert.equal(typeof res.json().usage.image_count_total.limit, 'number');
        } finally {
          await app.close();
        }
      }
    } finally {
      await forwarder.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('GET /v2/info/usage without unified limits', () => {
  test('answers an empty usage, as Glance does', async () => {
    const app = await startTestApp();
    try {
      const res = await app.app.inject({ method: 'GET', url: '/v2/info/usage', headers: { ...as('p'), accept: 'application/json' } });
      assert.equal(res.statusCode, 200);
      assert.deepEqual(res.json(), { usage: {} });
    } finally {
      await app.close();
    }
  });
});

async function waitFor(check: () => Promise<boolean>, ms = 5000): Promise<void> {
  const end = Date.now() + ms;
  while (!await check()) {
    if (Date.now() > end) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 50));
  }
}
