// 0010_image_cache — the image cache's metadata, shared by every API node (Glance's centralized_db
// cache driver keeps its cached_images table in the main database the same way).
//
// Each node is named by its `worker_self_reference_url`; its files live on its own disk under
// `image_cache_dir`, and these rows say which of them are complete, verified entries (with hits and
// last access for LRU pruning) and which images are queued for its prefetcher. No foreign key to
// images: an entry is dropped by the cache (invalidation, cleaning) and may briefly outlive a row.
// Keys: (node, image_id) — each node lists and prunes only its own rows; image_id alone finds every
// node's rows of an image (invalidation, GET /v2/cache/nodes/{image_id}).
import { sql, type Kysely, type Migration } from 'kysely';
import type { Dialect } from '../url.ts';

export function imageCache(dialect: Dialect): Migration {
  const timestamp = dialect === 'postgres' ? sql`timestamptz(6)` : dialect === 'mysql' ? sql`datetime(6)` : sql`text`;
  const tableOptions = dialect === 'mysql' ? sql`ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin` : sql``;
  return {
    async up(db: Kysely<unknown>) {
      await db.schema.createTable('image_cache_entries')
        .addColumn('node', 'varchar(255)', (c) => c.notNull())
        .addColumn('image_id', 'varchar(36)', (c) => c.notNull())
        .addColumn('size', 'bigint', (c) => c.notNull())
        .addColumn('hits', 'integer', (c) => c.notNull().defaultTo(0))
        .addColumn('last_accessed', timestamp, (c) => c.notNull())
        .addColumn('last_modified', timestamp, (c) => c.notNull())
        .addColumn('checksum', 'varchar(128)', (c) => c.notNull())
        .addPrimaryKeyConstraint('pk_image_cache_entries', ['node', 'image_id'])
        .modifyEnd(tableOptions)
        .execute();
      await db.schema.createIndex('ix_image_cache_entries_image_id').on('image_cache_entries').column('image_id').execute();
      await db.schema.createTable('image_cache_queue')
        .addColumn('node', 'varchar(255)', (c) => c.notNull())
        .addColumn('image_id', 'varchar(36)', (c) => c.notNull())
        .addColumn('queued_at', timestamp, (c) => c.notNull())
        .addPrimaryKeyConstraint('pk_image_cache_queue', ['node', 'image_id'])
        .modifyEnd(tableOptions)
        .execute();
      await db.schema.createIndex('ix_image_cache_queue_image_id').on('image_cache_queue').column('image_id').execute();
    },
    async down(db: Kysely<unknown>) {
      await db.schema.dropTable('image_cache_queue').execute();
      await db.schema.dropTable('image_cache_entries').execute();
    },
  };
}
