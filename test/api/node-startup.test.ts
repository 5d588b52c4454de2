// Several processes share a file store directory (workers, or nodes on a shared volume): a process
// that starts must not remove another one's upload in progress, only a crash's stale leftovers.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readdirSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startTestApp } from '../helpers/app.ts';

test('startup removes only temp files idle for an hour, never a live upload of another process', async () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'glimpse-shared-store-'));
  try {
    mkdirSync(dataDir, { recursive: true });
    const live = 'aaaaaaaa-0000-4000-8000-000000000001.0123456789abcdef.tmp';
    const stale = 'aaaaaaaa-0000-4000-8000-000000000002.0123456789abcdef.tmp';
    writeFileSync(join(dataDir, live), 'in progress');
    writeFileSync(join(dataDir, stale), 'left by a crash');
    const twoHoursAgo = (Date.now() - 2 * 3600_000) / 1000;
    utimesSync(join(dataDir, stale), twoHoursAgo, twoHoursAgo);
    const t = await startTestApp({ GLIMPSE_GLANCE_STORE__FILESYSTEM_STORE_DATADIR: dataDir });
    await t.close();
    assert.deepEqual(readdirSync(dataDir), [live]);
  } finally {
    rmSync(dataDir, { recursive: true, force: true });
  }
});
