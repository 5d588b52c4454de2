// Metadata definitions repository port. Everything is addressed by namespace name; the SQL
// implementation (src/db/metadef-repository.ts) passes test/contract/metadef-repository.test.ts.
// Errors: a missing namespace → NotFound `metadef.namespace_not_found`; a duplicate name →
// Conflict (`metadef.duplicate_*`); missing children → NotFound (`metadef.*_not_found`).
import type {
  MetadefNamespace, MetadefNamespaceContent, MetadefObject, MetadefProperty, MetadefTag, NamespaceSortKey,
  ResourceType, ResourceTypeAssociation, TagSortKey,
} from '../domain/metadef.ts';
import type { Notification } from './events.ts';

export interface NamespaceListQuery {
  viewer: { projectId: string | null; isAdmin: boolean };
  visibility?: 'public' | 'private';
  /** Only namespaces associated with at least one of these resource types. */
  resourceTypes?: string[];
  sortKey: NamespaceSortKey;
  sortDir: 'asc' | 'desc';
  limit: number;
  /** Rows strictly after this namespace in sort order (a keyset marker). */
  marker?: string;
}

export interface TagListQuery {
  sortKey: TagSortKey;
  sortDir: 'asc' | 'desc';
  limit?: number;
  marker?: string;
}

export interface MetadefRepository {
  getNamespace(name: string): Promise<MetadefNamespace | undefined>;
  /** One page of visible namespaces; visibility, filters, order and marker in SQL. */
  listNamespaces(query: NamespaceListQuery): Promise<MetadefNamespace[]>;
  /** Creates the namespace and its children in one transaction (all or nothing). */
  createNamespace(content: MetadefNamespaceContent): Promise<void>;
  /** Replaces the namespace's attributes (a rename included); children are kept. */
  updateNamespace(name: string, namespace: MetadefNamespace): Promise<void>;
  /** Deletes the namespace and every child (resource types stay). */
  deleteNamespace(name: string): Promise<void>;
  /** The namespace with all its children, or undefined. */
  getContent(name: string): Promise<MetadefNamespaceContent | undefined>;

  listObjects(namespace: string): Promise<MetadefObject[]>;
  getObject(namespace: string, name: string): Promise<MetadefObject | undefined>;
  createObject(namespace: string, object: MetadefObject): Promise<void>;
  updateObject(namespace: string, name: string, object: MetadefObject): Promise<void>;
  deleteObject(namespace: string, name: string): Promise<void>;
  deleteObjects(namespace: string): Promise<void>;

  listProperties(namespace: string): Promise<MetadefProperty[]>;
  getProperty(namespace: string, name: string): Promise<MetadefProperty | undefined>;
  createProperty(namespace: string, property: MetadefProperty): Promise<void>;
  updateProperty(namespace: string, name: string, property: MetadefProperty): Promise<void>;
  deleteProperty(namespace: string, name: string): Promise<void>;
  deleteProperties(namespace: string): Promise<void>;

  listTags(namespace: string, query?: TagListQuery): Promise<MetadefTag[]>;
  getTag(namespace: string, name: string): Promise<MetadefTag | undefined>;
  createTag(namespace: string, tag: MetadefTag): Promise<void>;
  /** Adds `tags` in one transaction, first removing the existing ones unless `append`. */
  createTags(namespace: string, tags: MetadefTag[], append: boolean): Promise<void>;
  updateTag(namespace: string, name: string, tag: MetadefTag): Promise<void>;
  deleteTag(namespace: string, name: string): Promise<void>;
  deleteTags(namespace: string): Promise<void>;

  listResourceTypes(): Promise<ResourceType[]>;
  listAssociations(namespace: string): Promise<ResourceTypeAssociation[]>;
  /** Creates the resource type first when it does not exist yet. */
  createAssociation(namespace: string, association: ResourceTypeAssociation): Promise<void>;
  deleteAssociation(namespace: string, resourceType: string): Promise<void>;
  /**
   * Runs `work` on this repository bound to one transaction that also writes `notifications` to the
   * outbox: the change and its notifications are stored together or not at all.
   */
  atomically(work: (repo: MetadefRepository) => Promise<void>, notifications: readonly Notification[]): Promise<void>;
  /** Removes every namespace and resource type (`glimpse metadefs unload`). */
  deleteEverything(): Promise<void>;
}
