// `glimpse cache …` run as the real command on the node of an API started in the test (same
// database, store, image_cache_dir and worker_self_reference_url): what one changes, the other sees.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { startTestApp, type TestApp } from '../helpers/app.ts';
import { admin, createActive, ownerMember } from '../helpers/v2.ts';

const bin = join(import.meta.dirname, '..', '..', 'bin', 'glimpse.js');
const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('GLIMPSE_')));
const node = 'http://cli-node.example.com:9292';
const cacheDir = mkdtempSync(join(tmpdir(), 'glimpse-cache-cli-'));
let t: TestApp;

before(async () => {
  t = await startTestApp({ GLIMPSE_DEFAULT__IMAGE_CACHE_DIR: cacheDir, GLIMPSE_DEFAULT__WORKER_SELF_REFERENCE_URL: node });
  await t.cache!.prefetcher.stop();
});
after(async () => {
  await t.close();
  rmSync(cacheDir, { recursive: true, force: true });
});

function conf(extra: Record<string, string | number> = {}): string {
  const file = join(t.dir, `cache-${Object.values(extra).join('-') || 'plain'}.conf`);
  writeFileSync(file, ['[DEFAULT]', `image_cache_dir = ${cacheDir}`, `worker_self_reference_url = ${node}`,
    ...Object.entries(extra).map(([k, v]) => `${k} = ${v}`),
    '[database]', `connection = ${t.config.database.connection}`,
    '[glance_store]', `filesystem_store_datadir = ${join(t.dir, 'images')}`].join('\n'));
  return file;
}

async function glimpseCache(args: string[], extra: Record<string, string | number> = {}) {
  try {
    const { stdout } = await promisify(execFile)(process.execPath, [bin, 'cache', ...args, '--config-file', conf(extra)],
      { env, timeout: 120_000 });
    return { code: 0, stdout };
  } catch (error) {
    const e = error as { code?: number; stdout?: string; stderr?: string };
    return { code: e.code ?? -1, stdout: `${e.stdout ?? ''}${e.stderr ?? ''}` };
  }
}

const apiCache = async () => (await t.app.inject({ url: '/v2/cache', headers: admin })).json() as
  { cached_images: { image_id: string }[]; queued_images: string[] };

test('queue --now fetches with verification; list, delete, clear act on the same node as the API', async () => {
  const a = await createActive(t, 'image a data');
  const b = await createActive(t, 'image b data, longer');
  const queued = await glimpseCache(['queue', a.id, b.id, '--now']);
  assert.equal(queued.code, 0, queued.stdout);
  assert.match(queued.stdout, /fetched 2, failed 0/);
  assert.deepEqual((await apiCache()).cached_images.map((e) => e.image_id).sort(), [a.id, b.id].sort());
  const listed = await glimpseCache(['list']);
  assert.match(listed.stdout, new RegExp(`node: ${node}`));
  assert.match(listed.stdout, new RegExp(a.id));
  assert.match(listed.stdout, /cached images: 2/);

  assert.match((await glimpseCache(['delete', a.id])).stdout, /removed 1 of 1/);
  assert.deepEqual((await apiCache()).cached_images.map((e) => e.image_id), [b.id]);

  assert.match((await glimpseCache(['queue', a.id])).stdout, /queued 1/);
  assert.deepEqual((await apiCache()).queued_images, [a.id]);
  assert.match((await glimpseCache(['clear', '--target', 'queue'])).stdout, /removed 0 cached and 1 queued/);
  assert.match((await glimpseCache(['clear'])).stdout, /removed 1 cached and 0 queued/);
  assert.deepEqual(await apiCache(), { cached_images: [], queued_images: [] });
});

test('prune keeps image_cache_max_size; clean runs; a node without image_cache_dir is refused', async () => {
  const images = [await createActive(t, 'x'.repeat(100)), await createActive(t, 'y'.repeat(100))];
  for (const image of images) await t.app.inject({ url: `/v2/images/${image.id}/file`, headers: ownerMember });
  assert.equal((await apiCache()).cached_images.length, 2);
  const pruned = await glimpseCache(['prune'], { image_cache_max_size: 150 });
  assert.match(pruned.stdout, /pruned 1 image\(s\), 100 bytes/);
  assert.equal((await apiCache()).cached_images.length, 1);
  assert.match((await glimpseCache(['clean'])).stdout, /removed 0 stalled and 0 invalid/);
  const file = join(t.dir, 'nocache.conf');
  writeFileSync(file, `[database]\nconnection = ${t.config.database.connection}\n`);
  const refused = await promisify(execFile)(process.execPath, [bin, 'cache', 'list', '--config-file', file], { env })
    .then(() => ({ code: 0, stdout: '' }), (e: { code: number; stderr: string }) => ({ code: e.code, stdout: e.stderr }));
  assert.notEqual(refused.code, 0);
  assert.match(refused.stdout, /image_cache_dir is not set/);
});
