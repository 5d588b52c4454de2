// Loading and exporting metadata definition files (`glimpse metadefs load|unload|export`), in the
// format of Glance's etc/metadefs/*.json: one namespace a file with its resource_type_associations,
// properties, objects and tags. Loading is idempotent, like glance-manage db load_metadefs:
//   default      an existing namespace is left alone (files only add what is missing);
//   merge        an existing namespace gets the children it lacks; existing children are kept;
//   preferNew    like merge, but existing children (and the namespace's attributes) take the file's values;
//   overwrite    an existing namespace is deleted and created again from the file.
// Unlike glance-manage, an object's `required` list is kept, and each namespace is written in one transaction.
import { isDomainError } from '../domain/errors.ts';
import type {
  MetadefNamespace, MetadefNamespaceContent, MetadefObject, MetadefVisibility, PropertyDefinition,
} from '../domain/metadef.ts';
import type { MetadefRepository } from '../ports/metadef-repository.ts';

export type LoadMode = 'default' | 'merge' | 'preferNew' | 'overwrite';

/** A definition file's content (Glance's format). */
export interface DefinitionFile {
  namespace: string;
  display_name?: string | null;
  description?: string | null;
  visibility?: MetadefVisibility | null;
  protected?: boolean | null;
  owner?: string | null;
  resource_type_associations?: { name: string; prefix?: string | null; properties_target?: string | null }[];
  properties?: Record<string, PropertyDefinition>;
  objects?: { name: string; description?: string | null; required?: string[] | null;
    properties?: Record<string, PropertyDefinition> | null }[];
  tags?: { name: string }[];
}

export type LoadOutcome = 'created' | 'skipped' | 'merged' | 'replaced';

function isConflict(error: unknown): boolean {
  return isDomainError(error) && error.kind === 'Conflict';
}

export function contentFromFile(file: DefinitionFile, now: Date): MetadefNamespaceContent {
  if (typeof file.namespace !== 'string' || file.namespace === '') throw new Error('a definition file needs "namespace"');
  const stamps = { createdAt: now, updatedAt: now };
  return {
    namespace: {
      namespace: file.namespace, displayName: file.display_name ?? null, description: file.description ?? null,
      visibility: file.visibility ?? 'private', protected: file.protected ?? false, owner: file.owner ?? 'admin', ...stamps,
    },
    associations: (file.resource_type_associations ?? []).map((a) => ({ name: a.name, prefix: a.prefix ?? null,
      propertiesTarget: a.properties_target ?? null, ...stamps })),
    properties: Object.entries(file.properties ?? {}).map(([name, definition]) => ({ name, definition, ...stamps })),
    objects: (file.objects ?? []).map((o): MetadefObject => ({ name: o.name, description: o.description ?? null,
      required: o.required ?? null, properties: o.properties ?? {}, ...stamps })),
    tags: (file.tags ?? []).map((t) => ({ name: t.name, ...stamps })),
  };
}

export function fileFromContent(content: MetadefNamespaceContent): DefinitionFile {
  const ns = content.namespace;
  return {
    namespace: ns.namespace, display_name: ns.displayName, description: ns.description, visibility: ns.visibility,
    protected: ns.protected, owner: ns.owner,
    resource_type_associations: content.associations.map((a) => ({ name: a.name, prefix: a.prefix,
      properties_target: a.propertiesTarget })),
    properties: Object.fromEntries(content.properties.map((p) => [p.name, p.definition])),
    objects: content.objects.map((o) => ({ name: o.name, description: o.description,
      ...(o.required ? { required: o.required } : {}), properties: o.properties })),
    tags: content.tags.map((t) => ({ name: t.name })),
  };
}

export async function loadDefinition(repo: MetadefRepository, file: DefinitionFile, mode: LoadMode,
  now = new Date()): Promise<LoadOutcome> {
  const content = contentFromFile(file, now);
  const name = content.namespace.namespace;
  const existing = await repo.getNamespace(name);
  if (!existing) {
    await repo.createNamespace(content);
    return 'created';
  }
  if (mode === 'default') return 'skipped';
  if (mode === 'overwrite') {
    await repo.deleteNamespace(name);
    await repo.createNamespace(content);
    return 'replaced';
  }
  const preferNew = mode === 'preferNew';
  if (preferNew) {
    const updated: MetadefNamespace = { ...content.namespace, createdAt: existing.createdAt };
    await repo.updateNamespace(name, updated);
  }
  const upsert = async (create: () => Promise<void>, update: () => Promise<void>) => {
    try {
      await create();
    } catch (error) {
      if (!isConflict(error)) throw error;
      if (preferNew) await update();
    }
  };
  const associated = new Set((await repo.listAssociations(name)).map((a) => a.name));
  for (const a of content.associations) {
    if (!associated.has(a.name)) await repo.createAssociation(name, a);
    else if (preferNew) {
      await repo.deleteAssociation(name, a.name);
      await repo.createAssociation(name, a);
    }
  }
  for (const p of content.properties) {
    await upsert(() => repo.createProperty(name, p), () => repo.updateProperty(name, p.name, p));
  }
  for (const o of content.objects) await upsert(() => repo.createObject(name, o), () => repo.updateObject(name, o.name, o));
  for (const t of content.tags) await upsert(() => repo.createTag(name, t), async () => {});
  return 'merged';
}

/** Every namespace with its content, in name order. */
export async function exportDefinitions(repo: MetadefRepository): Promise<DefinitionFile[]> {
  const files: DefinitionFile[] = [];
  let marker: string | undefined;
  for (;;) {
    const page = await repo.listNamespaces({ viewer: { projectId: null, isAdmin: true }, sortKey: 'namespace',
      sortDir: 'asc', limit: 100, marker });
    for (const ns of page) {
      const content = await repo.getContent(ns.namespace);
      if (content) files.push(fileFromContent(content));
    }
    if (page.length < 100) return files;
    marker = page.at(-1)!.namespace;
  }
}

/** The file name export uses for a namespace: its name without non-word characters (OS::Compute::Watchdog → OSComputeWatchdog.json). */
export function exportFileName(namespace: string): string {
  return `${namespace.replace(/[\W_]+/gu, '') || 'namespace'}.json`;
}
