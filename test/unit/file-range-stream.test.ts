// lib/file-range-stream.ts: a file range read into a reused ring of buffers. The bytes that reach
// the client must be exactly the file's, also when the client reads slowly (the socket holds chunks
// while the stream wants to read more), and the ring must actually be reused when the sink is known.
// With the sendfile binding built, a stream piped into its response sends by sendfile(2) instead
// (decision 0033): the same bytes, none through the stream, the descriptors closed when it stops.
import { createHash, randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { mkdtemp, open, readdir, rm, writeFile } from 'node:fs/promises';
import { Agent, createServer, request } from 'node:http';
import { tmpdir } from 'node:os';
import type { Socket } from 'node:net';
import { join } from 'node:path';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';

import { FileRangeStream, drainInto } from '../../src/lib/file-range-stream.ts';
import { sendfileAvailable } from '../../src/lib/sendfile.ts';

const noSendfile = sendfileAvailable() ? false : 'the sendfile binding is not built (node native/sendfile/build.mjs)';

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
async function download(path: string, start: number, end: number, options: { slow: boolean; sink: boolean; sendfile?: boolean }):
  Promise<{ received: Buffer; memories: number; chunks: number; delivered: number }> {
  const memories = new Set<ArrayBufferLike>();
  let chunks = 0;
  let delivered = 0;
  const server = createServer(async (_req, res) => {
    const stream = new FileRangeStream(await open(path, 'r'), { start, end, chunkSize: CHUNK, sendfile: options.sendfile ?? false });
    stream.on('data', (chunk: Buffer) => { memories.add(chunk.buffer); chunks++; });
    stream.on('end', () => { delivered = stream.bytesDelivered; });
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
    return { received, memories: memories.size, chunks, delivered };
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

test('sendfile: a slow client receives exactly the file, and no byte passes through the stream', { skip: noSendfile }, async () => {
  const bytes = randomBytes(24 * 1024 * 1024 + 123);
  await withFile(bytes, async (path) => {
    const r = await download(path, 0, bytes.length - 1, { slow: true, sink: true, sendfile: true });
    assert.equal(r.received.length, bytes.length);
    assert.equal(sha(r.received), sha(bytes));
    assert.equal(r.chunks, 0, 'the bytes went through the stream: sendfile was not used');
    assert.equal(r.delivered, bytes.length);
  });
});

test('sendfile: a range, exact bytes', { skip: noSendfile }, async () => {
  const bytes = randomBytes(3 * 1024 * 1024);
  await withFile(bytes, async (path) => {
    const r = await download(path, 1000, 2_500_000, { slow: false, sink: true, sendfile: true });
    assert.equal(sha(r.received), sha(bytes.subarray(1000, 2_500_001)));
    assert.equal(r.chunks, 0);
  });
});

/** Descriptors of this process that point at `path`. */
async function openCopies(path: string): Promise<number> {
  let n = 0;
  for (const fd of await readdir('/proc/self/fd')) {
    const target = await import('node:fs/promises').then((fs) => fs.readlink(`/proc/self/fd/${fd}`)).catch(() => '');
    if (target === path) n++;
  }
  return n;
}

test('sendfile: two responses on one kept-alive connection, then a HEAD-like reader gets the bytes itself', { skip: noSendfile, timeout: 20_000 }, async () => {
  const bytes = randomBytes(2 * 1024 * 1024 + 7);
  await withFile(bytes, async (path) => {
    let viaStream = 0;
    const server = createServer(async (req, res) => {
      const stream = new FileRangeStream(await open(path, 'r'), { start: 0, end: bytes.length - 1, chunkSize: CHUNK });
      res.writeHead(200, { 'content-length': String(req.url === '/drain' ? 0 : bytes.length) });
      drainInto(stream, res);
      if (req.url === '/drain') {
        // Read by someone other than the pipe (as fastify does for HEAD): sendfile must not write.
        stream.on('data', (chunk: Buffer) => { viaStream += chunk.length; });
        stream.on('end', () => res.end());
        return;
      }
      stream.pipe(res);
    });
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    const { port } = server.address() as { port: number };
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    const get = (url: string) => new Promise<{ body: Buffer; socket: unknown }>((resolve, reject) => {
      request(`http://127.0.0.1:${port}${url}`, { agent }, (res) => {
        const parts: Buffer[] = [];
        res.on('data', (p: Buffer) => parts.push(p));
        res.on('end', () => resolve({ body: Buffer.concat(parts), socket: res.socket }));
        res.on('error', reject);
      }).on('error', reject).end();
    });
    try {
      const first = await get('/');
      const second = await get('/');
      assert.equal(sha(first.body), sha(bytes));
      assert.equal(sha(second.body), sha(bytes));
      assert.equal(first.socket, second.socket, 'the connection was not kept alive');
      // The stream is read but not piped: no sendfile, yet the client still gets the head and a body.
      const drained = await get('/drain');
      assert.equal(viaStream, bytes.length);
      assert.equal(drained.body.length, 0);
      // Nothing stray was written to the connection: the next response on it is intact.
      const third = await get('/');
      assert.equal(sha(third.body), sha(bytes));
      assert.equal(third.socket, first.socket);
    } finally {
      agent.destroy();
      server.close();
    }
  });
});

test('sendfile: a client that goes away stops the transfer and every copy of the file is closed', { skip: noSendfile }, async () => {
  const bytes = randomBytes(32 * 1024 * 1024);
  await withFile(bytes, async (path) => {
    let stream: FileRangeStream | undefined;
    const server = createServer(async (_req, res) => {
      stream = new FileRangeStream(await open(path, 'r'), { start: 0, end: bytes.length - 1, chunkSize: CHUNK });
      stream.on('error', () => undefined);
      res.writeHead(200, { 'content-length': String(bytes.length) });
      drainInto(stream, res);
      stream.pipe(res);
      res.on('close', () => stream!.destroy());
    });
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    const { port } = server.address() as { port: number };
    try {
      await new Promise<void>((resolve, reject) => {
        const req = request(`http://127.0.0.1:${port}/`, { agent: false }, (res) => {
          // Take the head and a little of the body, never read the rest, then leave.
          res.once('data', () => { res.pause(); setTimeout(() => { req.destroy(); resolve(); }, 100); });
        });
        req.on('error', () => undefined);
        req.on('close', resolve);
        req.end();
        req.on('error', reject);
      });
      for (let i = 0; i < 100 && (!stream?.closed || await openCopies(path) > 0); i++) await sleep(20);
      assert.ok(stream?.closed, 'the stream did not close after the client left');
      assert.equal(await openCopies(path), 0, 'a descriptor of the file is still open');
      assert.ok(stream.bytesDelivered < bytes.length);
    } finally {
      server.close();
    }
  });
});

test('sendfile: the socket\'s idle timer is back after a job; a client that stops reading is timed out by the sender thread', { skip: noSendfile, timeout: 20_000 }, async () => {
  const bytes = randomBytes(32 * 1024 * 1024);
  await withFile(bytes, async (path) => {
    const streams: FileRangeStream[] = [];
    let smallEnded!: (timeout: number | undefined) => void;
    const timeoutAfter = new Promise<number | undefined>((resolve) => { smallEnded = resolve; });
    const server = createServer(async (req, res) => {
      const end = req.url === '/small' ? 1024 * 1024 - 1 : bytes.length - 1;
      const stream = new FileRangeStream(await open(path, 'r'), { start: 0, end, chunkSize: CHUNK });
      streams.push(stream);
      stream.on('error', () => undefined);
      stream.on('end', () => smallEnded(res.socket?.timeout));
      res.writeHead(200, { 'content-length': String(end + 1) });
      drainInto(stream, res);
      stream.pipe(res);
      res.on('close', () => stream.destroy());
    });
    server.setTimeout(300); // the idle timeout the sender thread must keep (client_socket_timeout)
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    const { port } = server.address() as { port: number };
    try {
      const small = await new Promise<number>((resolve, reject) => {
        request(`http://127.0.0.1:${port}/small`, { agent: false }, (res) => {
          let n = 0;
          res.on('data', (p: Buffer) => { n += p.length; });
          res.on('end', () => resolve(n));
        }).on('error', reject).end();
      });
      assert.equal(small, 1024 * 1024);
      assert.equal(await timeoutAfter, 300, 'the socket\'s own idle timer was not restored after the job');

      const closed = new Promise<void>((resolve) => server.once('connection', (socket: Socket) => socket.once('close', () => resolve())));
      const req = request(`http://127.0.0.1:${port}/big`, { agent: false }, (res) => {
        res.once('data', () => res.pause()); // the head and a little, then nothing
      });
      req.on('error', () => undefined);
      req.end();
      await closed; // the server closed the connection of the silent client
      req.destroy();
      const big = streams[1]!;
      for (let i = 0; i < 100 && (!big.closed || await openCopies(path) > 0); i++) await sleep(20);
      assert.ok(big.closed, 'the stream did not close after the timeout');
      assert.equal(await openCopies(path), 0, 'a descriptor of the file is still open');
      assert.ok(big.bytesDelivered < bytes.length);
    } finally {
      server.closeAllConnections(); // when it fails, a connection left open must not hold the run
      server.close();
    }
  });
});
