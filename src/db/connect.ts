// Opens the metadata database named by a `[database] connection` URL and hands back one typed
// Kysely instance whatever the dialect. Everything dialect-specific about *values* is settled
// here, so repositories can write Dates, booleans and numbers the same way on all three:
//   - timestamps are UTC instants with millisecond precision: PostgreSQL timestamptz (session
//     TimeZone=UTC), MariaDB/MySQL DATETIME(6) read and written as UTC (mysql2 timezone 'Z',
//     session time_zone +00:00), SQLite ISO-8601 text `YYYY-MM-DDTHH:MM:SS.sssZ` (fixed width, so
//     text order is time order);
//   - BIGINT comes back as a JS number (PostgreSQL via a per-pool int8 parser that refuses values
//     beyond 2^53 instead of rounding them; mysql2 returns numbers up to 2^53);
//   - booleans are bound as 0/1 on SQLite (better-sqlite3 cannot bind booleans or Dates).
import { mkdirSync, readFileSync } from 'node:fs';
import { dirname } from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import {
  CompiledQuery, Kysely, MysqlDialect, PostgresDialect, SqliteDialect, sql,
  type Dialect as KyselyDialect, type SqliteDatabase, type SqliteStatement,
} from 'kysely';
import type { PoolOptions as MysqlPoolOptions } from 'mysql2';
import type { PoolConfig as PgPoolConfig } from 'pg';
import type { PoolStats } from '../ports/metrics.ts';
import type { DatabaseHealth } from '../ports/repositories.ts';
import type { Schema } from './schema.ts';
import { GroupCommitSqliteDialect } from './sqlite-group-commit.ts';
import {
  parseDatabaseUrl, redactUrl, type Dialect, type MysqlSettings, type PostgresSettings, type SqliteSettings,
  type TlsSettings,
} from './url.ts';

export type { Dialect } from './url.ts';

export interface Database extends DatabaseHealth {
  readonly db: Kysely<Schema>;
  readonly dialect: Dialect;
  /** The connection URL with its password redacted, for logs and messages. */
  readonly displayUrl: string;
  /** Runs `SELECT 1`; rejects when the database cannot be reached. */
  ping(): Promise<void>;
  /** Connections of the pool (PostgreSQL, MySQL) for the metrics; undefined for SQLite. */
  poolStats(): PoolStats | undefined;
  /** Closes every connection; the instance is unusable afterwards. */
  close(): Promise<void>;
}

/** Filled by the pooled dialects: how to read their pool's connection counts. */
interface PoolRef {
  stats?: () => PoolStats;
}

export interface OpenOptions {
  /** Pool size for PostgreSQL/MySQL (oslo.db's max_pool_size; default 5). SQLite uses one connection. */
  maxPoolSize?: number;
  /** Idle pooled connections are closed after this long (default 30 s). */
  idleTimeoutMs?: number;
  /** SQLite: how long a write waits for another process's write lock (default 5 s). */
  busyTimeoutMs?: number;
  /** Errors of idle pooled connections (e.g. a database restart); they must not crash the process. */
  onPoolError?: (error: Error) => void;
  /**
   * Open for reading only (`glimpse migrate from-glance` reading a Glance database): SQLite opens the
   * file read-only and sets no pragma that writes; PostgreSQL and MySQL sessions are read-only.
   */
  readOnly?: boolean;
}

/**
 * Opens the database and checks it answers. Throws an Error whose message carries the redacted URL
 * when the URL is invalid or the first connection fails.
 */
export async function openDatabase(url: string, options: OpenOptions = {}): Promise<Database> {
  const settings = parseDatabaseUrl(url);
  const displayUrl = redactUrl(url);
  let db: Kysely<Schema> | undefined;
  const pool: PoolRef = {};
  try {
    const dialect = settings.dialect === 'sqlite' ? sqliteDialect(settings, options)
      : settings.dialect === 'postgres' ? await postgresDialect(settings, options, pool)
        : await mysqlDialect(settings, options, pool);
    db = new Kysely<Schema>({ dialect });
    await sql`select 1`.execute(db);
  } catch (error) {
    await db?.destroy().catch(() => undefined);
    const reason = error instanceof Error ? error.message : String(error);
    throw new Error(`Cannot connect to database ${displayUrl}: ${reason}`, { cause: error });
  }
  const kysely = db;
  return {
    db: kysely,
    dialect: settings.dialect,
    displayUrl,
    async ping() {
      await sql`select 1`.execute(kysely);
    },
    poolStats: () => pool.stats?.(),
    async close() {
      await kysely.destroy();
    },
  };
}

// --- SQLite ---------------------------------------------------------------------------------

function bindable(value: unknown): unknown {
  if (value instanceof Date) return value.toISOString();
  if (typeof value === 'boolean') return value ? 1 : 0;
  return value;
}

/** Prepared statements kept per SQL text (most recently used; the list has ~100 distinct shapes). */
const STATEMENT_CACHE = 500;

/**
 * better-sqlite3 behind Kysely's driver interface, converting Date and boolean parameters.
 * Statements are prepared once per SQL text and reused: preparing was ~7 % of a GET image's CPU.
 * all() and run() finish before they return, so a cached statement is never busy; iterate() (a
 * stream) gets a statement of its own. SQLite re-prepares a statement when the schema changes.
 */
function adaptSqlite(db: BetterSqlite3.Database): SqliteDatabase {
  const cache = new Map<string, BetterSqlite3.Statement>();
  const cached = (query: string): BetterSqlite3.Statement => {
    let statement = cache.get(query);
    if (statement === undefined) {
      statement = db.prepare(query);
      if (cache.size >= STATEMENT_CACHE) cache.delete(cache.keys().next().value!);
    } else {
      cache.delete(query);
    }
    cache.set(query, statement);
    return statement;
  };
  return {
    close: () => db.close(),
    prepare(query: string): SqliteStatement {
      const statement = cached(query);
      const bind = (parameters: ReadonlyArray<unknown>) => parameters.map(bindable);
      return {
        reader: statement.reader,
        all: (parameters) => statement.all(bind(parameters)),
        run: (parameters) => statement.run(bind(parameters)),
        iterate: (parameters) => db.prepare(query).iterate(bind(parameters)) as IterableIterator<unknown>,
      };
    },
  };
}

function sqliteDialect(settings: SqliteSettings, options: OpenOptions): KyselyDialect {
  const memory = settings.file === ':memory:';
  if (options.readOnly) {
    const db = new BetterSqlite3(settings.file, { readonly: true, fileMustExist: true });
    db.pragma(`busy_timeout = ${Math.max(0, Math.floor(options.busyTimeoutMs ?? 5000))}`);
    return new SqliteDialect({ database: adaptSqlite(db) });
  }
  if (!memory) mkdirSync(dirname(settings.file), { recursive: true });
  const db = new BetterSqlite3(settings.file);
  let wal: boolean;
  try {
    // WAL: readers never block the writer. A committed state change (e.g. an image turned active
    // after its bytes were stored) must survive power loss, not just a crash: on a file, COMMIT
    // writes the WAL without fsync (synchronous = NORMAL) and the group-commit driver answers the
    // committing statement only after an fsync of the WAL begun after it, one fsync for every
    // commit made meanwhile and off the event loop (sqlite-group-commit.ts, decision 0035).
    wal = !memory && db.pragma('journal_mode = WAL', { simple: true }) === 'wal';
    // Without WAL (a file system that cannot share memory maps) every COMMIT fsyncs, as before.
    db.pragma(wal ? 'synchronous = NORMAL' : 'synchronous = FULL');
    db.pragma('foreign_keys = ON');
    db.pragma(`busy_timeout = ${Math.max(0, Math.floor(options.busyTimeoutMs ?? 5000))}`);
  } catch (error) {
    db.close();
    throw error;
  }
  if (!wal) return new SqliteDialect({ database: adaptSqlite(db) });
  return new GroupCommitSqliteDialect({ database: adaptSqlite(db) }, db, `${db.name}-wal`);
}

// --- PostgreSQL -----------------------------------------------------------------------------

const INT8_OID = 20;
/** `timestamp without time zone`: Glimpse's own columns are timestamptz; Glance's naive ones hold UTC. */
const TIMESTAMP_OID = 1114;

function parseInt8(text: string): number {
  const value = Number(text);
  if (!Number.isSafeInteger(value)) throw new RangeError(`BIGINT value ${text} is beyond JavaScript's safe integers`);
  return value;
}


function tlsOptions(tls: TlsSettings) {
  return {
    rejectUnauthorized: tls.verify,
    ...(tls.caFile ? { ca: readFileSync(tls.caFile, 'utf8') } : {}),
    ...(tls.certFile ? { cert: readFileSync(tls.certFile, 'utf8') } : {}),
    ...(tls.keyFile ? { key: readFileSync(tls.keyFile, 'utf8') } : {}),
  };
}

// The PostgreSQL and MySQL drivers are loaded when a database of theirs is opened: each costs
// ~15 MB of memory in every process, which a SQLite deployment need not carry.
async function postgresDialect(settings: PostgresSettings, options: OpenOptions, ref: PoolRef): Promise<KyselyDialect> {
  const { default: pg } = await import('pg');
  /** Per-pool type parsers, so the process-wide pg defaults stay untouched. */
  const types = {
    getTypeParser: ((oid: number, format?: 'text' | 'binary') =>
      format === 'binary' ? pg.types.getTypeParser(oid, format)
        : oid === INT8_OID ? parseInt8
          : oid === TIMESTAMP_OID ? (text: string) => new Date(`${text.replace(' ', 'T')}Z`)
            : pg.types.getTypeParser(oid, format)
    ) as typeof pg.types.getTypeParser,
  };
  const config: PgPoolConfig = {
    host: settings.host,
    port: settings.port,
    user: settings.user,
    password: settings.password,
    database: settings.database,
    max: options.maxPoolSize ?? 5,
    idleTimeoutMillis: options.idleTimeoutMs ?? 30_000,
    connectionTimeoutMillis: settings.connectTimeoutMs ?? 10_000,
    // TimeZone=UTC only matters for SQL that formats times (now()::text); timestamptz values are instants.
    options: ['-c TimeZone=UTC', options.readOnly ? '-c default_transaction_read_only=on' : '', settings.options]
      .filter(Boolean).join(' '),
    application_name: settings.applicationName ?? 'glimpse',
    ssl: settings.tls ? tlsOptions(settings.tls) : false,
    types,
  };
  const pool = new pg.Pool(config);
  pool.on('error', (error) => options.onPoolError?.(error));
  ref.stats = () => ({ max: config.max!, total: pool.totalCount, idle: pool.idleCount, waiting: pool.waitingCount });
  return new PostgresDialect({ pool });
}

// --- MySQL / MariaDB ------------------------------------------------------------------------

async function mysqlDialect(settings: MysqlSettings, options: OpenOptions, ref: PoolRef): Promise<KyselyDialect> {
  const { createPool } = await import('mysql2');
  const config: MysqlPoolOptions = {
    ...(settings.socketPath ? { socketPath: settings.socketPath } : { host: settings.host, port: settings.port }),
    user: settings.user,
    password: settings.password,
    database: settings.database,
    connectionLimit: options.maxPoolSize ?? 5,
    maxIdle: options.maxPoolSize ?? 5,
    idleTimeout: options.idleTimeoutMs ?? 30_000,
    connectTimeout: settings.connectTimeoutMs ?? 10_000,
    // Binary collation on the connection too, so literals compare like the (utf8mb4_bin) columns.
    charset: 'UTF8MB4_BIN',
    timezone: 'Z',
    dateStrings: false,
    supportBigNumbers: true,
    bigNumberStrings: false,
    decimalNumbers: true, // SUM(bigint) is DECIMAL in MySQL; quota usage wants numbers
    // Affected rows = rows matched, not rows changed (mysql2's default, stated because the
    // repositories read "zero rows" as "no such row / compare-and-set lost").
    flags: ['FOUND_ROWS'],
    ...(settings.tls ? { ssl: tlsOptions(settings.tls) } : {}),
  };
  const pool = createPool(config);
  pool.on('error', (error: Error) => options.onPoolError?.(error));
  // mysql2 keeps its pool's queues in fields it does not type (Denque instances with a length).
  const queues = pool as unknown as Record<'_allConnections' | '_freeConnections' | '_connectionQueue', { length?: number } | undefined>;
  ref.stats = () => ({ max: config.connectionLimit!, total: queues._allConnections?.length ?? 0,
    idle: queues._freeConnections?.length ?? 0, waiting: queues._connectionQueue?.length ?? 0 });
  return new MysqlDialect({
    pool,
    // TRADITIONAL = strict mode: an over-long or invalid value is an error, never silently truncated.
    onCreateConnection: async (connection) => {
      await connection.executeQuery(CompiledQuery.raw("SET SESSION sql_mode = 'TRADITIONAL', time_zone = '+00:00'"));
      if (options.readOnly) await connection.executeQuery(CompiledQuery.raw('SET SESSION TRANSACTION READ ONLY'));
    },
  });
}
