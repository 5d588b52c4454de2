// Use cases on the contents of a metadef namespace: objects, properties and tags, named after
// their policy rules (get_/add_/modify_/delete_metadef_object …, remove_metadef_property, add_metadef_tags).
import { notFound } from '../domain/errors.ts';
import { metadefErrors } from '../domain/metadef-errors.ts';
import type { MetadefObject, MetadefProperty, MetadefTag, PropertyDefinition, TagSortKey } from '../domain/metadef.ts';
import type { RequestContext } from '../ports/context.ts';
import { MetadefAccess, protectedErrors, type MetadefServiceDeps } from './metadef-access.ts';
import { deletedFields, objectPayload, propertyPayload, tagPayload } from './notification-payloads.ts';
import { draft as event } from './notifier.ts';

export interface ObjectInput {
  name: string;
  description?: string | null;
  required?: string[] | null;
  properties?: Record<string, PropertyDefinition> | null;
}

export interface TagListParams {
  sortKey: TagSortKey;
  sortDir: 'asc' | 'desc';
  limit?: number;
  marker?: string;
}

export class MetadefItemService {
  private readonly access: MetadefAccess;

  constructor(deps: MetadefServiceDeps) {
    this.access = new MetadefAccess(deps);
  }

  private get repo() {
    return this.access.repo;
  }

  // ---- objects (a missing namespace is reported with Glance's long message here) ----

  async getMetadefObjects(ctx: RequestContext, ns: string): Promise<MetadefObject[]> {
    await this.access.loadFor(ctx, ns, 'objects', 'get_metadef_objects');
    return this.repo.listObjects(ns);
  }

  async getMetadefObject(ctx: RequestContext, ns: string, name: string): Promise<MetadefObject> {
    await this.access.loadFor(ctx, ns, 'objects', 'get_metadef_object');
    return this.existingObject(ns, name);
  }

  async addMetadefObject(ctx: RequestContext, ns: string, input: ObjectInput): Promise<MetadefObject> {
    await this.access.loadFor(ctx, ns, 'objects', 'add_metadef_object');
    const now = this.access.now();
    const object = this.objectFrom(input, now, now);
    await this.access.change((repo) => repo.createObject(ns, object),
      () => [event('metadef_object.create', ns, objectPayload(ns, object))], ns);
    return object;
  }

  /** Full replacement; the name may change. */
  async modifyMetadefObject(ctx: RequestContext, ns: string, name: string, input: ObjectInput): Promise<MetadefObject> {
    await this.access.loadFor(ctx, ns, 'objects', 'modify_metadef_object');
    const current = await this.existingObject(ns, name);
    const object = this.objectFrom(input, current.createdAt, this.access.now());
    await this.access.change((repo) => repo.updateObject(ns, name, object),
      () => [event('metadef_object.update', ns, objectPayload(ns, object, name))], ns);
    return object;
  }

  async deleteMetadefObject(ctx: RequestContext, ns: string, name: string): Promise<void> {
    const namespace = await this.access.loadFor(ctx, ns, 'objects', 'delete_metadef_object');
    const object = await this.existingObject(ns, name);
    if (namespace.protected) throw protectedErrors.object(name);
    await this.access.change((repo) => repo.deleteObject(ns, name),
      () => [event('metadef_object.delete', ns, { ...objectPayload(ns, object), ...deletedFields(this.access.now()) })], ns);
  }

  // ---- properties ----

  async getMetadefProperties(ctx: RequestContext, ns: string): Promise<MetadefProperty[]> {
    await this.access.loadFor(ctx, ns, 'short', 'get_metadef_properties');
    return this.repo.listProperties(ns);
  }

  /** With `resourceType`, `name` carries that association's prefix, which is stripped first. */
  async getMetadefProperty(ctx: RequestContext, ns: string, name: string, resourceType?: string): Promise<MetadefProperty> {
    const namespace = await this.access.loadFor(ctx, ns, 'short', 'get_metadef_property');
    let bare = name;
    if (resourceType) {
      this.access.authorize(ctx, 'get_metadef_resource_type', namespace);
      const association = (await this.repo.listAssociations(ns)).find((a) => a.name === resourceType);
      if (!association) {
        const exists = (await this.repo.listResourceTypes()).some((rt) => rt.name === resourceType);
        throw exists
          ? notFound('The metadata definition resource-type association of resource-type={resourceType} to '
            + 'namespace={namespace}, was not found.', { resourceType, namespace: ns }, 'metadef.association_not_found')
          : notFound('The metadata definition resource-type with name={name}, was not found.', { name: resourceType },
            'metadef.resource_type_not_found');
      }
      const prefix = association.prefix;
      if (!prefix || !name.startsWith(prefix)) {
        throw notFound("Property {name} does not start with the expected resource type association prefix of '{prefix}'.",
          { name, prefix: String(prefix) }, 'metadef.property_not_found');
      }
      bare = name.slice(prefix.length);
    }
    return this.existingProperty(ns, bare);
  }

  async addMetadefProperty(ctx: RequestContext, ns: string, name: string, definition: PropertyDefinition):
  Promise<MetadefProperty> {
    await this.access.loadFor(ctx, ns, 'short', 'add_metadef_property');
    const now = this.access.now();
    const property: MetadefProperty = { name, definition, createdAt: now, updatedAt: now };
    await this.access.change((repo) => repo.createProperty(ns, property),
      () => [event('metadef_property.create', ns, propertyPayload(ns, property))], ns);
    return property;
  }

  async modifyMetadefProperty(ctx: RequestContext, ns: string, name: string, newName: string,
    definition: PropertyDefinition): Promise<MetadefProperty> {
    await this.access.loadFor(ctx, ns, 'short', 'modify_metadef_property');
    const current = await this.existingProperty(ns, name);
    const property: MetadefProperty = { name: newName, definition, createdAt: current.createdAt, updatedAt: this.access.now() };
    await this.access.change((repo) => repo.updateProperty(ns, name, property),
      () => [event('metadef_property.update', ns, propertyPayload(ns, property, name))], ns);
    return property;
  }

  async removeMetadefProperty(ctx: RequestContext, ns: string, name: string): Promise<void> {
    const namespace = await this.access.loadFor(ctx, ns, 'short', 'remove_metadef_property');
    const property = await this.existingProperty(ns, name);
    if (namespace.protected) throw protectedErrors.property(name);
    await this.access.change((repo) => repo.deleteProperty(ns, name),
      () => [event('metadef_property.delete', ns, { ...propertyPayload(ns, property), ...deletedFields(this.access.now()) })], ns);
  }

  // ---- tags ----

  async getMetadefTags(ctx: RequestContext, ns: string, params: TagListParams): Promise<MetadefTag[]> {
    await this.access.loadFor(ctx, ns, 'short', 'get_metadef_tags');
    return this.repo.listTags(ns, params);
  }

  async getMetadefTag(ctx: RequestContext, ns: string, name: string): Promise<MetadefTag> {
    await this.access.loadFor(ctx, ns, 'short', 'get_metadef_tag');
    return this.existingTag(ns, name);
  }

  async addMetadefTag(ctx: RequestContext, ns: string, name: string): Promise<MetadefTag> {
    await this.access.loadFor(ctx, ns, 'short', 'add_metadef_tag');
    const now = this.access.now();
    const tag: MetadefTag = { name, createdAt: now, updatedAt: now };
    await this.access.change((repo) => repo.createTag(ns, tag), () => [event('metadef_tag.create', ns, tagPayload(ns, tag))], ns);
    return tag;
  }

  /**
   * Bulk create: replaces the namespace's tags unless `append` (X-Openstack-Append). As in Glance,
   * replacing does not count as deleting, so it also works in a protected namespace.
   */
  async addMetadefTags(ctx: RequestContext, ns: string, names: string[], append: boolean): Promise<MetadefTag[]> {
    await this.access.loadFor(ctx, ns, 'short', 'add_metadef_tags');
    const seen = new Set<string>();
    for (const name of names) {
      if (seen.has(name)) throw metadefErrors.duplicateTag(name, ns);
      seen.add(name);
    }
    const now = this.access.now();
    const tags = names.map((name): MetadefTag => ({ name, createdAt: now, updatedAt: now }));
    await this.access.change((repo) => repo.createTags(ns, tags, append),
      () => tags.map((tag) => event('metadef_tag.create', ns, tagPayload(ns, tag))), ns);
    return tags;
  }

  async modifyMetadefTag(ctx: RequestContext, ns: string, name: string, newName: string): Promise<MetadefTag> {
    await this.access.loadFor(ctx, ns, 'short', 'modify_metadef_tag');
    const current = await this.existingTag(ns, name);
    const tag: MetadefTag = { name: newName, createdAt: current.createdAt, updatedAt: this.access.now() };
    await this.access.change((repo) => repo.updateTag(ns, name, tag),
      () => [event('metadef_tag.update', ns, tagPayload(ns, tag, name))], ns);
    return tag;
  }

  async deleteMetadefTag(ctx: RequestContext, ns: string, name: string): Promise<void> {
    const namespace = await this.access.loadFor(ctx, ns, 'short', 'delete_metadef_tag');
    const tag = await this.existingTag(ns, name);
    if (namespace.protected) throw protectedErrors.tag(name);
    await this.access.change((repo) => repo.deleteTag(ns, name),
      () => [event('metadef_tag.delete', ns, { ...tagPayload(ns, tag), ...deletedFields(this.access.now()) })], ns);
  }

  private async existingObject(ns: string, name: string): Promise<MetadefObject> {
    const object = await this.repo.getObject(ns, name);
    if (!object) throw metadefErrors.objectNotFound(name);
    return object;
  }

  private async existingProperty(ns: string, name: string): Promise<MetadefProperty> {
    const property = await this.repo.getProperty(ns, name);
    if (!property) throw metadefErrors.propertyNotFound(name);
    return property;
  }

  private async existingTag(ns: string, name: string): Promise<MetadefTag> {
    const tag = await this.repo.getTag(ns, name);
    if (!tag) throw metadefErrors.tagNotFound(name);
    return tag;
  }

  private objectFrom(input: ObjectInput, createdAt: Date, updatedAt: Date): MetadefObject {
    return { name: input.name, description: input.description ?? null, required: input.required ?? null,
      properties: input.properties ?? {}, createdAt, updatedAt };
  }
}
