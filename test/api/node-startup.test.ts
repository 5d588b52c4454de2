// Several processes share a file store directory (workers, or nodes on a shared volume): a process
// that starts must not remove another one's upload in progress, only a crash's stale leftovers.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readdirSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startTestApp } from '../helpers/app.ts';
import { startGlimpse } from '../helpers/processes.ts';

const live = 'aaaaaaaa-0000-4000-8000-000000000001.0123456789abcdef.tmp';
const stale = 'aaaaaaaa-0000-4000-8000-000000000002.0123456789abcdef.tmp';

/** A store directory holding another process's upload in progress and a crash's leftover. */
function sharedStore(): string {
  const dataDir = mkdtempSync(join(tmpdir(), 'glimpse-shared-store-'));
  mkdirSync(join(dataDir, 'images'));
  writeFileSync(join(dataDir, 'images', live), 'in progress');
  writeFileSync(join(dataDir, 'images', stale), 'left by a crash');
  const twoHoursAgo = (Date.now() - 2 * 3600_000) / 1000;
  utimesSync(join(dataDir, 'images', stale), twoHoursAgo, twoHoursAgo);
  return dataDir;
}

test('startup removes only temp files idle for an hour, never a live upload of another process', async () => {
  const dataDir = sharedStore();
  try {
    const t = await startTestApp({ GLIMPSE_GLANCE_STORE__FILESYSTEM_STORE_DATADIR: join(dataDir, 'images') });
    await t.close();
    assert.deepEqual(readdirSync(join(dataDir, 'images')), [live]);
  } finally {
    rmSync(dataDir, { recursive: true, force: true });
  }
});

test('so does a starting `glimpse worker` (it shares the API nodes\' store directories)', async () => {
  const dataDir = sharedStore();
  try {
    const worker = await startGlimpse(dataDir, 'worker', 'worker', [
      '[database]', `connection = sqlite:///${join(dataDir, 'glimpse.db')}`,
      '[glance_store]', `filesystem_store_datadir = ${join(dataDir, 'images')}`,
    ].join('\n'));
    assert.equal(await worker.stop(), 0, worker.output());
    assert.deepEqual(readdirSync(join(dataDir, 'images')), [live]);
  } finally {
    rmSync(dataDir, { recursive: true, force: true });
  }
});
