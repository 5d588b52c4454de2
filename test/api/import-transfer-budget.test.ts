// Interoperable import counts against [glimpse_transfers] buffer_budget (decision 0014). With room for
// one transfer, held by a stalled upload, an import task waits for room: its image stays importing and
// nothing reaches the store. It finishes once the upload has gone, not before.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync } from 'node:fs';
import { connect } from 'node:net';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';

import { startTestApp, type TestApp } from '../helpers/app.ts';
import { importImage, stage, waitForImage } from '../helpers/import.ts';
import { createImage, ownerMember, show } from '../helpers/v2.ts';

let t: TestApp;

before(async () => {
  t = await startTestApp({ GLIMPSE_GLIMPSE_TRANSFERS__BUFFER_BUDGET: '2MB', GLIMPSE_GLIMPSE_TRANSFERS__BUDGET_WAIT: '1' });
  await t.app.listen({ host: '127.0.0.1', port: 0 });
});

after(async () => {
  await t?.close();
});

/** Files of `id` in the file store (its data or a temp file being written); the directory appears with the first write. */
const storedFiles = (id: string) => {
  if (!existsSync(join(t.dir, 'images'))) return 0;
  return readdirSync(join(t.dir, 'images'), { withFileTypes: true }).filter((e) => e.isFile() && e.name.startsWith(id)).length;
};

test('an import task waits for room in the transfer budget and finishes when the stalled upload goes', async () => {
  const imported = (await createImage(t, { disk_format: 'raw', container_format: 'bare' })).id;
  const stalled = (await createImage(t, { disk_format: 'raw', container_format: 'bare' })).id;
  assert.equal((await stage(t, imported, 'staged data')).statusCode, 204);

  // An upload that declares 100 MB, sends 10 bytes and holds its socket: the whole budget is taken.
  const { port } = t.app.server.address() as AddressInfo;
  const socket = connect(port, '127.0.0.1');
  socket.on('error', () => undefined);
  const headers = Object.entries({ ...ownerMember, 'content-type': 'application/octet-stream', 'content-length': '100000000' })
    .map(([k, v]) => `${k}: ${v}\r\n`).join('');
  socket.write(`PUT /v2/images/${stalled}/file HTTP/1.1\r\nhost: 127.0.0.1\r\n${headers}\r\n0123456789`);
  try {
    await waitForImage(t, stalled, (image) => image.status === 'saving');
    assert.equal(storedFiles(imported), 0);

    assert.equal((await importImage(t, imported, { method: { name: 'glance-direct' } })).statusCode, 202);
    // Longer than budget_wait (1 s), after which an API request would have had its 503.
    await new Promise((r) => setTimeout(r, 2500));
    const waiting = (await show(t, imported)).json();
    assert.equal(waiting.status, 'importing', 'the task waits for room instead of failing');
    assert.equal(storedFiles(imported), 0, 'nothing was written to the store while the budget was used up');
  } finally {
    socket.destroy();
  }
  const active = await waitForImage(t, imported, (image) => image.status === 'active');
  assert.equal(active.size, 'staged data'.length);
});
