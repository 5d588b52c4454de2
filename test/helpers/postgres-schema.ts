// A private PostgreSQL schema for one test suite or benchmark run: created on the given server, the
// returned URL selects it through `options=-c search_path=…` (added to any options the URL already
// has), and drop() removes it with everything in it. Tests and benches share one PostgreSQL database
// (`test`), so each gets its own schema and leaves nothing behind.
import { randomBytes } from 'node:crypto';
import { sql } from 'kysely';
import { openDatabase } from '../../src/db/connect.ts';

export interface PrivateSchema {
  url: string;
  drop(): Promise<void>;
}

export async function privatePostgresSchema(baseUrl: string, prefix = 'glimpse_test'): Promise<PrivateSchema> {
  const schema = `${prefix}_${process.pid}_${randomBytes(4).toString('hex')}`;
  const admin = await openDatabase(baseUrl, { maxPoolSize: 1 });
  try {
    await sql`CREATE SCHEMA ${sql.id(schema)}`.execute(admin.db);
  } catch (error) {
    await admin.close();
    throw error;
  }
  const url = new URL(baseUrl);
  url.searchParams.set('options', [url.searchParams.get('options'), `-c search_path=${schema}`].filter(Boolean).join(' '));
  return {
    url: url.toString(),
    async drop() {
      try {
        await sql`DROP SCHEMA ${sql.id(schema)} CASCADE`.execute(admin.db);
      } finally {
        await admin.close();
      }
    },
  };
}
