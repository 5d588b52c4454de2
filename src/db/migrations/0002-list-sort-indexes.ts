// 0002_list_sort_indexes — sort indexes that match the ORDER BY the image list really runs.
//
// The list always appends created_at and id as tie-breakers (spec/v2.md §4.1), so sort_key=name
// runs ORDER BY name, created_at, id and sort_key=updated_at runs ORDER BY updated_at, created_at,
// id. 0001's (name, id) and (updated_at, id) cannot deliver that order, so every such page sorted
// the whole visible set: with 50k images an admin's name-sorted page took ~30 ms on PostgreSQL and
// 130–250 ms on MariaDB (which also preferred the os_hidden index), against ~1 ms with these
// indexes (an index walk from the marker that stops after `limit` rows).
//
// The list orders NULL as the smallest value (image-list-sql.ts). MariaDB/MySQL and SQLite index
// NULLs that way already; PostgreSQL's default index order puts NULLs last, which would serve
// neither `name ASC NULLS FIRST` nor its backward scan `name DESC NULLS LAST`, so there the name
// column is indexed NULLS FIRST. created_at, updated_at and id are NOT NULL.
//
// The new indexes replace the old ones: a leading name / updated_at column serves everything the
// old (name, id) / (updated_at, id) did (equality filters on name, range scans on updated_at).
// Plain CREATE INDEX blocks writes to images while it builds (PostgreSQL's CONCURRENTLY cannot run
// inside the migration's transaction): seconds for a typical catalogue; schedule it for very large ones.
import { sql, type Kysely, type Migration } from 'kysely';
import type { Dialect } from '../url.ts';

async function createSortIndexes(db: Kysely<unknown>, dialect: Dialect): Promise<void> {
  if (dialect === 'postgres') {
    await sql`CREATE INDEX ix_images_name_created_at_id ON images (name NULLS FIRST, created_at, id)`.execute(db);
  } else {
    await db.schema.createIndex('ix_images_name_created_at_id').on('images').columns(['name', 'created_at', 'id']).execute();
  }
  await db.schema.createIndex('ix_images_updated_at_created_at_id').on('images')
    .columns(['updated_at', 'created_at', 'id']).execute();
}

async function dropIndex(db: Kysely<unknown>, dialect: Dialect, name: string): Promise<void> {
  const drop = db.schema.dropIndex(name);
  await (dialect === 'mysql' ? drop.on('images') : drop).execute();
}

export function listSortIndexes(dialect: Dialect): Migration {
  return {
    async up(db: Kysely<unknown>) {
      await createSortIndexes(db, dialect);
      await dropIndex(db, dialect, 'ix_images_name_id');
      await dropIndex(db, dialect, 'ix_images_updated_at_id');
    },
    async down(db: Kysely<unknown>) {
      await db.schema.createIndex('ix_images_name_id').on('images').columns(['name', 'id']).execute();
      await db.schema.createIndex('ix_images_updated_at_id').on('images').columns(['updated_at', 'id']).execute();
      await dropIndex(db, dialect, 'ix_images_name_created_at_id');
      await dropIndex(db, dialect, 'ix_images_updated_at_created_at_id');
    },
  };
}
