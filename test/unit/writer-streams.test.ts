// The writer's stream stages (src/lib/streams.ts): limit, exact length, count, hash, and uploadTap,
// which is all of them in one stage, hashing inline or in a HashPool's worker threads.
import { createHash } from 'node:crypto';
import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { after, test } from 'node:test';
import assert from 'node:assert/strict';

import { HashPool } from '../../src/lib/hash-pool.ts';
import {
  byteCounter, byteLimit, exactLength, hashTap, releaseChunk, uploadTap, willReleaseChunks, type UploadTapOptions,
} from '../../src/lib/streams.ts';

function sink(): Writable & { bytes: number } {
  const w = new Writable({ write(chunk: Buffer, _e, cb) { w.bytes += chunk.length; cb(); } }) as Writable & { bytes: number };
  w.bytes = 0;
  return w;
}

const chunks = (sizes: number[]) => Readable.from(sizes.map((n) => Buffer.alloc(n, 7)), { objectMode: false });

test('byteLimit passes up to max bytes and errors on the chunk that crosses it, passing none of it', async () => {
  const out = sink();
  const limit = byteLimit(100, (max) => new Error(`over ${max}`));
  await assert.rejects(pipeline(chunks([60, 40, 1, 50]), limit, out), /over 100/);
  assert.equal(out.bytes, 100);
  assert.equal(limit.bytes, 100);

  const exact = sink();
  await pipeline(chunks([60, 40]), byteLimit(100, () => new Error('no')), exact);
  assert.equal(exact.bytes, 100);
  await pipeline(chunks([1 << 20]), byteLimit(Infinity, () => new Error('no')), sink());
  assert.throws(() => byteLimit(-1, () => new Error('x')), RangeError);
});

test('byteLimit errors as soon as the limit is crossed, without reading the rest', async () => {
  let produced = 0;
  const endless = new Readable({ read() { produced += 1024; this.push(Buffer.alloc(1024)); } });
  await assert.rejects(pipeline(endless, byteLimit(10_000, () => new Error('cap')), sink()), /cap/);
  assert.ok(produced < 200_000, `stopped early (${produced} bytes produced)`);
  assert.ok(endless.destroyed);
});

test('exactLength: too many bytes fail at once, too few at the end (before the end reaches the sink)', async () => {
  let finished = false;
  const out = sink().on('finish', () => { finished = true; });
  await assert.rejects(pipeline(chunks([10, 10]), exactLength(15, (a, e) => new Error(`${a}/${e}`)), out), /20\/15/);
  const short = sink().on('finish', () => { finished = true; });
  await assert.rejects(pipeline(chunks([10]), exactLength(15, (a, e) => new Error(`${a}/${e}`)), short), /10\/15/);
  assert.equal(finished, false, 'the sink never saw the end');
  await pipeline(chunks([]), exactLength(0, () => new Error('no')), sink());
  await pipeline(chunks([5, 10]), exactLength(15, () => new Error('no')), sink());
});

test('byteCounter counts', async () => {
  const counter = byteCounter();
  await pipeline(chunks([3, 4, 5]), counter, sink());
  assert.equal(counter.bytes, 12);
});

test('hashTap computes several digests in one pass; digests() only after the end', async () => {
  const data = Buffer.from('The quick brown fox jumps over the lazy dog');
  const tap = hashTap(['md5', 'sha512', 'sha3-256', 'md5']);
  assert.throws(() => tap.digests(), /only after/);
  await pipeline(Readable.from([data.subarray(0, 7), data.subarray(7)], { objectMode: false }), tap, sink());
  const digests = tap.digests();
  assert.deepEqual(Object.keys(digests).sort(), ['md5', 'sha3-256', 'sha512']);
  assert.equal(digests.md5, '9e107d9d372bb6826bd81d3542a419d6');
  assert.equal(digests.sha512, createHash('sha512').update(data).digest('hex'));
  assert.equal(digests['sha3-256'], createHash('sha3-256').update(data).digest('hex'));
  assert.equal(tap.bytes, data.length);
});

const pool = new HashPool({ maxWorkers: 2, blockSize: 4096, blocks: 2 });
after(() => pool.close());

for (const mode of ['inline', 'worker'] as const) {
  const tap = (options: Partial<UploadTapOptions>) => uploadTap({
    maxBytes: Infinity, onExceed: (max) => new Error(`over ${max}`), algorithms: ['md5', 'sha512'],
    onMismatch: (a, e) => new Error(`${a}/${e}`), pool: mode === 'worker' ? pool : undefined, ...options,
  });

  test(`uploadTap (${mode} hashing): limit, exact length and digests in one stage`, async () => {
    const data = Buffer.from('The quick brown fox jumps over the lazy dog');
    const t = tap({ algorithms: ['md5', 'sha512', 'md5'], expectedSize: data.length });
    assert.throws(() => t.digests(), /only after/);
    const out = sink();
    await pipeline(Readable.from([data.subarray(0, 7), data.subarray(7)], { objectMode: false }), t, out);
    assert.deepEqual(t.digests(), { md5: '9e107d9d372bb6826bd81d3542a419d6', sha512: createHash('sha512').update(data).digest('hex') });
    assert.equal(t.bytes, data.length);
    assert.equal(out.bytes, data.length);

    const big = Buffer.alloc(100_000);
    for (let i = 0; i < big.length; i++) big[i] = (i * 31) & 0xff;
    const bt = tap({});
    await pipeline(Readable.from([big.subarray(0, 33_333), big.subarray(33_333)], { objectMode: false }), bt, sink());
    assert.equal(bt.digests().sha512, createHash('sha512').update(big).digest('hex'));
  });

  test(`uploadTap (${mode} hashing): the crossing chunk is refused whole; limit before length`, async () => {
    const out = sink();
    const limited = tap({ maxBytes: 100 });
    await assert.rejects(pipeline(chunks([60, 40, 1, 50]), limited, out), /over 100/);
    assert.equal(out.bytes, 100);
    assert.equal(limited.bytes, 100);
    await assert.rejects(pipeline(chunks([60, 50]), tap({ maxBytes: 100, expectedSize: 90 }), sink()), /over 100/);

    let finished = false;
    const long = sink().on('finish', () => { finished = true; });
    await assert.rejects(pipeline(chunks([10, 10]), tap({ expectedSize: 15 }), long), /20\/15/);
    const short = sink().on('finish', () => { finished = true; });
    await assert.rejects(pipeline(chunks([10]), tap({ expectedSize: 15 }), short), /10\/15/);
    assert.equal(finished, false, 'the sink never saw the end');
    await pipeline(chunks([]), tap({ maxBytes: 0, expectedSize: 0 }), sink());
    assert.throws(() => tap({ maxBytes: -1 }), RangeError);
    assert.throws(() => tap({ expectedSize: 1.5 }), RangeError);
    assert.throws(() => tap({ algorithms: ['nope'] }));
    assert.equal(pool.lanes, 0, 'no lane left open');
  });

  test(`uploadTap (${mode} hashing): a releasing consumer gets the stage's own blocks, reused only once released`, async () => {
    // 3 blocks of 4 KiB for 100 KiB in odd-sized chunks: every block is refilled many times.
    const data = Buffer.alloc(100_000);
    for (let i = 0; i < data.length; i++) data[i] = (i * 131 + (i >> 9)) & 0xff;
    const sizes = [1, 4095, 5000, 12_000, 333, 78_571];
    const parts: Buffer[] = [];
    for (let at = 0, i = 0; at < data.length; at += sizes[i]!, i++) parts.push(data.subarray(at, at + sizes[i]!));
    const t = tap({ blocks: 3, blockSize: 4096, expectedSize: data.length });
    willReleaseChunks(t);
    const copies: Buffer[] = [];
    const seen = new Set<ArrayBufferLike>();
    let held: Buffer[] = [];
    const consumer = new Writable({
      highWaterMark: 1,
      write(chunk: Buffer, _e, cb) {
        seen.add(chunk.buffer);
        held.push(chunk);
        // Hold two chunks at a time, then check they are untouched before giving them back.
        setTimeout(() => {
          if (held.length >= 2) {
            for (const c of held) { copies.push(Buffer.from(c)); releaseChunk(c); }
            held = [];
          }
          cb();
        }, 1);
      },
      final(cb) {
        for (const c of held) { copies.push(Buffer.from(c)); releaseChunk(c); }
        cb();
      },
    });
    await pipeline(Readable.from(parts, { objectMode: false }), t, consumer);
    assert.ok(Buffer.concat(copies).equals(data), 'the consumer saw exactly the data, in order');
    assert.equal(seen.size, 1, 'all chunks were views of the stage\'s one ring, not copies');
    assert.equal(t.digests().sha512, createHash('sha512').update(data).digest('hex'));
    assert.equal(t.digests().md5, createHash('md5').update(data).digest('hex'));
    releaseChunk(Buffer.alloc(1)); // a chunk from elsewhere: nothing happens
  });

  test(`uploadTap (${mode} hashing): backpressure holds — a stalled sink stops the source`, async () => {
    let produced = 0;
    const endless = new Readable({ read() { produced += 65_536; this.push(Buffer.alloc(65_536)); } });
    const stalled = new Writable({ highWaterMark: 65_536, write(_c, _e, _cb) { /* never completes */ } });
    const t = tap({});
    const done = pipeline(endless, t, stalled);
    await new Promise((resolve) => setTimeout(resolve, 200));
    // Source buffer + the stage's two 1 MiB buffers + the sink's: a few MiB, never unbounded.
    assert.ok(produced < 8 * 1024 * 1024, `bounded (${produced} bytes produced)`);
    endless.destroy(new Error('stop'));
    await assert.rejects(done, /stop/);
    assert.equal(pool.lanes, 0, 'the failed upload released its lane');
  });
}

test('uploadTap (worker hashing): the ring goes back to the pool only once the consumer has given every block back', async () => {
  const own = new HashPool({ maxWorkers: 1 });
  try {
    const make = () => uploadTap({ maxBytes: Infinity, onExceed: () => new Error('over'), algorithms: ['md5', 'sha512'],
      pool: own, blocks: 3 });
    const data = Buffer.alloc(3 * 1024 * 1024 + 5, 7);
    const first = make();
    willReleaseChunks(first);
    const held: Buffer[] = [];
    // Keep the last block: the tap ends (digests in) while the consumer still holds data to write.
    const kept = new Writable({ highWaterMark: 1, write(chunk: Buffer, _e, cb) {
      held.push(chunk);
      if (held.length > 1) releaseChunk(held.shift()!);
      cb();
    } });
    await pipeline(Readable.from([data.subarray(0, 1_000_000), data.subarray(1_000_000)], { objectMode: false }), first, kept);
    assert.equal(first.digests().md5, createHash('md5').update(data).digest('hex'));
    assert.equal(own.idleRingCount, 0, 'a block is still held: the ring must not be handed out again');
    const memory = held[0]!.buffer;
    releaseChunk(held.shift()!);
    assert.equal(own.idleRingCount, 1, 'released: the ring is back in the pool');

    const second = make();
    willReleaseChunks(second);
    let reused = false;
    await pipeline(Readable.from([data], { objectMode: false }), second, new Writable({ write(chunk: Buffer, _e, cb) {
      reused ||= chunk.buffer === memory;
      releaseChunk(chunk);
      cb();
    } }));
    assert.ok(reused, 'the next upload wrote into the same ring');
    assert.equal(second.digests().sha512, createHash('sha512').update(data).digest('hex'));

    // A failed upload gives its ring back at once, even with blocks its consumer never returned.
    const failed = make();
    willReleaseChunks(failed);
    const source = new Readable({ read() { /* fed below */ } });
    const stuck = new Writable({ highWaterMark: 1, write(_chunk: Buffer, _e, _cb) { /* never written */ } });
    const done = pipeline(source, failed, stuck);
    source.push(Buffer.alloc(2 * 1024 * 1024));
    await new Promise((resolve) => setTimeout(resolve, 20));
    const before = own.idleRingCount;
    source.destroy(new Error('client went away'));
    await assert.rejects(done, /client went away/);
    assert.equal(own.idleRingCount, before + 1);
  } finally {
    await own.close();
  }
});

