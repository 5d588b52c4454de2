// client_socket_timeout applies to a request body that stops arriving: stalled uploads and stages
// are aborted, their partial data removed and their images returned to queued while the clients
// still hold their sockets open; a slow body that keeps arriving is not cut off.
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { startTestApp, type TestApp } from '../helpers/app.ts';
import { createImage, ownerMember, show } from '../helpers/v2.ts';

const STALLED = 30;
let t: TestApp;
let port: number;

before(async () => {
  t = await startTestApp({ GLIMPSE_DEFAULT__CLIENT_SOCKET_TIMEOUT: '5' });
  await t.app.listen({ host: '127.0.0.1', port: 0 });
  port = (t.app.server.address() as AddressInfo).port;
});
after(async () => { await t?.close(); });

function header(method: string, path: string, length: number): string {
  const identity = Object.entries(ownerMember).map(([k, v]) => `${k}: ${v}\r\n`).join('');
  return `${method} ${path} HTTP/1.1\r\nhost: 127.0.0.1\r\n${identity}content-type: application/octet-stream\r\n`
    + `content-length: ${length}\r\n\r\n`;
}

/** Sends the head and the first bytes of a body declared 100 MB long, then goes silent (socket kept open). */
function stall(path: string, method = 'PUT'): Promise<{ socket: Socket; closed: Promise<void> }> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1', () => {
      socket.write(header(method, path, 100 * 1024 * 1024));
      socket.write('0123456789');
      resolve({ socket, closed });
    });
    const closed = new Promise<void>((done) => socket.once('close', () => done()));
    socket.on('error', () => {});
    socket.once('error', reject);
  });
}

async function waitFor(check: () => Promise<boolean>, ms: number): Promise<boolean> {
  const until = Date.now() + ms;
  while (Date.now() < until) {
    if (await check()) return true;
    await new Promise((r) => setTimeout(r, 200));
  }
  return check();
}

test(`${STALLED} stalled uploads and stages go back to queued within the timeout, with no temp file left`, async () => {
  const ids: string[] = [];
  for (let i = 0; i < STALLED; i++) ids.push((await createImage(t, { disk_format: 'raw', container_format: 'bare' })).id);
  const clients = await Promise.all(ids.map((id, i) => stall(`/v2/images/${id}/${i % 3 === 0 ? 'stage' : 'file'}`)));
  const statuses = async () => Promise.all(ids.map(async (id) => (await show(t, id)).json().status as string));
  const seen = new Set<string>();
  assert.ok(await waitFor(async () => {
    (await statuses()).forEach((s, i) => { if (s === 'saving' || s === 'uploading') seen.add(ids[i]!); });
    return seen.size === ids.length;
  }, 10_000), `every transfer started (${seen.size} of ${ids.length} seen)`);
  // Other requests are answered meanwhile.
  assert.equal((await t.app.inject({ url: '/versions' })).statusCode, 200);
  const started = Date.now();
  const back = await waitFor(async () => (await statuses()).every((s) => s === 'queued'), 20_000);
  assert.ok(back, `statuses: ${(await statuses()).join(',')}`);
  assert.ok(Date.now() - started < 20_000);
  for (const dir of ['images', 'staging']) {
    const left = (() => { try { return readdirSync(join(t.dir, dir)); } catch { return []; } })();
    assert.deepEqual(left.filter((n) => ids.some((id) => n.startsWith(id))), [], `${dir} holds nothing of the stalled transfers`);
  }
  // The server closed the connections (the clients never end or destroy theirs).
  await Promise.all(clients.map((c) => c.closed));
});

test('a slow upload whose bytes keep arriving (gaps below the timeout) completes', async () => {
  const id = (await createImage(t, { disk_format: 'raw', container_format: 'bare' })).id;
  const body = 'slow-but-steady';
  const socket = connect(port, '127.0.0.1');
  await new Promise((r) => socket.once('connect', r));
  let answer = '';
  socket.on('data', (d: Buffer) => { answer += d.toString(); });
  socket.write(header('PUT', `/v2/images/${id}/file`, body.length));
  for (const chunk of body.match(/.{1,3}/g)!) {
    socket.write(chunk);
    await new Promise((r) => setTimeout(r, 700));
  }
  assert.ok(await waitFor(async () => answer.startsWith('HTTP/1.1 204'), 5000), answer);
  socket.destroy();
  const image = (await show(t, id)).json();
  assert.equal(image.status, 'active');
  assert.equal(image.size, body.length);
});
