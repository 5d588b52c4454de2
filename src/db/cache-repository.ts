// The image cache's shared metadata (src/ports/image-cache.ts) over Kysely, on the three dialects.
// Contract: test/contract/cache-repository.test.ts.
import { sql, type Kysely, type Selectable } from 'kysely';
import type { CacheEntry, CacheMetadataRepository } from '../ports/image-cache.ts';
import type { Database } from './connect.ts';
import { toDate, toNumber } from './image-mapper.ts';
import type { ImageCacheEntriesTable, Schema } from './schema.ts';
import { isUniqueViolation } from './sql-errors.ts';

function entryFromRow(row: Selectable<ImageCacheEntriesTable>): CacheEntry {
  return {
    imageId: row.image_id, size: toNumber(row.size), hits: toNumber(row.hits),
    lastAccessed: toDate(row.last_accessed), lastModified: toDate(row.last_modified), checksum: row.checksum,
  };
}

export class SqlCacheMetadata implements CacheMetadataRepository {
  private readonly db: Kysely<Schema>;

  constructor(database: Database) {
    this.db = database.db;
  }

  async entries(node: string): Promise<CacheEntry[]> {
    const rows = await this.db.selectFrom('image_cache_entries').selectAll().where('node', '=', node)
      .orderBy('last_accessed').orderBy('image_id').execute();
    return rows.map(entryFromRow);
  }

  async entry(node: string, imageId: string): Promise<CacheEntry | undefined> {
    const row = await this.db.selectFrom('image_cache_entries').selectAll()
      .where('node', '=', node).where('image_id', '=', imageId).executeTakeFirst();
    return row && entryFromRow(row);
  }

  async addEntry(node: string, entry: CacheEntry): Promise<void> {
    await this.db.transaction().execute(async (trx) => {
      await trx.deleteFrom('image_cache_entries').where('node', '=', node).where('image_id', '=', entry.imageId).execute();
      await trx.insertInto('image_cache_entries').values({
        node, image_id: entry.imageId, size: entry.size, hits: entry.hits, last_accessed: entry.lastAccessed,
        last_modified: entry.lastModified, checksum: entry.checksum,
      }).execute();
    });
  }

  async recordHit(node: string, imageId: string, at: Date): Promise<void> {
    await this.db.updateTable('image_cache_entries').set({ hits: sql`hits + 1`, last_accessed: at })
      .where('node', '=', node).where('image_id', '=', imageId).execute();
  }

  async removeEntry(node: string, imageId: string): Promise<boolean> {
    const result = await this.db.deleteFrom('image_cache_entries')
      .where('node', '=', node).where('image_id', '=', imageId).executeTakeFirst();
    return Number(result.numDeletedRows) > 0;
  }

  async forgetImage(imageId: string): Promise<void> {
    await this.db.deleteFrom('image_cache_entries').where('image_id', '=', imageId).execute();
    await this.db.deleteFrom('image_cache_queue').where('image_id', '=', imageId).execute();
  }

  async nodesCaching(imageId: string): Promise<string[]> {
    const rows = await this.db.selectFrom('image_cache_entries').select('node').where('image_id', '=', imageId)
      .orderBy('node').execute();
    return rows.map((r) => r.node);
  }

  async queued(node: string): Promise<string[]> {
    const rows = await this.db.selectFrom('image_cache_queue').select('image_id').where('node', '=', node)
      .orderBy('queued_at').orderBy('image_id').execute();
    return rows.map((r) => r.image_id);
  }

  async enqueue(node: string, imageId: string, at: Date): Promise<boolean> {
    try {
      await this.db.insertInto('image_cache_queue').values({ node, image_id: imageId, queued_at: at }).execute();
      return true;
    } catch (error) {
      if (isUniqueViolation(error)) return false;
      throw error;
    }
  }

  async dequeue(node: string, imageId: string): Promise<boolean> {
    const result = await this.db.deleteFrom('image_cache_queue')
      .where('node', '=', node).where('image_id', '=', imageId).executeTakeFirst();
    return Number(result.numDeletedRows) > 0;
  }

  async clearQueue(node: string): Promise<number> {
    const result = await this.db.deleteFrom('image_cache_queue').where('node', '=', node).executeTakeFirst();
    return Number(result.numDeletedRows);
  }
}
