// 0006_location_value_index — find the images that use a location URL without scanning them all.
//
// Before deleting the data behind a location (image delete, location remove, DELETE /v2/stores/…),
// Glimpse asks whether another live image still references the same URL (ImageRepository
// .locationInUse: bug 1546507, one project deleting data another registered). 0001 indexes
// image_locations by (image_id, position) only, so that question scanned every location row: one
// full scan per delete, growing with the catalogue.
//
// The URL column is TEXT. PostgreSQL gets a hash index (equality is all that is asked, and a btree
// entry cannot exceed ~2.7 kB while a URL has no such limit); MySQL/MariaDB need a prefix for TEXT
// (the first 255 characters, which nearly always decide; the row check still compares the whole
// value); SQLite indexes the column as it is.
import { sql, type Kysely, type Migration } from 'kysely';
import type { Dialect } from '../url.ts';

const NAME = 'ix_image_locations_value';

export function locationValueIndex(dialect: Dialect): Migration {
  return {
    async up(db: Kysely<unknown>) {
      if (dialect === 'postgres') {
        await sql`CREATE INDEX ${sql.id(NAME)} ON image_locations USING hash (value)`.execute(db);
      } else if (dialect === 'mysql') {
        await sql`CREATE INDEX ${sql.id(NAME)} ON image_locations (value(255))`.execute(db);
      } else {
        await db.schema.createIndex(NAME).on('image_locations').column('value').execute();
      }
    },
    async down(db: Kysely<unknown>) {
      const drop = db.schema.dropIndex(NAME);
      await (dialect === 'mysql' ? drop.on('image_locations') : drop).execute();
    },
  };
}
