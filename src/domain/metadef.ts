// Metadata definitions (spec/v2.md §8): a catalogue describing the properties that images and
// other resources may carry. Pure data and the few rules that do not need I/O.

export type MetadefVisibility = 'public' | 'private';

/** A property definition: JSON-schema-like fields (title, type, enum, minimum …), without its name. */
export type PropertyDefinition = Record<string, unknown>;

export interface MetadefNamespace {
  namespace: string;
  displayName: string | null;
  description: string | null;
  visibility: MetadefVisibility;
  protected: boolean;
  owner: string;
  createdAt: Date;
  updatedAt: Date;
}

export interface MetadefObject {
  name: string;
  description: string | null;
  required: string[] | null;
  properties: Record<string, PropertyDefinition>;
  createdAt: Date;
  updatedAt: Date;
}

export interface MetadefProperty {
  name: string;
  definition: PropertyDefinition;
  createdAt: Date;
  updatedAt: Date;
}

export interface MetadefTag {
  name: string;
  createdAt: Date;
  updatedAt: Date;
}

export interface ResourceTypeAssociation {
  /** The resource type's name, e.g. OS::Glance::Image. */
  name: string;
  prefix: string | null;
  propertiesTarget: string | null;
  createdAt: Date;
  updatedAt: Date;
}

export interface ResourceType {
  name: string;
  protected: boolean;
  createdAt: Date;
  updatedAt: Date;
}

/** A namespace with everything in it (create with embedded children, load/export of definitions). */
export interface MetadefNamespaceContent {
  namespace: MetadefNamespace;
  associations: ResourceTypeAssociation[];
  properties: MetadefProperty[];
  objects: MetadefObject[];
  tags: MetadefTag[];
}

/** Glance's database visibility rule for namespaces: admin, public, or the caller's own. */
export function isNamespaceVisible(ns: Pick<MetadefNamespace, 'owner' | 'visibility'>,
  viewer: { projectId: string | null; isAdmin: boolean }): boolean {
  return viewer.isAdmin || ns.visibility === 'public' || (viewer.projectId !== null && ns.owner === viewer.projectId);
}

/** Namespace list sort keys (columns of the namespace; anything else is refused with 400). */
export const namespaceSortKeys = ['namespace', 'display_name', 'description', 'visibility', 'protected', 'owner',
  'created_at', 'updated_at', 'id'] as const;
export type NamespaceSortKey = typeof namespaceSortKeys[number];

export const tagSortKeys = ['name', 'created_at', 'updated_at', 'id'] as const;
export type TagSortKey = typeof tagSortKeys[number];
