// `glimpse scrubber` (Glance's glance-scrubber): with delayed_delete a deleted image keeps its data
// as `pending_delete`; the scrubber removes that data after scrub_time and marks the image deleted,
// `--restore` brings a pending image back, `--daemon` scrubs every wakeup_time seconds. Run as the
// real command, against the database and store of an API started in the test.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { SqlImageRepository } from '../../src/db/image-repository.ts';
import { openDatabase, type Database } from '../../src/db/connect.ts';
import { startTestApp, type TestApp } from '../helpers/app.ts';
import { createActive, ownerMember } from '../helpers/v2.ts';

const bin = join(import.meta.dirname, '..', '..', 'bin', 'glimpse.js');
const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('GLIMPSE_')));
let t: TestApp;
let db: Database;

before(async () => {
  t = await startTestApp({ GLIMPSE_DEFAULT__DELAYED_DELETE: 'true' });
  db = await openDatabase(t.config.database.connection);
});
after(async () => {
  await db.close();
  await t.close();
});

/** A config file for the command: the API's database and store, and these [DEFAULT] options. */
function conf(options: Record<string, string | number>): string {
  const file = join(t.dir, `scrubber-${Object.values(options).join('-')}.conf`);
  writeFileSync(file, ['[DEFAULT]', ...Object.entries(options).map(([k, v]) => `${k} = ${v}`),
    '[database]', `connection = ${t.config.database.connection}`,
    '[glance_store]', `filesystem_store_datadir = ${join(t.dir, 'images')}`].join('\n'));
  return file;
}

async function scrubber(options: Record<string, string | number>, ...args: string[]) {
  try {
    const { stdout, stderr } = await promisify(execFile)(process.execPath, [bin, 'scrubber', '--config-file', conf(options), ...args],
      { env, timeout: 90_000 });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const e = error as { code?: number; stdout?: string; stderr?: string };
    return { code: e.code ?? -1, stdout: e.stdout ?? '', stderr: e.stderr ?? '' };
  }
}

const dataFile = (id: string) => join(t.dir, 'images', id);
const stored = (id: string) => new SqlImageRepository(db).get(id, { includeDeleted: true });
const remove = async (id: string) => {
  const res = await t.app.inject({ method: 'DELETE', url: `/v2/images/${id}`, headers: ownerMember });
  assert.equal(res.statusCode, 204, res.body);
};

test('scrub after scrub_time: data removed and image deleted; restore brings a pending image back', async () => {
  const a = await createActive(t, 'image a');
  const b = await createActive(t, 'image b');
  await remove(a.id);
  await remove(b.id);
  assert.equal((await stored(a.id))?.status, 'pending_delete');
  assert.ok(existsSync(dataFile(a.id)), 'delayed_delete keeps the data');
  assert.equal((await t.app.inject({ url: `/v2/images/${a.id}`, headers: ownerMember })).statusCode, 404);

  const restored = await scrubber({}, '--restore', b.id);
  assert.equal(restored.code, 0, restored.stderr);
  const back = await t.app.inject({ url: `/v2/images/${b.id}/file`, headers: ownerMember });
  assert.equal(back.statusCode, 200);
  assert.equal(back.body, 'image b');

  const early = await scrubber({ scrub_time: 3600 });
  assert.equal(early.code, 0, early.stderr);
  assert.match(early.stdout, /scrubbed 0 image/);
  assert.ok(existsSync(dataFile(a.id)), 'not yet: scrub_time has not passed');

  const due = await scrubber({ scrub_time: 0 });
  assert.equal(due.code, 0, due.stderr);
  assert.match(due.stdout, /scrubbed 1 image/);
  assert.equal(existsSync(dataFile(a.id)), false);
  const gone = await stored(a.id);
  assert.equal(gone?.status, 'deleted');
  assert.deepEqual(gone?.locations.map((l) => l.status), ['deleted']);
  assert.ok(existsSync(dataFile(b.id)), 'the restored image keeps its data');

  const late = await scrubber({}, '--restore', a.id);
  assert.equal(late.code, 1);
  assert.match(late.stderr, /is not pending_delete/);
});

test('data that cannot be removed leaves the image pending (exit 1), restore is then refused; the next pass finishes', async () => {
  const image = await createActive(t, 'stuck');
  await remove(image.id);
  rmSync(dataFile(image.id));
  mkdirSync(join(dataFile(image.id), 'blocker'), { recursive: true }); // unlink() of a directory fails
  const failed = await scrubber({});
  assert.equal(failed.code, 1, failed.stdout);
  assert.match(failed.stdout, /1 left pending/);
  const pending = await stored(image.id);
  assert.equal(pending?.status, 'pending_delete');
  assert.deepEqual(pending?.locations.map((l) => l.status), ['deleted'], 'its data is already being scrubbed');
  const restore = await scrubber({}, '--restore', image.id);
  assert.equal(restore.code, 1);
  assert.match(restore.stderr, /being scrubbed/);

  rmSync(dataFile(image.id), { recursive: true });
  const retried = await scrubber({});
  assert.equal(retried.code, 0, retried.stderr);
  assert.equal((await stored(image.id))?.status, 'deleted', 'a missing object is no error the second time');
});

test('--daemon scrubs every wakeup_time seconds until SIGTERM', async () => {
  const child = spawn(process.execPath, [bin, 'scrubber', '--daemon', '--config-file', conf({ wakeup_time: 1 })], { env });
  let out = '';
  child.stdout.on('data', (d: Buffer) => { out += d.toString(); });
  child.stderr.on('data', (d: Buffer) => { out += d.toString(); });
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  try {
    const until = Date.now() + 90_000;
    while (!out.includes('scrubber started')) {
      assert.ok(Date.now() < until && child.exitCode === null, out);
      await new Promise((r) => setTimeout(r, 50));
    }
    const image = await createActive(t, 'later');
    await remove(image.id);
    while ((await stored(image.id))?.status !== 'deleted') {
      assert.ok(Date.now() < until, `not scrubbed in time:\n${out}`);
      await new Promise((r) => setTimeout(r, 100));
    }
    assert.equal(existsSync(dataFile(image.id)), false);
  } finally {
    child.kill('SIGTERM');
  }
  assert.equal(await exited, 0, out);
});
