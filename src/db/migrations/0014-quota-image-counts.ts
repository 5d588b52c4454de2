// 0014_quota_image_counts — image_count_total without counting the project's images on every create
// (issue 16's bench target; docs/decisions/0030).
//
// quota_projects.images: the number of the project's images that count towards image_count_total
// (owner = project_id, status not killed / deleted / pending_delete), or NULL while unknown. Every
// transaction that changes that number (image create, an update of owner or status, `glimpse migrate
// from-glance`) updates the column in the same transaction, under the row's lock; NULL is filled in
// by the next create under unified limits, which counts once. Existing rows start NULL.
import type { Kysely, Migration } from 'kysely';
import type { Dialect } from '../url.ts';

export function quotaImageCounts(_dialect: Dialect): Migration {
  return {
    async up(db: Kysely<unknown>) {
      await db.schema.alterTable('quota_projects').addColumn('images', 'bigint').execute();
    },
    async down(db: Kysely<unknown>) {
      await db.schema.alterTable('quota_projects').dropColumn('images').execute();
    },
  };
}
