// The operator's view of the `glimpse` command (issue 20): version, help, unknown commands,
// `config check` in Glance's names with sources, bad paths named by their option, the log in text
// and JSON, log_file reopened on SIGHUP, and a shutdown that always ends with a line.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const root = join(import.meta.dirname, '..', '..');
const bin = join(root, 'bin', 'glimpse.js');
const version = (JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { version: string }).version;

function cleanEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  return { ...Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('GLIMPSE_'))), ...extra };
}

function glimpse(args: string[], cwd: string, env: Record<string, string> = {}) {
  return spawnSync(process.execPath, [bin, ...args], { cwd, encoding: 'utf8', env: cleanEnv(env) });
}

function tempDir(): string {
  return mkdtempSync(join(tmpdir(), 'glimpse-ops-'));
}

async function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const server = createServer().listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

async function waitFor(check: () => boolean, what: string, ms = 60_000): Promise<void> {
  const until = Date.now() + ms;
  while (!check()) {
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

function startServer(dir: string, conf: string, env: Record<string, string> = {}) {
  writeFileSync(join(dir, 'g.conf'), conf);
  const child = spawn(process.execPath, [bin, 'serve', '--config-file', 'g.conf'], { cwd: dir, env: cleanEnv(env) });
  let out = '';
  child.stdout.on('data', (d: Buffer) => { out += d.toString(); });
  child.stderr.on('data', (d: Buffer) => { out += d.toString(); });
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return { child, exited, output: () => out };
}

test('--version prints the package version; help and -h list the commands', () => {
  const dir = tempDir();
  for (const flag of ['--version', '-V']) {
    const result = glimpse([flag], dir);
    assert.equal(result.status, 0, result.stderr);
    assert.equal(result.stdout.trim(), version);
  }
  for (const args of [['help'], ['--help']]) {
    const result = glimpse(args, dir);
    assert.equal(result.status, 0, result.stderr);
    for (const command of ['serve', 'worker', 'scrubber', 'db', 'config', 'cache', 'migrate']) {
      assert.match(result.stdout, new RegExp(`^  ${command}\\b`, 'm'), `${args.join(' ')} lists ${command}`);
    }
  }
  assert.match(glimpse(['help', 'config'], dir).stdout, /check/);
});

test('an unknown command is an error that lists the commands (and suggests the close one)', () => {
  const dir = tempDir();
  const bogus = glimpse(['bogus'], dir);
  assert.equal(bogus.status, 1);
  assert.match(bogus.stderr, /unknown command 'bogus'; the commands are: serve, worker, scrubber, db/);
  assert.doesNotMatch(bogus.stderr, /did you mean|too many arguments/);
  const typo = glimpse(['serv'], dir);
  assert.equal(typo.status, 1);
  assert.match(typo.stderr, /unknown command 'serv' \(did you mean serve\?\)/);
});

test('config check prints Glance option names, values and where each came from', () => {
  const dir = tempDir();
  writeFileSync(join(dir, 'g.conf'), '[DEFAULT]\nbind_port = 9393\n\n[database]\nconnection = postgresql://u:pw-secret@db/glance\n');
  const result = glimpse(['config', 'check', '--config-file', 'g.conf'], dir, { GLIMPSE_DEFAULT__DEBUG: 'true' });
  assert.equal(result.status, 0, result.stderr);
  assert.match(result.stdout, /^\[DEFAULT\] bind_port = 9393 +g\.conf:2$/m);
  assert.match(result.stdout, /^\[DEFAULT\] debug = true +env GLIMPSE_DEFAULT__DEBUG$/m);
  assert.match(result.stdout, /^\[DEFAULT\] bind_host = 127\.0\.0\.1 +default$/m);
  assert.match(result.stdout, /^\[database\] connection = postgresql:\/\/u:\*\*\*@db\/glance +g\.conf:5$/m);
  assert.match(result.stdout, /^\[glance_store\] filesystem_store_datadir = \.\/data\/images +default$/m);
  assert.doesNotMatch(result.stdout, /bindPort|pw-secret/);
  assert.match(result.stderr, /configuration g\.conf is valid/);

  const changed = glimpse(['config', 'check', '--config-file', 'g.conf', '--changed', '--json'], dir);
  assert.deepEqual(JSON.parse(changed.stdout), [
    { section: 'DEFAULT', option: 'bind_port', source: 'g.conf:2', value: '9393' },
    { section: 'database', option: 'connection', source: 'g.conf:5', value: 'postgresql://u:***@db/glance' },
  ]);
});

test('config check suggests the option or section a typo meant', () => {
  const dir = tempDir();
  writeFileSync(join(dir, 'g.conf'), '[DEFAULT]\nbind_prot = 9393\n[glance_stor]\ndefault_store = file\n');
  const result = glimpse(['config', 'check', '--config-file', 'g.conf'], dir);
  assert.equal(result.status, 0, result.stderr);
  assert.match(result.stderr, /unknown option \[DEFAULT\] bind_prot \(g\.conf, line 2\) \(did you mean bind_port\?\)/);
  assert.match(result.stderr, /unknown section \[glance_stor\] \(g\.conf, line 3\) \(did you mean \[glance_store\]\?\)/);
});

test('a store directory that is a file: one line naming the option (refuse), or a loud error line (warn)', async () => {
  const dir = tempDir();
  writeFileSync(join(dir, 'not-a-dir'), 'x');
  const port = await freePort();
  const conf = `[DEFAULT]\nbind_port = ${port}\nunusable_store_at_start = refuse\n[glance_store]\nfilesystem_store_datadir = not-a-dir\n`;
  writeFileSync(join(dir, 'g.conf'), conf);
  const refused = glimpse(['serve', '--config-file', 'g.conf'], dir);
  assert.equal(refused.status, 2);
  const line = refused.stderr.trim().split('\n').at(-1)!;
  assert.match(line, /^glimpse: configuration error: \[glance_store\] filesystem_store_datadir: store file cannot be written to: \S*not-a-dir is not a directory/);
  assert.doesNotMatch(refused.stderr, /ENOTDIR|scandir| {4}at /);

  const server = startServer(dir, conf.replace('refuse', 'warn'));
  try {
    await waitFor(() => server.output().includes('serving the Images API'), 'startup');
    assert.match(server.output(), /"level":50[^\n]*\[glance_store\] filesystem_store_datadir: store file cannot be written to: [^\n]*not a directory[^\n]*; serving anyway/);
    const health = await fetch(`http://127.0.0.1:${port}/healthcheck`);
    assert.equal(health.status, 503);
    assert.equal(await health.text(), 'DEFAULT STORE UNAVAILABLE');
  } finally {
    server.child.kill('SIGTERM');
  }
  assert.equal(await server.exited, 0);
});

test('an image cache directory that is a file stops the start with a line naming image_cache_dir', () => {
  const dir = tempDir();
  writeFileSync(join(dir, 'cachefile'), 'x');
  writeFileSync(join(dir, 'g.conf'), '[DEFAULT]\nbind_port = 1\nimage_cache_dir = cachefile\n');
  const result = glimpse(['serve', '--config-file', 'g.conf'], dir);
  assert.equal(result.status, 2);
  assert.match(result.stderr, /configuration error: \[DEFAULT\] image_cache_dir: \S*cachefile is not a directory/);
});

test('text log on request: readable lines with request id, project, user and image, values rendered', async () => {
  const dir = tempDir();
  const port = await freePort();
  const server = startServer(dir, `[DEFAULT]\nbind_port = ${port}\nuse_json = false\n`);
  try {
    await waitFor(() => server.output().includes('serving the Images API'), 'startup');
    const missing = '11111111-2222-3333-4444-555555555555';
    const res = await fetch(`http://127.0.0.1:${port}/v2/images/${missing}`);
    assert.equal(res.status, 404);
    await waitFor(() => server.output().includes(`GET /v2/images/${missing} 404`), 'the request line');
  } finally {
    server.child.kill('SIGTERM');
  }
  assert.equal(await server.exited, 0);
  const lines = server.output().trim().split('\n');
  assert.ok(lines.every((l) => !l.startsWith('{')), 'no JSON in text mode');
  assert.equal(lines.filter((l) => /serving the Images API at http:\/\/127\.0\.0\.1:\d+ \(database sqlite/.test(l)).length, 1, 'one start-up line');
  assert.ok(!lines.some((l) => /listening/i.test(l)), 'no second "listening" line');
  const notFound = lines.find((l) => l.includes('No image found with ID'))!;
  assert.match(notFound, /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3} \d+ INFO \[req-[0-9a-f-]+ project=admin user=admin image=11111111-2222-3333-4444-555555555555\] No image found with ID 11111111-2222-3333-4444-555555555555/);
  assert.ok(!lines.some((l) => /\{id\}|\{reason\}/.test(l)), 'no message keeps its template');
  assert.match(lines.at(-1)!, /INFO stopped: drained in \d+\.\d s$/);
});

test('JSON log when standard output is not a terminal: one object per line with the request context', async () => {
  const dir = tempDir();
  const port = await freePort();
  const server = startServer(dir, `[DEFAULT]\nbind_port = ${port}\n`);
  try {
    await waitFor(() => server.output().includes('serving the Images API'), 'startup');
    await fetch(`http://127.0.0.1:${port}/v2/images/nope`);
    await waitFor(() => server.output().includes('GET /v2/images/nope 404'), 'the request line');
  } finally {
    server.child.kill('SIGTERM');
  }
  assert.equal(await server.exited, 0);
  const records = server.output().trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
  const line = records.find((r) => r['http_status'] === 404)!;
  assert.equal(line['image_id'], 'nope');
  assert.equal(line['project_id'], 'admin');
  assert.match(String(line['request_id']), /^req-/);
  assert.equal(records.find((r) => r['code'] === 'image.not_found')?.['msg'], 'No image found with ID nope');
  assert.match(String(records.at(-1)!['msg']), /^stopped: drained/);
});

test('log_file: the log goes to the file, and SIGHUP opens it again after logrotate moved it', async () => {
  const dir = tempDir();
  const port = await freePort();
  const server = startServer(dir, `[DEFAULT]\nbind_port = ${port}\nlog_dir = logs\nlog_file = api.log\n`);
  const file = join(dir, 'logs', 'api.log');
  try {
    await waitFor(() => existsSync(file) && readFileSync(file, 'utf8').includes('serving the Images API'), 'startup');
    assert.equal(server.output(), '', 'nothing on standard output');
    renameSync(file, `${file}.1`);
    server.child.kill('SIGHUP');
    await waitFor(() => existsSync(file) && readFileSync(file, 'utf8').includes('SIGHUP: log reopened'), 'the reopened file');
    await fetch(`http://127.0.0.1:${port}/versions`);
    await waitFor(() => readFileSync(file, 'utf8').includes('GET /versions 200'), 'a request in the new file');
    assert.doesNotMatch(readFileSync(`${file}.1`, 'utf8'), /GET \/versions/);
  } finally {
    server.child.kill('SIGTERM');
  }
  assert.equal(await server.exited, 0);
  assert.match(readFileSync(file, 'utf8'), /stopped: drained/);
});

test('SIGTERM after an upload failed with 503 stops at once with a line saying how it ended', async () => {
  const dir = tempDir();
  const port = await freePort();
  writeFileSync(join(dir, 'store'), 'a file where the store directory should be');
  const server = startServer(dir, `[DEFAULT]\nbind_port = ${port}\ngraceful_shutdown_timeout = 30\n`
    + '[glance_store]\nfilesystem_store_datadir = store\n');
  let stoppedAt: number;
  try {
    await waitFor(() => server.output().includes('serving the Images API'), 'startup');
    const created = await fetch(`http://127.0.0.1:${port}/v2/images`, { method: 'POST',
      body: JSON.stringify({ disk_format: 'raw', container_format: 'bare' }) });
    const { id } = await created.json() as { id: string };
    // A body larger than the socket buffers: the server answers before reading it all.
    const status = await new Promise<number>((resolve, reject) => {
      const upload = request({ host: '127.0.0.1', port, method: 'PUT', path: `/v2/images/${id}/file`,
        headers: { 'content-type': 'application/octet-stream', 'content-length': String(8 * 1024 * 1024) } },
      (res) => { res.resume(); resolve(res.statusCode!); });
      upload.on('error', reject);
      upload.end(Buffer.alloc(8 * 1024 * 1024, 1));
    });
    assert.equal(status, 503);
    stoppedAt = Date.now();
  } finally {
    server.child.kill('SIGTERM');
  }
  assert.equal(await server.exited, 0);
  assert.ok(Date.now() - stoppedAt < 10_000, 'drained without waiting for the timeout');
  assert.match(server.output().trim().split('\n').at(-1)!, /"msg":"stopped: drained in/);
});
