// lib/file-range-stream.ts: a file range read into a reused ring of buffers. The bytes that reach
// the client must be exactly the file's, also when the client reads slowly (the socket holds chunks
// while the stream wants to read more), and the ring must actually be reused when the sink is known.
import { createHash, randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { mkdtemp, open, rm, writeFile } from 'node:fs/promises';
import { createServer, request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';

import { FileRangeStream, drainInto } from '../../src/lib/file-range-stream.ts';

const CHUNK = 64 * 1024;

async function withFile(bytes: Buffer, run: (path: string) => Promise<void>): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'glimpse-frs-'));
  try {
    const path = join(dir, 'data');
    await writeFile(path, bytes);
    await run(path);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** Serves `path[start..end]` through FileRangeStream; the client reads slowly when `slow`. */
async function download(path: string, start: number, end: number, options: { slow: boolean; sink: boolean }):
  Promise<{ received: Buffer; memories: number; chunks: number }> {
  const memories = new Set<ArrayBufferLike>();
  let chunks = 0;
  const server = createServer(async (_req, res) => {
    const stream = new FileRangeStream(await open(path, 'r'), { start, end, chunkSize: CHUNK });
    stream.on('data', (chunk: Buffer) => { memories.add(chunk.buffer); chunks++; });
    res.writeHead(200, { 'content-length': String(end - start + 1) });
    if (options.sink) drainInto(stream, res);
    stream.pipe(res);
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as { port: number };
  try {
    const received = await new Promise<Buffer>((resolve, reject) => {
      request(`http://127.0.0.1:${port}/`, { agent: false }, (res) => {
        const parts: Buffer[] = [];
        if (!options.slow) {
          res.on('data', (part: Buffer) => parts.push(part));
        } else {
          // Read a little at a time with pauses, so the server's socket stays full.
          res.pause();
          void (async () => {
            await sleep(300); // the server's socket fills up meanwhile
            for (;;) {
              const part = res.read(16 * 1024) as Buffer | null ?? res.read() as Buffer | null;
              if (part) parts.push(part);
              else if (res.readableEnded) break;
              else await Promise.race([once(res, 'readable'), once(res, 'end')]);
              if (parts.length % 64 === 0) await sleep(5);
            }
          })().catch(reject);
        }
        res.on('end', () => resolve(Buffer.concat(parts)));
        res.on('error', reject);
      }).on('error', reject).end();
    });
    return { received, memories: memories.size, chunks };
  } finally {
    server.close();
  }
}

const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

test('a slow client receives exactly the file, and the ring is reused', async () => {
  // More than loopback's socket buffers hold, so writes wait on the client and the ring is tested.
  const bytes = randomBytes(24 * 1024 * 1024 + 123);
  await withFile(bytes, async (path) => {
    const r = await download(path, 0, bytes.length - 1, { slow: true, sink: true });
    assert.equal(r.received.length, bytes.length);
    assert.equal(sha(r.received), sha(bytes));
    assert.ok(r.chunks >= 384);
    assert.ok(r.memories < r.chunks / 2, `${r.memories} buffers for ${r.chunks} chunks: the ring was not reused`);
  });
});

test('a fast client and a range: the exact bytes', async () => {
  const bytes = randomBytes(3 * 1024 * 1024);
  await withFile(bytes, async (path) => {
    const r = await download(path, 1000, 2_500_000, { slow: false, sink: true });
    assert.equal(sha(r.received), sha(bytes.subarray(1000, 2_500_001)));
  });
});

test('without a sink every chunk after the ring gets fresh memory', async () => {
  const bytes = randomBytes(1024 * 1024);
  await withFile(bytes, async (path) => {
    const r = await download(path, 0, bytes.length - 1, { slow: true, sink: false });
    assert.equal(sha(r.received), sha(bytes));
    assert.equal(r.memories, r.chunks, 'no reuse without knowing where the chunks went');
  });
});

test('destroyed mid-read, it closes the file once the read is back', async () => {
  const bytes = randomBytes(1024 * 1024);
  await withFile(bytes, async (path) => {
    const handle = await open(path, 'r');
    const stream = new FileRangeStream(handle, { start: 0, end: bytes.length - 1, chunkSize: CHUNK });
    stream.resume();
    await once(stream, 'data');
    stream.destroy();
    await once(stream, 'close');
    await assert.rejects(handle.stat(), /closed|EBADF/);
  });
});
