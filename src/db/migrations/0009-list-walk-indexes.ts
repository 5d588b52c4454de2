// 0009_list_walk_indexes — one index per (branch of the visible set × sort key), so that every
// image list is an index walk from the marker that stops after the page (decision 0016).
//
// Every list query has `os_hidden = :hidden` (false unless os_hidden=true is asked for), and its
// visible set is one of three shapes (image-list-sql.ts): no scope (admin), `owner = :p` / `owner
// IS NULL` (own and owner-NULL branches, the owner filter) and `visibility = :v` (others' public or
// community, the visibility filter). Each sort key S the clients send (created_at, updated_at,
// name, size, status; created_at and id are always appended) therefore gets three indexes:
//   (os_hidden, S, created_at, id)   (owner, os_hidden, S, created_at, id)   (visibility, os_hidden, S, created_at, id)
// with the equality columns first. The own branches of a visibility filter (`owner = :p AND
// visibility = :v`) get (owner, visibility, os_hidden, created_at, id) for the default order: the
// viewer's own images of one visibility may be none, and either of the other two would then be
// walked to its end (every shared image of the cloud, or every own image). With os_hidden inside the key, os_hidden=true (a few hidden
// images) is a short range instead of a walk over every visible image; `status = :s` with the
// default sort is a range of the S = status indexes. The indexes replace 0001/0002's
// (created_at, id), (updated_at, created_at, id), (name, created_at, id), (owner, created_at, id),
// (visibility, created_at, id) and (os_hidden), whose every use a new one serves (storageUsed:
// owner prefix; the scrubber keeps ix_images_status).
//
// PostgreSQL: name and size are nullable and the list orders NULL first ascending (image-list-sql.ts),
// so those columns are indexed NULLS FIRST (see 0002). MariaDB: the widest key, (owner, os_hidden,
// name, created_at, id), is 2,193 bytes in utf8mb4, under InnoDB's 3,072.
// Plain CREATE INDEX blocks writes to images while it builds: seconds for a typical catalogue.
import { sql, type Kysely, type Migration } from 'kysely';
import type { Dialect } from '../url.ts';

export const listSortKeys = ['created_at', 'updated_at', 'name', 'size', 'status'] as const;
export type ListIndexSortKey = (typeof listSortKeys)[number];
export const listScopes = ['all', 'owner', 'visibility'] as const;
export type ListIndexScope = (typeof listScopes)[number];

const nullable = new Set<string>(['name', 'size']);
/** Own (or owner-NULL) images of one visibility, newest first: the own branches of visibility=…. */
export const OWNER_VISIBILITY = 'ix_images_owner_visibility_hidden_created_at';

/** The index name for a scope and sort key, e.g. ix_images_owner_hidden_name. */
export function listIndexName(scope: ListIndexScope, key: ListIndexSortKey): string {
  return `ix_images_${scope === 'all' ? '' : `${scope}_`}hidden_${key}`;
}

function listIndexColumns(scope: ListIndexScope, key: ListIndexSortKey): string[] {
  const sortColumns = key === 'created_at' ? ['created_at', 'id'] : [key, 'created_at', 'id'];
  return [...(scope === 'all' ? [] : [scope]), 'os_hidden', ...sortColumns];
}

const replaced: Record<string, string[]> = {
  ix_images_created_at_id: ['created_at', 'id'],
  ix_images_updated_at_created_at_id: ['updated_at', 'created_at', 'id'],
  ix_images_name_created_at_id: ['name', 'created_at', 'id'],
  ix_images_owner_created_at_id: ['owner', 'created_at', 'id'],
  ix_images_visibility_created_at_id: ['visibility', 'created_at', 'id'],
  ix_images_os_hidden: ['os_hidden'],
};

async function createIndex(db: Kysely<unknown>, dialect: Dialect, name: string, columns: string[]): Promise<void> {
  if (dialect === 'postgres' && columns.some((c) => nullable.has(c))) {
    const list = sql.join(columns.map((c) => (nullable.has(c) ? sql`${sql.id(c)} NULLS FIRST` : sql.id(c))));
    await sql`CREATE INDEX ${sql.id(name)} ON images (${list})`.execute(db);
  } else {
    await db.schema.createIndex(name).on('images').columns(columns).execute();
  }
}

async function dropIndex(db: Kysely<unknown>, dialect: Dialect, name: string): Promise<void> {
  const drop = db.schema.dropIndex(name);
  await (dialect === 'mysql' ? drop.on('images') : drop).execute();
}

export function listWalkIndexes(dialect: Dialect): Migration {
  return {
    async up(db: Kysely<unknown>) {
      for (const scope of listScopes) {
        for (const key of listSortKeys) await createIndex(db, dialect, listIndexName(scope, key), listIndexColumns(scope, key));
      }
      await createIndex(db, dialect, OWNER_VISIBILITY, ['owner', 'visibility', 'os_hidden', 'created_at', 'id']);
      for (const name of Object.keys(replaced)) await dropIndex(db, dialect, name);
    },
    async down(db: Kysely<unknown>) {
      for (const [name, columns] of Object.entries(replaced)) await createIndex(db, dialect, name, columns);
      await dropIndex(db, dialect, OWNER_VISIBILITY);
      for (const scope of listScopes) {
        for (const key of listSortKeys) await dropIndex(db, dialect, listIndexName(scope, key));
      }
    },
  };
}
