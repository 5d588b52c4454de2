// The `glimpse` command as a user runs it: real processes, real ports.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { latestVersion } from '../../src/db/migrate.ts';

const bin = join(import.meta.dirname, '..', '..', 'bin', 'glimpse.js');

function glimpse(args: string[], cwd: string) {
  return spawnSync(process.execPath, [bin, ...args], { cwd, encoding: 'utf8', env: cleanEnv() });
}

function cleanEnv(): NodeJS.ProcessEnv {
  return Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('GLIMPSE_')));
}

async function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const server = createServer().listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

test('a bad value stops startup with a message naming the option', () => {
  const dir = mkdtempSync(join(tmpdir(), 'glimpse-cli-'));
  writeFileSync(join(dir, 'bad.conf'), '[DEFAULT]\nbind_port = lots\n');
  const result = glimpse(['serve', '--config-file', 'bad.conf'], dir);
  assert.equal(result.status, 2);
  assert.match(result.stderr, /configuration error: invalid value for \[DEFAULT\] bind_port: "lots"/);
});

test('a missing config file and an unknown database scheme are clear errors too', () => {
  const dir = mkdtempSync(join(tmpdir(), 'glimpse-cli-'));
  let result = glimpse(['serve', '--config-file', 'nope.conf'], dir);
  assert.equal(result.status, 2);
  assert.match(result.stderr, /nope\.conf/);
  writeFileSync(join(dir, 'db.conf'), '[database]\nconnection = oracle://scott:tiger@db/x\n');
  result = glimpse(['db', 'version', '--config-file', 'db.conf'], dir);
  assert.equal(result.status, 2);
  assert.match(result.stderr, /\[database\] connection/);
  assert.doesNotMatch(result.stderr, /tiger/, 'the password is never printed');
});

test('unknown options are warnings, not errors', () => {
  const dir = mkdtempSync(join(tmpdir(), 'glimpse-cli-'));
  writeFileSync(join(dir, 'warn.conf'), '[DEFAULT]\nno_such_option = 1\n');
  const result = glimpse(['config', 'check', '--config-file', 'warn.conf', '--resolved'], dir);
  assert.equal(result.status, 0, result.stderr);
  assert.match(result.stderr, /warning: .*no_such_option/);
  assert.equal(JSON.parse(result.stdout).bindPort, 9292);
});

test('policy sample prints every default rule, commented', () => {
  const result = glimpse(['policy', 'sample'], tmpdir());
  assert.equal(result.status, 0, result.stderr);
  assert.match(result.stdout, /^#"get_image": "/m);
  assert.match(result.stdout, /^#"context_is_admin": "role:admin"$/m);
});

test('db sync applies the migrations once; db version reports them', () => {
  const dir = mkdtempSync(join(tmpdir(), 'glimpse-cli-'));
  writeFileSync(join(dir, 'g.conf'), '[database]\nconnection = sqlite:///g.db\n');
  assert.match(glimpse(['db', 'version', '--config-file', 'g.conf'], dir).stdout, /empty/);
  const first = glimpse(['db', 'sync', '--config-file', 'g.conf'], dir);
  assert.equal(first.status, 0, first.stderr);
  assert.match(first.stdout, /applied 0001/);
  assert.match(glimpse(['db', 'sync', '--config-file', 'g.conf'], dir).stdout, /already up to date/);
  assert.equal(glimpse(['db', 'version', '--config-file', 'g.conf'], dir).stdout.trim(), latestVersion);
});

async function startServer(dir: string, conf: string) {
  writeFileSync(join(dir, 'g.conf'), conf);
  const child = spawn(process.execPath, [bin, 'serve', '--config-file', 'g.conf'], { cwd: dir, env: cleanEnv() });
  let out = '';
  child.stdout.on('data', (d: Buffer) => { out += d.toString(); });
  child.stderr.on('data', (d: Buffer) => { out += d.toString(); });
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return { child, exited, output: () => out };
}

// Generous: on a loaded 2-core machine starting tsx in several processes can take tens of seconds.
async function waitFor(check: () => boolean, what: string, ms = 60_000) {
  const until = Date.now() + ms;
  while (!check()) {
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

test('serve prints its URL and setup, answers, and exits 0 on SIGTERM', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'glimpse-cli-'));
  const port = await freePort();
  const server = await startServer(dir, `[DEFAULT]\nbind_port = ${port}\n[database]\nconnection = sqlite:///g.db\n`);
  try {
    await waitFor(() => server.output().includes('serving the Images API'), 'startup');
    assert.match(server.output(), new RegExp(`http://127\\.0\\.0\\.1:${port}`));
    assert.match(server.output(), /auth noauth/);
    const res = await fetch(`http://127.0.0.1:${port}/`);
    assert.equal(res.status, 300);
  } finally {
    server.child.kill('SIGTERM');
  }
  assert.equal(await server.exited, 0);
});

test('workers = 2 runs two serving processes behind one port and stops them all on SIGTERM', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'glimpse-cli-'));
  const port = await freePort();
  const server = await startServer(dir,
    `[DEFAULT]\nbind_port = ${port}\nworkers = 2\n[database]\nconnection = sqlite:///g.db\n`);
  try {
    await waitFor(() => (server.output().match(/"msg":"API worker process \d+ is serving at/g) ?? []).length === 2, 'two workers');
    const pids = new Set([...server.output().matchAll(/"pid":(\d+)[^\n]*"msg":"API worker process/g)].map((m) => m[1]));
    assert.equal((server.output().match(/serving the Images API at/g) ?? []).length, 1, 'one start-up line');
    assert.equal(pids.size, 2);
    assert.ok(!pids.has(String(server.child.pid)), 'the primary only supervises');
    const statuses = await Promise.all(Array.from({ length: 8 }, () => fetch(`http://127.0.0.1:${port}/versions`)
      .then((r) => r.status)));
    assert.deepEqual(new Set(statuses), new Set([200]));
  } finally {
    server.child.kill('SIGTERM');
  }
  assert.equal(await server.exited, 0);
});

test('SIGTERM lets an in-flight upload finish before the process exits', async () => {
  const { request } = await import('node:http');
  const dir = mkdtempSync(join(tmpdir(), 'glimpse-cli-'));
  const port = await freePort();
  const server = await startServer(dir, `[DEFAULT]\nbind_port = ${port}\n[database]\nconnection = sqlite:///g.db\n`);
  try {
    await waitFor(() => server.output().includes('serving the Images API'), 'startup');
    const created = await fetch(`http://127.0.0.1:${port}/v2/images`, { method: 'POST',
      body: JSON.stringify({ disk_format: 'raw', container_format: 'bare' }) });
    const { id } = await created.json() as { id: string };
    const status = new Promise<number>((resolve, reject) => {
      const upload = request({ host: '127.0.0.1', port, method: 'PUT', path: `/v2/images/${id}/file`,
        headers: { 'content-type': 'application/octet-stream' } }, (res) => { res.resume(); resolve(res.statusCode!); });
      upload.on('error', reject);
      upload.write(Buffer.alloc(1024 * 1024, 1));
      setTimeout(() => {
        server.child.kill('SIGTERM');
        setTimeout(() => upload.end(Buffer.alloc(1024 * 1024, 2)), 500);
      }, 300);
    });
    assert.equal(await status, 204);
  } finally {
    server.child.kill('SIGTERM');
  }
  assert.equal(await server.exited, 0);
});

test('config check never prints store or database credentials', () => {
  const dir = mkdtempSync(join(tmpdir(), 'glimpse-cli-'));
  writeFileSync(join(dir, 'stores.conf'), '[DEFAULT]\nenabled_backends = obj:s3, sw:swift\n[glance_store]\ndefault_backend = obj\n'
    + '[obj]\ns3_store_host = http://s3.example\ns3_store_access_key = AKIA-visible-not\ns3_store_secret_key = s3-topsecret\ns3_store_bucket = b\n'
    + '[sw]\nswift_store_auth_address = http://ks/v3\nswift_store_user = svc:glance\nswift_store_key = swift-topsecret\n'
    + '[database]\nconnection = postgresql://u:db-topsecret@h/db\n');
  for (const format of [[], ['--json'], ['--resolved']]) {
    const result = glimpse(['config', 'check', '--config-file', 'stores.conf', ...format], dir);
    assert.equal(result.status, 0, result.stderr);
    assert.doesNotMatch(result.stdout, /topsecret|AKIA-visible-not/);
  }
  const resolved = glimpse(['config', 'check', '--config-file', 'stores.conf', '--resolved'], dir);
  assert.equal(JSON.parse(resolved.stdout).stores.backends[0].s3.bucket, 'b', 'the rest is shown');
  assert.match(glimpse(['config', 'check', '--config-file', 'stores.conf'], dir).stdout, /^\[obj\] s3_store_bucket = b +stores\.conf:9$/m);
});
