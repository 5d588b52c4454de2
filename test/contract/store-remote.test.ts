// Driver specifics of the remote stores beyond the shared contract: Swift authentication (token
// refresh on 401 and before expiry; Keystone v3 against a FAKE Keystone, because the machine's
// Keystone has no object-store endpoint — the fake hands out real tempauth tokens of the real
// Swift), Static Large Object layout and cleanup, location forms and redaction, and the http
// store's redirects and range fallback against a local static server.
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Readable } from 'node:stream';
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { request } from 'undici';

import { StoreError } from '../../src/ports/store.ts';
import { HttpStoreDriver } from '../../src/stores/http/http-driver.ts';
import { redactLocation } from '../../src/stores/remote-errors.ts';
import { SwiftAuth } from '../../src/stores/swift/swift-auth.ts';
import { SwiftStoreDriver } from '../../src/stores/swift/swift-driver.ts';
import { containerFor, locationBase, parseLocation } from '../../src/stores/swift/swift-location.ts';
import {
  SKIP_S3, SKIP_SWIFT, s3TestDriver, s3TestEnv, swiftTestDriver, swiftTestEnv, uniqueBucket,
} from '../helpers/object-stores.ts';
import { loopbackFiltering, startStaticServer, type StaticServer } from '../helpers/static-server.ts';
import { createSafeFetcher } from '../../src/net/index.ts';

const swift = swiftTestEnv();
const s3 = s3TestEnv();

async function readAll(stream: Readable): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const part of stream) parts.push(part as Buffer);
  return Buffer.concat(parts);
}

const kind = (k: string) => (error: unknown) => error instanceof StoreError && error.kind === k;

describe('swift locations', () => {
  test('Glimpse writes credential-free locations; Glance\'s forms with credentials are parsed and redacted', () => {
    const base = locationBase({ authAddress: 'https://swift.example.com/auth/v1.0/' });
    assert.deepEqual(base, { kind: 'auth', address: 'swift.example.com/auth/v1.0', scheme: 'swift+https' });
    assert.deepEqual(locationBase({ reference: 'ref1', authAddress: 'http://x' }), { kind: 'config', address: 'ref1', scheme: 'swift+config' });
    const id = randomUUID();
    const legacy = `swift+https://service:glance:se/cr@et@swift.example.com/auth/v1.0/glance/${id}`;
    assert.deepEqual(parseLocation(legacy), { scheme: 'swift+https', address: 'swift.example.com/auth/v1.0', container: 'glance', object: id });
    assert.equal(redactLocation(legacy), `swift+https://swift.example.com/auth/v1.0/glance/${id}`);
    assert.equal(redactLocation(`s3://AKIA:secret@s3.example.com/b/${id}`), `s3://s3.example.com/b/${id}`);
    assert.equal(redactLocation(`file:///var/lib/glance/images/${id}`), `file:///var/lib/glance/images/${id}`);
  });

  test('swift_store_multiple_containers_seed names containers as glance_store does (dashes do not count)', () => {
    assert.equal(containerFor('glance', 0, 'ABCDEF12-3456'), 'glance');
    assert.equal(containerFor('glance', 3, 'ABCDEF12-3456'), 'glance_abc');
    assert.equal(containerFor('glance', 10, 'abcdef12-3456-7890'), 'glance_abcdef12-34');
  });
});

if (!swift) {
  test('swift authentication and large objects (real Swift)', { skip: SKIP_SWIFT }, () => {});
} else {
  const env = swift;
  describe('swift authentication and large objects (real Swift)', () => {
    const container = uniqueBucket('glimpse-remote');
    const driver = swiftTestDriver(env, { container, largeObjectSize: 1024 * 1024, chunkSize: 512 * 1024 });
    after(async () => { await driver.removeContainer(container); });

    test('tempauth: a stale token gets a 401, the driver re-authenticates once and carries on', async () => {
      const auth = new SwiftAuth({ authVersion: '1', authAddress: env.authUrl, user: env.user, key: env.key });
      const real = await auth.token();
      let calls = 0;
      const flaky = {
        token: async () => (++calls === 1 ? { ...real, token: 'AUTH_tk-stale' } : auth.token()),
        invalidate: (token: string) => auth.invalidate(token),
      };
      const d = new SwiftStoreDriver({ id: 'obj', auth: flaky, base: locationBase({ authAddress: env.authUrl }), container,
        createContainerOnPut: true, largeObjectSize: 1024 * 1024, largeObjectChunkSize: 1024 * 1024 });
      assert.equal((await d.listContainers(container)).length >= 0, true);
      assert.ok(calls >= 2, 'the 401 led to a second token() call');
      await assert.rejects(new SwiftAuth({ authVersion: '1', authAddress: env.authUrl, user: env.user, key: 'wrong' }).token(),
        (e: unknown) => kind('StoreUnavailable')(e) && !(e as Error).message.includes('wrong'));
    });

    test('Keystone v3 (FAKE Keystone issuing real tempauth tokens): catalog lookup, re-auth on 401, renewal before expiry', async () => {
      const real = await new SwiftAuth({ authVersion: '1', authAddress: env.authUrl, user: env.user, key: env.key }).token();
      const bodies: unknown[] = [];
      let issued = 0;
      let clock = Date.now();
      const fake = createServer(async (req: IncomingMessage, res) => {
        const chunks: Buffer[] = [];
        for await (const c of req) chunks.push(c as Buffer);
        if (req.method !== 'POST' || req.url !== '/v3/auth/tokens') return void res.writeHead(404).end();
        bodies.push(JSON.parse(Buffer.concat(chunks).toString()));
        issued++;
        // 1st token: stale (Swift answers 401); later ones are valid for 2 minutes.
        const token = issued === 1 ? 'AUTH_tk-stale' : real.token;
        const expires = new Date(clock + 120_000).toISOString();
        res.writeHead(201, { 'content-type': 'application/json', 'x-subject-token': token });
        res.end(JSON.stringify({ token: { expires_at: expires, catalog: [
          { type: 'identity', endpoints: [{ interface: 'public', region: 'RegionOne', url: 'http://127.0.0.1:1/v3' }] },
          { type: 'object-store', endpoints: [
            { interface: 'internal', region: 'RegionOne', url: 'http://127.0.0.1:1/wrong' },
            { interface: 'public', region: 'RegionTwo', url: 'http://127.0.0.1:1/wrong-region' },
            { interface: 'public', region: 'RegionOne', url: real.storageUrl },
          ] },
        ] } }));
      });
      await new Promise<void>((resolve) => fake.listen(0, '127.0.0.1', resolve));
      try {
        const authUrl = `http://127.0.0.1:${(fake.address() as AddressInfo).port}/v3`;
        const auth = new SwiftAuth({ authVersion: '3', authAddress: authUrl, user: 'service:glance', key: 'pw',
          userDomainName: 'Users', region: 'RegionOne' }, undefined, () => clock);
        const d = new SwiftStoreDriver({ id: 'obj', auth, base: locationBase({ authAddress: authUrl }), container,
          createContainerOnPut: true, largeObjectSize: 1024 * 1024, largeObjectChunkSize: 1024 * 1024 });
        const data = randomBytes(5000);
        const { location } = await d.put(randomUUID(), Readable.from([data]));
        assert.equal(issued, 2, 'the stale token was replaced after the 401');
        assert.deepEqual(await readAll((await d.get(location)).stream), data);
        assert.equal(issued, 2, 'a valid token is reused');
        clock += 70_000;
        assert.deepEqual(await readAll((await d.get(location)).stream), data);
        assert.equal(issued, 3, 'the token expiring within a minute was renewed before the next request');
        assert.deepEqual(bodies[0], { auth: {
          identity: { methods: ['password'], password: { user: { name: 'glance', domain: { name: 'Users' }, password: 'pw' } } },
          scope: { project: { name: 'service', domain: { id: 'default' } } } } });
        await d.delete(location);
      } finally {
        await new Promise((resolve) => fake.close(resolve));
      }
    });

    test('above the large object size: a Static Large Object of chunk-size segments, deleted with its segments', async () => {
      const id = randomUUID();
      const data = randomBytes(1536 * 1024 + 10);
      const { location } = await driver.put(id, Readable.from([data]), { sizeHint: data.length });
      const names = await driver.list(container, id);
      assert.equal(names.filter((n) => n.startsWith(`${id}/`)).length, 4, '512 KiB segments: 3 full + 1 partial');
      const token = await new SwiftAuth({ authVersion: '1', authAddress: env.authUrl, user: env.user, key: env.key }).token();
      const head = await request(`${token.storageUrl}/${container}/${id}`, { method: 'HEAD', headers: { 'x-auth-token': token.token } });
      await head.body.dump();
      assert.equal(head.headers['x-static-large-object'], 'True');
      assert.deepEqual(await readAll((await driver.get(location, { range: { start: 524_280, end: 524_300 } })).stream),
        data.subarray(524_280, 524_301), 'a range across a segment boundary');
      await driver.delete(location);
      assert.deepEqual(await driver.list(container, id), []);
    });

    test('a Glance-written Dynamic Large Object is read whole and deleted with its segments', async () => {
      const id = randomUUID();
      const token = await new SwiftAuth({ authVersion: '1', authAddress: env.authUrl, user: env.user, key: env.key }).token();
      const put = (name: string, body: Buffer | string, headers: Record<string, string> = {}) =>
        request(`${token.storageUrl}/${container}/${name}`, { method: 'PUT', headers: { 'x-auth-token': token.token, ...headers }, body })
          .then((r) => r.body.dump());
      await put(`${id}-00001`, 'hello ');
      await put(`${id}-00002`, 'world');
      await put(id, '', { 'x-object-manifest': `${container}/${id}-` });
      const location = `swift+http://${locationBase({ authAddress: env.authUrl }).address}/${container}/${id}`;
      assert.equal((await readAll((await driver.get(location)).stream)).toString(), 'hello world');
      await driver.delete(location);
      assert.deepEqual(await driver.list(container, id), []);
    });

    test('a missing container without swift_store_create_container_on_put → StoreUnavailable, nothing read', async () => {
      const d = new SwiftStoreDriver({ id: 'obj', auth: new SwiftAuth({ authVersion: '1', authAddress: env.authUrl, user: env.user, key: env.key }),
        base: locationBase({ authAddress: env.authUrl }), container: uniqueBucket('glimpse-missing'), largeObjectSize: 1, largeObjectChunkSize: 1 });
      const source = Readable.from([Buffer.from('x')]);
      await assert.rejects(d.put(randomUUID(), source), (e: unknown) => kind('StoreUnavailable')(e) && /create_container_on_put/.test((e as Error).message));
      assert.ok(source.destroyed);
    });
  });
}

if (!s3) test('s3 multipart uploads (real S3 API)', { skip: SKIP_S3 }, () => {});
describe('s3 multipart uploads (real S3 API)', { skip: s3 ? false : SKIP_S3 }, () => {
  const MiB = 1024 * 1024;
  const bucket = uniqueBucket('glimpse-multipart');
  // 5 MiB parts (S3's minimum), two buffers: every buffer is reused for later parts.
  const driver = s3 ? s3TestDriver(s3, { bucket, largeObjectSize: 5 * MiB, chunkSize: 5 * MiB, threadPools: 2 }) : undefined!;
  const host = s3 ? new URL(s3.endpoint).host : '';
  const leftovers = async () => {
    const { ListObjectsV2Command, ListMultipartUploadsCommand } = await import('@aws-sdk/client-s3');
    const client = await driver.s3();
    const objects = await client.send(new ListObjectsV2Command({ Bucket: bucket }));
    const uploads = await client.send(new ListMultipartUploadsCommand({ Bucket: bucket }));
    return [...(objects.Contents ?? []).map((o) => o.Key!), ...(uploads.Uploads ?? []).map((u) => `upload:${u.Key}`)].sort();
  };
  /** `total` bytes of random data in odd-sized chunks, as a socket would deliver them. */
  const oddChunks = (data: Buffer) => {
    const chunks: Buffer[] = [];
    for (let at = 0, i = 0; at < data.length; i++) {
      const n = [65_536, 1, 1_000_003, 333_333, 2 * MiB + 5][i % 5]!;
      chunks.push(data.subarray(at, at + n));
      at += n;
    }
    return chunks;
  };
  after(async () => {
    if (!s3) return;
    for (const key of await leftovers()) if (!key.startsWith('upload:')) await driver.delete(`s3://${host}/${bucket}/${key}`);
    const { DeleteBucketCommand } = await import('@aws-sdk/client-s3');
    await (await driver.s3()).send(new DeleteBucketCommand({ Bucket: bucket })).catch(() => undefined);
  });

  test('data of unknown size in more parts than buffers arrives byte for byte; so does an empty upload', async () => {
    const data = randomBytes(23 * MiB + 7);
    const id = randomUUID();
    const put = await driver.put(id, Readable.from(oddChunks(data)));
    assert.equal(put.bytesWritten, data.length);
    const { stream, size } = await driver.get(put.location);
    assert.equal(size, data.length);
    const back = await readAll(stream);
    assert.equal(createHash('md5').update(back).digest('hex'), createHash('md5').update(data).digest('hex'),
      'five parts through two reused buffers, in order');
    const empty = await driver.put(randomUUID(), Readable.from([]));
    assert.equal(empty.bytesWritten, 0);
    assert.equal(await driver.size(empty.location), 0);
    await driver.delete(empty.location);
    await driver.delete(put.location);
    assert.deepEqual(await leftovers(), []);
  });

  test('a source that fails after some parts: rejected, the upload aborted, no parts or object left', async () => {
    const id = randomUUID();
    const data = randomBytes(12 * MiB);
    async function* failing() {
      yield data;
      await new Promise((r) => setTimeout(r, 50));
      throw new Error('client went away');
    }
    await assert.rejects(driver.put(id, Readable.from(failing())), /client went away/);
    assert.deepEqual(await leftovers(), []);
  });
});

describe('http store', () => {
  let server: StaticServer;
  before(async () => { server = await startStaticServer(); });
  after(async () => { await server.close(); });

  for (const [name, make] of [
    ['plain undici', () => new HttpStoreDriver({ id: 'web', maxRedirects: 3 })],
    ['the safe fetcher', () => new HttpStoreDriver({ id: 'web', fetcher: createSafeFetcher(loopbackFiltering(server, 3)) })],
  ] as const) {
    test(`redirects are followed up to the limit; one more → StoreUnavailable (${name})`, async () => {
      const driver = make();
      const data = randomBytes(1000);
      const id = server.add(data).split('/').pop()!;
      assert.deepEqual(await readAll((await driver.get(`${server.url}/redirect/3/${id}`)).stream), data);
      assert.equal(await driver.size(`${server.url}/redirect/3/${id}`), 1000);
      await assert.rejects(driver.get(`${server.url}/redirect/4/${id}`), kind('StoreUnavailable'));
      await assert.rejects(driver.size(`${server.url}/redirect/4/${id}`), kind('StoreUnavailable'));
      await assert.rejects(driver.get(`${server.url}/images/${randomUUID()}`), kind('StoreNotFound'));
    });
  }

  test('with the default [import_filtering_opts], loopback and metadata-service locations are refused (InvalidLocation), nothing sent', async () => {
    const driver = new HttpStoreDriver({ id: 'web', fetcher: createSafeFetcher({ ...loopbackFiltering(server), allowedHosts: [], allowedPorts: [80, 443] }) });
    const before = server.requests.length;
    const url = server.add(Buffer.from('secret'));
    for (const location of [url, `http://127.0.0.1/images/x`, 'http://169.254.169.254/latest/meta-data/', 'http://[::1]/x', 'http://0x7f000001/x']) {
      await assert.rejects(driver.get(location), kind('InvalidLocation'), location);
      await assert.rejects(driver.size(location), kind('InvalidLocation'), location);
    }
    assert.equal(server.requests.length, before, 'no request reached the loopback server');
  });

  test('a server that ignores Range: the driver cuts the range out itself', async () => {
    const driver = new HttpStoreDriver({ id: 'web' });
    const data = randomBytes(300_000);
    const id = server.add(data).split('/').pop()!;
    const got = await driver.get(`${server.url}/norange/${id}`, { range: { start: 100_000, end: 200_000 } });
    assert.equal(got.size, 300_000);
    assert.deepEqual(await readAll(got.stream), data.subarray(100_000, 200_001));
  });

  test('unreachable → StoreUnavailable; delete leaves the remote data alone', async () => {
    const driver = new HttpStoreDriver({ id: 'web', timeoutMs: 2000 });
    await assert.rejects(driver.get('http://127.0.0.1:9/x'), kind('StoreUnavailable'));
    await assert.rejects(driver.size('http://127.0.0.1:9/x'), kind('StoreUnavailable'));
    const url = server.add(Buffer.from('keep'));
    await driver.delete(url);
    assert.equal(await driver.size(url), 4);
  });
});
