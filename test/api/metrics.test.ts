// Prometheus metrics ([metrics] enabled; decision 0024): after a scripted sequence of requests the
// scrape shows the expected request counts by route pattern and status, the bytes each store took
// in and gave out, no transfer left in flight, a failed store read, the task queue and process
// metrics; off by default; and on a listener of their own, added up over several workers.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, unlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startTestApp, type TestApp } from '../helpers/app.ts';
import { createActive, createImage, json, octet, ownerMember } from '../helpers/v2.ts';
import { importImage } from '../helpers/import.ts';
import { freePort, startGlimpse } from '../helpers/processes.ts';
import { load } from '../unit/config-helpers.ts';

/** `name{labels} value` lines of an exposition → the value of the sample with exactly these labels. */
function sample(text: string, name: string, labels: Record<string, string> = {}): number | undefined {
  const want = Object.entries(labels).map(([k, v]) => `${k}="${v}"`).sort().join(',');
  for (const line of text.split('\n')) {
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!m || m[1] !== name) continue;
    const got = (m[2] ?? '').split(/,(?=[a-z_]+=")/).filter(Boolean).sort().join(',');
    if (got === want) return Number(m[3]);
  }
  return undefined;
}

async function scrape(t: TestApp): Promise<string> {
  const res = await t.app.inject({ url: '/metrics' });
  assert.equal(res.statusCode, 200, res.body);
  assert.match(String(res.headers['content-type']), /^text\/plain; version=0\.0\.4/);
  return res.body;
}

describe('/metrics on the API port', () => {
  let t: TestApp;
  before(async () => {
    t = await startTestApp({ GLIMPSE_METRICS__ENABLED: 'true', GLIMPSE_TASK__RUN_WORKER_IN_API: 'false' });
  });
  after(() => t.close());

  test('a scripted sequence shows up as counters by route pattern and status, and store bytes', async () => {
    const data = Buffer.alloc(1000, 1);
    const image = await createActive(t, data.toString('latin1'));
    for (let i = 0; i < 3; i++) {
      const got = await t.app.inject({ url: `/v2/images/${image.id}/file`, headers: ownerMember });
      assert.equal(got.statusCode, 200);
    }
    const missing = await t.app.inject({ url: '/v2/images/00000000-0000-4000-8000-000000000000', headers: { ...ownerMember, ...json } });
    assert.equal(missing.statusCode, 404);
    assert.equal((await t.app.inject({ url: '/v2/no-such-thing', headers: ownerMember })).statusCode, 404);
    assert.equal((await t.app.inject({ method: 'DELETE', url: '/v2/images', headers: ownerMember })).statusCode, 405);
    // A web-download import with no worker running stays pending in the queue.
    const queued = await createImage(t, { disk_format: 'raw', container_format: 'bare' });
    const imported = await importImage(t, queued.id, { method: { name: 'web-download', uri: 'http://example.com/disk.img' } });
    assert.equal(imported.statusCode, 202, imported.body);

    const text = await scrape(t);
    const requests = (method: string, route: string, status: string) =>
      sample(text, 'glimpse_http_requests_total', { method, route, status });
    assert.equal(requests('POST', '/v2/images', '201'), 2);
    assert.equal(requests('PUT', '/v2/images/:id/file', '204'), 1);
    assert.equal(requests('GET', '/v2/images/:id/file', '200'), 3);
    assert.equal(requests('GET', '/v2/images/:id', '404'), 1);
    assert.equal(requests('GET', '(unmatched)', '404'), 1);
    assert.equal(requests('DELETE', '/v2/images', '405'), 1);
    assert.equal(requests('POST', '/v2/images/:id/import', '202'), 1);
    assert.equal(sample(text, 'glimpse_http_request_duration_seconds_count',
      { method: 'GET', route: '/v2/images/:id/file', status: '200' }), 3);
    // No raw URL (an image id) ever becomes a label.
    assert.doesNotMatch(text, new RegExp(image.id));
    assert.equal(sample(text, 'glimpse_store_bytes_total', { store: 'file', direction: 'in' }), 1000);
    assert.equal(sample(text, 'glimpse_store_bytes_total', { store: 'file', direction: 'out' }), 3000);
    assert.equal(sample(text, 'glimpse_store_transfers_in_flight', { store: 'file', direction: 'out' }), 0);
    assert.equal(sample(text, 'glimpse_store_transfers_in_flight', { store: 'file', direction: 'in' }), 0);
    assert.equal(sample(text, 'glimpse_task_queue_depth', { status: 'pending' }), 1);
    assert.equal(sample(text, 'glimpse_task_queue_depth', { status: 'processing' }), 0);
    assert.ok(sample(text, 'glimpse_task_queue_oldest_pending_age_seconds')! >= 0);
    assert.ok(sample(text, 'process_cpu_user_seconds_total')! > 0);
    assert.ok(sample(text, 'nodejs_heap_size_used_bytes')! > 0);

    // The data vanishes from the store behind Glimpse's back: the failed read is counted.
    unlinkSync(join(t.dir, 'images', image.id));
    const gone = await t.app.inject({ url: `/v2/images/${image.id}/file`, headers: ownerMember });
    assert.equal(gone.statusCode, 204); // Glance answers a download whose data is gone with 204
    const after = await scrape(t);
    assert.equal(sample(after, 'glimpse_store_errors_total', { store: 'file', operation: 'get', kind: 'StoreNotFound' }), 1);
    assert.equal(sample(after, 'glimpse_http_requests_total', { method: 'GET', route: '/metrics', status: '200' }), 1);
  });

  test('an upload that fails half-way counts no stored bytes and leaves nothing in flight', async () => {
    const image = await createImage(t);
    const before = sample(await scrape(t), 'glimpse_store_bytes_total', { store: 'file', direction: 'in' });
    const res = await t.app.inject({ method: 'PUT', url: `/v2/images/${image.id}/file`,
      headers: { ...ownerMember, ...octet, 'content-length': '5000' }, payload: Buffer.alloc(10, 2) });
    assert.ok(res.statusCode >= 400, String(res.statusCode));
    const text = await scrape(t);
    assert.equal(sample(text, 'glimpse_store_bytes_total', { store: 'file', direction: 'in' }), before);
    assert.equal(sample(text, 'glimpse_store_transfers_in_flight', { store: 'file', direction: 'in' }), 0);
  });
});

test('metrics are off by default: /metrics is not served', async () => {
  const t = await startTestApp();
  try {
    const res = await t.app.inject({ url: '/metrics' });
    assert.notEqual(res.statusCode, 200);
    assert.doesNotMatch(res.body, /glimpse_http_requests_total/);
  } finally {
    await t.close();
  }
});

test('[metrics] bind_port with workers = 2: the main process serves every worker\'s numbers, the API port none',
  { timeout: 180_000 }, async () => {
    const dir = mkdtempSync(join(tmpdir(), 'glimpse-metrics-'));
    const [apiPort, metricsPort] = [await freePort(), await freePort()];
    // Both workers have said "listening" (worker ids 1 and 2; the order varies): wait for both.
    const child = await startGlimpse(dir, 'api', 'serve', [
      '[DEFAULT]', `bind_port = ${apiPort}`, 'workers = 2',
      '[database]', `connection = sqlite:///${join(dir, 'glimpse.db')}`,
      '[glance_store]', `filesystem_store_datadir = ${join(dir, 'images')}`,
      '[os_glance_staging_store]', `filesystem_store_datadir = ${join(dir, 'staging')}`,
      '[metrics]', 'enabled = true', `bind_port = ${metricsPort}`, '',
    ].join('\n'), '"worker":2');
    try {
      const until0 = Date.now() + 60_000;
      while (!/"worker":1,/.test(child.output()) || !/"worker":2,/.test(child.output())) {
        assert.ok(Date.now() < until0, child.output());
        await new Promise((r) => setTimeout(r, 100));
      }
      const requests = 20;
      for (let i = 0; i < requests; i++) {
        const res = await fetch(`http://127.0.0.1:${apiPort}/v2/images`, { headers: { connection: 'close' } });
        assert.equal(res.status, 200);
        await res.arrayBuffer();
      }
      const onApi = await fetch(`http://127.0.0.1:${apiPort}/metrics`);
      assert.doesNotMatch(await onApi.text(), /glimpse_http_requests_total/);
      let text = '';
      const until = Date.now() + 30_000;
      while (Date.now() < until) {
        const res = await fetch(`http://127.0.0.1:${metricsPort}/metrics`);
        assert.equal(res.status, 200);
        text = await res.text();
        if (sample(text, 'glimpse_http_requests_total', { method: 'GET', route: '/v2/images', status: '200' }) === requests) break;
        await new Promise((r) => setTimeout(r, 500));
      }
      assert.equal(sample(text, 'glimpse_http_requests_total', { method: 'GET', route: '/v2/images', status: '200' }), requests,
        text.split('\n').filter((l) => l.startsWith('glimpse_http_requests_total')).join('\n'));
      assert.equal((await fetch(`http://127.0.0.1:${metricsPort}/other`)).status, 404);
    } finally {
      await child.stop();
      rmSync(dir, { recursive: true, force: true });
    }
  });

test('[metrics] settings that cannot work as written are warned about at load', () => {
  const warned = (text: string) => load(text).warnings.filter((w) => w.includes('[metrics]'));
  assert.match(warned('[metrics]\nbind_port = 9393\n').join('\n'), /bind_port is ignored while \[metrics\] enabled is false/);
  assert.match(warned('[DEFAULT]\nworkers = 2\n[metrics]\nenabled = true\n').join('\n'), /sees only the worker that answered/);
  assert.deepEqual(warned('[DEFAULT]\nworkers = 2\n[metrics]\nenabled = true\nbind_port = 9393\n'), []);
  assert.deepEqual(load('[metrics]\nenabled = true\nbind_port = 9393\n').config.metrics,
    { enabled: true, bindHost: '127.0.0.1', bindPort: 9393 });
});
