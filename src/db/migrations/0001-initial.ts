// 0001_initial — images, their properties/tags/members/locations, and tasks.
//
// Runs unchanged on SQLite, PostgreSQL and MariaDB/MySQL; the only per-dialect pieces are the
// column types in `columnTypes` and MySQL's table options.
//
// Case sensitivity: on MySQL/MariaDB every table is utf8mb4 with the utf8mb4_bin collation, so ids,
// names, tags, member ids and property names compare and stay unique case-sensitively, as they do
// on PostgreSQL and SQLite (the default *_ci collations would make tag 'a' collide with 'A').
// Binary collation also makes ORDER BY name a code-point order there; PostgreSQL sorts text by the
// database's collation. Each database is self-consistent, which is all keyset paging needs.
// Key lengths: utf8mb4 takes 4 bytes a character, so the widest key here, (owner 255, created_at,
// id 36), is 1172 bytes, well under InnoDB's 3072-byte limit (DYNAMIC row format, MariaDB ≥ 10.2).
//
// Indexes follow the list query (spec/v2.md §4). A non-admin default list is
//   WHERE deleted = false AND status NOT IN ('killed','deleted','pending_delete') AND os_hidden = false
//     AND (owner = :p OR owner IS NULL OR visibility = 'public'
//          OR (visibility = 'shared' AND id IN (SELECT image_id FROM image_members
//                                               WHERE member = :p AND status = 'accepted')))
//     AND (created_at < :c OR (created_at = :c AND id < :id))      -- keyset after the marker
//   ORDER BY created_at DESC, id DESC LIMIT :n
// - (created_at, id), (updated_at, id), (name, id): the planner walks the sort index from the marker
//   and stops after :n visible rows; a descending sort is a backward scan of the same index. Other
//   sort keys (status, size, formats) sort the filtered set; they are rarely used and low-cardinality.
//   (0002 replaces (updated_at, id) and (name, id) with (…, created_at, id): the list appends
//   created_at before id as tie-breakers.)
// - (owner, created_at, id) and (visibility, created_at, id): each branch of the visibility OR
//   (own / public or community / shared) is then an ordered range that ends at the marker, so the
//   query may be written as a UNION of bounded branch scans when one index walk would filter too much.
// - image_members (member, status, image_id): "shared with me" is an index-only range scan.
// - image_tags (value, image_id), image_properties (name, image_id): tag and custom-property filters
//   start from the rare tag/name; the primary keys (image_id, …) serve loading one image's rows.
//   Property values are TEXT (Glance's type) and are checked after the name match.
// - status (scrubber's pending_delete sweep, status filter), checksum and os_hash_value (lookup by
//   hash), os_hidden (the os_hidden=true filter selects the few hidden images).
// - tasks: (created_at, id)/(updated_at, id) for paging, image_id for /v2/images/{id}/tasks, owner,
//   expires_at for the lazy expiry sweep, (status, lease_expires_at) for workers claiming tasks.
// Locations have no surrogate key: updates replace an image's location rows, so (image_id, position)
// is the identity and keeps their order.
import { sql, type Kysely, type Migration, type RawBuilder } from 'kysely';
import type { Dialect } from '../url.ts';

interface ColumnTypes {
  timestamp: RawBuilder<unknown>;
  /** Large JSON documents (task input/result); MySQL TEXT stops at 64 KiB. */
  longText: RawBuilder<unknown>;
}

function columnTypes(dialect: Dialect): ColumnTypes {
  switch (dialect) {
    case 'postgres': return { timestamp: sql`timestamptz(6)`, longText: sql`text` };
    case 'mysql': return { timestamp: sql`datetime(6)`, longText: sql`mediumtext` };
    // ISO-8601 UTC text written by connect.ts's binding adapter; fixed width, so it sorts by time.
    case 'sqlite': return { timestamp: sql`text`, longText: sql`text` };
  }
}

export function initial(dialect: Dialect): Migration {
  const t = columnTypes(dialect);
  const tableOptions = dialect === 'mysql'
    ? sql`ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin` : sql``;

  return {
    async up(db: Kysely<unknown>) {
      await db.schema.createTable('images')
        .addColumn('id', 'varchar(36)', (c) => c.notNull())
        .addColumn('name', 'varchar(255)')
        .addColumn('status', 'varchar(30)', (c) => c.notNull())
        .addColumn('visibility', 'varchar(20)', (c) => c.notNull())
        .addColumn('protected', 'boolean', (c) => c.notNull().defaultTo(false))
        .addColumn('os_hidden', 'boolean', (c) => c.notNull().defaultTo(false))
        .addColumn('owner', 'varchar(255)')
        .addColumn('size', 'bigint')
        .addColumn('virtual_size', 'bigint')
        .addColumn('disk_format', 'varchar(20)')
        .addColumn('container_format', 'varchar(20)')
        .addColumn('checksum', 'varchar(32)')
        .addColumn('os_hash_algo', 'varchar(64)')
        .addColumn('os_hash_value', 'varchar(128)')
        .addColumn('min_disk', 'integer', (c) => c.notNull().defaultTo(0))
        .addColumn('min_ram', 'integer', (c) => c.notNull().defaultTo(0))
        .addColumn('created_at', t.timestamp, (c) => c.notNull())
        .addColumn('updated_at', t.timestamp, (c) => c.notNull())
        .addColumn('deleted_at', t.timestamp)
        .addColumn('deleted', 'boolean', (c) => c.notNull().defaultTo(false))
        .addColumn('version', 'integer', (c) => c.notNull().defaultTo(1))
        .addPrimaryKeyConstraint('pk_images', ['id'])
        .modifyEnd(tableOptions)
        .execute();
      const imageIndexes: Record<string, string[]> = {
        ix_images_created_at_id: ['created_at', 'id'],
        ix_images_updated_at_id: ['updated_at', 'id'],
        ix_images_name_id: ['name', 'id'],
        ix_images_owner_created_at_id: ['owner', 'created_at', 'id'],
        ix_images_visibility_created_at_id: ['visibility', 'created_at', 'id'],
        ix_images_status: ['status'],
        ix_images_checksum: ['checksum'],
        ix_images_os_hash_value: ['os_hash_value'],
        ix_images_os_hidden: ['os_hidden'],
      };
      for (const [name, columns] of Object.entries(imageIndexes)) {
        await db.schema.createIndex(name).on('images').columns(columns).execute();
      }

      await db.schema.createTable('image_properties')
        .addColumn('image_id', 'varchar(36)', (c) => c.notNull())
        .addColumn('name', 'varchar(255)', (c) => c.notNull())
        .addColumn('value', 'text')
        .addPrimaryKeyConstraint('pk_image_properties', ['image_id', 'name'])
        .addForeignKeyConstraint('fk_image_properties_image', ['image_id'], 'images', ['id'], (f) => f.onDelete('cascade'))
        .modifyEnd(tableOptions)
        .execute();
      await db.schema.createIndex('ix_image_properties_name_image_id')
        .on('image_properties').columns(['name', 'image_id']).execute();

      await db.schema.createTable('image_tags')
        .addColumn('image_id', 'varchar(36)', (c) => c.notNull())
        .addColumn('value', 'varchar(255)', (c) => c.notNull())
        .addPrimaryKeyConstraint('pk_image_tags', ['image_id', 'value'])
        .addForeignKeyConstraint('fk_image_tags_image', ['image_id'], 'images', ['id'], (f) => f.onDelete('cascade'))
        .modifyEnd(tableOptions)
        .execute();
      await db.schema.createIndex('ix_image_tags_value_image_id').on('image_tags').columns(['value', 'image_id']).execute();

      await db.schema.createTable('image_members')
        .addColumn('image_id', 'varchar(36)', (c) => c.notNull())
        .addColumn('member', 'varchar(255)', (c) => c.notNull())
        .addColumn('status', 'varchar(20)', (c) => c.notNull())
        .addColumn('can_share', 'boolean', (c) => c.notNull().defaultTo(false))
        .addColumn('created_at', t.timestamp, (c) => c.notNull())
        .addColumn('updated_at', t.timestamp, (c) => c.notNull())
        .addPrimaryKeyConstraint('pk_image_members', ['image_id', 'member'])
        .addForeignKeyConstraint('fk_image_members_image', ['image_id'], 'images', ['id'], (f) => f.onDelete('cascade'))
        .modifyEnd(tableOptions)
        .execute();
      await db.schema.createIndex('ix_image_members_member_status_image_id')
        .on('image_members').columns(['member', 'status', 'image_id']).execute();

      await db.schema.createTable('image_locations')
        .addColumn('image_id', 'varchar(36)', (c) => c.notNull())
        .addColumn('position', 'integer', (c) => c.notNull())
        .addColumn('value', 'text', (c) => c.notNull())
        .addColumn('meta_data', 'text', (c) => c.notNull())
        .addColumn('status', 'varchar(30)', (c) => c.notNull())
        .addColumn('created_at', t.timestamp, (c) => c.notNull())
        .addColumn('updated_at', t.timestamp, (c) => c.notNull())
        .addPrimaryKeyConstraint('pk_image_locations', ['image_id', 'position'])
        .addForeignKeyConstraint('fk_image_locations_image', ['image_id'], 'images', ['id'], (f) => f.onDelete('cascade'))
        .modifyEnd(tableOptions)
        .execute();

      await db.schema.createTable('tasks')
        .addColumn('id', 'varchar(36)', (c) => c.notNull())
        .addColumn('type', 'varchar(30)', (c) => c.notNull())
        .addColumn('status', 'varchar(30)', (c) => c.notNull())
        .addColumn('owner', 'varchar(255)', (c) => c.notNull())
        .addColumn('image_id', 'varchar(36)')
        .addColumn('request_id', 'varchar(64)')
        .addColumn('user_id', 'varchar(64)')
        .addColumn('input', t.longText)
        .addColumn('result', t.longText)
        .addColumn('message', t.longText)
        .addColumn('expires_at', t.timestamp)
        .addColumn('created_at', t.timestamp, (c) => c.notNull())
        .addColumn('updated_at', t.timestamp, (c) => c.notNull())
        .addColumn('deleted', 'boolean', (c) => c.notNull().defaultTo(false))
        .addColumn('deleted_at', t.timestamp)
        .addColumn('lease_owner', 'varchar(255)')
        .addColumn('lease_expires_at', t.timestamp)
        .addPrimaryKeyConstraint('pk_tasks', ['id'])
        .modifyEnd(tableOptions)
        .execute();
      const taskIndexes: Record<string, string[]> = {
        ix_tasks_created_at_id: ['created_at', 'id'],
        ix_tasks_updated_at_id: ['updated_at', 'id'],
        ix_tasks_image_id: ['image_id'],
        ix_tasks_owner: ['owner'],
        ix_tasks_expires_at: ['expires_at'],
        ix_tasks_status_lease_expires_at: ['status', 'lease_expires_at'],
      };
      for (const [name, columns] of Object.entries(taskIndexes)) {
        await db.schema.createIndex(name).on('tasks').columns(columns).execute();
      }
    },

    async down(db: Kysely<unknown>) {
      for (const table of ['tasks', 'image_locations', 'image_members', 'image_tags', 'image_properties', 'images']) {
        await db.schema.dropTable(table).execute();
      }
    },
  };
}
