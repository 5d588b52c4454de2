// web-download and the legacy tasks API import through the SSRF-checked fetcher (src/net/),
// end to end through the API: a local HTTP server the operator allowed (allowed_hosts and
// allowed_ports) works; every encoded or private address form is refused at request time (400);
// a redirect chain that ends at a denied address, and a host name that resolves to loopback, fail
// the task and leave the image queued with the reason; unsafe fetched data is refused too.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { startTestApp, type TestApp } from '../helpers/app.ts';
import { admin, createImage, json, ownerMember, show } from '../helpers/v2.ts';
import { importImage, waitForImage, waitForTasks } from '../helpers/import.ts';
import { qcow2 } from '../unit/formats-images.ts';

const payload = Buffer.alloc(256 * 1024 + 3, 0x61);

let server: Server;
let port: number;
before(async () => {
  server = createServer((req, res) => {
    const url = req.url ?? '/';
    const redirect = (to: string) => { res.writeHead(302, { location: to }); res.end(); };
    if (url === '/image') { res.writeHead(200, { 'content-length': payload.length }); res.end(payload); return; }
    if (url === '/unsafe') { res.end(qcow2({ backingFile: '/etc/passwd' })); return; }
    if (url === '/hop1') return redirect('/hop2');
    if (url === '/hop2') return redirect(`http://127.0.0.1:${port}/image`);
    if (url === '/to-metadata') return redirect('/via');
    if (url === '/via') return redirect('http://169.254.169.254/latest/meta-data/');
    if (url === '/to-localhost') return redirect(`http://localhost:${port}/image`);
    if (url.startsWith('/loop')) return redirect(`/loop${Number(url.slice(5) || 0) + 1}`);
    res.writeHead(404); res.end();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  port = (server.address() as AddressInfo).port;
});
after(() => { server.close(); });

async function webDownload(t: TestApp, uri: string) {
  const image = await createImage(t, { disk_format: 'raw', container_format: 'bare' });
  const res = await importImage(t, image.id, { method: { name: 'web-download', uri } });
  return { id: image.id, res };
}

async function expectFailedTask(t: TestApp, id: string, message: RegExp) {
  const [task] = await waitForTasks(t, id);
  assert.equal(task!.status, 'failure');
  assert.match(String(task!.message), message);
  const image = (await show(t, id)).json();
  assert.equal(image.status, 'queued');
  assert.match(String(image.os_glance_import_error), /^web-download: /);
}

describe('an allowed local mirror (allowed_hosts = 127.0.0.1, its port allowed)', () => {
  let t: TestApp;
  before(async () => {
    t = await startTestApp({
      GLIMPSE_IMPORT_FILTERING_OPTS__ALLOWED_HOSTS: '127.0.0.1',
      GLIMPSE_IMPORT_FILTERING_OPTS__ALLOWED_PORTS: String(port),
      GLIMPSE_IMPORT_FILTERING_OPTS__MAX_REDIRECTS: '3',
    });
  });
  after(async () => { await t.close(); });

  test('web-download succeeds: queued → importing → active with the fetched bytes', async () => {
    const { id, res } = await webDownload(t, `http://127.0.0.1:${port}/image`);
    assert.equal(res.statusCode, 202, res.body);
    const image = await waitForImage(t, id, (i) => i.status === 'active' || i.status === 'queued');
    assert.equal(image.status, 'active', JSON.stringify(image));
    assert.equal(image.size, payload.length);
    assert.equal(image.checksum, createHash('md5').update(payload).digest('hex'));
    const [task] = await waitForTasks(t, id);
    assert.equal(task!.status, 'success');
  });

  test('redirects within the allowed host are followed, each hop checked', async () => {
    const { id, res } = await webDownload(t, `http://127.0.0.1:${port}/hop1`);
    assert.equal(res.statusCode, 202);
    assert.equal((await waitForImage(t, id, (i) => i.status !== 'importing')).status, 'active');
  });

  test('a redirect chain ending at the metadata service fails the import; the image stays queued', async () => {
    const { id, res } = await webDownload(t, `http://127.0.0.1:${port}/to-metadata`);
    assert.equal(res.statusCode, 202);
    await expectFailedTask(t, id, /refused http:\/\/169\.254\.169\.254/);
  });

  test('a redirect to a host name outside allowed_hosts (localhost) is refused', async () => {
    const { id } = await webDownload(t, `http://127.0.0.1:${port}/to-localhost`);
    await expectFailedTask(t, id, /refused http:\/\/localhost/);
  });

  test('a redirect loop stops at max_redirects', async () => {
    const { id } = await webDownload(t, `http://127.0.0.1:${port}/loop`);
    await expectFailedTask(t, id, /redirect/i);
  });

  test('other loopback addresses than the allowed one, and other ports, are refused at once (400)', async () => {
    for (const uri of [`http://127.0.0.2:${port}/image`, `http://localhost:${port}/image`, `http://127.0.0.1:${port + 1}/image`]) {
      const { id, res } = await webDownload(t, uri);
      assert.equal(res.statusCode, 400, uri);
      assert.match(res.body, /does not pass filtering/);
      assert.equal((await show(t, id)).json().status, 'queued');
    }
  });

  test('fetched data goes through the format inspector: a qcow2 with a backing file never becomes active', async () => {
    const { id } = await webDownload(t, `http://127.0.0.1:${port}/unsafe`);
    await expectFailedTask(t, id, /safety checks: backing_file/);
  });

  test('the legacy tasks API import creates the image and fetches it the same way', async () => {
    const res = await t.app.inject({ method: 'POST', url: '/v2/tasks', headers: { ...admin, ...json }, payload: {
      type: 'import', input: { import_from: `http://127.0.0.1:${port}/image`, import_from_format: 'raw',
        image_properties: { name: 'legacy', disk_format: 'raw', container_format: 'bare', os_distro: 'x' } } } });
    assert.equal(res.statusCode, 201, res.body);
    assert.match(String(res.headers.location), /\/v2\/tasks\/[0-9a-f-]{36}$/);
    const taskId = res.json().id as string;
    let task: Record<string, unknown> = {};
    for (let i = 0; i < 300 && task.status !== 'success' && task.status !== 'failure'; i++) {
      await new Promise((r) => setTimeout(r, 50));
      task = (await t.app.inject({ url: `/v2/tasks/${taskId}`, headers: { ...admin, ...json } })).json();
    }
    assert.equal(task.status, 'success', JSON.stringify(task));
    const imageId = (task.result as { image_id: string }).image_id;
    const image = (await show(t, imageId, admin)).json();
    assert.equal(image.status, 'active');
    assert.equal(image.name, 'legacy');
    assert.equal(image.os_distro, 'x');
    assert.equal(image.owner, 'adminproject');
    assert.equal(image.size, payload.length);
  });
});

describe('default filters (http/https, ports 80 and 443, no host lists)', () => {
  let t: TestApp;
  before(async () => { t = await startTestApp(); });
  after(async () => { await t.close(); });

  test('every encoded, private, loopback, link-local and mapped address form is refused at request time', async () => {
    const refused = [
      'http://2130706433/', 'http://0x7f000001/', 'http://0177.0.0.1/', 'http://127.1/', 'http://127.0.0.1/',
      'http://[::1]/', 'http://[::ffff:127.0.0.1]/', 'http://[::ffff:7f00:1]/', 'http://0.0.0.0/', 'http://0/',
      'http://169.254.169.254/latest/meta-data/', 'http://10.0.0.1/', 'http://172.16.0.1/', 'http://192.168.1.1/',
      'http://100.64.0.1/', 'http://[fd00::1]/', 'http://[fe80::1]/', 'http://example.com@127.0.0.1/',
      'http://user:pw@example.com/', 'http://example.com:22/', 'http://example.com:8080/', 'ftp://example.com/x',
      'file:///etc/passwd', 'gopher://example.com/', 'http:///nohost',
    ];
    for (const uri of refused) {
      const { id, res } = await webDownload(t, uri);
      assert.equal(res.statusCode, 400, `${uri}: ${res.body}`);
      assert.match(res.body, /URI for web-download does not pass filtering/);
      assert.equal((await show(t, id)).json().status, 'queued', uri);
    }
    for (const uri of ['http://2130706433/', 'http://[::1]/', 'http://169.254.169.254/']) {
      const res = await t.app.inject({ method: 'POST', url: '/v2/tasks', headers: { ...admin, ...json }, payload: {
        type: 'import', input: { import_from: uri, import_from_format: 'raw', image_properties: {} } } });
      assert.equal(res.statusCode, 400, uri);
      assert.match(res.body, /legacy import task does not pass filtering/);
    }
  });

  test('a host name that resolves to loopback is refused when resolved: the task fails, the image stays queued', async () => {
    const { id, res } = await webDownload(t, 'http://localhost/image');
    assert.equal(res.statusCode, 202, res.body);
    await expectFailedTask(t, id, /refused http:\/\/localhost/);
    assert.equal((await show(t, id, ownerMember)).json().size, null);
  });
});
