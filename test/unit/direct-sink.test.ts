// The O_DIRECT writer of the file store (src/stores/file/direct-sink.ts, decision 0032): every size
// around the alignment and block boundaries, fed in odd chunk sizes, lands byte for byte in a file
// opened with O_DIRECT — which refuses any write whose memory, length or offset is not aligned, so a
// sink that wrote unaligned fails here with EINVAL. A failed write fails the stream.
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { constants } from 'node:fs';
import { mkdtemp, open, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { after, before, describe, test } from 'node:test';
import { BLOCK, DirectFileSink } from '../../src/stores/file/direct-sink.ts';

const sha = (data: Buffer) => createHash('sha256').update(data).digest('hex');

function chunked(data: Buffer, size: number): Readable {
  const chunks: Buffer[] = [];
  for (let at = 0; at < data.length; at += size) chunks.push(data.subarray(at, at + size));
  return Readable.from(chunks, { objectMode: false });
}

describe('DirectFileSink (O_DIRECT writes)', () => {
  let dir: string;
  before(async () => { dir = await mkdtemp(join(process.env.GLIMPSE_TEST_DIRECT_DIR ?? tmpdir(), 'glimpse-direct-')); });
  after(async () => { await rm(dir, { recursive: true, force: true }); });

  const sizes = [0, 1, 4095, 4096, 4097, BLOCK - 1, BLOCK, BLOCK + 1, 3 * BLOCK + 12_345];
  for (const chunk of [1000, 65_536, 3 * BLOCK]) {
    test(`every size around 4 KiB and 1 MiB boundaries, in ${chunk}-byte chunks`, async (t) => {
      for (const size of sizes) {
        const path = join(dir, `f-${chunk}-${size}`);
        let handle;
        try {
          handle = await open(path, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_DIRECT);
        } catch (error) {
          if ((error as NodeJS.ErrnoException).code === 'EINVAL') return t.skip(`${dir}: this filesystem refuses O_DIRECT`);
          throw error;
        }
        const data = randomBytes(size);
        const sink = new DirectFileSink(handle);
        try {
          await pipeline(chunked(data, chunk), sink);
        } finally {
          await handle.close();
        }
        assert.equal(sink.bytesWritten, size);
        const back = await readFile(path);
        assert.equal(back.length, size, `size ${size}`);
        assert.equal(sha(back), sha(data), `content of size ${size}`);
      }
    });
  }

  test('a write that fails fails the stream (read-only handle: EBADF)', async () => {
    const path = join(dir, 'ro');
    await (await open(path, 'w')).close();
    const handle = await open(path, 'r');
    try {
      await assert.rejects(pipeline(chunked(randomBytes(2 * BLOCK + 10), 65_536), new DirectFileSink(handle)), { code: 'EBADF' });
    } finally {
      await handle.close();
    }
  });
});
