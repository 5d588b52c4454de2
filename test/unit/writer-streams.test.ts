// The writer's stream stages (src/lib/streams.ts): byteLimit, and uploadTap, which checks the size
// rules, computes the digests and feeds any extra chunk consumers in one pass-through stage.
import { createHash } from 'node:crypto';
import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { test } from 'node:test';
import assert from 'node:assert/strict';

import { Digests, byteLimit, uploadTap, type UploadTapOptions } from '../../src/lib/streams.ts';

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

test('Digests computes several digests in one pass; values() only after finish()', () => {
  const data = Buffer.from('The quick brown fox jumps over the lazy dog');
  const digests = new Digests(['md5', 'sha512', 'sha3-256', 'md5']);
  digests.update(data.subarray(0, 7));
  digests.update(data.subarray(7));
  assert.throws(() => digests.values(), /only after/);
  digests.finish();
  const values = digests.values();
  assert.deepEqual(Object.keys(values).sort(), ['md5', 'sha3-256', 'sha512']);
  assert.equal(values.md5, '9e107d9d372bb6826bd81d3542a419d6');
  assert.equal(values.sha512, createHash('sha512').update(data).digest('hex'));
  assert.equal(values['sha3-256'], createHash('sha3-256').update(data).digest('hex'));
  assert.throws(() => new Digests(['nope']));
});

const tap = (options: Partial<UploadTapOptions>) => uploadTap({
  maxBytes: Infinity, onExceed: (max) => new Error(`over ${max}`), algorithms: ['md5', 'sha512'],
  onMismatch: (a, e) => new Error(`${a}/${e}`), ...options,
});

test('uploadTap: limit, exact length and digests in one stage; chunks pass on uncopied', async () => {
  const data = Buffer.from('The quick brown fox jumps over the lazy dog');
  const t = tap({ algorithms: ['md5', 'sha512', 'md5'], expectedSize: data.length });
  assert.throws(() => t.digests(), /only after/);
  const parts = [data.subarray(0, 7), data.subarray(7)];
  const passed: Buffer[] = [];
  const out = new Writable({ write(chunk: Buffer, _e, cb) { passed.push(chunk); cb(); } });
  await pipeline(Readable.from(parts, { objectMode: false }), t, out);
  assert.deepEqual(t.digests(), { md5: '9e107d9d372bb6826bd81d3542a419d6', sha512: createHash('sha512').update(data).digest('hex') });
  assert.equal(t.bytes, data.length);
  assert.equal(passed.length, 2);
  assert.ok(passed.every((chunk, i) => chunk.buffer === parts[i]!.buffer && chunk.byteOffset === parts[i]!.byteOffset),
    'the consumer got the source\'s own buffers');

  const big = Buffer.alloc(100_000);
  for (let i = 0; i < big.length; i++) big[i] = (i * 31) & 0xff;
  const bt = tap({});
  await pipeline(Readable.from([big.subarray(0, 33_333), big.subarray(33_333)], { objectMode: false }), bt, sink());
  assert.equal(bt.digests().sha512, createHash('sha512').update(big).digest('hex'));
});

test('uploadTap: the crossing chunk is refused whole; limit before length; too few fail before the end', async () => {
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
});

test('uploadTap: extra consumers see every accepted byte in order, and their refusal stops the end', async () => {
  const data = Buffer.alloc(10_000);
  for (let i = 0; i < data.length; i++) data[i] = (i * 7) & 0xff;
  const seen: Buffer[] = [];
  const order: string[] = [];
  const consumer = { update: (c: Buffer) => { seen.push(Buffer.from(c)); }, finish: async () => { order.push('finish'); } };
  const out = sink().on('finish', () => order.push('sink end'));
  await pipeline(Readable.from([data.subarray(0, 3000), data.subarray(3000)], { objectMode: false }),
    tap({ maxBytes: 10_000, consumers: [consumer] }), out);
  assert.ok(Buffer.concat(seen).equals(data));
  assert.deepEqual(order, ['finish', 'sink end'], 'the consumer finished before the end reached the store');

  let ended = false;
  const refusing = { update: () => undefined, finish: () => Promise.reject(new Error('bad signature')) };
  await assert.rejects(pipeline(chunks([5, 5]), tap({ consumers: [refusing] }), sink().on('finish', () => { ended = true; })),
    /bad signature/);
  assert.equal(ended, false);
  const throwing = { update: () => { throw new Error('verifier broke'); } };
  const after = sink();
  await assert.rejects(pipeline(chunks([5, 5]), tap({ consumers: [throwing] }), after), /verifier broke/);
  assert.equal(after.bytes, 0, 'the chunk a consumer refused was not passed on');
});

test('uploadTap: backpressure holds — a stalled sink stops the source', async () => {
  let produced = 0;
  const endless = new Readable({ read() { produced += 65_536; this.push(Buffer.alloc(65_536)); } });
  const stalled = new Writable({ highWaterMark: 65_536, write(_c, _e, _cb) { /* never completes */ } });
  const done = pipeline(endless, tap({}), stalled);
  await new Promise((resolve) => setTimeout(resolve, 100));
  // The source's, the stage's and the sink's stream buffers: a few chunks, never unbounded.
  assert.ok(produced <= 8 * 65_536, `bounded (${produced} bytes produced)`);
  endless.destroy(new Error('stop'));
  await assert.rejects(done, /stop/);
});
