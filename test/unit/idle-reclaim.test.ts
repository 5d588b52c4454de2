// The idle reclaimer (src/lib/idle-reclaim.ts): one collection per quiet period after requests,
// none while a request is in flight, none while requests keep coming, none on a server never used.
import { once } from 'node:events';
import { createServer, request, type Server } from 'node:http';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';

import { reclaimWhenIdle } from '../../src/lib/idle-reclaim.ts';

const QUIET = 200;

async function serve(handler: () => Promise<void> = async () => undefined): Promise<{ server: Server; url: string }> {
  const server = createServer((_req, res) => {
    void handler().then(() => res.end('ok'));
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('no port');
  return { server, url: `http://127.0.0.1:${address.port}/` };
}

function get(url: string): Promise<void> {
  return new Promise((resolve, reject) => {
    request(url, { agent: false }, (res) => {
      res.resume();
      res.on('end', resolve);
    }).on('error', reject).end();
  });
}

test('collects once after the server has been quiet, not before and not again without new requests', async () => {
  const { server, url } = await serve();
  let collections = 0;
  const stop = reclaimWhenIdle(server, { quietMs: QUIET, collect: () => { collections++; } });
  try {
    await sleep(QUIET * 2);
    assert.equal(collections, 0, 'a server that handled nothing has nothing to give back');
    for (let i = 0; i < 3; i++) await get(url);
    assert.equal(collections, 0, 'not right after a request');
    await sleep(QUIET * 3);
    assert.equal(collections, 1, 'once the server was quiet');
    await sleep(QUIET * 3);
    assert.equal(collections, 1, 'not again while nothing happens');
    await get(url);
    await sleep(QUIET * 3);
    assert.equal(collections, 2, 'once more after the next burst');
  } finally {
    stop();
    server.close();
  }
});

test('waits while a request is in flight and while requests keep arriving', async () => {
  let finish!: () => void;
  const slow = new Promise<void>((resolve) => { finish = resolve; });
  let slowNext = false;
  const { server, url } = await serve(async () => { if (slowNext) await slow; });
  let collections = 0;
  const stop = reclaimWhenIdle(server, { quietMs: QUIET, collect: () => { collections++; } });
  try {
    // Requests closer together than the quiet time: no collection in between.
    for (let i = 0; i < 6; i++) {
      await get(url);
      await sleep(QUIET / 4);
    }
    assert.equal(collections, 0);
    slowNext = true;
    const pending = get(url);
    await sleep(QUIET * 3);
    assert.equal(collections, 0, 'never while a request is in flight');
    finish();
    await pending;
    await sleep(QUIET * 3);
    assert.equal(collections, 1);
  } finally {
    stop();
    server.close();
  }
});

test('stop() cancels a pending collection', async () => {
  const { server, url } = await serve();
  let collections = 0;
  const stop = reclaimWhenIdle(server, { quietMs: QUIET, collect: () => { collections++; } });
  await get(url);
  stop();
  await sleep(QUIET * 3);
  server.close();
  assert.equal(collections, 0);
});
