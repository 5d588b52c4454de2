// Metadef namespace and resource-type use cases, named after their policy rules
// (get_metadef_namespaces, add_metadef_namespace, get_metadef_namespace, modify_/delete_metadef_namespace,
// list_metadef_resource_types, add_/remove_metadef_resource_type_association).
import { metadefErrors } from '../domain/metadef-errors.ts';
import type {
  MetadefNamespace, MetadefNamespaceContent, MetadefObject, MetadefProperty, MetadefTag, MetadefVisibility,
  NamespaceSortKey, PropertyDefinition, ResourceType, ResourceTypeAssociation,
} from '../domain/metadef.ts';
import type { RequestContext } from '../ports/context.ts';
import { MetadefAccess, protectedErrors, type MetadefServiceDeps } from './metadef-access.ts';

import {
  deletedFields, namespacePayload, objectPayload, propertyPayload, resourceTypePayload, tagPayload,
} from './notification-payloads.ts';
import { draft } from './notifier.ts';

export interface NamespaceInput {
  namespace: string;
  displayName?: string | null;
  description?: string | null;
  visibility?: MetadefVisibility | null;
  protected?: boolean | null;
  owner?: string | null;
}

export interface NamespaceCreateInput extends NamespaceInput {
  associations: { name: string; prefix?: string | null; propertiesTarget?: string | null }[];
  properties: Record<string, PropertyDefinition>;
  objects: { name: string; description?: string | null; required?: string[] | null;
    properties?: Record<string, PropertyDefinition> | null }[];
  tags: { name: string }[];
}

export interface NamespaceListParams {
  visibility?: 'public' | 'private';
  resourceTypes?: string[];
  sortKey: NamespaceSortKey;
  sortDir: 'asc' | 'desc';
  limit?: number;
  marker?: string;
}

export type NamespaceWithAssociations = MetadefNamespace & { associations: ResourceTypeAssociation[] };

/** Property names as seen through a resource type's prefix (`?resource_type=`), as Glance shows them. */
export function withPrefix(content: MetadefNamespaceContent, resourceType: string | undefined): MetadefNamespaceContent {
  const prefix = resourceType ? content.associations.find((a) => a.name === resourceType)?.prefix : undefined;
  if (!prefix) return content;
  const rename = <T>(record: Record<string, T>) =>
    Object.fromEntries(Object.entries(record).map(([k, v]) => [prefix + k, v]));
  return {
    ...content,
    properties: content.properties.map((p) => ({ ...p, name: prefix + p.name })),
    objects: content.objects.map((o) => ({
      ...o, properties: rename(o.properties), required: o.required?.length ? o.required.map((r) => prefix + r) : o.required,
    })),
  };
}

export class MetadefNamespaceService {
  private readonly access: MetadefAccess;

  constructor(private readonly deps: MetadefServiceDeps) {
    this.access = new MetadefAccess(deps);
  }

  async getMetadefNamespaces(ctx: RequestContext, params: NamespaceListParams):
  Promise<{ namespaces: NamespaceWithAssociations[]; next?: string }> {
    this.access.authorize(ctx, 'get_metadef_namespaces');
    this.access.authorize(ctx, 'list_metadef_resource_types');
    if (params.marker !== undefined) await this.access.load(ctx, params.marker, 'objects');
    const limit = Math.min(this.deps.limits.max, params.limit ?? this.deps.limits.default);
    const page = await this.access.repo.listNamespaces({ ...params, limit, viewer: ctx });
    const visible = page.filter((ns) => this.access.check(ctx, 'get_metadef_namespace', ns));
    const namespaces = await Promise.all(visible.map(async (ns) =>
      ({ ...ns, associations: await this.access.repo.listAssociations(ns.namespace) })));
    const next = namespaces.length > 0 && namespaces.length === limit ? visible.at(-1)!.namespace : undefined;
    return { namespaces, next };
  }

  /** Creates the namespace with its embedded children in one transaction; returns what was stored. */
  async addMetadefNamespace(ctx: RequestContext, input: NamespaceCreateInput): Promise<MetadefNamespaceContent> {
    this.access.authorize(ctx, 'add_metadef_namespace');
    if (input.associations.length) this.access.authorize(ctx, 'add_metadef_resource_type_association');
    if (input.objects.length) this.access.authorize(ctx, 'add_metadef_object');
    if (Object.keys(input.properties).length) this.access.authorize(ctx, 'add_metadef_property');
    if (input.tags.length) this.access.authorize(ctx, 'add_metadef_tag');
    const now = this.access.now();
    const stamps = { createdAt: now, updatedAt: now };
    const content: MetadefNamespaceContent = {
      namespace: this.namespaceFrom(ctx, input, now, now),
      associations: input.associations.map((a) => ({ name: a.name, prefix: a.prefix ?? null,
        propertiesTarget: a.propertiesTarget ?? null, ...stamps })),
      properties: Object.entries(input.properties).map(([name, definition]): MetadefProperty =>
        ({ name, definition, ...stamps })),
      objects: input.objects.map((o): MetadefObject => ({ name: o.name, description: o.description ?? null,
        required: o.required ?? null, properties: o.properties ?? {}, ...stamps })),
      tags: input.tags.map((t): MetadefTag => ({ name: t.name, ...stamps })),
    };
    await this.access.change((repo) => repo.createNamespace(content), (ns) => [
      draft('metadef_namespace.create', ns, namespacePayload(content.namespace)),
      ...content.associations.map((a) => draft('metadef_resource_type.create', ns, resourceTypePayload(ns, a))),
      ...content.properties.map((p) => draft('metadef_property.create', ns, propertyPayload(ns, p))),
      ...content.objects.map((o) => draft('metadef_object.create', ns, objectPayload(ns, o))),
      ...content.tags.map((t) => draft('metadef_tag.create', ns, tagPayload(ns, t))),
    ], content.namespace.namespace);
    return content;
  }

  async getMetadefNamespace(ctx: RequestContext, name: string, resourceType?: string): Promise<MetadefNamespaceContent> {
    await this.access.loadFor(ctx, name, 'show', 'get_metadef_namespace', 'list_metadef_resource_types',
      'get_metadef_objects', 'get_metadef_properties', 'get_metadef_tags');
    const content = await this.access.repo.getContent(name);
    if (!content) throw metadefErrors.namespaceNotFound(name);
    content.tags = await this.access.repo.listTags(name);
    return withPrefix(content, resourceType);
  }

  /** Full replacement of the namespace's attributes (omitted ones reset); children are kept. */
  async modifyMetadefNamespace(ctx: RequestContext, name: string, input: NamespaceInput): Promise<MetadefNamespace> {
    const current = await this.access.loadFor(ctx, name, 'short', 'modify_metadef_namespace');
    const updated = this.namespaceFrom(ctx, input, current.createdAt, this.access.now());
    await this.access.change((repo) => repo.updateNamespace(name, updated),
      (ns) => [draft('metadef_namespace.update', ns, namespacePayload(updated, name))], updated.namespace);
    return updated;
  }

  async deleteMetadefNamespace(ctx: RequestContext, name: string): Promise<void> {
    const ns = await this.access.loadFor(ctx, name, 'short', 'delete_metadef_namespace');
    if (ns.protected) throw protectedErrors.namespace(name);
    await this.access.change((repo) => repo.deleteNamespace(name), (subject) =>
      [draft('metadef_namespace.delete', subject, { ...namespacePayload(ns), ...deletedFields(this.access.now()) })], name);
  }

  /** DELETE …/objects, …/properties, …/tags: Glance checks delete_metadef_namespace (and delete_metadef_tags). */
  async deleteNamespaceContent(ctx: RequestContext, name: string, what: 'objects' | 'properties' | 'tags'): Promise<void> {
    const rules = what === 'tags' ? ['delete_metadef_namespace', 'delete_metadef_tags'] : ['delete_metadef_namespace'];
    const ns = await this.access.loadFor(ctx, name, 'short', ...rules);
    if (ns.protected) throw protectedErrors.namespace(name);
    await this.access.change((repo) => what === 'objects' ? repo.deleteObjects(name)
      : what === 'properties' ? repo.deleteProperties(name) : repo.deleteTags(name),
    (subject) => [draft(`metadef_namespace.delete_${what}`, subject, namespacePayload(ns))], name);
  }

  // ---- resource types ----

  async listMetadefResourceTypes(ctx: RequestContext): Promise<ResourceType[]> {
    this.access.authorize(ctx, 'list_metadef_resource_types');
    return this.access.repo.listResourceTypes();
  }

  async getMetadefResourceTypeAssociations(ctx: RequestContext, name: string): Promise<ResourceTypeAssociation[]> {
    const ns = await this.access.loadFor(ctx, name, 'short', 'list_metadef_resource_types');
    const list = await this.access.repo.listAssociations(name);
    return this.access.check(ctx, 'get_metadef_resource_type', ns) ? list : [];
  }

  async addMetadefResourceTypeAssociation(ctx: RequestContext, name: string,
    input: { name: string; prefix?: string | null; propertiesTarget?: string | null }): Promise<ResourceTypeAssociation> {
    await this.access.loadFor(ctx, name, 'short', 'add_metadef_resource_type_association');
    const now = this.access.now();
    const association: ResourceTypeAssociation = { name: input.name, prefix: input.prefix ?? null,
      propertiesTarget: input.propertiesTarget ?? null, createdAt: now, updatedAt: now };
    await this.access.change((repo) => repo.createAssociation(name, association),
      (ns) => [draft('metadef_resource_type.create', ns, resourceTypePayload(ns, association))], name);
    return association;
  }

  async removeMetadefResourceTypeAssociation(ctx: RequestContext, name: string, resourceType: string): Promise<void> {
    const ns = await this.access.loadFor(ctx, name, 'short', 'remove_metadef_resource_type_association');
    const found = (await this.access.repo.listAssociations(name)).find((a) => a.name === resourceType);
    if (!found) throw metadefErrors.associationNotFound(resourceType);
    if (ns.protected) throw protectedErrors.association(resourceType);
    await this.access.change((repo) => repo.deleteAssociation(name, resourceType), (subject) =>
      [draft('metadef_resource_type.delete', subject, { ...resourceTypePayload(subject, found), ...deletedFields(this.access.now()) })], name);
  }

  private namespaceFrom(ctx: RequestContext, input: NamespaceInput, createdAt: Date, updatedAt: Date): MetadefNamespace {
    return {
      namespace: input.namespace, displayName: input.displayName ?? null, description: input.description ?? null,
      visibility: input.visibility ?? 'private', protected: input.protected ?? false,
      owner: input.owner ?? ctx.projectId ?? '', createdAt, updatedAt,
    };
  }
}
