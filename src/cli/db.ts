// `glimpse db sync` / `glimpse db version` (the glance-manage db equivalents).
import type { GlimpseConfig } from '../config/types.ts';
import { openDatabase } from '../db/connect.ts';
import { currentVersion, migrateToLatest } from '../db/migrate.ts';
import { redactUrl } from '../db/url.ts';

export async function dbSync(config: GlimpseConfig): Promise<string> {
  const database = await openDatabase(config.database.connection);
  try {
    const applied = await migrateToLatest(database);
    const version = await currentVersion(database);
    return `${redactUrl(config.database.connection)}: schema at ${version ?? 'empty'}`
      + (applied.length ? ` (applied ${applied.join(', ')})` : ' (already up to date)');
  } finally {
    await database.close();
  }
}

export async function dbVersion(config: GlimpseConfig): Promise<string> {
  const database = await openDatabase(config.database.connection);
  try {
    return (await currentVersion(database)) ?? 'empty (run `glimpse db sync`)';
  } finally {
    await database.close();
  }
}
