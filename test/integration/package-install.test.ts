// The published package as an operator gets it: `npm pack`, then `npm install <tarball>` in an
// empty directory, then the installed `glimpse serve` on the embedded default (SQLite and a file
// store under ./data of that directory) creates an image and takes its upload.
// Needs the npm registry (nothing else): better-sqlite3 is compiled from source
// (npm_config_build_from_source), because its prebuilt binaries come from GitHub, which a build
// machine may not reach; with Node's headers installed (/usr/include/node) nothing else is fetched.
// Set GLIMPSE_TEST_SKIP_PACKAGE=1 to skip it (it compiles SQLite: a few minutes of CPU).
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';
import { freePort, terminate } from '../helpers/processes.ts';

const run = promisify(execFile);
const root = join(import.meta.dirname, '..', '..');
const skip = process.env.GLIMPSE_TEST_SKIP_PACKAGE === '1' ? 'GLIMPSE_TEST_SKIP_PACKAGE=1' : false;
const dir = mkdtempSync(join(tmpdir(), 'glimpse-package-'));
const app = join(dir, 'app');
const nodeDir = dirname(dirname(process.execPath));
const npmEnv = {
  ...Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('GLIMPSE_') && !k.startsWith('npm_'))),
  npm_config_build_from_source: 'true',
  npm_config_audit: 'false',
  npm_config_fund: 'false',
  npm_config_update_notifier: 'false',
  ...(existsSync(join(nodeDir, 'include', 'node', 'node_api.h')) ? { npm_config_nodedir: nodeDir } : {}),
};
let server: ChildProcess | undefined;
let output = '';
let url = '';

before(async () => {
  if (skip) return;
  const packed = await run('npm', ['pack', '--pack-destination', dir], { cwd: root, env: npmEnv, maxBuffer: 1 << 24 });
  const tarball = join(dir, packed.stdout.trim().split('\n').pop()!);
  mkdirSync(app);
  writeFileSync(join(app, 'package.json'), JSON.stringify({ name: 'glimpse-install-test', private: true }));
  await run('npm', ['install', '--no-package-lock', tarball], { cwd: app, env: npmEnv, maxBuffer: 1 << 24, timeout: 20 * 60_000 });
}, { timeout: 25 * 60_000 });

after(async () => {
  await terminate(server);
  rmSync(dir, { recursive: true, force: true });
});

test('the tarball ships the server, its docs and sample config, and no tests or build tools', { skip }, () => {
  const pkg = join(app, 'node_modules', 'glimpse');
  for (const path of ['bin/glimpse.js', 'dist/glimpse.js', 'etc/glimpse-api.conf.sample', 'README.md',
    'docs/operations.md', 'deploy/glimpse-api.service', 'deploy/Containerfile']) {
    assert.ok(existsSync(join(pkg, path)), `${path} is shipped`);
  }
  for (const path of ['test', 'bench', 'src', 'scripts', 'tsconfig.json']) assert.ok(!existsSync(join(pkg, path)), `${path} is not shipped`);
  // Build tools are devDependencies: an installation carries neither.
  for (const tool of ['esbuild', 'tsx', 'typescript']) assert.ok(!existsSync(join(app, 'node_modules', tool)), `${tool} is not installed`);
});

test('the installed glimpse serves the embedded default: create and upload an image', { skip, timeout: 120_000 }, async () => {
  const port = await freePort();
  url = `http://127.0.0.1:${port}`;
  server = spawn(join(app, 'node_modules', '.bin', 'glimpse'), ['serve'],
    { cwd: app, env: { ...npmEnv, GLIMPSE_DEFAULT__BIND_PORT: String(port) } });
  server.stdout!.on('data', (d: Buffer) => { output += d.toString(); });
  server.stderr!.on('data', (d: Buffer) => { output += d.toString(); });
  const until = Date.now() + 60_000;
  for (;;) {
    const up = await fetch(`${url}/versions`).then((r) => r.ok, () => false);
    if (up) break;
    if (Date.now() > until || server.exitCode !== null) assert.fail(`glimpse did not start:\n${output}`);
    await new Promise((r) => setTimeout(r, 200));
  }
  const created = await fetch(`${url}/v2/images`, { method: 'POST', headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ name: 'packaged', disk_format: 'raw', container_format: 'bare' }) });
  assert.equal(created.status, 201, await created.clone().text());
  const { id } = await created.json() as { id: string };
  const data = randomBytes(300_000);
  const put = await fetch(`${url}/v2/images/${id}/file`, { method: 'PUT',
    headers: { 'content-type': 'application/octet-stream' }, body: data });
  assert.equal(put.status, 204, await put.text());
  const image = await (await fetch(`${url}/v2/images/${id}`)).json() as Record<string, unknown>;
  assert.equal(image.status, 'active');
  assert.equal(image.size, data.length);
  assert.equal(image.checksum, createHash('md5').update(data).digest('hex'));
  const back = Buffer.from(await (await fetch(`${url}/v2/images/${id}/file`)).arrayBuffer());
  assert.ok(back.equals(data));
  // The embedded default keeps everything under ./data of the working directory.
  assert.ok(existsSync(join(app, 'data', 'glimpse.db')));
  assert.deepEqual(readdirSync(join(app, 'data', 'images')), [id]);
});
