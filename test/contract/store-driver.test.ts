// Contract of StoreDriver (src/ports/store.ts), run against every driver. A new driver (swift,
// s3 …) joins by adding one entry to `implementations` below; the file-specific tests follow.
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { mkdir, mkdtemp, readdir, readFile, rm, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';

import { StoreError, type StoreDriver, type StoreErrorKind } from '../../src/ports/store.ts';
import { isStoreDuplicateError } from '../../src/stores/errors.ts';
import { FileStoreDriver, recoverTempFiles } from '../../src/stores/file/file-driver.ts';
import { storeErrorFromFs } from '../../src/stores/file/fs-errors.ts';
import { createStoreRegistry } from '../../src/stores/registry.ts';
import { HttpStoreDriver } from '../../src/stores/http/http-driver.ts';
import { formatLocation, locationBase } from '../../src/stores/swift/swift-location.ts';
import { ListMultipartUploadsCommand, ListObjectsV2Command } from '@aws-sdk/client-s3';
import {
  SKIP_S3, SKIP_SWIFT, s3TestDriver, s3TestEnv, swiftTestDriver, swiftTestEnv, uniqueBucket, type S3TestEnv, type SwiftTestEnv,
} from '../helpers/object-stores.ts';
import { loopbackFiltering, startStaticServer } from '../helpers/static-server.ts';
import { SKIP_RBD, cephTestEnv, poolImages, rbdTestDriver, type CephTestEnv } from '../helpers/ceph.ts';
import { createSafeFetcher } from '../../src/net/index.ts';
import type { BackendConfig } from '../../src/config/types.ts';

interface DriverUnderTest {
  driver: StoreDriver;
  /** Everything the backend holds, committed or partial (file names; object keys and open uploads). */
  contents(): Promise<string[]>;
  /** Locations the driver must refuse: other schemes, other stores, path tricks. */
  foreignLocations: string[];
  /** A location the driver would own that holds nothing. */
  missingLocation(): string;
  cleanup(): Promise<void>;
  /**
   * False for stores without an atomic create-if-absent write (S3 via Swift's s3api answers 501 to
   * If-None-Match; Swift checks If-None-Match per object server as each write starts, so
   * overlapping commits both pass): racing puts of one image may then both report success; the
   * store still holds one winner's complete data. Glimpse never races puts of one image
   * (compare-and-set queued → saving comes first), so this is a defence in depth, not the guard.
   */
  atomicCreate?: false;
  /** Read-only stores (http): how the suite puts data there, since put() is refused. */
  readOnly?: { seed(data: Buffer): Promise<string> };
}

async function fileDriver(): Promise<DriverUnderTest> {
  const root = await mkdtemp(join(tmpdir(), 'glimpse-store-'));
  const dataDir = join(root, 'images');
  const driver = new FileStoreDriver({ id: 'fast', dataDir });
  await writeFile(join(root, 'secret'), 'not an image');
  return {
    driver,
    contents: async () => (await readdir(dataDir).catch(() => [])).sort(),
    foreignLocations: [
      `file://${root}/secret`,
      `file://${dataDir}/../secret`,
      `file://${dataDir}/sub/${randomUUID()}`,
      `file://${dataDir}`,
      `file://${dataDir}/`,
      'file:///etc/passwd',
      `file://relative/${randomUUID()}`,
      `swift+https://swift.example/v1/AUTH_x/glance/${randomUUID()}`,
      `http://example.com${dataDir}/${randomUUID()}`,
      `${dataDir}/${randomUUID()}`,
      `file://${dataDir}/x\0y`,
    ],
    missingLocation: () => `file://${dataDir}/${randomUUID()}`,
    cleanup: () => rm(root, { recursive: true, force: true }),
  };
}

async function swiftDriver(env: SwiftTestEnv, seed = 0): Promise<DriverUnderTest> {
  const container = uniqueBucket('glimpse-contract');
  // Small objects and segments, so the multi-MiB and failure tests exercise Static Large Objects.
  const driver = swiftTestDriver(env, { container, id: 'obj', seed, largeObjectSize: 1024 * 1024, chunkSize: 1024 * 1024 });
  const base = locationBase({ authAddress: env.authUrl });
  const other = locationBase({ authAddress: 'http://swift.example:8080/auth/v1.0' });
  const containers = new Set<string>();
  const id = randomUUID();
  const containerOf = (imageId: string) => (seed > 0 ? `${container}_${imageId.slice(0, seed)}` : container);
  return {
    driver,
    contents: async () => {
      const all: string[] = [];
      for (const c of await driver.listContainers(container)) {
        containers.add(c);
        all.push(...(await driver.list(c)).map((n) => `${c}/${n}`));
      }
      return all.sort();
    },
    foreignLocations: [
      formatLocation(other, container, id),
      formatLocation(base, 'another-container', id),
      `swift+config://ref1/${container}/${id}`,
      `s3://127.0.0.1:8080/${container}/${id}`,
      `file:///tmp/${id}`,
      formatLocation(base, container, `${id}/../x`),
      formatLocation(base, container, ''),
      `${formatLocation(base, container, id)}?multipart-manifest=get`,
    ],
    missingLocation: () => formatLocation(base, containerOf(id), randomUUID()),
    atomicCreate: false,
    cleanup: async () => {
      for (const c of new Set([container, ...containers, ...await driver.listContainers(container)])) await driver.removeContainer(c);
    },
  };
}

async function s3Driver(env: S3TestEnv): Promise<DriverUnderTest> {
  const bucket = uniqueBucket('glimpse-contract');
  // 6 MiB single-put limit and 5 MiB parts (S3's minimum): the 9 MiB test is a multipart upload.
  const driver = s3TestDriver(env, { bucket, largeObjectSize: 6 * 1024 * 1024, chunkSize: 5 * 1024 * 1024 });
  const host = new URL(env.endpoint).host;
  const id = randomUUID();
  const list = async () => {
    const objects = await (await driver.s3()).send(new ListObjectsV2Command({ Bucket: bucket })).catch(() => ({ Contents: [] }));
    const uploads = await (await driver.s3()).send(new ListMultipartUploadsCommand({ Bucket: bucket })).catch(() => ({ Uploads: [] }));
    return { keys: (objects.Contents ?? []).map((o) => o.Key!), uploads: (uploads.Uploads ?? []).map((u) => `upload:${u.Key}:${u.UploadId}`) };
  };
  return {
    driver,
    contents: async () => { const { keys, uploads } = await list(); return [...keys, ...uploads].sort(); },
    foreignLocations: [
      `s3://other.example/${bucket}/${id}`,
      `s3://${host}/another-bucket/${id}`,
      `s3+https://${host}/${bucket}/${id}`,
      `s3://${host}/${bucket}/sub/${id}`,
      `s3://${host}/${bucket}/..`,
      `swift+http://${host}/${bucket}/${id}`,
      `file:///tmp/${id}`,
    ],
    missingLocation: () => `s3://${host}/${bucket}/${randomUUID()}`,
    atomicCreate: false,
    cleanup: async () => {
      const { keys } = await list();
      for (const key of keys) await driver.delete(`s3://${host}/${bucket}/${key}`);
      const { DeleteBucketCommand } = await import('@aws-sdk/client-s3');
      await (await driver.s3()).send(new DeleteBucketCommand({ Bucket: bucket })).catch(() => undefined);
    },
  };
}

async function httpDriver(): Promise<DriverUnderTest> {
  const server = await startStaticServer();
  // Through the SSRF-safe fetcher, as the registry builds it, with 127.0.0.1 as an approved host.
  const driver = new HttpStoreDriver({ id: 'web', fetcher: createSafeFetcher(loopbackFiltering(server)) });
  return {
    driver,
    contents: async () => server.files(),
    foreignLocations: [`file:///tmp/${randomUUID()}`, `swift+http://127.0.0.1/c/${randomUUID()}`, `s3://127.0.0.1/b/${randomUUID()}`,
      'http://', 'http://[bad', `ftp://127.0.0.1/${randomUUID()}`],
    missingLocation: () => `${server.url}/images/${randomUUID()}`,
    cleanup: () => server.close(),
    readOnly: { seed: async (data) => server.add(data) },
  };
}

async function rbdDriver(env: CephTestEnv): Promise<DriverUnderTest> {
  // 1 MiB objects: the multi-MiB test spans several objects and an unknown-size upload grows.
  const driver = rbdTestDriver(env, { id: 'ceph' });
  // The pool is shared with other suites: contents() counts the images this suite asked for.
  const ids = new Set<string>();
  const put = driver.put.bind(driver);
  driver.put = (imageId, source, options) => { ids.add(imageId); return put(imageId, source, options); };
  const { location: probe } = await put(randomUUID(), Readable.from([Buffer.from('x')]));
  await driver.delete(probe);
  const fsid = probe.split('/')[2]!;
  const id = randomUUID();
  return {
    driver,
    contents: async () => poolImages(env).filter((name) => ids.has(name.replace(/^trash:/, ''))),
    foreignLocations: [
      `rbd://00000000-0000-0000-0000-000000000000/${env.pool}/${id}/snap`,
      `rbd://${fsid}/another-pool/${id}/snap`,
      `rbd://${fsid}/${env.pool}/${id}`,
      `rbd://${fsid}/${env.pool}//snap`,
      `rbd://${fsid}/${env.pool}/..%2Fx/snap`,
      `rbd://${fsid}/${env.pool}/${id}/snap/extra`,
      `rbd:${id}`,
      `RBD://${fsid}/${env.pool}/${id}/snap`,
      `file:///tmp/${id}`,
      `swift+http://127.0.0.1/c/${id}`,
    ],
    missingLocation: () => `rbd://${fsid}/${env.pool}/${randomUUID()}/snap`,
    cleanup: async () => {
      for (const name of ids) await driver.delete(`rbd://${fsid}/${env.pool}/${name}/snap`);
      await driver.close();
    },
  };
}

const swiftEnv = swiftTestEnv();
const cephEnv = cephTestEnv();
const s3Env = s3TestEnv();

const implementations: Array<{ name: string; create: () => Promise<DriverUnderTest>; skip?: string }> = [
  { name: 'file', create: fileDriver },
  { name: 'swift', create: () => swiftDriver(swiftEnv!), skip: swiftEnv ? undefined : SKIP_SWIFT },
  { name: 'swift (multiple containers seed)', create: () => swiftDriver(swiftEnv!, 2), skip: swiftEnv ? undefined : SKIP_SWIFT },
  { name: 's3', create: () => s3Driver(s3Env!), skip: s3Env ? undefined : SKIP_S3 },
  { name: 'http', create: httpDriver },
  { name: 'rbd', create: () => rbdDriver(cephEnv!), skip: cephEnv ? undefined : SKIP_RBD },
];

// ---- helpers ----

/** Bytes in irregular chunks, the way a network delivers them. */
function sourceOf(data: Buffer, chunk = 65_536): Readable {
  const parts: Buffer[] = [];
  for (let at = 0, i = 0; at < data.length; i++) {
    const n = Math.min(data.length - at, 1 + ((chunk * (i % 3 + 1)) >> 1));
    parts.push(data.subarray(at, at + n));
    at += n;
  }
  return Readable.from(parts, { objectMode: false });
}

/** Sends `bytes` bytes, then fails with `error` (a client that disconnects mid-upload). */
function failingSource(bytes: number, error: Error): Readable {
  let sent = 0;
  return new Readable({
    read() {
      if (sent >= bytes) {
        this.destroy(error);
        return;
      }
      const n = Math.min(16_384, bytes - sent);
      sent += n;
      this.push(Buffer.alloc(n, 0xab));
    },
  });
}

/** Sends `bytes` bytes, then stalls forever (a client that goes quiet). */
function stallingSource(bytes: number, onStall: () => void): Readable {
  let sent = 0;
  return new Readable({
    read() {
      if (sent >= bytes) {
        onStall();
        return;
      }
      const n = Math.min(16_384, bytes - sent);
      sent += n;
      this.push(Buffer.alloc(n, 0xcd));
    },
  });
}

async function readAll(stream: Readable): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const part of stream) parts.push(part as Buffer);
  return Buffer.concat(parts);
}

function storeError(kind: StoreErrorKind) {
  return (error: unknown) => {
    assert.ok(error instanceof StoreError, `expected StoreError ${kind}, got ${String(error)}`);
    assert.equal(error.kind, kind);
    return true;
  };
}

const sha256 = (data: Buffer) => createHash('sha256').update(data).digest('hex');

// ---- the contract ----

for (const implementation of implementations) {
  if (implementation.skip) {
    test(`StoreDriver contract: ${implementation.name}`, { skip: implementation.skip }, () => {});
    continue;
  }
  describe(`StoreDriver contract: ${implementation.name}`, () => {
    let t: DriverUnderTest;
    before(async () => { t = await implementation.create(); });
    after(async () => { await t.cleanup(); });
    /** Stores data under a fresh id: put(), or the seed of a read-only store. */
    const store = async (data: Buffer, chunk?: number) => (t.readOnly
      ? { location: await t.readOnly.seed(data), bytesWritten: data.length }
      : t.driver.put(randomUUID(), sourceOf(data, chunk), { sizeHint: data.length }));
    /** A test of writing: read-only stores instead check that put is refused. */
    const writeTest = (name: string, fn: () => Promise<void>) => test(name, async (ctx) => {
      if (t.readOnly) return ctx.skip('read-only store (put is refused; see the AddDisabled test)');
      await fn();
    });

    test('read-only stores refuse put with AddDisabled and destroy the source; writable ones accept it', async () => {
      const source = sourceOf(randomBytes(10));
      if (!t.readOnly) {
        await t.driver.put(randomUUID(), source);
        return;
      }
      await assert.rejects(t.driver.put(randomUUID(), source), storeError('AddDisabled'));
      assert.ok(source.destroyed);
    });

    test('put + get round-trips binary data (every byte value)', async () => {
      const data = Buffer.concat([Buffer.from(Array.from({ length: 256 }, (_, i) => i)), randomBytes(100_000)]);
      const put = await store(data);
      assert.equal(put.bytesWritten, data.length);
      assert.ok(t.driver.owns(put.location), 'the driver owns the location it returned');
      const got = await t.driver.get(put.location);
      assert.equal(got.size, data.length);
      assert.deepEqual(await readAll(got.stream), data);
    });

    test('put + get of 0 bytes', async () => {
      const put = t.readOnly ? await store(Buffer.alloc(0)) : await t.driver.put(randomUUID(), Readable.from([]));
      assert.equal(put.bytesWritten, 0);
      const got = await t.driver.get(put.location);
      assert.equal(got.size, 0);
      assert.equal((await readAll(got.stream)).length, 0);
      assert.equal(await t.driver.size(put.location), 0);
    });

    test('put + get of a multi-MiB image', async () => {
      const data = randomBytes(9 * 1024 * 1024 + 17);
      const put = t.readOnly ? await store(data) : await t.driver.put(randomUUID(), sourceOf(data, 200_000));
      assert.equal(put.bytesWritten, data.length);
      const got = await t.driver.get(put.location);
      assert.equal(got.size, data.length);
      assert.equal(sha256(await readAll(got.stream)), sha256(data));
    });

    test('ranged get returns exactly the bytes asked for, and the whole size', async () => {
      const data = randomBytes(5000);
      const { location } = await store(data);
      for (const [start, end] of [[0, 0], [10, 19], [4999, 4999], [0, 4999], [1234, 4000]] as const) {
        const got = await t.driver.get(location, { range: { start, end } });
        assert.equal(got.size, 5000);
        assert.deepEqual(await readAll(got.stream), data.subarray(start, end + 1), `range ${start}-${end}`);
      }
      const clamped = await t.driver.get(location, { range: { start: 4990, end: 10_000 } });
      assert.deepEqual(await readAll(clamped.stream), data.subarray(4990), 'an end past the object is clamped');
    });

    test('size reports the stored byte count', async () => {
      const { location } = await store(randomBytes(12_345));
      assert.equal(await t.driver.size(location), 12_345);
    });

    writeTest('delete removes the object and is idempotent', async () => {
      const { location } = await t.driver.put(randomUUID(), sourceOf(randomBytes(100)));
      await t.driver.delete(location);
      await t.driver.delete(location);
      await assert.rejects(t.driver.get(location), storeError('StoreNotFound'));
      await assert.rejects(t.driver.size(location), storeError('StoreNotFound'));
      await t.driver.delete(t.missingLocation());
    });

    test('get and size of a missing object → StoreNotFound', async () => {
      await assert.rejects(t.driver.get(t.missingLocation()), storeError('StoreNotFound'));
      await assert.rejects(t.driver.size(t.missingLocation()), storeError('StoreNotFound'));
    });

    writeTest('a source failing mid-stream rejects put with its error and leaves nothing', async () => {
      const before = await t.contents();
      const boom = new Error('client went away');
      await assert.rejects(t.driver.put(randomUUID(), failingSource(3 * 1024 * 1024, boom)), (e) => e === boom);
      assert.deepEqual(await t.contents(), before);
    });

    writeTest('an abort via the signal rejects put and leaves nothing', async () => {
      const before = await t.contents();
      const controller = new AbortController();
      let stalled!: () => void;
      const stall = new Promise<void>((resolve) => { stalled = resolve; });
      const source = stallingSource(2 * 1024 * 1024, () => stalled());
      const put = t.driver.put(randomUUID(), source, { signal: controller.signal });
      await stall;
      controller.abort(new Error('client disconnected'));
      await assert.rejects(put, (e: Error) => e.name === 'AbortError' || e.message === 'client disconnected');
      assert.ok(source.destroyed, 'the source is destroyed');
      assert.deepEqual(await t.contents(), before);
    });

    writeTest('a signal aborted before put starts rejects and leaves nothing', async () => {
      const before = await t.contents();
      const controller = new AbortController();
      controller.abort(new Error('already gone'));
      const source = sourceOf(randomBytes(1000));
      await assert.rejects(t.driver.put(randomUUID(), source, { signal: controller.signal }));
      assert.ok(source.destroyed);
      assert.deepEqual(await t.contents(), before);
    });

    writeTest('concurrent puts of different images each store their own data', async () => {
      const images = Array.from({ length: 8 }, () => ({ id: randomUUID(), data: randomBytes(256 * 1024 + Math.floor(Math.random() * 1000)) }));
      const puts = await Promise.all(images.map((i) => t.driver.put(i.id, sourceOf(i.data, 8192))));
      for (const [n, put] of puts.entries()) {
        assert.equal(put.bytesWritten, images[n]!.data.length);
        assert.equal(sha256(await readAll((await t.driver.get(put.location)).stream)), sha256(images[n]!.data));
      }
      assert.equal(new Set(puts.map((p) => p.location)).size, images.length);
    });

    writeTest('put of an image that already has data fails and keeps the original intact', async () => {
      const id = randomUUID();
      const original = randomBytes(4096);
      const { location } = await t.driver.put(id, sourceOf(original));
      const before = await t.contents();
      const second = sourceOf(randomBytes(8192));
      await assert.rejects(t.driver.put(id, second), (e) => isStoreDuplicateError(e));
      assert.ok(second.destroyed, 'the refused source is destroyed');
      assert.deepEqual(await readAll((await t.driver.get(location)).stream), original);
      assert.deepEqual(await t.contents(), before);
    });

    writeTest('racing puts of one image: exactly one wins, the store holds its data', async () => {
      const id = randomUUID();
      const datas = [randomBytes(300_000), randomBytes(300_000), randomBytes(300_000)];
      const results = await Promise.allSettled(datas.map((d) => t.driver.put(id, sourceOf(d, 4096))));
      const won = results.flatMap((r, n) => (r.status === 'fulfilled' ? [{ put: r.value, data: datas[n]! }] : []));
      for (const r of results) if (r.status === 'rejected') assert.ok(isStoreDuplicateError(r.reason), String(r.reason));
      const stored = sha256(await readAll((await t.driver.get(won[0]!.put.location)).stream));
      if (t.atomicCreate === false) {
        assert.ok(won.length >= 1, 'at least one put wins');
        assert.ok(won.some((w) => sha256(w.data) === stored), 'the store holds the complete data of one winner');
        return;
      }
      assert.equal(won.length, 1, 'one put wins');
      assert.equal(stored, sha256(won[0]!.data));
    });

    test('locations outside the store are refused (InvalidLocation) and not owned', async () => {
      for (const location of t.foreignLocations) {
        assert.equal(t.driver.owns(location), false, location);
        await assert.rejects(t.driver.get(location), storeError('InvalidLocation'), location);
        await assert.rejects(t.driver.size(location), storeError('InvalidLocation'), location);
        await assert.rejects(t.driver.delete(location), storeError('InvalidLocation'), location);
      }
    });
  });
}

// ---- file driver specifics ----

describe('file store', () => {
  let root: string;
  before(async () => { root = await mkdtemp(join(tmpdir(), 'glimpse-filestore-')); });
  after(async () => { await rm(root, { recursive: true, force: true }); });

  test('writes <dataDir>/<id> and answers Glance\'s location form file://<absolute path>', async () => {
    const dataDir = join(root, 'glance-form');
    const driver = new FileStoreDriver({ id: 'file', dataDir });
    const id = randomUUID();
    const { location } = await driver.put(id, Readable.from([Buffer.from('abc')]));
    assert.equal(location, `file://${dataDir}/${id}`);
    assert.equal(driver.locationFor(id), location);
    assert.equal(await readFile(join(dataDir, id), 'utf8'), 'abc');
    assert.ok(driver.owns(`FILE://${dataDir}/${id}`), 'the scheme is case-insensitive');
  });

  test('creates a missing data directory (mkdir -p), also when it disappears later', async () => {
    const dataDir = join(root, 'a', 'b', 'c');
    const driver = new FileStoreDriver({ id: 'file', dataDir });
    await driver.put(randomUUID(), Readable.from([Buffer.from('x')]));
    await rm(join(root, 'a'), { recursive: true });
    await driver.put(randomUUID(), Readable.from([Buffer.from('y')]));
    assert.equal((await readdir(dataDir)).length, 1);
  });

  test('flushing in the background while receiving keeps the data intact', async () => {
    const driver = new FileStoreDriver({ id: 'file', dataDir: join(root, 'flush'), syncEveryBytes: 64 * 1024 });
    const data = randomBytes(3 * 1024 * 1024 + 5);
    const { location, bytesWritten } = await driver.put(randomUUID(), sourceOf(data, 10_000));
    assert.equal(bytesWritten, data.length);
    assert.equal(sha256(await readAll((await driver.get(location)).stream)), sha256(data));
  });

  test('reads are served in 1 MiB pieces and writes are batched, with every byte intact (also ranges)', async () => {
    const driver = new FileStoreDriver({ id: 'file', dataDir: join(root, 'batches') });
    const data = randomBytes(5 * 1024 * 1024 + 3);
    const { location } = await driver.put(randomUUID(), sourceOf(data, 65_536));
    const { stream } = await driver.get(location);
    const sizes: number[] = [];
    stream.on('data', (chunk: Buffer) => sizes.push(chunk.length));
    assert.equal(sha256(await readAll(stream)), sha256(data));
    assert.equal(Math.max(...sizes), 1024 * 1024);
    assert.ok(sizes.length <= 6, `${sizes.length} reads`);
    const range = await driver.get(location, { range: { start: 1_000_000, end: 3_500_000 } });
    assert.equal(sha256(await readAll(range.stream)), sha256(data.subarray(1_000_000, 3_500_001)));
  });

  test('a relative dataDir is made absolute', () => {
    const driver = new FileStoreDriver({ id: 'file', dataDir: 'data/images' });
    assert.equal(driver.dataDir, join(process.cwd(), 'data/images'));
  });

  test('image ids that are not plain names are refused before anything is written', async () => {
    const dataDir = join(root, 'ids');
    const driver = new FileStoreDriver({ id: 'file', dataDir });
    for (const id of ['', '../escape', 'a/b', 'x.tmp', '.', '..', 'a\0b', 'x'.repeat(201)]) {
      await assert.rejects(driver.put(id, Readable.from([Buffer.from('x')])), storeError('InvalidLocation'), JSON.stringify(id));
    }
    assert.deepEqual(await readdir(dataDir).catch(() => []), []);
    assert.deepEqual(await readdir(root).then((names) => names.includes('escape')), false);
  });

  test('a symlink planted in the data directory is not followed', async () => {
    const dataDir = join(root, 'links');
    await mkdir(dataDir, { recursive: true });
    await writeFile(join(root, 'outside'), 'secret');
    const { symlink } = await import('node:fs/promises');
    const id = randomUUID();
    await symlink(join(root, 'outside'), join(dataDir, id));
    const driver = new FileStoreDriver({ id: 'file', dataDir });
    await assert.rejects(driver.get(`file://${dataDir}/${id}`), storeError('StoreNotFound'));
    await assert.rejects(driver.size(`file://${dataDir}/${id}`), storeError('StoreNotFound'));
  });

  test('filePerm sets the mode of stored files (filesystem_store_file_perm)', async () => {
    const dataDir = join(root, 'perm');
    const driver = new FileStoreDriver({ id: 'file', dataDir, filePerm: 0o640 });
    const id = randomUUID();
    await driver.put(id, Readable.from([Buffer.from('x')]));
    const { stat } = await import('node:fs/promises');
    assert.equal((await stat(join(dataDir, id))).mode & 0o777, 0o640);
  });

  test('recoverTempFiles removes stale temp files only', async () => {
    const dataDir = join(root, 'recover');
    await mkdir(dataDir, { recursive: true });
    const id = randomUUID();
    const stale = `${id}.0123456789abcdef.tmp`;
    const fresh = `${randomUUID()}.fedcba9876543210.tmp`;
    await writeFile(join(dataDir, id), 'image');
    await writeFile(join(dataDir, stale), 'partial');
    await writeFile(join(dataDir, fresh), 'in progress');
    await writeFile(join(dataDir, 'notes.tmp'), 'operator file, not ours');
    const hourAgo = new Date(Date.now() - 3600_000);
    await utimes(join(dataDir, stale), hourAgo, hourAgo);

    assert.deepEqual(await recoverTempFiles(dataDir, { olderThanMs: 600_000 }), [stale]);
    assert.deepEqual((await readdir(dataDir)).sort(), [id, fresh, 'notes.tmp'].sort());
    const driver = new FileStoreDriver({ id: 'file', dataDir });
    assert.deepEqual(await driver.recoverTempFiles(), [fresh]);
    assert.deepEqual((await readdir(dataDir)).sort(), [id, 'notes.tmp'].sort());
    assert.deepEqual(await recoverTempFiles(join(root, 'does-not-exist')), []);
  });

  test('fs errors map to store errors: full → StoreFull, denied/read-only → StoreUnavailable, missing → StoreNotFound', () => {
    const fsError = (code: string) => Object.assign(new Error(`${code}: something`), { code, syscall: 'write' });
    const kindOf = (error: unknown) => (error instanceof StoreError ? error.kind : undefined);
    for (const code of ['ENOSPC', 'EDQUOT', 'EFBIG']) assert.equal(kindOf(storeErrorFromFs(fsError(code), 'write')), 'StoreFull', code);
    for (const code of ['EACCES', 'EPERM', 'EROFS']) {
      assert.equal(kindOf(storeErrorFromFs(fsError(code), 'write')), 'StoreUnavailable', code);
      assert.equal(kindOf(storeErrorFromFs(fsError(code), 'read')), 'StoreUnavailable', code);
    }
    assert.equal(kindOf(storeErrorFromFs(fsError('ENOENT'), 'read')), 'StoreNotFound');
    const eio = fsError('EIO');
    assert.equal(storeErrorFromFs(eio, 'write'), eio, 'other errors pass unchanged');
    const plain = new Error('no code');
    assert.equal(storeErrorFromFs(plain, 'write'), plain);
    const full = storeErrorFromFs(fsError('ENOSPC'), 'write') as StoreError;
    assert.equal(full.message, 'There is not enough disk space on the image storage media.', 'glance_store\'s text, no path');
    assert.equal((full as Error & { cause?: unknown }).cause instanceof Error, true);
  });
});

// A real full disk and a real read-only filesystem: a small tmpfs, when this process may mount one.
function tryMount(dir: string, options: string): boolean {
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', options, 'tmpfs', dir], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

describe('file store on a real small filesystem', () => {
  let root: string;
  const mounted: string[] = [];
  before(async () => { root = await mkdtemp(join(tmpdir(), 'glimpse-tmpfs-')); });
  after(async () => {
    for (const dir of mounted) execFileSync('umount', [dir], { stdio: 'ignore' });
    await rm(root, { recursive: true, force: true });
  });

  test('a full disk → StoreFull, and the partial file is removed', async (t) => {
    const dir = join(root, 'full');
    await mkdir(dir);
    if (!tryMount(dir, 'size=1m')) return t.skip('cannot mount a tmpfs here (needs root)');
    mounted.push(dir);
    for (const syncEveryBytes of [undefined, 100_000]) {
      const driver = new FileStoreDriver({ id: 'file', dataDir: dir, syncEveryBytes });
      await assert.rejects(driver.put(randomUUID(), sourceOf(randomBytes(3 * 1024 * 1024))), storeError('StoreFull'));
      assert.deepEqual(await readdir(dir), []);
    }
    const fits = await new FileStoreDriver({ id: 'file', dataDir: dir }).put(randomUUID(), sourceOf(randomBytes(500_000)));
    assert.equal(fits.bytesWritten, 500_000, 'the space freed by the failed puts is usable again');
  });

  test('a read-only filesystem → StoreUnavailable', async (t) => {
    const dir = join(root, 'ro');
    await mkdir(dir);
    if (!tryMount(dir, 'ro,size=1m')) return t.skip('cannot mount a tmpfs here (needs root)');
    mounted.push(dir);
    const driver = new FileStoreDriver({ id: 'file', dataDir: dir });
    const source = sourceOf(randomBytes(1000));
    await assert.rejects(driver.put(randomUUID(), source), storeError('StoreUnavailable'));
    assert.ok(source.destroyed);
  });
});

describe('store registry', () => {
  const backend = (id: string, type: string, dir?: string, options: Record<string, string> = {}): BackendConfig =>
    ({ id, type, weight: 0, options, ...(dir ? { filesystemStoreDatadir: dir } : {}) });

  test('one driver per file backend; default, get, ids, forLocation; other types skipped with one warning', async () => {
    const root = await mkdtemp(join(tmpdir(), 'glimpse-registry-'));
    try {
      const warnings: unknown[] = [];
      const registry = createStoreRegistry({ stores: { multiStore: true, defaultBackend: 'fast', backends: [
        backend('fast', 'file', join(root, 'fast')),
        backend('cheap', 'file', join(root, 'fast', 'cheap'), { filesystem_store_file_perm: '640' }),
        backend('web', 'http'),
        backend('blocks', 'rbd'),
        backend('vols', 'cinder'),
      ] } }, { log: { warn: (obj, msg) => warnings.push([obj, msg]) } });
      assert.deepEqual(registry.ids(), ['fast', 'cheap', 'web']);
      assert.equal(registry.get('web')?.type, 'http');
      assert.equal(registry.default().id, 'fast');
      assert.equal(registry.get('cheap')?.type, 'file');
      assert.equal(registry.get('blocks'), undefined);
      assert.equal(registry.get('nope'), undefined);
      assert.deepEqual(registry.skipped.map((s) => s.id), ['blocks', 'vols']);
      assert.equal(warnings.length, 1);

      const id = randomUUID();
      const { location } = await registry.get('cheap')!.put(id, Readable.from([Buffer.from('x')]));
      assert.equal(registry.forLocation(location)?.id, 'cheap', 'nested data directories resolve to the right store');
      assert.equal(registry.forLocation(`file://${root}/fast/${id}`)?.id, 'fast');
      assert.equal(registry.forLocation('file:///etc/passwd'), undefined);
      assert.equal(registry.forLocation('swift://x/y'), undefined);
      assert.equal(registry.forLocation('https://example.com/image.qcow2')?.id, 'web');
      const { stat } = await import('node:fs/promises');
      assert.equal((await stat(join(root, 'fast', 'cheap', id))).mode & 0o777, 0o640, 'filesystem_store_file_perm is octal');

      await writeFile(join(root, 'fast', `${randomUUID()}.0123456789abcdef.tmp`), 'x');
      const removed = await registry.recoverTempFiles();
      assert.equal(removed.fast?.length, 1);
      assert.deepEqual(removed.cheap, []);
    } finally {
      await rm(root, { recursive: true, force: true });
    }
  });

  test('the legacy single store is one `file` backend', () => {
    const registry = createStoreRegistry({ stores: { multiStore: false, defaultBackend: 'file',
      backends: [backend('file', 'file', '/var/lib/glimpse/images')] } });
    assert.deepEqual(registry.ids(), ['file']);
    assert.equal(registry.default().owns('file:///var/lib/glimpse/images/0d7e9c4a-6e5e-4b8c-9f5e-3f2a1b0c9d8e'), true);
  });

  test('a default backend without a driver is refused', () => {
    assert.throws(() => createStoreRegistry({ stores: { multiStore: true, defaultBackend: 'obj',
      backends: [backend('obj', 'rbd')] } }), /default store "obj" has no driver/);
  });
});
