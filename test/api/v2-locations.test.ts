// Multi-store surface and image locations (spec/v2.md §5.5–5.7, users-and-security.md §2 row 3),
// on every database dialect: /info/stores, X-Image-Meta-Store, DELETE /v2/stores/{s}/{id}, legacy
// location PATCH ops under show_multiple_locations, the 2.17 locations API, and each location attack
// refused. http locations are served by a local web server that the SSRF filter is told to allow.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SqlImageRepository } from '../../src/db/image-repository.ts';
import { as, startTestApp, type TestApp } from '../helpers/app.ts';
import { forEachDatabase } from '../helpers/databases.ts';
import { waitForImage, waitForTasks } from '../helpers/import.ts';
import { admin, createActive, createImage, json, octet, ownerMember, patchImage, show } from '../helpers/v2.ts';

const service = as('owner', 'service,reader', 'nova');
const md5 = (data: string) => createHash('md5').update(data).digest('hex');
const sha512 = (data: string) => createHash('sha512').update(data).digest('hex');

/**
 * A web server for http locations; /hello serves "hello", /other serves other bytes, /held serves
 * "held" once the function holdNext() returned is called.
 */
const served: Record<string, string> = { '/hello': 'hello', '/other': 'tampered!', '/big': 'x'.repeat(5000), '/held': 'held' };
let web: Server;
let webBase = '';
let held: Promise<void> = Promise.resolve();
function holdNext(): () => void {
  let release!: () => void;
  held = new Promise((r) => { release = r; });
  return release;
}
before(async () => {
  web = createServer(async (req, res) => {
    if (req.url === '/held' && req.method !== 'HEAD') await held;
    const body = served[req.url ?? ''];
    if (body === undefined) { res.writeHead(404).end(); return; }
    res.writeHead(200, { 'content-length': Buffer.byteLength(body) }).end(req.method === 'HEAD' ? undefined : body);
  });
  await new Promise<void>((r) => web.listen(0, '127.0.0.1', r));
  webBase = `http://127.0.0.1:${(web.address() as AddressInfo).port}`;
});
after(async () => { await new Promise((r) => web.close(r)); });

function multiStoreConf(dir: string, extra = ''): string {
  return `[DEFAULT]
enabled_backends = fast:file, cheap:file, web:http
show_multiple_locations = true
show_image_direct_url = true
image_location_quota = 3
${extra}
[glance_store]
default_backend = fast
[fast]
filesystem_store_datadir = ${join(dir, 'fast')}
store_description = Fast SSDs
[cheap]
filesystem_store_datadir = ${join(dir, 'cheap')}
weight = 50
[web]
store_description = Read-only web store
[import_filtering_opts]
allowed_hosts = 127.0.0.1
allowed_ports = ${new URL(webBase).port}
`;
}

function storedFiles(dir: string, store: string): string[] {
  const path = join(dir, store);
  return existsSync(path) ? readdirSync(path).filter((f) => !f.startsWith('.')) : [];
}

forEachDatabase('multi-store and locations API', (_getDb, target) => {
  let t: TestApp;
  let dir: string;
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'glimpse-locations-'));
    t = await startTestApp({ GLIMPSE_DATABASE__CONNECTION: target.url() }, { 'glimpse-api.conf': multiStoreConf(dir) });
  });
  after(async () => {
    await t.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const get = (url: string, headers = ownerMember) => t.app.inject({ url, headers: { ...headers, ...json } });
  const addLocation = (id: string, url: string, extra: Record<string, unknown> = {}, headers = ownerMember) =>
    patchImage(t, id, [{ op: 'add', path: '/locations/-', value: { url, metadata: {}, ...extra } }], headers);

  describe('discovery', () => {
    test('GET /v2/info/stores lists every store with description, default and read-only flags', async () => {
      const res = await get('/v2/info/stores', as('p', 'reader'));
      assert.equal(res.statusCode, 200, res.body);
      assert.deepEqual(res.json(), { stores: [
        { id: 'fast', description: 'Fast SSDs', default: 'true' },
        { id: 'cheap' },
        { id: 'web', description: 'Read-only web store', 'read-only': 'true' },
      ] });
    });

    test('GET /v2/info/stores/detail: admin only; type and non-secret properties', async () => {
      const denied = await get('/v2/info/stores/detail', ownerMember);
      assert.equal(denied.statusCode, 403);
      const res = await get('/v2/info/stores/detail', admin);
      assert.equal(res.statusCode, 200, res.body);
      const [fast, , webStore] = res.json().stores;
      assert.deepEqual(fast, { id: 'fast', description: 'Fast SSDs', default: 'true', type: 'file',
        properties: { data_dir: join(dir, 'fast'), chunk_size: 65536, thin_provisioning: false }, weight: 0 });
      assert.deepEqual(webStore.properties, {});
      assert.equal(webStore.type, 'http');
    });
  });

  describe('multi-store upload', () => {
    test('create answers OpenStack-image-store-ids; X-Image-Meta-Store picks the store; the image shows it in stores', async () => {
      const created = await t.app.inject({ method: 'POST', url: '/v2/images', headers: { ...ownerMember, ...json },
        payload: { disk_format: 'raw', container_format: 'bare' } });
      assert.equal(created.headers['openstack-image-store-ids'], 'fast,cheap,web,os_glance_staging_store,os_glance_tasks_store');
      const id = created.json().id;
      const before = storedFiles(dir, 'cheap').length;
      const up = await t.app.inject({ method: 'PUT', url: `/v2/images/${id}/file`,
        headers: { ...ownerMember, ...octet, 'x-image-meta-store': 'cheap' }, payload: 'abc' });
      assert.equal(up.statusCode, 204, up.body);
      assert.equal(storedFiles(dir, 'cheap').length, before + 1);
      assert.equal((await show(t, id)).json().stores, 'cheap');
    });

    test('an unknown or reserved X-Image-Meta-Store is 400 and the image stays queued', async () => {
      const image = await createImage(t, { disk_format: 'raw', container_format: 'bare' });
      for (const store of ['nope', 'os_glance_staging_store']) {
        const res = await t.app.inject({ method: 'PUT', url: `/v2/images/${image.id}/file`,
          headers: { ...ownerMember, ...octet, ...json, 'x-image-meta-store': store }, payload: 'abc' });
        assert.equal(res.statusCode, 400);
        assert.match(res.json().message, new RegExp(`Store for identifier ${store} not found`));
      }
      assert.equal((await show(t, image.id)).json().status, 'queued');
    });
  });

  describe('legacy location PATCH (show_multiple_locations)', () => {
    test('add to a queued image: data read and hashed, image active with its size and hashes, store recorded', async () => {
      const image = await createImage(t, { disk_format: 'raw', container_format: 'bare' });
      const res = await addLocation(image.id, `${webBase}/hello`);
      assert.equal(res.statusCode, 200, res.body);
      const body = res.json();
      assert.equal(body.status, 'active');
      assert.equal(body.size, 5);
      assert.equal(body.checksum, md5('hello'));
      assert.equal(body.os_hash_value, sha512('hello'));
      assert.deepEqual(body.locations, [{ url: `${webBase}/hello`, metadata: { store: 'web' } }]);
      assert.equal(body.stores, 'web');
    });

    test('validation_data that does not match the data: 409, image stays queued (hash mismatch never goes active)', async () => {
      const image = await createImage(t, { disk_format: 'raw', container_format: 'bare' });
      const res = await addLocation(image.id, `${webBase}/other`, {
        validation_data: { checksum: md5('hello'), os_hash_algo: 'sha512', os_hash_value: sha512('hello') } });
      assert.equal(res.statusCode, 409, res.body);
      const shown = (await show(t, image.id)).json();
      assert.equal(shown.status, 'queued');
      assert.deepEqual(shown.locations, []);
      const ok = await addLocation(image.id, `${webBase}/hello`, {
        validation_data: { checksum: md5('hello'), os_hash_algo: 'sha512', os_hash_value: sha512('hello') } });
      assert.equal(ok.statusCode, 200, ok.body);
    });

    test('malformed validation_data: wrong algorithm or digest length is 409 as in Glance', async () => {
      const image = await createImage(t, { disk_format: 'raw', container_format: 'bare' });
      const wrongAlgo = await addLocation(image.id, `${webBase}/hello`,
        { validation_data: { os_hash_algo: 'sha256', os_hash_value: createHash('sha256').update('hello').digest('hex') } });
      assert.equal(wrongAlgo.statusCode, 409);
      assert.match(wrongAlgo.json().message, /os_hash_algo must be sha512, not sha256/);
      const shortHash = await addLocation(image.id, `${webBase}/hello`, { validation_data: { os_hash_algo: 'sha512', os_hash_value: 'abcd' } });
      assert.equal(shortHash.statusCode, 409);
    });

    test('OSSN-0065: a location with other bytes cannot be added to an active image', async () => {
      const image = await createActive(t, 'hello');
      const res = await addLocation(image.id, `${webBase}/other`);
      assert.equal(res.statusCode, 409, res.body);
      assert.match(res.json().message, /does not match the image data/);
      assert.equal((await show(t, image.id)).json().locations.length, 1);
    });

    test('local schemes (file, filesystem, swift+config) are refused with 400, for admins too', async () => {
      const image = await createImage(t, { disk_format: 'raw', container_format: 'bare' });
      for (const url of ['file:///etc/passwd', 'filesystem:///etc/passwd', 'swift+config://ref1/container/obj',
        `FILE://${join(dir, 'fast')}/x`]) {
        for (const who of [ownerMember, admin]) {
          const res = await addLocation(image.id, url, {}, who);
          assert.equal(res.statusCode, 400, `${url}: ${res.body}`);
        }
      }
      assert.equal((await show(t, image.id)).json().status, 'queued');
    });

    test('a scheme no configured store reads is 400 for everyone (tempest test_set_location_bad_scheme)', async () => {
      const image = await createImage(t, { disk_format: 'raw', container_format: 'bare' });
      for (const url of ['gopher://info.cern.ch', 'swift+https://user:key@swift.example/v1/AUTH_x/glance/abc', 'rbd://pool/img']) {
        for (const who of [ownerMember, admin]) {
          const res = await addLocation(image.id, url, {}, who);
          assert.equal(res.statusCode, 400, `${url}: ${res.body}`);
          assert.match(res.json().message, /Invalid location/);
          assert.doesNotMatch(res.body, /user:key/);
        }
      }
      assert.equal((await show(t, image.id)).json().status, 'queued');
    });

    test('SSRF: URLs the import filter refuses (other ports, metadata service, encoded loopback) are 400', async () => {
      const image = await createImage(t, { disk_format: 'raw', container_format: 'bare' });
      for (const url of ['http://169.254.169.254/latest/meta-data', 'http://127.0.0.1:1/hello', 'http://2130706433/hello',
        'http://[::1]/hello']) {
        const res = await addLocation(image.id, url);
        assert.equal(res.statusCode, 400, `${url}: ${res.body}`);
      }
      assert.equal((await addLocation(image.id, 'ftp://127.0.0.1/hello')).statusCode, 400, 'no store reads ftp');
      assert.equal((await show(t, image.id)).json().status, 'queued');
    });

    test('wrong status (409), duplicate URL (400), bad position (400), quota (413)', async () => {
      const saving = await createImage(t, { disk_format: 'raw', container_format: 'bare' });
      await t.app.inject({ method: 'POST', url: `/v2/images/${saving.id}/actions/deactivate`, headers: admin });
      const image = await createActive(t, 'hello');
      await t.app.inject({ method: 'POST', url: `/v2/images/${image.id}/actions/deactivate`, headers: admin });
      const deactivated = await addLocation(image.id, `${webBase}/hello`);
      assert.equal(deactivated.statusCode, 409, deactivated.body);
      await t.app.inject({ method: 'POST', url: `/v2/images/${image.id}/actions/reactivate`, headers: admin });

      const added = await addLocation(image.id, `${webBase}/hello`);
      assert.equal(added.statusCode, 200, added.body);
      assert.equal((await addLocation(image.id, `${webBase}/hello`)).statusCode, 400);
      const badPos = await patchImage(t, image.id, [{ op: 'add', path: '/locations/9', value: { url: `${webBase}/hello?x`, metadata: {} } }]);
      assert.equal(badPos.statusCode, 400);
      served['/hello2'] = 'hello';
      served['/hello3'] = 'hello';
      assert.equal((await addLocation(image.id, `${webBase}/hello2`)).statusCode, 200);
      const overQuota = await addLocation(image.id, `${webBase}/hello3`);
      assert.equal(overQuota.statusCode, 413, overQuota.body);
    });

    test('remove: admin only (delete_image_location); never the last location; replace with [] is 403', async () => {
      const image = await createActive(t, 'hello');
      const lastByAdmin = await patchImage(t, image.id, [{ op: 'remove', path: '/locations/0' }], admin);
      assert.equal(lastByAdmin.statusCode, 403);
      assert.match(lastByAdmin.json().message, /Cannot remove last location/);
      const empty = await patchImage(t, image.id, [{ op: 'replace', path: '/locations', value: [] }]);
      assert.equal(empty.statusCode, 403);
      assert.equal((await addLocation(image.id, `${webBase}/hello`)).statusCode, 200);
      const byMember = await patchImage(t, image.id, [{ op: 'remove', path: '/locations/0' }]);
      assert.equal(byMember.statusCode, 403);
      const files = storedFiles(dir, 'fast').length;
      const removed = await patchImage(t, image.id, [{ op: 'remove', path: '/locations/0' }], admin);
      assert.equal(removed.statusCode, 200, removed.body);
      assert.deepEqual(removed.json().locations, [{ url: `${webBase}/hello`, metadata: { store: 'web' } }]);
      assert.equal(storedFiles(dir, 'fast').length, files - 1, 'the removed file location\'s data is deleted');
    });

    test('replace: on an image with locations only their metadata (same URLs, else 400, as Glance); on a queued one it reads them', async () => {
      const image = await createActive(t, 'hello');
      assert.equal((await addLocation(image.id, `${webBase}/hello`)).statusCode, 200);
      const current = (await show(t, image.id)).json().locations as Array<{ url: string; metadata: Record<string, unknown> }>;
      assert.equal(current.length, 2);
      const same = await patchImage(t, image.id, [{ op: 'replace', path: '/locations', value: current }]);
      assert.equal(same.statusCode, 200, same.body);
      assert.deepEqual(same.json().locations, current);
      const dated = [{ ...current[0]!, metadata: { ...current[0]!.metadata, date: '2015-10-15' } }, current[1]!];
      const relabelled = await patchImage(t, image.id, [{ op: 'replace', path: '/locations', value: [...dated].reverse() }]);
      assert.equal(relabelled.statusCode, 200, relabelled.body);
      assert.deepEqual(relabelled.json().locations, [...dated].reverse(), 'metadata as given, in the order given');
      for (const value of [[dated[0]], [dated[0], { url: `${webBase}/hello#new`, metadata: {} }],
        [...dated, { url: `${webBase}/hello#3`, metadata: {} }]]) {
        const res = await patchImage(t, image.id, [{ op: 'replace', path: '/locations', value }]);
        assert.equal(res.statusCode, 400, res.body);
        assert.match(res.json().message, /Original locations is not empty/);
      }
      assert.deepEqual((await show(t, image.id)).json().locations, [...dated].reverse(), 'nothing changed by the refusals');
      assert.equal(storedFiles(dir, 'fast').filter((f) => f.startsWith(image.id)).length, 1, 'no data was deleted');

      const queued = await createImage(t, { disk_format: 'raw', container_format: 'bare' });
      const tampered = await patchImage(t, queued.id, [{ op: 'replace', path: '/locations',
        value: [{ url: `${webBase}/other`, metadata: {} }] }]);
      assert.equal(tampered.statusCode, 200, tampered.body);
      assert.equal(tampered.json().checksum, md5('tampered!'), 'a queued image takes the computed hashes of the data read');
      const mismatch = await createImage(t, { disk_format: 'raw', container_format: 'bare' });
      const refused = await patchImage(t, mismatch.id, [{ op: 'replace', path: '/locations',
        value: [{ url: `${webBase}/other`, metadata: {},
          validation_data: { checksum: md5('hello'), os_hash_algo: 'sha512', os_hash_value: sha512('hello') } }] }]);
      assert.equal(refused.statusCode, 409, refused.body);
      assert.equal((await show(t, mismatch.id)).json().status, 'queued');
    });

    test('locations and direct_url are shown only to callers that pass get_image_location', async () => {
      const image = await createActive(t, 'hello', { visibility: 'public' }, admin);
      const owner = (await show(t, image.id, admin)).json();
      assert.equal(owner.locations.length, 1);
      assert.match(owner.direct_url, /^file:\/\//);
      const stranger = (await show(t, image.id, as('stranger', 'member,reader'))).json();
      assert.deepEqual(stranger.locations, []);
      assert.equal(stranger.direct_url, undefined);
      assert.equal(stranger.stores, 'fast', 'the store names are shown to all, as Glance does');
      assert.doesNotMatch(JSON.stringify(stranger), /file:/);
    });
  });

  describe('DELETE /v2/stores/{store}/{image}', () => {
    test('Glance\'s answers: unknown store 409, missing image 404, member 403, queued 409, only store 403', async () => {
      const del = (store: string, id: string, who = admin) =>
        t.app.inject({ method: 'DELETE', url: `/v2/stores/${store}/${id}`, headers: { ...who, ...json } });
      const image = await createActive(t, 'hello');
      assert.equal((await del('nope', image.id)).statusCode, 409);
      assert.match((await del('nope', image.id)).json().message, /The selected store nope is not available on this node/);
      assert.equal((await del('fast', '00000000-0000-0000-0000-000000000000')).statusCode, 404);
      assert.equal((await del('fast', image.id, ownerMember)).statusCode, 403);
      const queued = await createImage(t);
      assert.equal((await del('fast', queued.id)).statusCode, 409);
      const only = await del('fast', image.id);
      assert.equal(only.statusCode, 403);
      assert.match(only.json().message, /only store containing it/);
    });

    test('with two stores: the data in one is deleted, the image keeps the other; a store it is not in is 404', async () => {
      const image = await createActive(t, 'hello');
      assert.equal((await addLocation(image.id, `${webBase}/hello`)).statusCode, 200);
      const files = storedFiles(dir, 'fast').length;
      const res = await t.app.inject({ method: 'DELETE', url: `/v2/stores/fast/${image.id}`, headers: admin });
      assert.equal(res.statusCode, 204, res.body);
      assert.equal(storedFiles(dir, 'fast').length, files - 1);
      const shown = (await show(t, image.id)).json();
      assert.equal(shown.stores, 'web');
      assert.equal(shown.status, 'active');
      assert.equal((await t.app.inject({ method: 'DELETE', url: `/v2/stores/cheap/${image.id}`, headers: admin })).statusCode, 403);
    });
  });

  describe('shared data', () => {
    test('deleting an image never deletes data another image references', async () => {
      const a = await createActive(t, 'shared bytes');
      const b = await createImage(t, { disk_format: 'raw', container_format: 'bare' });
      // Another image pointing at the same object (as a service registering a store URI or a copy would).
      const repo = new SqlImageRepository(t.database);
      const stored = (await repo.get(a.id))!;
      const bImage = (await repo.get(b.id))!;
      await repo.update({ ...bImage, status: 'active', size: stored.size, checksum: stored.checksum,
        osHashAlgo: stored.osHashAlgo, osHashValue: stored.osHashValue, locations: stored.locations },
      { expectVersion: bImage.version });
      const files = storedFiles(dir, 'fast').length;
      assert.equal((await t.app.inject({ method: 'DELETE', url: `/v2/images/${a.id}`, headers: ownerMember })).statusCode, 204);
      assert.equal(storedFiles(dir, 'fast').length, files, 'data kept: image B still uses it');
      const data = await t.app.inject({ url: `/v2/images/${b.id}/file`, headers: ownerMember });
      assert.equal(data.statusCode, 200);
      assert.equal(data.body, 'shared bytes');
      assert.equal((await t.app.inject({ method: 'DELETE', url: `/v2/images/${b.id}`, headers: ownerMember })).statusCode, 204);
      assert.equal(storedFiles(dir, 'fast').length, files - 1, 'the last reference gone: data deleted');
    });
  });

  describe('locations API (2.17)', () => {
    const post = (id: string, body: unknown, who = ownerMember) =>
      t.app.inject({ method: 'POST', url: `/v2/images/${id}/locations`, headers: { ...who, ...json }, payload: body as object });

    test('POST on a queued image: 202, a location_import task hashes the data, image active; GET /locations is for services only', async () => {
      const image = await createImage(t, { disk_format: 'raw', container_format: 'bare' });
      const res = await post(image.id, { url: `${webBase}/hello`,
        validation_data: { os_hash_algo: 'sha512', os_hash_value: sha512('hello') } });
      assert.equal(res.statusCode, 202, res.body);
      const [task] = await waitForTasks(t, image.id);
      assert.ok(task);
      assert.equal(task.type, 'location_import');
      assert.equal(task.status, 'success', JSON.stringify(task));
      const full = (await get(`/v2/tasks/${task.id}`, admin)).json();
      assert.deepEqual(full.input, { image_id: image.id, loc_url: `${webBase}/hello`,
        validation_data: { os_hash_algo: 'sha512', os_hash_value: sha512('hello') } });
      const shown = (await show(t, image.id)).json();
      assert.equal(shown.status, 'active');
      assert.equal(shown.checksum, md5('hello'));
      assert.equal(shown.os_hash_value, sha512('hello'));
      assert.equal(shown.size, 5);
      assert.equal(shown.os_glance_import_task, undefined);
      assert.equal((await get(`/v2/images/${image.id}/locations`)).statusCode, 403);
      const listed = await get(`/v2/images/${image.id}/locations`, service);
      assert.equal(listed.statusCode, 200, listed.body);
      assert.deepEqual(listed.json(), [{ url: `${webBase}/hello`, metadata: { store: 'web' } }]);
    });

    test('POST without validation_data: the task computes size, checksum and os_hash_value from the data', async () => {
      const image = await createImage(t, { disk_format: 'raw', container_format: 'bare' });
      assert.equal((await post(image.id, { url: `${webBase}/big` })).statusCode, 202);
      const [task] = await waitForTasks(t, image.id);
      assert.ok(task);
      assert.equal(task.status, 'success', JSON.stringify(task));
      const shown = (await show(t, image.id)).json();
      assert.equal(shown.status, 'active');
      assert.equal(shown.size, 5000);
      assert.equal(shown.checksum, md5('x'.repeat(5000)));
      assert.equal(shown.os_hash_value, sha512('x'.repeat(5000)));
    });

    test('POST: validation_data may name another algorithm than hashing_algorithm (sha256); the image keeps it', async () => {
      const image = await createImage(t, { disk_format: 'raw', container_format: 'bare' });
      const sha256 = createHash('sha256').update('hello').digest('hex');
      assert.equal((await post(image.id, { url: `${webBase}/hello`,
        validation_data: { os_hash_algo: 'sha256', os_hash_value: sha256 } })).statusCode, 202);
      const [task] = await waitForTasks(t, image.id);
      assert.ok(task);
      assert.equal(task.status, 'success', JSON.stringify(task));
      const shown = (await show(t, image.id)).json();
      assert.equal(shown.status, 'active');
      assert.equal(shown.os_hash_algo, 'sha256');
      assert.equal(shown.os_hash_value, sha256);
      assert.equal(shown.checksum, md5('hello'));
    });

    test('POST: a hash mismatch is 202, then the task fails and the image goes back to queued, never active', async () => {
      const image = await createImage(t, { disk_format: 'raw', container_format: 'bare' });
      const res = await post(image.id, { url: `${webBase}/other`,
        validation_data: { os_hash_algo: 'sha512', os_hash_value: sha512('hello') } });
      assert.equal(res.statusCode, 202, res.body);
      assert.notEqual((await show(t, image.id)).json().status, 'active');
      const [task] = await waitForTasks(t, image.id);
      assert.ok(task);
      assert.equal(task.status, 'failure');
      assert.match(String(task.message), /does not match the image data/);
      const shown = (await show(t, image.id)).json();
      assert.equal(shown.status, 'queued');
      assert.equal(shown.size, null);
      assert.equal(shown.checksum, null);
      assert.equal(shown.os_hash_value, null);
      assert.deepEqual(shown.locations, []);
      // the image is queued again without the lock: a new location (with the right data) can be added
      assert.equal((await post(image.id, { url: `${webBase}/hello` })).statusCode, 202);
      await waitForImage(t, image.id, (i) => i.status === 'active');
    });

    test('POST: while the task reads the data the image is importing; a second POST, a PATCH add or an upload is 409', async () => {
      const image = await createImage(t, { disk_format: 'raw', container_format: 'bare' });
      const release = holdNext();
      assert.equal((await post(image.id, { url: `${webBase}/held` })).statusCode, 202);
      await waitForImage(t, image.id, (i) => i.status === 'importing');
      assert.equal((await post(image.id, { url: `${webBase}/hello` })).statusCode, 409);
      assert.equal((await addLocation(image.id, `${webBase}/hello`)).statusCode, 409);
      const up = await t.app.inject({ method: 'PUT', url: `/v2/images/${image.id}/file`,
        headers: { ...ownerMember, ...octet }, payload: 'abc' });
      assert.equal(up.statusCode, 409, up.body);
      release();
      const [task] = await waitForTasks(t, image.id);
      assert.ok(task);
      assert.equal(task.status, 'success', JSON.stringify(task));
      const shown = (await show(t, image.id)).json();
      assert.equal(shown.status, 'active');
      assert.equal(shown.checksum, md5('held'));
    });

    test('POST: only queued images (409), no local or unknown schemes (400), bad validation_data (400), other projects 404', async () => {
      const active = await createActive(t, 'hello');
      assert.equal((await post(active.id, { url: `${webBase}/hello` })).statusCode, 409);
      const image = await createImage(t, { disk_format: 'raw', container_format: 'bare' });
      assert.equal((await post(image.id, { url: 'file:///etc/passwd' })).statusCode, 400);
      assert.equal((await post(image.id, { url: 'file:///etc/passwd' }, service)).statusCode, 400);
      assert.equal((await post(image.id, { url: 's3://key:secret@s3.example/bucket/obj' })).statusCode, 400, 'no s3 store here');
      assert.equal((await post(image.id, { url: `${webBase}/hello`, validation_data: { os_hash_algo: 'sha512' } })).statusCode, 400);
      assert.equal((await post(image.id, { url: `${webBase}/hello`,
        validation_data: { os_hash_algo: 'sha512', os_hash_value: 'zz' } })).statusCode, 400);
      assert.equal((await post(image.id, { url: `${webBase}/hello` }, as('other', 'member,reader'))).statusCode, 404);
      assert.equal((await show(t, image.id)).json().status, 'queued');
    });
  });
});

describe('single store (no enabled_backends)', () => {
  let t: TestApp;
  before(async () => { t = await startTestApp({ GLIMPSE_DEFAULT__SHOW_MULTIPLE_LOCATIONS: 'true' }); });
  after(async () => { await t.close(); });

  test('/v2/info/stores and DELETE /v2/stores are 404; X-Image-Meta-Store is ignored; no stores attribute', async () => {
    const info = await t.app.inject({ url: '/v2/info/stores', headers: { ...admin, ...json } });
    assert.equal(info.statusCode, 404);
    assert.match(info.json().message, /Multi backend is not supported at this site/);
    const image = await createImage(t, { disk_format: 'raw', container_format: 'bare' });
    const up = await t.app.inject({ method: 'PUT', url: `/v2/images/${image.id}/file`,
      headers: { ...ownerMember, ...octet, 'x-image-meta-store': 'nope' }, payload: 'abc' });
    assert.equal(up.statusCode, 204);
    assert.equal((await show(t, image.id)).json().stores, undefined);
    assert.equal((await t.app.inject({ method: 'DELETE', url: `/v2/stores/file/${image.id}`, headers: admin })).statusCode, 404);
  });

  test('http locations need an http store: 403 without one', async () => {
    const image = await createImage(t, { disk_format: 'raw', container_format: 'bare' });
    const res = await patchImage(t, image.id, [{ op: 'add', path: '/locations/-', value: { url: 'http://example.com/x', metadata: {} } }]);
    assert.equal(res.statusCode, 403, res.body);
  });
});

describe('a store URI that a configured store owns', () => {
  let t: TestApp;
  let dir: string;
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'glimpse-locations-s3-'));
    // The s3 store is never contacted here: only its location syntax matters.
    t = await startTestApp({}, { 'glimpse-api.conf': `[DEFAULT]
enabled_backends = fast:file, objects:s3
show_multiple_locations = true
[glance_store]
default_backend = fast
[fast]
filesystem_store_datadir = ${join(dir, 'fast')}
[objects]
s3_store_host = http://s3.example
s3_store_access_key = key
s3_store_secret_key = secret
s3_store_bucket = bucket
` });
  });
  after(async () => {
    await t.close();
    rmSync(dir, { recursive: true, force: true });
  });

  test('is for services only, through legacy PATCH and POST /locations (a user could adopt another project\'s object)', async () => {
    const image = await createImage(t, { disk_format: 'raw', container_format: 'bare' });
    const url = 's3://key:secret@s3.example/bucket/0b5f1c6e-0000-4000-8000-000000000001';
    const patched = await patchImage(t, image.id, [{ op: 'add', path: '/locations/-', value: { url, metadata: {} } }]);
    assert.equal(patched.statusCode, 403, patched.body);
    assert.doesNotMatch(patched.body, /key:secret/);
    const posted = await t.app.inject({ method: 'POST', url: `/v2/images/${image.id}/locations`,
      headers: { ...ownerMember, ...json }, payload: JSON.stringify({ url }) });
    assert.equal(posted.statusCode, 403, posted.body);
    assert.equal((await show(t, image.id)).json().status, 'queued');
  });
});
