// GET /v2/images/{id}/file over a real socket (decision 0033): with the sendfile binding built, the
// file store and the image cache send the bytes by sendfile(2) instead of through the process.
// Whole images, ranges (206, Content-Range), 416, HEAD, cache hits, several responses on one
// kept-alive connection, and image.send's byte count must be what they are without it. Without the
// binding the same tests run the read path (the sendfile-only assertion is skipped visibly).
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { Agent, request, type IncomingHttpHeaders } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { tmpdir } from 'node:os';
import type { Socket } from 'node:net';
import { join } from 'node:path';

import { FileRangeStream } from '../../src/lib/file-range-stream.ts';
import { sendfileAvailable } from '../../src/lib/sendfile.ts';
import { startTestApp, type TestApp } from '../helpers/app.ts';
import { makePki } from '../helpers/tls.ts';
import { createImage, octet, ownerMember } from '../helpers/v2.ts';

const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

interface Got { status: number; headers: IncomingHttpHeaders; body: Buffer; socket: unknown }

/** Counts the chunks FileRangeStream pushes (none when sendfile carries the bytes). */
let pushed = 0;
const originalPush = FileRangeStream.prototype.push;
FileRangeStream.prototype.push = function countingPush(this: FileRangeStream, chunk: unknown, encoding?: BufferEncoding) {
  if (chunk !== null) pushed++;
  return originalPush.call(this, chunk, encoding);
};

for (const cached of [false, true]) {
  describe(`downloads over a socket${cached ? ', image cache on' : ''}`, () => {
    let t: TestApp;
    let url: string;
    let agent: Agent;
    let cacheDir: string;
    const data = randomBytes(5 * 1024 * 1024 + 321);
    let id: string;

    const get = (path: string, headers: Record<string, string> = {}, method = 'GET') => new Promise<Got>((resolve, reject) => {
      request(`${url}${path}`, { agent, method, headers: { ...ownerMember, ...headers } }, (res) => {
        const parts: Buffer[] = [];
        res.on('data', (p: Buffer) => parts.push(p));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(parts), socket: res.socket }));
        res.on('error', reject);
      }).on('error', reject).end();
    });

    before(async () => {
      cacheDir = mkdtempSync(join(tmpdir(), 'glimpse-dlsock-'));
      t = await startTestApp(cached ? { GLIMPSE_DEFAULT__IMAGE_CACHE_DIR: cacheDir } : {});
      const image = await createImage(t, { disk_format: 'raw', container_format: 'bare' }, ownerMember);
      id = image.id;
      const res = await t.app.inject({ method: 'PUT', url: `/v2/images/${id}/file`, headers: { ...ownerMember, ...octet }, payload: data });
      assert.equal(res.statusCode, 204, res.body);
      url = (await t.app.listen({ host: '127.0.0.1', port: 0 })).replace('localhost', '127.0.0.1');
      agent = new Agent({ keepAlive: true, maxSockets: 1 });
      if (cached) {
        await get(`/v2/images/${id}/file`); // the miss fills the cache
        await t.cache!.local.idle();
      }
    });
    after(async () => {
      agent.destroy();
      await t.close();
      rmSync(cacheDir, { recursive: true, force: true });
    });

    test('the whole image, then a range, then HEAD, then the image again on one connection', async () => {
      pushed = 0;
      const whole = await get(`/v2/images/${id}/file`);
      assert.equal(whole.status, 200);
      assert.equal(whole.headers['content-length'], String(data.length));
      assert.equal(whole.headers['content-md5'], createHash('md5').update(data).digest('hex'));
      assert.equal(sha(whole.body), sha(data));

      const part = await get(`/v2/images/${id}/file`, { range: 'bytes=1000-2999999' });
      assert.equal(part.status, 206);
      assert.equal(part.headers['content-range'], `bytes 1000-2999999/${data.length}`);
      assert.equal(sha(part.body), sha(data.subarray(1000, 3_000_000)));

      const tail = await get(`/v2/images/${id}/file`, { range: 'bytes=-10' });
      assert.equal(tail.status, 206);
      assert.deepEqual(tail.body, data.subarray(data.length - 10));

      const head = await get(`/v2/images/${id}/file`, {}, 'HEAD');
      assert.equal(head.body.length, 0);

      const again = await get(`/v2/images/${id}/file`);
      assert.equal(sha(again.body), sha(data));
      assert.equal(again.socket, whole.socket, 'every response was on one kept-alive connection');
      if (sendfileAvailable()) assert.equal(pushed, 0, 'bytes went through the stream although sendfile is available');
    });

    test('an unsatisfiable range: 416, and the connection still serves', async () => {
      const res = await get(`/v2/images/${id}/file`, { range: `bytes=${data.length + 10}-` });
      assert.equal(res.status, 416);
      const whole = await get(`/v2/images/${id}/file`);
      assert.equal(sha(whole.body), sha(data));
    });

    test('sendfile is used when the binding is built', { skip: sendfileAvailable() ? false : 'the sendfile binding is not built' }, async () => {
      pushed = 0;
      const whole = await get(`/v2/images/${id}/file`);
      assert.equal(sha(whole.body), sha(data));
      assert.equal(pushed, 0);
    });
  });
}

test('over HTTPS the bytes go through TLS (never sendfile\'s plain bytes on an encrypted socket)', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'glimpse-dltls-'));
  const pki = makePki(dir);
  const t = await startTestApp({ GLIMPSE_DEFAULT__CERT_FILE: pki.serverCert, GLIMPSE_DEFAULT__KEY_FILE: pki.serverKey });
  try {
    const data = randomBytes(3 * 1024 * 1024 + 5);
    const image = await createImage(t, { disk_format: 'raw', container_format: 'bare' }, ownerMember);
    const put = await t.app.inject({ method: 'PUT', url: `/v2/images/${image.id}/file`, headers: { ...ownerMember, ...octet }, payload: data });
    assert.equal(put.statusCode, 204, put.body);
    const url = (await t.app.listen({ host: '127.0.0.1', port: 0 })).replace('localhost', '127.0.0.1');
    pushed = 0;
    const body = await new Promise<Buffer>((resolve, reject) => {
      httpsRequest(`${url}/v2/images/${image.id}/file`, { headers: ownerMember, ca: readFileSync(pki.caCert) }, (res) => {
        const parts: Buffer[] = [];
        res.on('data', (p: Buffer) => parts.push(p));
        res.on('end', () => resolve(Buffer.concat(parts)));
        res.on('error', reject);
      }).on('error', reject).end();
    });
    assert.equal(sha(body), sha(data));
    assert.ok(pushed > 0, 'the read path carried the bytes');
  } finally {
    await t.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

// client_socket_timeout on the sendfile path: Node sees no socket activity while the sender thread
// writes, so the idle timeout is kept there, on the bytes the socket accepts. A client that reads
// slowly but steadily for longer than the timeout gets the whole image; one that stops reading is
// cut off, and the server goes on serving.
describe('a slow client with client_socket_timeout = 1 s', () => {
  let t: TestApp;
  let url: string;
  const smallData = randomBytes(3 * 1024 * 1024 + 7);
  const bigData = randomBytes(16 * 1024 * 1024 + 3);
  let smallId: string;
  let bigId: string;

  before(async () => {
    t = await startTestApp({ GLIMPSE_DEFAULT__CLIENT_SOCKET_TIMEOUT: '1' });
    for (const [data, set] of [[smallData, (v: string) => { smallId = v; }], [bigData, (v: string) => { bigId = v; }]] as const) {
      const image = await createImage(t, { disk_format: 'raw', container_format: 'bare' }, ownerMember);
      const res = await t.app.inject({ method: 'PUT', url: `/v2/images/${image.id}/file`, headers: { ...ownerMember, ...octet }, payload: data });
      assert.equal(res.statusCode, 204, res.body);
      set(image.id);
    }
    url = (await t.app.listen({ host: '127.0.0.1', port: 0 })).replace('localhost', '127.0.0.1');
  });
  after(async () => {
    await t.close();
  });

  /**
   * GETs `path` reading 128 KiB, then nothing for `pause` ms, and so on. With a promise instead, it
   * stops after the first 128 KiB until that promise settles, then reads on.
   */
  const read = (path: string, pause: number | Promise<unknown>) => new Promise<{ body: Buffer; complete: boolean }>((resolve, reject) => {
    request(`${url}${path}`, { agent: false, headers: ownerMember }, (res) => {
      const parts: Buffer[] = [];
      let sincePause = 0;
      res.on('data', (p: Buffer) => {
        parts.push(p);
        sincePause += p.length;
        if (sincePause < 256 * 1024) return;
        sincePause = 0;
        res.pause();
        if (typeof pause === 'number') setTimeout(() => res.resume(), pause);
        else void pause.finally(() => res.resume());
      });
      // Cut off: the response closes before it is complete (aborted).
      res.on('close', () => resolve({ body: Buffer.concat(parts), complete: res.complete }));
      res.on('error', () => undefined);
    }).on('error', reject).end();
  });

  test('a client reading slowly but steadily (longer than the timeout) gets the whole image', { timeout: 30_000 }, async () => {
    pushed = 0;
    const got = await read(`/v2/images/${bigId}/file`, 50);
    assert.ok(got.complete, `cut off after ${got.body.length} of ${bigData.length} bytes`);
    assert.equal(sha(got.body), sha(bigData));
    if (sendfileAvailable()) assert.equal(pushed, 0, 'bytes went through the stream although sendfile is available');
  });

  test('a client that stops reading is cut off, and the server still serves', { timeout: 30_000 }, async () => {
    pushed = 0;
    // The server closes its side of the connection (the client, not reading, would not notice yet);
    // then the client reads what was on the way and finds the response cut short.
    const closedByServer = new Promise<void>((resolve) => {
      t.app.server.once('connection', (socket: Socket) => socket.once('close', () => resolve()));
    });
    const stalled = await read(`/v2/images/${bigId}/file`, closedByServer);
    assert.equal(stalled.complete, false);
    assert.ok(stalled.body.length < bigData.length);
    if (sendfileAvailable()) assert.equal(pushed, 0, 'bytes went through the stream although sendfile is available');
    const again = await read(`/v2/images/${smallId}/file`, 0);
    assert.ok(again.complete);
    assert.equal(sha(again.body), sha(smallData));
  });
});
