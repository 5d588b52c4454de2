// Reads a Glance database in batches, read-only (connect.ts `readOnly`: SQLite opened read-only,
// PostgreSQL/MySQL sessions read-only), and turns its rows into plain records (glance-model.ts).
// Images are read in keyset order of id, so a run is a walk that a rerun repeats exactly.
import type { Expression, ExpressionBuilder, Kysely, SqlBool } from 'kysely';
import { openDatabase, type Database } from '../db/connect.ts';
import { detectGlanceSchema, type GlanceSchema, type GlanceSchemaInfo } from './glance-schema.ts';
import type {
  GlanceImage, GlanceLocation, GlanceMember, GlanceTask,
} from './glance-model.ts';
import { flag, integer, jsonObject, nullableInteger, nullableUtc, utc } from './values.ts';

type Eb = ExpressionBuilder<GlanceSchema, 'images'>;

export interface GlanceSource {
  readonly database: Database;
  readonly schema: GlanceSchemaInfo;
  close(): Promise<void>;
}

export async function openGlance(url: string): Promise<GlanceSource> {
  const database = await openDatabase(url, { readOnly: true, maxPoolSize: 2 });
  try {
    return { database, schema: await detectGlanceSchema(database), close: () => database.close() };
  } catch (error) {
    await database.close();
    throw error;
  }
}

const db = (source: GlanceSource) => source.database.db as unknown as Kysely<GlanceSchema>;

/**
 * A time as Glance's columns hold it: naive UTC text. SQLite compares it as text with Glance's
 * `YYYY-MM-DD HH:MM:SS.ffffff`; MySQL and PostgreSQL read it as a DATETIME / timestamp.
 */
function naive(date: Date): string {
  return date.toISOString().replace('T', ' ').replace('Z', '');
}

/** Images touched at or after `since`: the image row or any of its children created, changed or deleted. */
function touchedSince(eb: Eb, sinceDate: Date): Expression<SqlBool> {
  const since = naive(sinceDate) as unknown as Date;
  const child = (table: 'image_properties' | 'image_tags' | 'image_members' | 'image_locations') =>
    eb.exists(eb.selectFrom(table).select(`${table}.id`).whereRef(`${table}.image_id`, '=', 'images.id')
      .where((c) => c.or([c(`${table}.created_at`, '>=', since), c(`${table}.updated_at`, '>=', since),
        c(`${table}.deleted_at`, '>=', since)])) as never);
  return eb.or([eb('images.created_at', '>=', since), eb('images.updated_at', '>=', since), eb('images.deleted_at', '>=', since),
    child('image_properties'), child('image_tags'), child('image_members'), child('image_locations')]);
}

export async function countImages(source: GlanceSource, since?: Date): Promise<number> {
  let q = db(source).selectFrom('images').select((eb) => eb.fn.countAll<number | string>().as('n'));
  if (since) q = q.where((eb) => touchedSince(eb, since));
  return integer((await q.executeTakeFirstOrThrow()).n);
}

/** One batch of images after `afterId` (keyset by id), with their children. */
export async function readImageBatch(source: GlanceSource, options: { afterId?: string; limit: number; since?: Date }):
  Promise<GlanceImage[]> {
  const glance = db(source);
  const { schema } = source;
  let q = glance.selectFrom('images').select(['id', 'name', 'disk_format', 'container_format', 'size', 'virtual_size',
    'status', 'visibility', 'checksum', 'min_disk', 'min_ram', 'owner', 'protected', 'created_at', 'updated_at',
    'deleted_at', 'deleted'])
    .$if(schema.hasOsHidden, (s) => s.select('os_hidden'))
    .$if(schema.hasOsHash, (s) => s.select(['os_hash_algo', 'os_hash_value']))
    .orderBy('id').limit(options.limit);
  if (options.afterId !== undefined) q = q.where('id', '>', options.afterId);
  const since = options.since;
  if (since) q = q.where((eb) => touchedSince(eb, since));
  const rows = await q.execute();
  if (rows.length === 0) return [];
  const ids = rows.map((r) => String(r.id));
  const properties = await glance.selectFrom('image_properties').select(['image_id', 'name', 'value'])
    .where('image_id', 'in', ids).where('deleted', '=', false as never).orderBy('id').execute();
  const tags = await glance.selectFrom('image_tags').select(['image_id', 'value'])
    .where('image_id', 'in', ids).where('deleted', '=', false as never).orderBy('id').execute();
  const locations = await glance.selectFrom('image_locations')
    .select(['id', 'image_id', 'value', 'meta_data', 'status', 'deleted', 'created_at', 'updated_at'])
    .where('image_id', 'in', ids).orderBy('id').execute();
  const members = await glance.selectFrom('image_members')
    .select(['image_id', 'member', 'can_share', 'status', 'created_at', 'updated_at', 'deleted', 'deleted_at'])
    .where('image_id', 'in', ids).orderBy('id').execute();

  const byId = new Map<string, GlanceImage>();
  const images = rows.map((r) => {
    const row = r as typeof r & { os_hidden?: unknown; os_hash_algo?: unknown; os_hash_value?: unknown };
    const createdAt = utc(row.created_at);
    const image: GlanceImage = {
      id: String(row.id), name: row.name, status: String(row.status), visibility: row.visibility ?? 'shared',
      protected: flag(row.protected), osHidden: flag(row.os_hidden ?? false), owner: row.owner,
      size: nullableInteger(row.size), virtualSize: nullableInteger(row.virtual_size),
      diskFormat: row.disk_format, containerFormat: row.container_format, checksum: row.checksum,
      osHashAlgo: (row.os_hash_algo as string | null | undefined) ?? null,
      osHashValue: (row.os_hash_value as string | null | undefined) ?? null,
      minDisk: integer(row.min_disk), minRam: integer(row.min_ram),
      createdAt, updatedAt: nullableUtc(row.updated_at) ?? createdAt, deletedAt: nullableUtc(row.deleted_at),
      deleted: flag(row.deleted), properties: {}, tags: [], locations: [], members: [],
    };
    byId.set(image.id, image);
    return image;
  });
  for (const p of properties) byId.get(String(p.image_id))!.properties[String(p.name)] = p.value;
  for (const t of tags) {
    const image = byId.get(String(t.image_id))!;
    if (!image.tags.includes(String(t.value))) image.tags.push(String(t.value));
  }
  for (const l of locations) {
    const created = utc(l.created_at);
    const location: GlanceLocation = {
      id: integer(l.id), url: String(l.value), metadata: jsonObject(l.meta_data), status: String(l.status),
      deleted: flag(l.deleted), createdAt: created, updatedAt: nullableUtc(l.updated_at) ?? created,
    };
    byId.get(String(l.image_id))!.locations.push(location);
  }
  for (const m of members) {
    const created = utc(m.created_at);
    const member: GlanceMember = {
      member: String(m.member), status: String(m.status), canShare: flag(m.can_share), deleted: flag(m.deleted),
      createdAt: created, updatedAt: nullableUtc(m.updated_at) ?? created, deletedAt: nullableUtc(m.deleted_at),
    };
    byId.get(String(m.image_id))!.members.push(member);
  }
  return images;
}

export async function countTasks(source: GlanceSource, since?: Date): Promise<number> {
  let q = db(source).selectFrom('tasks').select((eb) => eb.fn.countAll<number | string>().as('n'));
  if (since) {
    const t = naive(since) as unknown as Date;
    q = q.where((eb) => eb.or([eb('created_at', '>=', t), eb('updated_at', '>=', t), eb('deleted_at', '>=', t)]));
  }
  return integer((await q.executeTakeFirstOrThrow()).n);
}

export async function readTaskBatch(source: GlanceSource, options: { afterId?: string; limit: number; since?: Date }):
  Promise<GlanceTask[]> {
  const glance = db(source);
  let q = glance.selectFrom('tasks').leftJoin('task_info', 'task_info.task_id', 'tasks.id')
    .select(['tasks.id', 'tasks.type', 'tasks.status', 'tasks.owner', 'tasks.expires_at', 'tasks.created_at',
      'tasks.updated_at', 'tasks.deleted_at', 'tasks.deleted', 'task_info.input', 'task_info.result', 'task_info.message'])
    .$if(source.schema.hasTaskRefs, (s) => s.select(['tasks.image_id', 'tasks.request_id', 'tasks.user_id']))
    .orderBy('tasks.id').limit(options.limit);
  if (options.afterId !== undefined) q = q.where('tasks.id', '>', options.afterId);
  if (options.since) {
    const t = naive(options.since) as unknown as Date;
    q = q.where((eb) => eb.or([eb('tasks.created_at', '>=', t), eb('tasks.updated_at', '>=', t), eb('tasks.deleted_at', '>=', t)]));
  }
  return (await q.execute()).map((r) => {
    const row = r as typeof r & { image_id?: string | null; request_id?: string | null; user_id?: string | null };
    const created = utc(row.created_at);
    return {
      id: String(row.id), type: String(row.type), status: String(row.status), owner: String(row.owner),
      imageId: row.image_id ?? null, requestId: row.request_id ?? null, userId: row.user_id ?? null,
      input: row.input ?? null, result: row.result ?? null, message: row.message ?? null,
      expiresAt: nullableUtc(row.expires_at), createdAt: created, updatedAt: nullableUtc(row.updated_at) ?? created,
      deleted: flag(row.deleted), deletedAt: nullableUtc(row.deleted_at),
    };
  });
}

export { db as glanceDb };
