// openDatabase on SQLite (the other dialects run in test/contract/), and its failure messages.
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { sql } from 'kysely';
import { openDatabase } from '../../src/db/connect.ts';

test('SQLite: creates the parent directory and enables WAL and foreign keys', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'glimpse-connect-'));
  try {
    const file = join(dir, 'nested', 'deeper', 'glimpse.db');
    const database = await openDatabase(`sqlite:///${file}`);
    try {
      assert.equal(database.dialect, 'sqlite');
      assert.ok(existsSync(file));
      await database.ping();
      const pragma = async (name: string) =>
        Object.values((await sql.raw(`PRAGMA ${name}`).execute(database.db)).rows[0] as object)[0] as unknown;
      assert.equal(await pragma('journal_mode'), 'wal');
      assert.equal(await pragma('foreign_keys'), 1);
      assert.equal(await pragma('busy_timeout'), 5000);
    } finally {
      await database.close();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('SQLite: binds Date as ISO-8601 UTC text and boolean as 0/1', async () => {
  const database = await openDatabase('sqlite://');
  try {
    const { rows } = await sql<{ d: string; t: number; f: number }>`select ${new Date(Date.UTC(2025, 0, 2, 3, 4, 5, 6))} as d, ${true} as t, ${false} as f`
      .execute(database.db);
    assert.deepEqual(rows[0], { d: '2025-01-02T03:04:05.006Z', t: 1, f: 0 });
  } finally {
    await database.close();
  }
});

test('a database that cannot be reached fails with the redacted URL', async () => {
  await assert.rejects(openDatabase('postgresql://glance:hunter2@127.0.0.1:1/glance?connect_timeout=2'), (error: unknown) => {
    assert.ok(error instanceof Error);
    assert.match(error.message, /^Cannot connect to database postgresql:\/\/glance:\*\*\*@127\.0\.0\.1:1\/glance/);
    assert.doesNotMatch(error.message, /hunter2/);
    return true;
  });
  await assert.rejects(openDatabase('mysql://glance:hunter2@127.0.0.1:1/glance?connect_timeout=2'), (error: unknown) => {
    assert.ok(error instanceof Error);
    assert.doesNotMatch(error.message, /hunter2/);
    return true;
  });
});

test('a SQLite file that cannot be created fails with the URL in the message', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'glimpse-connect-'));
  try {
    const blocker = join(dir, 'a-file');
    writeFileSync(blocker, '');
    const url = `sqlite:///${blocker}/sub/x.db`; // a directory is needed where a file is
    await assert.rejects(openDatabase(url), (error: unknown) => {
      assert.ok(error instanceof Error);
      assert.ok(error.message.startsWith(`Cannot connect to database ${url}: `), error.message);
      return true;
    });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
