// Exact quotas across nodes: two `glimpse serve` processes on one PostgreSQL schema, limits from
// the real Keystone (created through its API). 20 concurrent uploads of one project, alternating
// between the nodes, under an image_size_total that admits only some: the stored total never
// exceeds the limit, and with the sizes declared the number admitted is the largest that fits.
// The same for image_count_total with 20 concurrent creates. Needs GLIMPSE_TEST_POSTGRES_URL and
// GLIMPSE_TEST_KEYSTONE_URL; skipped visibly otherwise.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { request } from 'undici';
import { keystoneSkip, keystoneUrl } from '../helpers/keystone.ts';
import { limitsEnv, limitsFixture, type LimitsFixture } from '../helpers/keystone-limits.ts';
import { privatePostgresSchema } from '../helpers/postgres-schema.ts';
import { freePort, startGlimpse, trusted, type Child } from '../helpers/processes.ts';

const pgUrl = process.env.GLIMPSE_TEST_POSTGRES_URL;
const skip = !pgUrl ? 'GLIMPSE_TEST_POSTGRES_URL not set' : keystoneSkip;
const MIB = 1024 * 1024;
const UPLOADS = 20;
const SIZE = 1.5 * MIB;
const LIMIT_MIB = 10;

describe('quota reservations across two nodes (PostgreSQL, Keystone limits)', { skip }, () => {
  let dir: string;
  let db: Awaited<ReturnType<typeof privatePostgresSchema>>;
  let uploads: LimitsFixture;
  let creates: LimitsFixture;
  let nodes: Child[] = [];

  before(async () => {
    uploads = await limitsFixture();
    creates = await limitsFixture();
    await uploads.setLimits({ image_size_total: LIMIT_MIB, image_count_total: 1000, image_count_uploading: 1000 });
    await creates.setLimits({ image_count_total: 7 });
    dir = mkdtempSync(join(tmpdir(), 'glimpse-quota-race-'));
    db = await privatePostgresSchema(pgUrl!);
    const oslo = limitsEnv(uploads.endpointId, keystoneUrl);
    const conf = (port: number) => [
      '[DEFAULT]', `bind_port = ${port}`, 'use_keystone_limits = true',
      '[database]', `connection = ${db.url}`,
      '[glance_store]', `filesystem_store_datadir = ${join(dir, 'images')}`,
      '[os_glance_staging_store]', `filesystem_store_datadir = ${join(dir, 'staging')}`,
      '[paste_deploy]', 'flavor = trusted-auth',
      '[oslo_limit]', ...Object.entries(oslo).filter(([k]) => k.startsWith('GLIMPSE_OSLO_LIMIT__'))
        .map(([k, v]) => `${k.slice('GLIMPSE_OSLO_LIMIT__'.length).toLowerCase()} = ${v}`),
      '[glimpse_quotas]', 'limits_cache_time = 5',
    ].join('\n');
    nodes = [await startGlimpse(dir, 'a', 'serve', conf(await freePort())), await startGlimpse(dir, 'b', 'serve', conf(await freePort()))];
  });

  after(async () => {
    for (const node of nodes) await node.stop();
    await db?.drop();
    await creates?.cleanup();
    await uploads?.cleanup();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  const call = async (i: number, method: 'GET' | 'POST' | 'PUT', path: string, project: string, body?: unknown,
    headers: Record<string, string> = {}) => {
    const payload = body === undefined ? undefined : Buffer.isBuffer(body) || body instanceof Readable ? body : JSON.stringify(body);
    // reset: a connection per request, so none is reused after a refused upload left it closing.
    const res = await request(`${nodes[i % 2]!.url}${path}`, { method, body: payload, reset: true,
      headers: { ...trusted(project), 'content-type': 'application/json', ...headers } });
    const text = await res.body.text();
    return { status: res.statusCode, text, json: () => JSON.parse(text) as Record<string, unknown> };
  };
  const createIn = async (i: number, project: string) => (await call(i, 'POST', '/v2/images', project,
    { name: `r${i}`, disk_format: 'raw', container_format: 'bare' }));
  const usageOf = async (project: string) =>
    (await call(0, 'GET', '/v2/info/usage', project)).json().usage as Record<string, { limit: number; usage: number }>;

  test(`${UPLOADS} concurrent declared-size uploads: exactly the largest number that fits is stored`, async () => {
    const p = uploads.projectId;
    const ids = await Promise.all(Array.from({ length: UPLOADS }, async (_, i) => (await createIn(i, p)).json().id as string));
    const results = await Promise.all(ids.map((id, i) => call(i, 'PUT', `/v2/images/${id}/file`, p, Buffer.alloc(SIZE, i),
      { 'content-type': 'application/octet-stream' })));
    const admitted = results.filter((r) => r.status === 204).length;
    const refused = results.filter((r) => r.status === 413);
    assert.equal(admitted + refused.length, UPLOADS, results.map((r) => `${r.status} ${r.text.slice(0, 200)}`).join('\n'));
    assert.equal(admitted, Math.floor(LIMIT_MIB * MIB / SIZE), 'the largest number that fits');
    for (const r of refused) assert.match(r.text, /Resource image_size_total is over limit of 10/);
    const stored = await Promise.all(ids.map(async (id, i) => (await call(i, 'GET', `/v2/images/${id}`, p)).json()));
    const total = stored.filter((img) => img.status === 'active').reduce((sum, img) => sum + (img.size as number), 0);
    assert.equal(total, admitted * SIZE);
    assert.ok(total <= LIMIT_MIB * MIB);
    assert.equal((await usageOf(p)).image_size_total!.usage, Math.floor(total / MIB));
  });

  test(`${UPLOADS} concurrent chunked uploads (size unknown) never end above the limit`, async () => {
    const p = uploads.projectId;
    await uploads.setLimits({ image_size_total: 20 });
    const ids = await Promise.all(Array.from({ length: UPLOADS }, async (_, i) => (await createIn(i, p)).json().id as string));
    const chunks = (i: number) => Readable.from((function* () { for (let k = 0; k < 6; k++) yield Buffer.alloc(MIB / 4, i); })());
    // A refusal in the middle of a body may reach the client as a reset connection instead of the 413.
    const results = await Promise.all(ids.map((id, i) => call(i, 'PUT', `/v2/images/${id}/file`, p, chunks(i),
      { 'content-type': 'application/octet-stream' }).catch((error: NodeJS.ErrnoException) => ({ status: error.code ?? 'error', text: '' }))));
    const admitted = results.filter((r) => r.status === 204).length;
    assert.ok(admitted >= 1, 'some are stored');
    assert.ok(results.every((r) => r.status === 204 || r.status === 413 || r.status === 'ECONNRESET'),
      results.map((r) => r.status).join(','));
    const all = (await call(0, 'GET', '/v2/images?limit=100', p)).json().images as { status: string; size: number | null }[];
    const total = all.filter((img) => img.status === 'active').reduce((sum, img) => sum + (img.size ?? 0), 0);
    assert.ok(total <= 20 * MIB, `stored ${total} bytes under a 20 MiB limit`);
  });

  test(`${UPLOADS} concurrent creates under image_count_total 7: exactly 7 images`, async () => {
    const p = creates.projectId;
    const results = await Promise.all(Array.from({ length: UPLOADS }, (_, i) => createIn(i, p)));
    assert.equal(results.filter((r) => r.status === 201).length, 7);
    const refused = results.filter((r) => r.status === 413);
    assert.equal(refused.length, UPLOADS - 7);
    for (const r of refused) assert.match(r.text, /Resource image_count_total is over limit of 7 due to current usage 7 and delta 1/);
    assert.deepEqual((await usageOf(p)).image_count_total, { limit: 7, usage: 7 });
  });
});
