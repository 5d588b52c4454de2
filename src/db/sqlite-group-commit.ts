// Group commit for SQLite (decision 0035). better-sqlite3 runs statements on the event loop, so with
// `synchronous = FULL` every COMMIT blocked the whole process for the WAL's fsync: creates were bound
// by the disk's fsync latency, one at a time, and every other request waited behind them.
//
// Here the connection runs with `synchronous = NORMAL` (WAL): a COMMIT writes its frames to the WAL
// without an fsync. When the query, transaction or connection() scope that committed is over, the
// driver releases the single connection (the next transaction may start) and waits, off the event
// loop, for an fsync of the WAL file that began after the commit: one fsync covers every commit
// made while the previous one ran. Only then does the caller resume (a transaction's execute(), an
// autocommit write's execute()), so a request is answered only once its change is on disk, as with
// FULL: what a client was told happened survives a crash and a power loss. What differs: another
// request may read a change a few milliseconds before it is durable (if the machine loses power
// then, that change is lost, but its writer was never answered).
// SQLite itself still fsyncs the WAL before each checkpoint and the database file after it.
import { fstat, fsync, open, close } from 'node:fs';
import { promisify } from 'node:util';

import type BetterSqlite3 from 'better-sqlite3';
import {
  SqliteDialect, type CompiledQuery, type DatabaseConnection, type Driver, type QueryResult, type QueryCompiler,
  type SqliteDialectConfig, type TransactionSettings,
} from 'kysely';

const openAsync = promisify(open);
const fstatAsync = promisify(fstat);
const fsyncAsync = promisify(fsync);
const closeAsync = promisify(close);

/**
 * fsyncs one file, grouping callers: a call resolves after an fsync that started after the call
 * (so it covers whatever the caller wrote before calling); callers arriving while one runs share
 * the next. The file is opened on first use and again if it was replaced (unlinked).
 */
export class GroupFsync {
  private fd: number | undefined;
  private running: Promise<void> | undefined;
  private next: Promise<void> | undefined;
  /** fsyncs done (for tests and the bench). */
  count = 0;

  constructor(private readonly path: string) {}

  flush(): Promise<void> {
    if (this.running === undefined) {
      this.running = this.sync().finally(() => { this.running = undefined; });
      return this.running;
    }
    // One is running and may have started before the caller's write: wait for the one after it.
    this.next ??= this.running.catch(() => undefined).then(() => {
      this.next = undefined;
      return this.flush();
    });
    return this.next;
  }

  private async sync(): Promise<void> {
    if (this.fd !== undefined && (await fstatAsync(this.fd)).nlink === 0) {
      await closeAsync(this.fd).catch(() => undefined);
      this.fd = undefined;
    }
    if (this.fd === undefined) {
      try {
        this.fd = await openAsync(this.path, 'r');
      } catch (error) {
        // No WAL file: SQLite removed it after checkpointing everything into the database, which it fsynced.
        if ((error as NodeJS.ErrnoException).code === 'ENOENT') return;
        throw error;
      }
    }
    await fsyncAsync(this.fd);
    this.count++;
  }

  async close(): Promise<void> {
    await this.running?.catch(() => undefined);
    await this.next?.catch(() => undefined);
    if (this.fd !== undefined) await closeAsync(this.fd).catch(() => undefined);
    this.fd = undefined;
  }
}

/** One holding of the single connection (a query, a transaction, a connection() scope). */
class Held implements DatabaseConnection {
  /** A change was committed while held: releasing waits for the WAL's fsync. */
  committed = false;

  constructor(private readonly driver: GroupCommitDriver, readonly inner: DatabaseConnection) {}

  async executeQuery<R>(compiled: CompiledQuery): Promise<QueryResult<R>> {
    const result = await this.inner.executeQuery<R>(compiled);
    if (this.driver.needsFlush(compiled, result)) this.committed = true;
    return result;
  }

  streamQuery<R>(compiled: CompiledQuery, chunkSize?: number): AsyncIterableIterator<QueryResult<R>> {
    return this.inner.streamQuery<R>(compiled, chunkSize);
  }
}

class GroupCommitDriver implements Driver {
  constructor(private readonly inner: Driver, private readonly db: BetterSqlite3.Database, readonly fsync: GroupFsync) {}

  /**
   * A statement that wrote and left no transaction open: a COMMIT or an autocommit write. Kysely's
   * SQLite connection reports numAffectedRows for statements that return no rows (better-sqlite3's
   * run()), never for readers.
   */
  needsFlush(compiled: CompiledQuery, result: QueryResult<unknown>): boolean {
    if (this.db.inTransaction || result.numAffectedRows === undefined) return false;
    return !/^\s*rollback\b/i.test(compiled.sql);
  }

  init(): Promise<void> { return this.inner.init(); }
  async acquireConnection(): Promise<DatabaseConnection> { return new Held(this, await this.inner.acquireConnection()); }
  beginTransaction(c: DatabaseConnection, settings: TransactionSettings): Promise<void> { return this.inner.beginTransaction(c, settings); }
  commitTransaction(c: DatabaseConnection): Promise<void> { return this.inner.commitTransaction(c); }
  savepoint(c: DatabaseConnection, name: string, compile: QueryCompiler['compileQuery']): Promise<void> {
    return this.inner.savepoint!(c, name, compile);
  }
  rollbackToSavepoint(c: DatabaseConnection, name: string, compile: QueryCompiler['compileQuery']): Promise<void> {
    return this.inner.rollbackToSavepoint!(c, name, compile);
  }
  releaseSavepoint(c: DatabaseConnection, name: string, compile: QueryCompiler['compileQuery']): Promise<void> {
    return this.inner.releaseSavepoint!(c, name, compile);
  }
  rollbackTransaction(c: DatabaseConnection): Promise<void> { return this.inner.rollbackTransaction(c); }

  /**
   * Kysely releases a connection when the query, transaction or connection() scope that held it
   * is over, and its caller resumes only after this returns: the next holder may start at once,
   * and the caller waits for an fsync of what it committed. A failed fsync fails the caller (the
   * change stays committed, as after a failed fsync under FULL).
   */
  async releaseConnection(c: DatabaseConnection): Promise<void> {
    const held = c as Held;
    await this.inner.releaseConnection(held.inner);
    if (held.committed) await this.fsync.flush();
  }

  async destroy(): Promise<void> {
    await this.fsync.close();
    await this.inner.destroy();
  }
}

/** Kysely's SQLite dialect with group commit on the WAL file `walPath` of `db` (which runs synchronous = NORMAL). */
export class GroupCommitSqliteDialect extends SqliteDialect {
  readonly fsync: GroupFsync;

  constructor(config: SqliteDialectConfig, private readonly db: BetterSqlite3.Database, walPath: string) {
    super(config);
    this.fsync = new GroupFsync(walPath);
  }

  override createDriver(): Driver {
    return new GroupCommitDriver(super.createDriver(), this.db, this.fsync);
  }
}
