// Glance master's store preference on download (`GET /v2/images/{id}/file?prefer=a,b`, F2-078) and
// the `weight` of each store in /v2/info/stores/detail (F2-068). Expectations are written from
// master's api-ref (images-data.inc, discovery.inc) and glance/api/v2/image_data.py.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SqlImageRepository } from '../../src/db/image-repository.ts';
import { startTestApp, type TestApp } from '../helpers/app.ts';
import { admin, createActive, ownerMember } from '../helpers/v2.ts';

function conf(dir: string, extra = ''): string {
  return `[DEFAULT]
enabled_backends = fast:file, cheap:file
${extra}
[glance_store]
default_backend = fast
[fast]
filesystem_store_datadir = ${join(dir, 'fast')}
[cheap]
filesystem_store_datadir = ${join(dir, 'cheap')}
weight = 50
`;
}

describe('store preference on download and store weights (Glance master)', () => {
  let t: TestApp;
  let dir: string;
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'glimpse-prefer-'));
    t = await startTestApp({ GLIMPSE_DEFAULT__ENABLE_V1_API: 'false' }, { 'glimpse-api.conf': conf(dir) });
  });
  after(async () => {
    await t.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const download = (id: string, query = '', headers = ownerMember) =>
    t.app.inject({ url: `/v2/images/${id}/file${query}`, headers });

  /** An image stored in fast ("fast-bytes") and, as a second location, in cheap (other bytes of the same length). */
  async function inBothStores(): Promise<{ id: string; fastFile: string }> {
    const image = await createActive(t, 'fast-bytes');
    const repo = new SqlImageRepository(t.database);
    const stored = (await repo.get(image.id))!;
    const fastFile = new URL(stored.locations[0]!.url).pathname;
    mkdirSync(join(dir, 'cheap'), { recursive: true });
    const cheapFile = join(dir, 'cheap', image.id);
    copyFileSync(fastFile, cheapFile);
    writeFileSync(cheapFile, 'cheapbytes');
    await repo.update({ ...stored, locations: [...stored.locations,
      { url: `file://${cheapFile}`, metadata: { store: 'cheap' }, status: 'active' }] }, { expectVersion: stored.version });
    return { id: image.id, fastFile };
  }

  test('without prefer the heavier store is read first; prefer puts the named stores first', async () => {
    const { id } = await inBothStores();
    assert.equal((await download(id)).body, 'cheapbytes');
    assert.equal((await download(id, '?prefer=fast')).body, 'fast-bytes');
    assert.equal((await download(id, '?prefer=%20fast%20,,cheap')).body, 'fast-bytes');
    assert.equal((await download(id, '?prefer=cheap,fast')).body, 'cheapbytes');
    assert.equal((await download(id, '?prefer=')).body, 'cheapbytes', 'an empty prefer is no preference');
  });

  test('a preferred store without the data falls back to the other locations', async () => {
    const { id, fastFile } = await inBothStores();
    rmSync(fastFile);
    const res = await download(id, '?prefer=fast');
    assert.equal(res.statusCode, 200);
    assert.equal(res.body, 'cheapbytes');
  });

  test('an unknown or internal store is 400 "not configured"; the image rules come first (404)', async () => {
    const { id } = await inBothStores();
    for (const store of ['nowhere', 'os_glance_staging_store']) {
      const res = await download(id, `?prefer=fast,${store}`, { ...ownerMember, accept: 'application/json' });
      assert.equal(res.statusCode, 400, store);
      assert.match(res.json().message, new RegExp(`Store '${store}' is not configured\\.`));
    }
    assert.equal((await download(id, '?prefer=nowhere', { 'x-identity-status': 'Confirmed', 'x-tenant-id': 'stranger',
      'x-roles': 'member,reader' })).statusCode, 404);
  });

  test('download_from_store is its own rule: denied, prefer is 403 while a plain download works', async () => {
    const other = await startTestApp({ GLIMPSE_DEFAULT__ENABLE_V1_API: 'false' }, {
      'glimpse-api.conf': `${conf(dir)}[oslo_policy]\npolicy_file = policy.yaml\n`,
      'policy.yaml': '"download_from_store": "!"\n',
    });
    try {
      const image = await createActive(other, 'abc');
      assert.equal((await other.app.inject({ url: `/v2/images/${image.id}/file`, headers: ownerMember })).statusCode, 200);
      const res = await other.app.inject({ url: `/v2/images/${image.id}/file?prefer=fast`, headers: ownerMember });
      assert.equal(res.statusCode, 403, res.body);
    } finally { await other.close(); }
  });

  test('with one store (no enabled_backends), prefer is 400', async () => {
    const single = await startTestApp({ GLIMPSE_DEFAULT__ENABLE_V1_API: 'false' });
    try {
      const image = await createActive(single, 'abc');
      const res = await single.app.inject({ url: `/v2/images/${image.id}/file?prefer=fast`,
        headers: { ...ownerMember, accept: 'application/json' } });
      assert.equal(res.statusCode, 400);
      assert.match(res.json().message, /Store selection for download is not available when multiple backends are not enabled\./);
      assert.equal((await single.app.inject({ url: `/v2/images/${image.id}/file`, headers: ownerMember })).body, 'abc');
    } finally { await single.close(); }
  });

  test('/v2/info/stores/detail shows each store\'s weight after its properties', async () => {
    const res = await t.app.inject({ url: '/v2/info/stores/detail', headers: admin });
    assert.equal(res.statusCode, 200, res.body);
    const stores = res.json().stores as Record<string, unknown>[];
    assert.deepEqual(stores.map((s) => [s.id, s.weight]), [['fast', 0], ['cheap', 50]]);
    assert.deepEqual(Object.keys(stores[0]!), ['id', 'default', 'type', 'properties', 'weight']);
  });
});
