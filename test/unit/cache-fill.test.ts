// The cache tee (src/cache/fill.ts): a write error (disk full) abandons the fill but never the
// download — every byte still reaches the consumer; a complete, matching stream commits once.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import type { FileHandle } from 'node:fs/promises';
import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { CacheFill, type FillResult } from '../../src/cache/fill.ts';

/** A fake FileHandle (named so): filling a real disk in a test would hurt the shared machine. */
function fakeFileHandle(failWrites: boolean): FileHandle & { written: number } {
  const fake = {
    written: 0,
    async write(buffer: Buffer, _offset = 0, length = buffer.length) {
      if (failWrites) throw Object.assign(new Error('no space left on device'), { code: 'ENOSPC' });
      fake.written += length;
      return { bytesWritten: length, buffer };
    },
    async close() {},
    async datasync() {},
  };
  return fake as unknown as FileHandle & { written: number };
}

async function run(data: Buffer, failWrites: boolean) {
  const events: string[] = [];
  let result: FillResult | undefined;
  const h = fakeFileHandle(failWrites);
  const tee = new CacheFill(h, 'sha512', data.length, {
    onComplete: async (r) => { result = r; events.push('complete'); },
    onAbandon: async (_h, reason) => { events.push(`abandon:${(reason as { code?: string }).code ?? ''}`); },
  });
  const received: Buffer[] = [];
  const chunks = Array.from({ length: 8 }, (_, i) => data.subarray(i * (data.length / 8), (i + 1) * (data.length / 8)));
  await pipeline(Readable.from(chunks), tee, new Writable({ write(c: Buffer, _e, cb) { received.push(c); cb(); } }));
  await tee.settled;
  return { events, result, received: Buffer.concat(received), written: h.written };
}

test('a disk-full write error abandons the fill; the consumer still gets every byte', async () => {
  const data = randomBytes(64 * 1024);
  const { events, received, result } = await run(data, true);
  assert.ok(received.equals(data));
  assert.deepEqual(events, ['abandon:ENOSPC']);
  assert.equal(result, undefined);
});

test('a complete stream commits once with its size and digest', async () => {
  const data = randomBytes(64 * 1024);
  const { events, received, result, written } = await run(data, false);
  assert.ok(received.equals(data));
  assert.deepEqual(events, ['complete']);
  assert.deepEqual(result, { bytes: data.length, digest: createHash('sha512').update(data).digest('hex') });
  assert.equal(written, data.length);
});
