// python-glanceclient's cache commands (glance cache-list, cache-queue, cache-delete, cache-clear)
// against Glimpse with the cache on (noauth, any token). Each call gets its own HOME: glanceclient
// 4.1 caches the image schema in ~/.glanceclient and then fails every command on its own
// "--stores" argument conflict, whatever the server.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { startTestApp, type TestApp } from '../helpers/app.ts';

const skip = existsSync('/usr/bin/glance') ? false : 'python3-glanceclient not installed (/usr/bin/glance)';
const dir = mkdtempSync(join(tmpdir(), 'glimpse-glance-cache-'));
let t: TestApp;
let url: string;

before(async () => {
  if (skip) return;
  t = await startTestApp({ GLIMPSE_PASTE_DEPLOY__FLAVOR: 'noauth', GLIMPSE_DEFAULT__IMAGE_CACHE_DIR: join(dir, 'cache') });
  await t.app.listen({ host: '127.0.0.1', port: 0 });
  url = `http://127.0.0.1:${(t.app.server.address() as AddressInfo).port}`;
});
after(async () => {
  await t?.close();
  rmSync(dir, { recursive: true, force: true });
});

async function glance(...args: string[]): Promise<string> {
  const home = mkdtempSync(join(dir, 'home-'));
  try {
    const { stdout } = await promisify(execFile)('/usr/bin/glance', ['--os-image-url', url, '--os-auth-token', 'any', ...args],
      { env: { PATH: '/usr/bin:/bin', HOME: home }, encoding: 'utf8', timeout: 60_000 });
    return stdout;
  } finally {
    rmSync(home, { recursive: true, force: true });
  }
}

const rows = (table: string) => table.split('\n').filter((l) => /^\| [0-9a-f]{8}-/.test(l));

test('glance cache-queue / cache-list / cache-delete / cache-clear', { skip }, async () => {
  const data = join(dir, 'data');
  writeFileSync(data, 'cached through glanceclient');
  const created = await glance('image-create', '--disk-format', 'raw', '--container-format', 'bare', '--name', 'c', '--file', data);
  const id = /\|\s*id\s*\|\s*([0-9a-f-]{36})/.exec(created)?.[1];
  assert.ok(id, created);
  assert.deepEqual(rows(await glance('cache-list')), []);
  await glance('cache-queue', id);
  await t.cache!.prefetcher.runOnce();
  const listed = rows(await glance('cache-list'));
  assert.equal(listed.length, 1);
  assert.match(listed[0]!, new RegExp(`${id}\\s*\\|\\s*cached`));
  await glance('cache-delete', id);
  assert.deepEqual(rows(await glance('cache-list')), []);
  await t.cache!.prefetcher.stop();
  await glance('cache-queue', id);
  assert.match(rows(await glance('cache-list'))[0] ?? '', /queued/);
  await glance('cache-clear', '--target', 'queue');
  assert.deepEqual(rows(await glance('cache-list')), []);
  await t.app.inject({ url: `/v2/images/${id}/file` });
  assert.equal(rows(await glance('cache-list')).length, 1);
  await glance('cache-clear');
  assert.deepEqual(rows(await glance('cache-list')), []);
});
