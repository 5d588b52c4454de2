// MetadefRepository over Kysely. Names are unique in the database (unique constraints), so a
// racing duplicate is refused there and reported as Conflict; multi-row writes (a namespace
// with its children, bulk tags) run in one transaction. Lists without an order of their own
// come back in insertion order (id), as Glance's do.
import type { Kysely, Transaction } from 'kysely';
import type { DomainError } from '../domain/errors.ts';
import { metadefErrors as E } from '../domain/metadef-errors.ts';
import type {
  MetadefNamespace, MetadefNamespaceContent, MetadefObject, MetadefProperty, MetadefTag, ResourceType,
  ResourceTypeAssociation,
} from '../domain/metadef.ts';
import type { MetadefRepository, NamespaceListQuery, TagListQuery } from '../ports/metadef-repository.ts';
import type { Database } from './connect.ts';
import {
  associationFromRow, namespaceFromRow, namespaceToRow, objectFromRow, objectToRow, propertyFromRow, propertyToRow,
  resourceTypeFromRow, tagFromRow, tagToRow,
} from './metadef-mapper.ts';
import type { Schema } from './schema.ts';
import { keysetAfter, sortColumn } from './metadef-keyset.ts';
import { isUniqueViolation } from './sql-errors.ts';
import { writeOutbox } from './outbox-repository.ts';
import type { Notification } from '../ports/events.ts';

type Db = Kysely<Schema> | Transaction<Schema>;

async function orConflict<T>(work: () => Promise<T>, error: () => DomainError): Promise<T> {
  try {
    return await work();
  } catch (cause) {
    if (isUniqueViolation(cause)) throw error();
    throw cause;
  }
}

function requireChanged(result: { numUpdatedRows?: bigint; numDeletedRows?: bigint }, error: () => DomainError): void {
  if (Number(result.numUpdatedRows ?? result.numDeletedRows ?? 0n) === 0) throw error();
}

export class SqlMetadefRepository implements MetadefRepository {
  private readonly db: Kysely<Schema>;

  /** `db` is a transaction when this repository is the one `atomically` hands its work. */
  constructor(private readonly database: Database, db?: Kysely<Schema>) {
    this.db = db ?? database.db;
  }

  /** A transaction of its own, or the surrounding one (Kysely has no nested transactions). */
  private tx<T>(work: (trx: Kysely<Schema>) => Promise<T>): Promise<T> {
    return this.db.isTransaction ? work(this.db) : this.db.transaction().execute(work);
  }

  async atomically(work: (repo: MetadefRepository) => Promise<void>, notifications: readonly Notification[]): Promise<void> {
    await this.tx(async (trx) => {
      await work(new SqlMetadefRepository(this.database, trx));
      await writeOutbox(trx, notifications);
    });
  }

  private async namespaceId(db: Db, name: string): Promise<number> {
    const row = await db.selectFrom('metadef_namespaces').select('id').where('namespace', '=', name).executeTakeFirst();
    if (!row) throw E.namespaceNotFound(name);
    return Number(row.id);
  }

  // ---- namespaces ----

  async getNamespace(name: string): Promise<MetadefNamespace | undefined> {
    const row = await this.db.selectFrom('metadef_namespaces').selectAll().where('namespace', '=', name).executeTakeFirst();
    return row ? namespaceFromRow(row) : undefined;
  }

  async listNamespaces(query: NamespaceListQuery): Promise<MetadefNamespace[]> {
    let select = this.db.selectFrom('metadef_namespaces as n').selectAll('n');
    const { viewer } = query;
    if (!viewer.isAdmin) {
      select = viewer.projectId === null ? select.where('n.visibility', '=', 'public')
        : select.where((eb) => eb.or([eb('n.owner', '=', viewer.projectId!), eb('n.visibility', '=', 'public')]));
    }
    if (query.visibility) select = select.where('n.visibility', '=', query.visibility);
    if (query.resourceTypes) {
      const names = query.resourceTypes.length ? query.resourceTypes : [''];
      select = select.where('n.id', 'in', (eb) => eb.selectFrom('metadef_namespace_resource_types as a')
        .innerJoin('metadef_resource_types as r', 'r.id', 'a.resource_type_id')
        .select('a.namespace_id').where('r.name', 'in', names));
    }
    const keys = [...new Set([query.sortKey, 'created_at', 'id'])] as (typeof query.sortKey)[];
    if (query.marker !== undefined) {
      const marker = await this.db.selectFrom('metadef_namespaces').selectAll().where('namespace', '=', query.marker)
        .executeTakeFirst();
      if (!marker) throw E.namespaceNotFound(query.marker);
      select = select.where(keysetAfter(keys, marker, query.sortDir, 'n'));
    }
    for (const key of keys) select = select.orderBy(sortExpression(key), query.sortDir);
    const rows = await select.limit(query.limit).execute();
    return rows.map(namespaceFromRow);
  }

  async createNamespace(content: MetadefNamespaceContent): Promise<void> {
    const name = content.namespace.namespace;
    await this.tx(async (trx) => {
      await orConflict(() => trx.insertInto('metadef_namespaces').values(namespaceToRow(content.namespace)).execute(),
        () => E.duplicateNamespace(name));
      const id = await this.namespaceId(trx, name);
      for (const association of content.associations) await this.insertAssociation(trx, id, name, association);
      for (const object of content.objects) {
        await orConflict(() => trx.insertInto('metadef_objects').values(objectToRow(id, object)).execute(),
          () => E.duplicateObject(object.name, name));
      }
      for (const tag of content.tags) {
        await orConflict(() => trx.insertInto('metadef_tags').values(tagToRow(id, tag)).execute(),
          () => E.duplicateTag(tag.name, name));
      }
      for (const property of content.properties) {
        await orConflict(() => trx.insertInto('metadef_properties').values(propertyToRow(id, property)).execute(),
          () => E.duplicateProperty(property.name, name));
      }
    });
  }

  async updateNamespace(name: string, namespace: MetadefNamespace): Promise<void> {
    const { created_at: _created, ...row } = namespaceToRow(namespace);
    const result = await orConflict(() => this.db.updateTable('metadef_namespaces').set(row)
      .where('namespace', '=', name).executeTakeFirst(), () => E.duplicateNamespaceOnUpdate(namespace.namespace));
    requireChanged(result, () => E.namespaceNotFound(name));
  }

  async deleteNamespace(name: string): Promise<void> {
    const result = await this.db.deleteFrom('metadef_namespaces').where('namespace', '=', name).executeTakeFirst();
    requireChanged(result, () => E.namespaceNotFound(name));
  }

  async getContent(name: string): Promise<MetadefNamespaceContent | undefined> {
    const namespace = await this.getNamespace(name);
    if (!namespace) return undefined;
    const [associations, properties, objects, tags] = await Promise.all([this.listAssociations(name),
      this.listProperties(name), this.listObjects(name), this.listTags(name, { sortKey: 'id', sortDir: 'asc' })]);
    return { namespace, associations, properties, objects, tags };
  }

  // ---- objects ----

  async listObjects(namespace: string): Promise<MetadefObject[]> {
    const id = await this.namespaceId(this.db, namespace);
    const rows = await this.db.selectFrom('metadef_objects').selectAll().where('namespace_id', '=', id).orderBy('id').execute();
    return rows.map(objectFromRow);
  }

  async getObject(namespace: string, name: string): Promise<MetadefObject | undefined> {
    const id = await this.namespaceId(this.db, namespace);
    const row = await this.db.selectFrom('metadef_objects').selectAll().where('namespace_id', '=', id)
      .where('name', '=', name).executeTakeFirst();
    return row ? objectFromRow(row) : undefined;
  }

  async createObject(namespace: string, object: MetadefObject): Promise<void> {
    const id = await this.namespaceId(this.db, namespace);
    await orConflict(() => this.db.insertInto('metadef_objects').values(objectToRow(id, object)).execute(),
      () => E.duplicateObject(object.name, namespace));
  }

  async updateObject(namespace: string, name: string, object: MetadefObject): Promise<void> {
    const id = await this.namespaceId(this.db, namespace);
    const { created_at: _c, namespace_id: _n, ...row } = objectToRow(id, object);
    const result = await orConflict(() => this.db.updateTable('metadef_objects').set(row).where('namespace_id', '=', id)
      .where('name', '=', name).executeTakeFirst(), () => E.duplicateObjectOnUpdate(object.name, namespace));
    requireChanged(result, () => E.objectNotFound(name));
  }

  async deleteObject(namespace: string, name: string): Promise<void> {
    const id = await this.namespaceId(this.db, namespace);
    const result = await this.db.deleteFrom('metadef_objects').where('namespace_id', '=', id).where('name', '=', name)
      .executeTakeFirst();
    requireChanged(result, () => E.objectNotFound(name));
  }

  async deleteObjects(namespace: string): Promise<void> {
    const id = await this.namespaceId(this.db, namespace);
    await this.db.deleteFrom('metadef_objects').where('namespace_id', '=', id).execute();
  }

  // ---- properties ----

  async listProperties(namespace: string): Promise<MetadefProperty[]> {
    const id = await this.namespaceId(this.db, namespace);
    const rows = await this.db.selectFrom('metadef_properties').selectAll().where('namespace_id', '=', id)
      .orderBy('id').execute();
    return rows.map(propertyFromRow);
  }

  async getProperty(namespace: string, name: string): Promise<MetadefProperty | undefined> {
    const id = await this.namespaceId(this.db, namespace);
    const row = await this.db.selectFrom('metadef_properties').selectAll().where('namespace_id', '=', id)
      .where('name', '=', name).executeTakeFirst();
    return row ? propertyFromRow(row) : undefined;
  }

  async createProperty(namespace: string, property: MetadefProperty): Promise<void> {
    const id = await this.namespaceId(this.db, namespace);
    await orConflict(() => this.db.insertInto('metadef_properties').values(propertyToRow(id, property)).execute(),
      () => E.duplicateProperty(property.name, namespace));
  }

  async updateProperty(namespace: string, name: string, property: MetadefProperty): Promise<void> {
    const id = await this.namespaceId(this.db, namespace);
    const { created_at: _c, namespace_id: _n, ...row } = propertyToRow(id, property);
    const result = await orConflict(() => this.db.updateTable('metadef_properties').set(row)
      .where('namespace_id', '=', id).where('name', '=', name).executeTakeFirst(),
    () => E.duplicatePropertyOnUpdate(property.name, namespace));
    requireChanged(result, () => E.propertyNotFound(name));
  }

  async deleteProperty(namespace: string, name: string): Promise<void> {
    const id = await this.namespaceId(this.db, namespace);
    const result = await this.db.deleteFrom('metadef_properties').where('namespace_id', '=', id)
      .where('name', '=', name).executeTakeFirst();
    requireChanged(result, () => E.propertyNotFound(name));
  }

  async deleteProperties(namespace: string): Promise<void> {
    const id = await this.namespaceId(this.db, namespace);
    await this.db.deleteFrom('metadef_properties').where('namespace_id', '=', id).execute();
  }

  // ---- tags ----

  async listTags(namespace: string, query: TagListQuery = { sortKey: 'created_at', sortDir: 'desc' }): Promise<MetadefTag[]> {
    const id = await this.namespaceId(this.db, namespace);
    let select = this.db.selectFrom('metadef_tags').selectAll().where('namespace_id', '=', id);
    const keys = [...new Set([query.sortKey, 'created_at', 'id'])] as (typeof query.sortKey)[];
    if (query.marker !== undefined) {
      const marker = await this.db.selectFrom('metadef_tags').selectAll().where('namespace_id', '=', id)
        .where('name', '=', query.marker).executeTakeFirst();
      if (!marker) throw E.tagNotFound(query.marker);
      select = select.where(keysetAfter(keys, marker, query.sortDir));
    }
    for (const key of keys) select = select.orderBy(key, query.sortDir);
    if (query.limit !== undefined) select = select.limit(query.limit);
    return (await select.execute()).map(tagFromRow);
  }

  async getTag(namespace: string, name: string): Promise<MetadefTag | undefined> {
    const id = await this.namespaceId(this.db, namespace);
    const row = await this.db.selectFrom('metadef_tags').selectAll().where('namespace_id', '=', id)
      .where('name', '=', name).executeTakeFirst();
    return row ? tagFromRow(row) : undefined;
  }

  async createTag(namespace: string, tag: MetadefTag): Promise<void> {
    const id = await this.namespaceId(this.db, namespace);
    await orConflict(() => this.db.insertInto('metadef_tags').values(tagToRow(id, tag)).execute(),
      () => E.duplicateTag(tag.name, namespace));
  }

  async createTags(namespace: string, tags: MetadefTag[], append: boolean): Promise<void> {
    await this.tx(async (trx) => {
      const id = await this.namespaceId(trx, namespace);
      if (!append) await trx.deleteFrom('metadef_tags').where('namespace_id', '=', id).execute();
      for (const tag of tags) {
        await orConflict(() => trx.insertInto('metadef_tags').values(tagToRow(id, tag)).execute(),
          () => E.duplicateTag(tag.name, namespace));
      }
    });
  }

  async updateTag(namespace: string, name: string, tag: MetadefTag): Promise<void> {
    const id = await this.namespaceId(this.db, namespace);
    const result = await orConflict(() => this.db.updateTable('metadef_tags')
      .set({ name: tag.name, updated_at: tag.updatedAt }).where('namespace_id', '=', id).where('name', '=', name)
      .executeTakeFirst(), () => E.duplicateTag(tag.name, namespace));
    requireChanged(result, () => E.tagNotFound(name));
  }

  async deleteTag(namespace: string, name: string): Promise<void> {
    const id = await this.namespaceId(this.db, namespace);
    const result = await this.db.deleteFrom('metadef_tags').where('namespace_id', '=', id).where('name', '=', name)
      .executeTakeFirst();
    requireChanged(result, () => E.tagNotFound(name));
  }

  async deleteTags(namespace: string): Promise<void> {
    const id = await this.namespaceId(this.db, namespace);
    await this.db.deleteFrom('metadef_tags').where('namespace_id', '=', id).execute();
  }

  // ---- resource types ----

  async listResourceTypes(): Promise<ResourceType[]> {
    return (await this.db.selectFrom('metadef_resource_types').selectAll().orderBy('id').execute()).map(resourceTypeFromRow);
  }

  async listAssociations(namespace: string): Promise<ResourceTypeAssociation[]> {
    const id = await this.namespaceId(this.db, namespace);
    const rows = await this.db.selectFrom('metadef_namespace_resource_types as a')
      .innerJoin('metadef_resource_types as r', 'r.id', 'a.resource_type_id')
      .select(['r.name', 'a.prefix', 'a.properties_target', 'a.created_at', 'a.updated_at'])
      .where('a.namespace_id', '=', id).orderBy('r.id').execute();
    return rows.map(associationFromRow);
  }

  async createAssociation(namespace: string, association: ResourceTypeAssociation): Promise<void> {
    await this.tx(async (trx) => {
      await this.insertAssociation(trx, await this.namespaceId(trx, namespace), namespace, association);
    });
  }

  private async insertAssociation(trx: Db, namespaceId: number, namespace: string,
    association: ResourceTypeAssociation): Promise<void> {
    const find = () => trx.selectFrom('metadef_resource_types').select('id').where('name', '=', association.name)
      .executeTakeFirst();
    let resourceType = await find();
    if (!resourceType) {
      await trx.insertInto('metadef_resource_types').values({ name: association.name, protected: false,
        created_at: association.createdAt, updated_at: association.updatedAt }).execute();
      resourceType = (await find())!;
    }
    await orConflict(() => trx.insertInto('metadef_namespace_resource_types').values({
      resource_type_id: Number(resourceType.id), namespace_id: namespaceId, prefix: association.prefix,
      properties_target: association.propertiesTarget, created_at: association.createdAt,
      updated_at: association.updatedAt,
    }).execute(), () => E.duplicateAssociation(association.name, namespace));
  }

  async deleteAssociation(namespace: string, resourceType: string): Promise<void> {
    const id = await this.namespaceId(this.db, namespace);
    const result = await this.db.deleteFrom('metadef_namespace_resource_types').where('namespace_id', '=', id)
      .where('resource_type_id', 'in', (eb) => eb.selectFrom('metadef_resource_types').select('id')
        .where('name', '=', resourceType))
      .executeTakeFirst();
    requireChanged(result, () => E.associationNotFound(resourceType));
  }

  async deleteEverything(): Promise<void> {
    await this.tx(async (trx) => {
      await trx.deleteFrom('metadef_namespaces').execute();
      await trx.deleteFrom('metadef_resource_types').execute();
    });
  }
}

function sortExpression(key: string) {
  return sortColumn(key, 'n');
}
