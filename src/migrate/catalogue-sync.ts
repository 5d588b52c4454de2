// Tasks and metadata definitions: the tables besides images. Both go through row-upsert.ts.
//
// Tasks keep Glance's ids, states, task_info documents and times. A task Glance left pending or
// processing gets a lease that never expires (owner `glance-migration`), so no Glimpse worker
// claims it: its input follows Glance's internal format, and Glance, which never resumes an
// interrupted task either, would not have run it again.
//
// Metadefs have integer keys on both sides; they are matched by name (namespace; namespace + name for
// objects, properties and tags; resource type name), never by id, and inserted in Glance's id order
// so that lists keep Glance's tie-breaking order. Definitions (JSON) are kept as Glance wrote them.
import type { Kysely } from 'kysely';
import type { Database } from '../db/connect.ts';
import type { GlanceSource } from './glance-reader.ts';
import { glanceDb, readTaskBatch } from './glance-reader.ts';
import type { GlanceTask } from './glance-model.ts';
import type { MigrationReport } from './report.ts';
import { upsertRows, type Row } from './row-upsert.ts';
import { flag, integer, nullableUtc, utc } from './values.ts';

export const NEVER = new Date('9999-12-31T00:00:00.000Z');
export const MIGRATION_LEASE_OWNER = 'glance-migration';

const TASK_COLUMNS = ['type', 'status', 'owner', 'image_id', 'request_id', 'user_id', 'input', 'result', 'message',
  'expires_at', 'created_at', 'updated_at', 'deleted', 'deleted_at'];

function taskRow(t: GlanceTask): Row {
  return {
    id: t.id, type: t.type, status: t.status, owner: t.owner, image_id: t.imageId, request_id: t.requestId,
    user_id: t.userId, input: t.input, result: t.result, message: t.message, expires_at: t.expiresAt,
    created_at: t.createdAt, updated_at: t.updatedAt, deleted: t.deleted, deleted_at: t.deletedAt,
  };
}

export async function syncTaskBatch(glimpse: Database, tasks: GlanceTask[], report: MigrationReport,
  write: boolean): Promise<void> {
  if (tasks.length === 0) return;
  const run = async (db: Database['db']) => {
    const existing = await db.selectFrom('tasks').selectAll().where('id', 'in', tasks.map((t) => t.id)).execute();
    await upsertRows(db, {
      table: 'tasks', key: ['id'], columns: TASK_COLUMNS, booleans: new Set(['deleted']),
      insertOnly: (row) => (row['status'] === 'pending' || row['status'] === 'processing'
        ? { lease_owner: MIGRATION_LEASE_OWNER, lease_expires_at: NEVER, attempts: 0 }
        : { lease_owner: null, lease_expires_at: null, attempts: 0 }),
    }, tasks.map(taskRow), existing as unknown as Row[], report, write);
  };
  if (write) await glimpse.db.transaction().execute(run);
  else await run(glimpse.db);
}

export async function syncTasks(source: GlanceSource, glimpse: Database, report: MigrationReport,
  options: { write: boolean; batchSize: number; since?: Date; onBatch?: (n: number) => void }): Promise<void> {
  let afterId: string | undefined;
  for (;;) {
    const batch = await readTaskBatch(source, { afterId, limit: options.batchSize, since: options.since });
    if (batch.length === 0) return;
    await syncTaskBatch(glimpse, batch, report, options.write);
    afterId = batch[batch.length - 1]!.id;
    options.onBatch?.(batch.length);
  }
}

const times = (r: Record<string, unknown>) => {
  const created = utc(r['created_at']);
  return { created_at: created, updated_at: nullableUtc(r['updated_at']) ?? created };
};

/** Glance keeps an object's `required` list comma-joined (glance/db/__init__.py); Glimpse keeps JSON. */
export function requiredList(text: string | null): string | null {
  return text === null || text === '' ? null : JSON.stringify(text.split(','));
}

/** All metadefs in one transaction (catalogues are small: Glance ships ~30 namespaces). */
export async function syncMetadefs(source: GlanceSource, glimpse: Database, report: MigrationReport,
  write: boolean): Promise<void> {
  if (!source.schema.hasMetadefs) return;
  const g = glanceDb(source);
  const resourceTypes = await g.selectFrom('metadef_resource_types').selectAll().orderBy('id').execute();
  const namespaces = await g.selectFrom('metadef_namespaces').selectAll().orderBy('id').execute();
  const objects = await g.selectFrom('metadef_objects').selectAll().orderBy('id').execute();
  const properties = await g.selectFrom('metadef_properties').selectAll().orderBy('id').execute();
  const tags = await g.selectFrom('metadef_tags').selectAll().orderBy('id').execute();
  const associations = await g.selectFrom('metadef_namespace_resource_types').selectAll()
    .orderBy('namespace_id').orderBy('resource_type_id').execute();

  const run = async (db: Database['db']) => {
    const dyn = db as unknown as Kysely<Record<string, Row>>;
    const all = (table: string) => dyn.selectFrom(table).selectAll().execute();
    await upsertRows(db, { table: 'metadef_resource_types', key: ['name'], columns: ['protected', 'created_at', 'updated_at'],
      booleans: new Set(['protected']) },
    resourceTypes.map((r) => ({ name: r.name, protected: flag(r.protected), ...times(r) })),
    await all('metadef_resource_types'), report, write);
    await upsertRows(db, { table: 'metadef_namespaces', key: ['namespace'],
      columns: ['display_name', 'description', 'visibility', 'protected', 'owner', 'created_at', 'updated_at'],
      booleans: new Set(['protected']) },
    namespaces.map((n) => ({ namespace: n.namespace, display_name: n.display_name, description: n.description,
      visibility: n.visibility ?? 'private', protected: flag(n.protected ?? false), owner: n.owner, ...times(n) })),
    await all('metadef_namespaces'), report, write);

    // Glance id → Glimpse id, by name (a namespace new on a dry run has none: its children count as inserts).
    const glimpseNs = new Map((await all('metadef_namespaces')).map((n) => [String(n['namespace']), integer(n['id'])]));
    const glimpseRt = new Map((await all('metadef_resource_types')).map((r) => [String(r['name']), integer(r['id'])]));
    const nsId = new Map(namespaces.map((n) => [integer(n.id), glimpseNs.get(String(n.namespace)) ?? -1]));
    const rtId = new Map(resourceTypes.map((r) => [integer(r.id), glimpseRt.get(String(r.name)) ?? -1]));
    const child = (r: { namespace_id: unknown; name: unknown }) => ({ namespace_id: nsId.get(integer(r.namespace_id)) ?? -1, name: r.name });

    await upsertRows(db, { table: 'metadef_objects', key: ['namespace_id', 'name'],
      columns: ['description', 'required', 'json_schema', 'created_at', 'updated_at'] },
    objects.map((o) => ({ ...child(o), description: o.description, required: requiredList(o.required), json_schema: o.json_schema,
      ...times(o) })),
    await all('metadef_objects'), report, write);
    await upsertRows(db, { table: 'metadef_properties', key: ['namespace_id', 'name'], columns: ['json_schema', 'created_at', 'updated_at'] },
      properties.map((p) => ({ ...child(p), json_schema: p.json_schema, ...times(p) })),
      await all('metadef_properties'), report, write);
    await upsertRows(db, { table: 'metadef_tags', key: ['namespace_id', 'name'], columns: ['created_at', 'updated_at'] },
      tags.map((t) => ({ ...child(t), ...times(t) })), await all('metadef_tags'), report, write);
    await upsertRows(db, { table: 'metadef_namespace_resource_types', key: ['resource_type_id', 'namespace_id'],
      columns: ['properties_target', 'prefix', 'created_at', 'updated_at'] },
    associations.map((a) => ({ resource_type_id: rtId.get(integer(a.resource_type_id)) ?? -1,
      namespace_id: nsId.get(integer(a.namespace_id)) ?? -1, properties_target: a.properties_target, prefix: a.prefix, ...times(a) })),
    await all('metadef_namespace_resource_types'), report, write);
  };
  if (write) await glimpse.db.transaction().execute(run);
  else await run(glimpse.db);
}
