// The Glance database as `glimpse migrate from-glance` reads it: its tables (as SQLAlchemy's models
// in glance/db/sqlalchemy/models*.py define them, Queens to master) and the alembic revisions this
// tool knows. Reads only: nothing here writes to Glance.
//
// Supported schemas: every alembic head from queens_expand01/queens_contract01 to 2024_1 (the last
// revision on Glance's master branch, 2026-07; releases 2024.2 to 2026.2 added no schema change). The
// changes in that range that matter here are additive and are detected by column, not by name:
// rocky_expand01 added images.os_hidden, rocky_expand02 images.os_hash_algo/os_hash_value,
// wallaby_expand01 tasks.image_id/request_id/user_id, 2024_1_expand01 the cache tables (not read),
// and train_migrate01 renamed the location metadata key `backend` to `store` (done here too for
// databases that never ran it). A database half-way through an expand/contract upgrade has two heads
// (one per branch); both must be known.
import type { ColumnType, Kysely } from 'kysely';
import type { Database } from '../db/connect.ts';

type Loose<T> = ColumnType<T, never, never>;
type Ts = Loose<Date | string>;
type NullableTs = Loose<Date | string | null>;
type Flag = Loose<boolean | number | string>;
type Int = Loose<number | string | bigint>;

export interface GlanceImages {
  id: Loose<string>; name: Loose<string | null>; disk_format: Loose<string | null>; container_format: Loose<string | null>;
  size: Loose<number | string | null>; virtual_size: Loose<number | string | null>; status: Loose<string>;
  visibility: Loose<string | null>; checksum: Loose<string | null>; os_hash_algo: Loose<string | null>;
  os_hash_value: Loose<string | null>; min_disk: Int; min_ram: Int; owner: Loose<string | null>; protected: Flag;
  os_hidden: Flag; created_at: Ts; updated_at: NullableTs; deleted_at: NullableTs; deleted: Flag;
}
interface ChildColumns { created_at: Ts; updated_at: NullableTs; deleted_at: NullableTs; deleted: Flag }
export interface GlanceProperties extends ChildColumns { id: Int; image_id: Loose<string>; name: Loose<string>; value: Loose<string | null> }
export interface GlanceTags extends ChildColumns { id: Int; image_id: Loose<string>; value: Loose<string> }
export interface GlanceLocations extends ChildColumns {
  id: Int; image_id: Loose<string>; value: Loose<string>; meta_data: Loose<string | null>; status: Loose<string>;
}
export interface GlanceMembers extends ChildColumns {
  id: Int; image_id: Loose<string>; member: Loose<string>; can_share: Flag; status: Loose<string>;
}
export interface GlanceTasks extends ChildColumns {
  id: Loose<string>; type: Loose<string>; status: Loose<string>; owner: Loose<string>; expires_at: NullableTs;
  image_id: Loose<string | null>; request_id: Loose<string | null>; user_id: Loose<string | null>;
}
export interface GlanceTaskInfo { task_id: Loose<string>; input: Loose<string | null>; result: Loose<string | null>; message: Loose<string | null> }
interface MetadefTimes { created_at: Ts; updated_at: NullableTs }
export interface GlanceNamespaces extends MetadefTimes {
  id: Int; namespace: Loose<string>; display_name: Loose<string | null>; description: Loose<string | null>;
  visibility: Loose<string | null>; protected: Loose<boolean | number | null>; owner: Loose<string>;
}
export interface GlanceMetadefObjects extends MetadefTimes {
  id: Int; namespace_id: Int; name: Loose<string>; description: Loose<string | null>; required: Loose<string | null>;
  json_schema: Loose<string>;
}
export interface GlanceMetadefProperties extends MetadefTimes { id: Int; namespace_id: Int; name: Loose<string>; json_schema: Loose<string> }
export interface GlanceMetadefTags extends MetadefTimes { id: Int; namespace_id: Int; name: Loose<string> }
export interface GlanceResourceTypes extends MetadefTimes { id: Int; name: Loose<string>; protected: Flag }
export interface GlanceNamespaceResourceTypes extends MetadefTimes {
  resource_type_id: Int; namespace_id: Int; properties_target: Loose<string | null>; prefix: Loose<string | null>;
}

export interface GlanceSchema {
  alembic_version: { version_num: Loose<string> };
  images: GlanceImages;
  image_properties: GlanceProperties;
  image_tags: GlanceTags;
  image_locations: GlanceLocations;
  image_members: GlanceMembers;
  tasks: GlanceTasks;
  task_info: GlanceTaskInfo;
  metadef_namespaces: GlanceNamespaces;
  metadef_objects: GlanceMetadefObjects;
  metadef_properties: GlanceMetadefProperties;
  metadef_tags: GlanceMetadefTags;
  metadef_resource_types: GlanceResourceTypes;
  metadef_namespace_resource_types: GlanceNamespaceResourceTypes;
}

/** Releases by their alembic revision prefix, oldest first (Glance's version file names). */
const RELEASES: ReadonlyArray<[prefix: string, release: string, revisions: string[]]> = [
  ['queens', 'Queens', ['queens_expand01', 'queens_contract01']],
  ['rocky', 'Rocky (to Stein)', ['rocky_expand01', 'rocky_expand02', 'rocky_contract01', 'rocky_contract02']],
  ['train', 'Train', ['train_expand01', 'train_contract01']],
  ['ussuri', 'Ussuri (to Victoria)', ['ussuri_expand01', 'ussuri_contract01']],
  ['wallaby', 'Wallaby', ['wallaby_expand01', 'wallaby_contract01']],
  ['xena', 'Xena', ['xena_expand01', 'xena_contract01']],
  ['yoga', 'Yoga', ['yoga_expand01', 'yoga_contract01']],
  ['zed', 'Zed', ['zed_expand01', 'zed_contract01']],
  ['2023_1', '2023.1 Antelope (to 2023.2)', ['2023_1_expand01', '2023_1_contract01']],
  ['2024_1', '2024.1 Caracal (to master)', ['2024_1_expand01', '2024_1_contract01']],
];

export const SUPPORTED_REVISIONS: ReadonlySet<string> = new Set(RELEASES.flatMap(([, , revisions]) => revisions));

export const SUPPORTED_RANGE = 'Glance Queens (queens_contract01) to master (2024_1_contract01)';

/** The release a revision belongs to, for messages. */
export function releaseOf(revision: string): string | undefined {
  return RELEASES.find(([prefix]) => revision.startsWith(`${prefix}_`))?.[1];
}

export interface GlanceSchemaInfo {
  /** The alembic heads recorded in alembic_version. */
  revisions: string[];
  /** e.g. "Zed"; the newer one when two heads are recorded. */
  release: string;
  /** Optional columns present (absent ones read as their defaults). */
  hasOsHidden: boolean;
  hasOsHash: boolean;
  hasTaskRefs: boolean;
  hasMetadefs: boolean;
}

export class UnsupportedGlanceSchema extends Error {}

async function columnsOf(database: Database, table: string): Promise<Set<string> | undefined> {
  const tables = await database.db.introspection.getTables();
  const found = tables.find((t) => t.name === table);
  return found ? new Set(found.columns.map((c) => c.name)) : undefined;
}

/** Reads alembic_version and checks the schema is one this tool knows; throws UnsupportedGlanceSchema otherwise. */
export async function detectGlanceSchema(database: Database): Promise<GlanceSchemaInfo> {
  const glance = database.db as unknown as Kysely<GlanceSchema>;
  let revisions: string[];
  try {
    revisions = (await glance.selectFrom('alembic_version').select('version_num').execute()).map((r) => String(r.version_num));
  } catch (error) {
    throw new UnsupportedGlanceSchema(`${database.displayUrl} has no alembic_version table: not a Glance database `
      + `(or one older than Liberty). Supported: ${SUPPORTED_RANGE}.`, { cause: error });
  }
  if (revisions.length === 0) {
    throw new UnsupportedGlanceSchema(`${database.displayUrl}: alembic_version is empty (glance-manage db_sync never completed). `
      + `Supported: ${SUPPORTED_RANGE}.`);
  }
  const unknown = revisions.filter((r) => !SUPPORTED_REVISIONS.has(r));
  if (unknown.length > 0) {
    throw new UnsupportedGlanceSchema(`Glance schema revision ${unknown.join(', ')} is not supported. Supported: `
      + `${SUPPORTED_RANGE}. Older schemas: upgrade Glance's database first (glance-manage db sync); `
      + 'newer ones are not known to this version of Glimpse.');
  }
  const images = await columnsOf(database, 'images');
  const tasks = await columnsOf(database, 'tasks');
  if (!images || !tasks) throw new UnsupportedGlanceSchema(`${database.displayUrl} has no images or tasks table`);
  const order = [...SUPPORTED_REVISIONS];
  const newest = [...revisions].sort((a, b) => order.indexOf(b) - order.indexOf(a))[0]!;
  return {
    revisions,
    release: releaseOf(newest) ?? newest,
    hasOsHidden: images.has('os_hidden'),
    hasOsHash: images.has('os_hash_value') && images.has('os_hash_algo'),
    hasTaskRefs: tasks.has('image_id'),
    hasMetadefs: (await columnsOf(database, 'metadef_namespaces')) !== undefined,
  };
}
