// Migration 0013 (decision 0034), PostgreSQL only: partial indexes of the owner-NULL images for the
// list's owner-NULL branch, one per sort key of migration 0009 plus one by visibility:
//   ix_images_ownerless_hidden_<S>            (os_hidden, S, created_at, id) WHERE owner IS NULL
//   ix_images_ownerless_visibility_hidden_created_at (visibility, os_hidden, created_at, id) WHERE owner IS NULL
// PostgreSQL's planner costs a LIMIT as if matches were spread evenly over a walk: with 300
// owner-NULL images among 100k (all of them old) it walked (os_hidden, created_at, id) over every
// newer image to find them, 7,400 buffers for a page that costs 20 (bench/list-steps.ts). A
// partial index holds only the owner-NULL images, so its walk is the cheapest in any estimate.
// They stay (nearly) empty and cost nothing to maintain for the images that have an owner. SQLite
// names the owner index in the query instead (INDEXED BY) and MariaDB has no partial indexes
// (FORCE INDEX), so neither gets them.
import { sql, type Kysely, type Migration } from 'kysely';
import type { Dialect } from '../url.ts';
import { listSortKeys, type ListIndexSortKey } from './0009-list-walk-indexes.ts';

const nullable = new Set<string>(['name', 'size']);

export function ownerlessIndexName(key: ListIndexSortKey | 'visibility'): string {
  return key === 'visibility' ? 'ix_images_ownerless_visibility_hidden_created_at' : `ix_images_ownerless_hidden_${key}`;
}

function columns(key: ListIndexSortKey | 'visibility'): string[] {
  if (key === 'visibility') return ['visibility', 'os_hidden', 'created_at', 'id'];
  return ['os_hidden', ...(key === 'created_at' ? ['created_at', 'id'] : [key, 'created_at', 'id'])];
}

export function ownerlessListIndexes(dialect: Dialect): Migration {
  const keys: (ListIndexSortKey | 'visibility')[] = [...listSortKeys, 'visibility'];
  return {
    async up(db: Kysely<unknown>) {
      if (dialect !== 'postgres') return;
      for (const key of keys) {
        const list = sql.join(columns(key).map((c) => (nullable.has(c) ? sql`${sql.id(c)} NULLS FIRST` : sql.id(c))));
        await sql`CREATE INDEX ${sql.id(ownerlessIndexName(key))} ON images (${list}) WHERE owner IS NULL`.execute(db);
      }
    },
    async down(db: Kysely<unknown>) {
      if (dialect !== 'postgres') return;
      for (const key of keys) await db.schema.dropIndex(ownerlessIndexName(key)).execute();
    },
  };
}
