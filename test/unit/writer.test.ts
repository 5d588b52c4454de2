// The upload pipeline (src/stores/writer.ts) over the real file store: digests, limits, size
// checks, error mapping, abort, and that nothing is ever left in the store after a failure.
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';

import { DomainError, badRequest, payloadTooLarge } from '../../src/domain/errors.ts';
import { StoreError, type PutResult, type StoreDriver } from '../../src/ports/store.ts';
import { FileStoreDriver } from '../../src/stores/file/file-driver.ts';
import { writeImageData, type WriteImageDataOptions } from '../../src/stores/writer.ts';

const EMPTY_MD5 = 'd41d8cd98f00b204e9800998ecf8427e';
const hex = (algorithm: string, data: Buffer) => createHash(algorithm).update(data).digest('hex');

function sourceOf(data: Buffer, chunk = 65_536): Readable {
  const parts: Buffer[] = [];
  for (let at = 0, i = 0; at < data.length; i++) {
    const n = Math.min(data.length - at, 1 + ((chunk * (i % 3 + 1)) >> 1));
    parts.push(data.subarray(at, at + n));
    at += n;
  }
  return Readable.from(parts, { objectMode: false });
}

const capError = () => payloadTooLarge('Image exceeds the size limit of {limit} bytes.', { limit: 1 }, 'quota.size_cap');
const unlimited = { maxBytes: Infinity, error: capError };

function domainError(kind: DomainError['kind'], code?: string) {
  return (error: unknown) => {
    assert.ok(error instanceof DomainError, `expected DomainError ${kind}, got ${String(error)}`);
    assert.equal(error.kind, kind);
    if (code !== undefined) assert.equal(error.code, code);
    return true;
  };
}

/** A fake store (named as such): reads `after` bytes of the body, then fails with `error`. */
class FailingFakeDriver implements StoreDriver {
  readonly id = 'fake';
  readonly type = 'fake';
  constructor(private readonly after: number, private readonly error: Error) {}
  async put(_id: string, source: Readable): Promise<PutResult> {
    let seen = 0;
    for await (const chunk of source) {
      seen += (chunk as Buffer).length;
      if (seen >= this.after) break;
    }
    source.destroy();
    throw this.error;
  }
  get(): never { throw new Error('not used'); }
  async delete(): Promise<void> {}
  async size(): Promise<number> { return 0; }
  owns(): boolean { return false; }
}

describe('writeImageData', () => {
  let dataDir: string;
  let driver: FileStoreDriver;
  const stored = async () => readdir(dataDir).catch(() => [] as string[]);
  const write = (options: Partial<WriteImageDataOptions> & { source: Readable }) => writeImageData({
    driver, imageId: randomUUID(), limit: unlimited, hashingAlgorithm: 'sha512', ...options,
  });

  before(async () => {
    dataDir = join(await mkdtemp(join(tmpdir(), 'glimpse-writer-')), 'images');
    driver = new FileStoreDriver({ id: 'file', dataDir });
  });
  after(async () => { await rm(join(dataDir, '..'), { recursive: true, force: true }); });

  for (const [glance, node] of [['sha512', 'sha512'], ['sha256', 'sha256'], ['sha3_256', 'sha3-256'], ['blake2b', 'blake2b512']]) {
    test(`checksum (md5) and os_hash_value (${glance}) equal node:crypto's digests of the same data`, async () => {
      const data = randomBytes(3 * 1024 * 1024 + 123);
      const written = await write({ source: sourceOf(data), hashingAlgorithm: glance! });
      assert.equal(written.size, data.length);
      assert.equal(written.checksum, hex('md5', data));
      assert.equal(written.osHashAlgo, glance, 'the Glance name is what the image records');
      assert.equal(written.osHashValue, hex(node!, data));
      const { stream } = await driver.get(written.location);
      const back: Buffer[] = [];
      for await (const chunk of stream) back.push(chunk as Buffer);
      assert.equal(hex('md5', Buffer.concat(back)), written.checksum, 'the stored bytes are the hashed bytes');
    });
  }

  test('an empty stream stores 0 bytes with the md5 of the empty string', async () => {
    const written = await write({ source: Readable.from([]) });
    assert.equal(written.size, 0);
    assert.equal(written.checksum, EMPTY_MD5);
    assert.equal(written.osHashValue, hex('sha512', Buffer.alloc(0)));
    assert.equal(await driver.size(written.location), 0);
  });

  test('exceeding the size limit fails with the given error and stores nothing', async () => {
    const before = await stored();
    const source = sourceOf(randomBytes(2 * 1024 * 1024));
    await assert.rejects(write({ source, limit: { maxBytes: 1024 * 1024, error: capError } }),
      domainError('PayloadTooLarge', 'quota.size_cap'));
    assert.ok(source.destroyed, 'the request stream is stopped');
    assert.deepEqual(await stored(), before);
  });

  test('exactly maxBytes is allowed; one more byte is not', async () => {
    const data = randomBytes(10_000);
    const written = await write({ source: sourceOf(data), limit: { maxBytes: 10_000, error: capError } });
    assert.equal(written.size, 10_000);
    const before = await stored();
    await assert.rejects(write({ source: sourceOf(data), limit: { maxBytes: 9_999, error: capError } }),
      domainError('PayloadTooLarge'));
    await assert.rejects(write({ source: sourceOf(Buffer.alloc(1)), limit: { maxBytes: 0, error: capError } }),
      domainError('PayloadTooLarge'));
    assert.deepEqual(await stored(), before);
  });

  test('fewer bytes than the expected size → 400 and nothing stored', async () => {
    const before = await stored();
    await assert.rejects(write({ source: sourceOf(randomBytes(1000)), expectedSize: 1001 }),
      domainError('BadRequest', 'upload.size_mismatch'));
    assert.deepEqual(await stored(), before);
  });

  test('more bytes than the expected size → 400 as soon as they arrive, and nothing stored', async () => {
    const before = await stored();
    const source = sourceOf(randomBytes(4 * 1024 * 1024));
    await assert.rejects(write({ source, expectedSize: 1000 }), domainError('BadRequest', 'upload.size_mismatch'));
    assert.ok(source.destroyed);
    assert.deepEqual(await stored(), before);
  });

  test('the expected size, when right, is accepted (also 0)', async () => {
    assert.equal((await write({ source: sourceOf(randomBytes(777)), expectedSize: 777 })).size, 777);
    assert.equal((await write({ source: Readable.from([]), expectedSize: 0 })).checksum, EMPTY_MD5);
  });

  test('data for an image that already has data → 409, and the original stays', async () => {
    const imageId = randomUUID();
    const first = await write({ imageId, source: sourceOf(Buffer.from('first')) });
    await assert.rejects(write({ imageId, source: sourceOf(Buffer.from('second')) }), domainError('Conflict', 'store.duplicate'));
    assert.equal(await driver.size(first.location), 5);
  });

  test('a full store → 413 "Image storage media is full: …"', async () => {
    const full = new FailingFakeDriver(100_000, new StoreError('StoreFull', 'There is not enough disk space on the image storage media.'));
    await assert.rejects(write({ driver: full, source: sourceOf(randomBytes(1024 * 1024)) }), (error) => {
      assert.ok(error instanceof DomainError);
      assert.equal(error.kind, 'PayloadTooLarge');
      assert.equal(error.code, 'store.full');
      assert.equal(error.detail.id, 'Image storage media is full: {reason}');
      assert.equal(error.detail.params.reason, 'There is not enough disk space on the image storage media.');
      return true;
    });
  });

  test('a store refusing writes → 503', async () => {
    const denied = new FailingFakeDriver(1, new StoreError('StoreUnavailable', 'Permission to write image storage media denied.'));
    await assert.rejects(write({ driver: denied, source: sourceOf(randomBytes(1000)) }),
      domainError('ServiceUnavailable', 'store.write_denied'));
  });

  test('a driver failing before it reads the body still stops the request stream', async () => {
    const source = sourceOf(randomBytes(1000));
    const refuses = new FailingFakeDriver(0, new StoreError('StoreUnavailable', 'down'));
    refuses.put = async () => { throw new StoreError('StoreUnavailable', 'down'); };
    await assert.rejects(write({ driver: refuses, source }), domainError('ServiceUnavailable'));
    assert.ok(source.destroyed);
  });

  test('an abort rejects with the abort reason and stores nothing', async () => {
    const before = await stored();
    const controller = new AbortController();
    const reason = new Error('client disconnected');
    let sent = 0;
    const source = new Readable({
      read() {
        if (sent >= 1024 * 1024) {
          setImmediate(() => controller.abort(reason));
          return;
        }
        sent += 65_536;
        this.push(Buffer.alloc(65_536, 1));
      },
    });
    await assert.rejects(write({ source, signal: controller.signal }), (e) => e === reason);
    assert.deepEqual(await stored(), before);
  });

  test('a failing source (client gone) rejects with its error and stores nothing', async () => {
    const before = await stored();
    const boom = Object.assign(new Error('aborted'), { code: 'ECONNRESET' });
    let sent = 0;
    const source = new Readable({
      read() {
        if (sent >= 512 * 1024) { this.destroy(boom); return; }
        sent += 65_536;
        this.push(Buffer.alloc(65_536, 2));
      },
    });
    await assert.rejects(write({ source }), (e) => e === boom);
    assert.deepEqual(await stored(), before);
  });

  test('backpressure: a slow store never makes the writer buffer the image', async () => {
    const total = 16 * 1024 * 1024;
    let produced = 0;
    let consumed = 0;
    let maxAhead = 0;
    const source = new Readable({
      highWaterMark: 65_536,
      read() {
        if (produced >= total) { this.push(null); return; }
        produced += 65_536;
        maxAhead = Math.max(maxAhead, produced - consumed);
        this.push(Buffer.alloc(65_536));
      },
    });
    const slow: StoreDriver = {
      id: 'slow', type: 'fake',
      async put(_id, body) {
        for await (const chunk of body) {
          consumed += (chunk as Buffer).length;
          if (consumed % (1024 * 1024) === 0) await new Promise((resolve) => setTimeout(resolve, 5));
        }
        return { location: 'fake://slow', bytesWritten: consumed };
      },
      get() { throw new Error('not used'); },
      async delete() {},
      async size() { return 0; },
      owns() { return false; },
    };
    const written = await write({ driver: slow, source });
    assert.equal(written.size, total);
    assert.ok(maxAhead <= 1024 * 1024, `at most a few stream buffers in flight, saw ${maxAhead} bytes`);
  });

  test('an unknown hashing algorithm is refused before anything is written', async () => {
    const before = await stored();
    await assert.rejects(write({ source: sourceOf(Buffer.from('x')), hashingAlgorithm: 'crc32' }), /unknown hashing algorithm/);
    assert.deepEqual(await stored(), before);
  });

  test('an extra chunk consumer sees exactly the accepted bytes; one that refuses stores nothing', async () => {
    const data = randomBytes(2 * 1024 * 1024 + 17);
    const seen = createHash('sha256');
    let finished = 0;
    const watcher = { update: (chunk: Buffer) => { seen.update(chunk); }, finish: () => { finished++; } };
    const written = await write({ source: sourceOf(data), consumers: [watcher] });
    assert.equal(written.checksum, hex('md5', data));
    assert.equal(seen.digest('hex'), hex('sha256', data));
    assert.equal(finished, 1);

    const before = await stored();
    const refusing = { update: () => undefined, finish: () => { throw badRequest('Signature verification failed', {}, 'test.refused'); } };
    await assert.rejects(write({ source: sourceOf(data), consumers: [refusing] }), domainError('BadRequest', 'test.refused'));
    const midway = { update: (chunk: Buffer) => { if (chunk.length > 0) throw badRequest('no', {}, 'test.midway'); } };
    await assert.rejects(write({ source: sourceOf(data), consumers: [midway] }), domainError('BadRequest', 'test.midway'));
    assert.deepEqual(await stored(), before, 'nothing stored, no temp file left');
  });
});
