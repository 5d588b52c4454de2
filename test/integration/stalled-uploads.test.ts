// Bounded memory under stalled uploads (issue 13): a real `glimpse serve` process, 1,000 clients that
// each start an upload of a declared 100 MB, send 10 bytes and then hold their sockets. The server
// keeps answering requests that move no image data in under a second, its RSS grows by less than
// 256 MiB, the transfer budget admits what fits ([glimpse_transfers] buffer_budget / 2 MiB) and
// refuses the rest with 503 + Retry-After in Glance's error shape. With client_socket_timeout = 30
// (Glance's option; src/http/app.ts) every admitted upload is ended while its socket is still open:
// the image is back to queued within a minute and no temp file is left.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { freePort, startGlimpse, trusted, type Child } from '../helpers/processes.ts';

const STALLED = 1000;
const BUDGET_MB = 1024;
const ADMITTED = BUDGET_MB / 2; // each transfer reserves 2 MiB (src/services/transfer-budget.ts)
const SOCKET_TIMEOUT_S = 30;
const owner = trusted('p-stall');

let dir: string;
let server: Child;
let port: number;

const rssOf = (pid: number) => Number(/^VmRSS:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))![1]) * 1024;

async function createImages(n: number): Promise<string[]> {
  const ids: string[] = [];
  const one = async () => {
    const res = await fetch(`${server.url}/v2/images`, { method: 'POST', headers: { ...owner, 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'stalled', disk_format: 'raw', container_format: 'bare' }) });
    assert.equal(res.status, 201);
    ids.push((await res.json() as { id: string }).id);
  };
  for (let i = 0; i < n; i += 16) await Promise.all(Array.from({ length: Math.min(16, n - i) }, one));
  return ids;
}

/** Starts an upload of a declared 100 MB, sends 10 bytes and holds the socket; records the response head if one comes. */
function stalledUpload(id: string): { socket: Socket; response: () => string } {
  let response = '';
  const socket = connect(port, '127.0.0.1');
  socket.setEncoding('latin1');
  socket.on('data', (d: string) => { response += d; });
  socket.on('error', () => undefined);
  const headers = Object.entries({ ...owner, 'content-type': 'application/octet-stream', 'content-length': '100000000' })
    .map(([k, v]) => `${k}: ${v}\r\n`).join('');
  socket.write(`PUT /v2/images/${id}/file HTTP/1.1\r\nhost: 127.0.0.1\r\n${headers}\r\n0123456789`);
  return { socket, response: () => response };
}

async function timed(path: string, init?: RequestInit): Promise<{ status: number; ms: number }> {
  const started = performance.now();
  const res = await fetch(`${server.url}${path}`, { ...init, headers: { ...owner, ...init?.headers } });
  await res.arrayBuffer();
  return { status: res.status, ms: performance.now() - started };
}

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'glimpse-stalled-'));
  port = await freePort();
  server = await startGlimpse(dir, 'stalled', 'serve', [
    '[DEFAULT]', `bind_port = ${port}`, `client_socket_timeout = ${SOCKET_TIMEOUT_S}`,
    '[database]', `connection = sqlite:///${join(dir, 'glimpse.db')}`,
    '[glance_store]', `filesystem_store_datadir = ${join(dir, 'images')}`,
    '[paste_deploy]', 'flavor = trusted-auth',
    '[glimpse_transfers]', `buffer_budget = ${BUDGET_MB}MB`, 'budget_wait = 1',
  ].join('\n'));
});

after(async () => {
  await server?.stop();
  rmSync(dir, { recursive: true, force: true });
});

test(`${STALLED} stalled uploads: other requests stay fast, RSS grows < 256 MiB, the budget admits ${ADMITTED} and refuses the rest with 503, client_socket_timeout ends the rest`, async (t) => {
  const ids = await createImages(STALLED + 1);
  const spare = ids.pop()!;
  // Warm up the paths measured below, then take the baseline.
  for (let i = 0; i < 20; i++) await timed(`/v2/images/${spare}`);
  const pid = server.child.pid!;
  const idle = rssOf(pid);

  const stalledAt = Date.now();
  const uploads = ids.map((id) => stalledUpload(id));
  try {
    // Every upload has either been admitted (image saving) or refused (503 after budget_wait = 1 s).
    const until = Date.now() + 60_000;
    let refused = 0;
    let saving = 0;
    for (;;) {
      refused = uploads.filter((u) => u.response().startsWith('HTTP/1.1 503')).length;
      const list = await (await fetch(`${server.url}/v2/images?status=saving&limit=1000`, { headers: owner })).json() as { images: unknown[] };
      saving = list.images.length;
      if (refused + saving >= STALLED || Date.now() > until) break;
      await new Promise((r) => setTimeout(r, 500));
    }
    assert.equal(saving, ADMITTED, 'admitted uploads wait for their data');
    assert.equal(refused, STALLED - ADMITTED, 'the others were refused');
    const sample = uploads.find((u) => u.response().startsWith('HTTP/1.1 503'))!.response();
    assert.match(sample, /\r\nretry-after: 1\r\n/i);
    assert.match(sample, /\r\n\r\n503 Service Unavailable\n\nThe server is moving as much image data as it may at once; try again later\./,
      'Glance\'s (webob) plain-text error body');

    // Requests that move no image data are not starved; one that moves data waits, then gets 503.
    for (const path of [`/v2/images/${spare}`, '/v2/images?limit=25', '/healthcheck', '/versions']) {
      const { status, ms } = await timed(path);
      assert.ok(status < 300, `${path} → ${status}`);
      assert.ok(ms < 1000, `${path} answered in ${ms.toFixed(0)} ms`);
    }
    const create = await timed('/v2/images', { method: 'POST', headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'during' }) });
    assert.equal(create.status, 201);
    assert.ok(create.ms < 1000, `create answered in ${create.ms.toFixed(0)} ms`);
    const put = await timed(`/v2/images/${spare}/file`, { method: 'PUT', headers: { 'content-type': 'application/octet-stream' },
      body: Buffer.from('data') });
    assert.equal(put.status, 503, 'no room for another transfer');

    const grown = rssOf(pid) - idle;
    t.diagnostic(`RSS ${(idle / 1048576).toFixed(0)} MiB idle, +${(grown / 1048576).toFixed(0)} MiB with ${STALLED} stalled uploads`);
    assert.ok(grown < 256 * 1024 * 1024, `RSS grew by ${(grown / 1048576).toFixed(0)} MiB for ${STALLED} stalled uploads`);

    // The sockets stay open; client_socket_timeout ends the stalled bodies: back to queued within a minute.
    const deadline = stalledAt + 60_000;
    let stillSaving = Infinity;
    while (stillSaving > 0 && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 1000));
      const list = await (await fetch(`${server.url}/v2/images?status=saving&limit=1000`, { headers: owner })).json() as { images: unknown[] };
      stillSaving = list.images.length;
    }
    assert.equal(stillSaving, 0, `images still saving ${((Date.now() - stalledAt) / 1000).toFixed(0)} s after the uploads stalled`);
    // The clients never closed their sockets (they are destroyed only below): the server ended the bodies.
    let queued = 0;
    let marker = '';
    for (;;) {
      const page = await (await fetch(`${server.url}/v2/images?status=queued&name=stalled&limit=500${marker}`, { headers: owner }))
        .json() as { images: Array<{ id: string }> };
      queued += page.images.length;
      if (page.images.length < 500) break;
      marker = `&marker=${page.images.at(-1)!.id}`;
    }
    assert.equal(queued, STALLED + 1, 'every stalled image (and the spare) is queued');
    assert.deepEqual(readdirSync(join(dir, 'images')).filter((n) => n.endsWith('.tmp')), [], 'no temp file left');
  } finally {
    for (const u of uploads) u.socket.destroy();
  }

  const put = await timed(`/v2/images/${spare}/file`, { method: 'PUT', headers: { 'content-type': 'application/octet-stream' },
    body: Buffer.from('data') });
  assert.equal(put.status, 204);
  assert.deepEqual(readdirSync(join(dir, 'images')).filter((n) => n.endsWith('.tmp')), [], 'no temp file left');
});
