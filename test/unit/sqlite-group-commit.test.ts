// Group commit on SQLite (decision 0035): a committing statement returns only after an fsync of the
// WAL that began after it; concurrent commits share fsyncs; rollbacks and reads wait for none; the
// single connection keeps working after failures.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';

import BetterSqlite3 from 'better-sqlite3';
import { Kysely, sql } from 'kysely';

import { openDatabase } from '../../src/db/connect.ts';
import { GroupCommitSqliteDialect, GroupFsync } from '../../src/db/sqlite-group-commit.ts';

interface Db { t: { id: number; v: string } }

function setup() {
  const dir = mkdtempSync(join(tmpdir(), 'glimpse-group-commit-'));
  const file = join(dir, 'db.sqlite');
  const raw = new BetterSqlite3(file);
  assert.equal(raw.pragma('journal_mode = WAL', { simple: true }), 'wal');
  raw.pragma('synchronous = NORMAL');
  raw.exec('create table t (id integer primary key, v text not null)');
  const dialect = new GroupCommitSqliteDialect({ database: raw }, raw, `${file}-wal`);
  const db = new Kysely<Db>({ dialect });
  return { dir, file, db, dialect, cleanup: async () => { await db.destroy(); rmSync(dir, { recursive: true, force: true }); } };
}

test('GroupFsync: callers arriving while an fsync runs share the next one; each resolves after an fsync begun after its call', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'glimpse-group-fsync-'));
  const path = join(dir, 'f');
  new BetterSqlite3(path).close();
  const group = new GroupFsync(path);
  try {
    const first = group.flush();
    const waiting = Array.from({ length: 10 }, () => group.flush());
    await first;
    assert.equal(group.count, 1);
    await Promise.all(waiting);
    assert.equal(group.count, 2, 'the ten callers that came during the first fsync share the second');
    await group.flush();
    assert.equal(group.count, 3);
  } finally {
    await group.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('GroupFsync: a file that does not exist has nothing to sync', async () => {
  const group = new GroupFsync(join(tmpdir(), `glimpse-no-such-wal-${process.pid}`));
  await group.flush();
  assert.equal(group.count, 0);
  await group.close();
});

test('transactions and autocommit writes return after an fsync; concurrent ones share fsyncs; reads and rollbacks wait for none', async () => {
  const { db, dialect, cleanup } = setup();
  try {
    await db.insertInto('t').values({ id: 1, v: 'autocommit' }).execute();
    assert.equal(dialect.fsync.count, 1, 'an autocommit write is flushed before it returns');
    await db.selectFrom('t').selectAll().execute();
    assert.equal(dialect.fsync.count, 1, 'a read flushes nothing');

    const seen: number[] = [];
    await Promise.all(Array.from({ length: 20 }, (_, i) => db.transaction().execute(async (trx) => {
      await trx.insertInto('t').values({ id: 100 + i, v: `tx ${i}` }).execute();
    }).then(() => { seen.push(dialect.fsync.count); })));
    assert.ok(seen.every((count) => count >= 2), 'no transaction returned before an fsync after its commit');
    assert.ok(dialect.fsync.count - 1 < 20, `20 concurrent commits took ${dialect.fsync.count - 1} fsyncs`);
    assert.equal((await db.selectFrom('t').select(sql<number>`count(*)`.as('n')).executeTakeFirstOrThrow()).n, 21);

    const before = dialect.fsync.count;
    await assert.rejects(db.transaction().execute(async (trx) => {
      await trx.insertInto('t').values({ id: 1000, v: 'rolled back' }).execute();
      throw new Error('boom');
    }), /boom/);
    assert.equal(dialect.fsync.count, before, 'a rollback waits for no fsync');
    assert.equal(await db.selectFrom('t').selectAll().where('id', '=', 1000).executeTakeFirst(), undefined);
    await assert.rejects(db.insertInto('t').values({ id: 1, v: 'duplicate' }).execute(), /UNIQUE/);
    await db.transaction().execute(async (trx) => { await trx.insertInto('t').values({ id: 2000, v: 'after failures' }).execute(); });
    assert.ok(await db.selectFrom('t').selectAll().where('id', '=', 2000).executeTakeFirst());
  } finally {
    await cleanup();
  }
});

test('a connection() scope keeps the connection until it ends, writes and all; then its caller waits for the fsync', async () => {
  const { db, dialect, cleanup } = setup();
  try {
    const events: string[] = [];
    const scope = db.connection().execute(async (c) => {
      await c.insertInto('t').values({ id: 1, v: 'first' }).execute();
      events.push('scope wrote');
      await new Promise((resolve) => setTimeout(resolve, 30));
      await c.transaction().execute(async (trx) => { await trx.insertInto('t').values({ id: 2, v: 'second' }).execute(); });
      events.push('scope committed');
    }).then(() => { events.push(`scope returned after ${dialect.fsync.count} fsync(s)`); });
    await new Promise((resolve) => setTimeout(resolve, 5));
    const other = db.transaction().execute(async (trx) => {
      events.push('other began');
      await trx.insertInto('t').values({ id: 3, v: 'other' }).execute();
    });
    await Promise.all([scope, other]);
    assert.equal(events[0], 'scope wrote');
    assert.equal(events[1], 'scope committed', `another transaction ran inside the scope: ${events.join(', ')}`);
    assert.ok(events.includes('other began'));
    assert.match(events.find((e) => e.startsWith('scope returned'))!, /after [1-9]\d* fsync/);
  } finally {
    await cleanup();
  }
});

test('openDatabase on a file: WAL with synchronous NORMAL behind group commit; in memory: FULL', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'glimpse-group-commit-open-'));
  try {
    const database = await openDatabase(`sqlite:///${join(dir, 'g.db')}`);
    try {
      const rows = await sql<{ synchronous: number }>`pragma synchronous`.execute(database.db);
      assert.equal(rows.rows[0]!.synchronous, 1, 'NORMAL');
      await sql`create table x (a integer)`.execute(database.db);
      await database.db.transaction().execute(async (trx) => { await sql`insert into x values (1)`.execute(trx); });
    } finally {
      await database.close();
    }
    const memory = await openDatabase('sqlite:///:memory:');
    try {
      const rows = await sql<{ synchronous: number }>`pragma synchronous`.execute(memory.db);
      assert.equal(rows.rows[0]!.synchronous, 2, 'FULL');
    } finally {
      await memory.close();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
