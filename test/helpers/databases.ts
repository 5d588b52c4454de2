// The dialect matrix for database-backed suites. forEachDatabase registers the suite once per
// dialect: SQLite always (a temp file), PostgreSQL when GLIMPSE_TEST_POSTGRES_URL is set, MariaDB/
// MySQL when GLIMPSE_TEST_MYSQL_URL is set. An unconfigured dialect is registered as a skipped test
// carrying the reason, so the run summary counts it (node 20 does not count skipped suites).
// Each dialect run gets its own fresh schema (PG) / database (MySQL) / file (SQLite), dropped
// afterwards, so parallel and repeated runs never collide.
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { sql } from 'kysely';
import { openDatabase, type Database } from '../../src/db/connect.ts';
import { migrateToLatest } from '../../src/db/migrate.ts';
import { redactUrl } from '../../src/db/url.ts';
import { privatePostgresSchema } from './postgres-schema.ts';

export type TestDialect = 'sqlite' | 'postgresql' | 'mysql';

export interface DatabaseTarget {
  dialect: TestDialect;
  /** URL of this run's private database; open more connections to it with openDatabase(). */
  url(): string;
}

export interface DatabaseSuiteOptions {
  /** Run the migrations before the suite (default true); false leaves an empty database. */
  migrate?: boolean;
}

interface Provisioned {
  url: string;
  drop(): Promise<void>;
}

const uniqueName = () => `glimpse_test_${process.pid}_${randomBytes(4).toString('hex')}`;

async function provisionSqlite(): Promise<Provisioned> {
  const dir = mkdtempSync(join(tmpdir(), 'glimpse-test-'));
  return {
    url: `sqlite:///${join(dir, 'glimpse.db')}`, // an absolute path: sqlite:////tmp/…
    drop: async () => rmSync(dir, { recursive: true, force: true }),
  };
}

function provisionPostgres(baseUrl: string): Promise<Provisioned> {
  return privatePostgresSchema(baseUrl);
}

async function provisionMysql(baseUrl: string): Promise<Provisioned> {
  const name = uniqueName();
  const admin = await openDatabase(baseUrl, { maxPoolSize: 1 });
  // A case-insensitive default, as operators often create Glance's database: the migration's own
  // utf8mb4_bin table options must be what makes ids, tags and names case-sensitive.
  await sql`CREATE DATABASE ${sql.id(name)} CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci`.execute(admin.db);
  const url = new URL(baseUrl);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    drop: async () => {
      try {
        await sql`DROP DATABASE ${sql.id(name)}`.execute(admin.db);
      } finally {
        await admin.close();
      }
    },
  };
}

const targets: ReadonlyArray<{ dialect: TestDialect; env?: string; provision(baseUrl: string): Promise<Provisioned> }> = [
  { dialect: 'sqlite', provision: provisionSqlite },
  { dialect: 'postgresql', env: 'GLIMPSE_TEST_POSTGRES_URL', provision: provisionPostgres },
  { dialect: 'mysql', env: 'GLIMPSE_TEST_MYSQL_URL', provision: provisionMysql },
];

/**
 * Registers `describe(name)` with one nested suite per dialect. `body` registers tests as usual;
 * `getDb()` is valid inside tests and hooks (the database is opened in a `before` hook).
 */
export function forEachDatabase(
  name: string,
  body: (getDb: () => Database, target: DatabaseTarget) => void,
  options: DatabaseSuiteOptions = {},
): void {
  describe(name, () => {
    for (const { dialect, env, provision } of targets) {
      const baseUrl = env === undefined ? '' : process.env[env];
      if (env !== undefined && !baseUrl) {
        test(dialect, { skip: `${env} not set` }, () => {});
        continue;
      }
      describe(dialect, () => {
        let provisioned: Provisioned | undefined;
        let database: Database | undefined;
        before(async () => {
          provisioned = await provision(baseUrl!);
          database = await openDatabase(provisioned.url);
          if (options.migrate !== false) await migrateToLatest(database);
          console.log(`[db] ${name}: running on ${dialect} at ${redactUrl(provisioned.url)}`);
        });
        after(async () => {
          await database?.close();
          await provisioned?.drop();
        });
        const getDb = () => {
          if (!database) throw new Error(`the ${dialect} database is not open (use getDb() inside tests and hooks)`);
          return database;
        };
        body(getDb, {
          dialect,
          url: () => {
            if (!provisioned) throw new Error('the database is not provisioned yet');
            return provisioned.url;
          },
        });
      });
    }
  });
}
