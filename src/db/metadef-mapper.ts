// Row ⇄ entity mapping for metadata definitions (see image-mapper.ts for the driver quirks).
import type { Selectable } from 'kysely';
import type {
  MetadefNamespace, MetadefObject, MetadefProperty, MetadefTag, MetadefVisibility, PropertyDefinition,
  ResourceType, ResourceTypeAssociation,
} from '../domain/metadef.ts';
import { toBool, toDate } from './image-mapper.ts';
import type {
  MetadefNamespaceResourceTypesTable, MetadefNamespacesTable, MetadefObjectsTable, MetadefPropertiesTable,
  MetadefResourceTypesTable, MetadefTagsTable,
} from './schema.ts';

function parseJson<T>(text: string | null, fallback: T): T {
  if (text === null) return fallback;
  try {
    return JSON.parse(text) as T;
  } catch {
    return fallback;
  }
}

export function namespaceFromRow(row: Selectable<MetadefNamespacesTable>): MetadefNamespace {
  return {
    namespace: row.namespace, displayName: row.display_name, description: row.description,
    visibility: row.visibility as MetadefVisibility, protected: toBool(row.protected), owner: row.owner,
    createdAt: toDate(row.created_at), updatedAt: toDate(row.updated_at),
  };
}

export function namespaceToRow(ns: MetadefNamespace) {
  return {
    namespace: ns.namespace, display_name: ns.displayName, description: ns.description, visibility: ns.visibility,
    protected: ns.protected, owner: ns.owner, created_at: ns.createdAt, updated_at: ns.updatedAt,
  };
}

export function objectFromRow(row: Selectable<MetadefObjectsTable>): MetadefObject {
  return {
    name: row.name, description: row.description, required: parseJson<string[] | null>(row.required, null),
    properties: parseJson<Record<string, PropertyDefinition>>(row.json_schema, {}),
    createdAt: toDate(row.created_at), updatedAt: toDate(row.updated_at),
  };
}

export function objectToRow(namespaceId: number, object: MetadefObject) {
  return {
    namespace_id: namespaceId, name: object.name, description: object.description,
    required: object.required === null ? null : JSON.stringify(object.required),
    json_schema: JSON.stringify(object.properties), created_at: object.createdAt, updated_at: object.updatedAt,
  };
}

export function propertyFromRow(row: Selectable<MetadefPropertiesTable>): MetadefProperty {
  return {
    name: row.name, definition: parseJson<PropertyDefinition>(row.json_schema, {}),
    createdAt: toDate(row.created_at), updatedAt: toDate(row.updated_at),
  };
}

export function propertyToRow(namespaceId: number, property: MetadefProperty) {
  return {
    namespace_id: namespaceId, name: property.name, json_schema: JSON.stringify(property.definition),
    created_at: property.createdAt, updated_at: property.updatedAt,
  };
}

export function tagFromRow(row: Selectable<MetadefTagsTable>): MetadefTag {
  return { name: row.name, createdAt: toDate(row.created_at), updatedAt: toDate(row.updated_at) };
}

export function tagToRow(namespaceId: number, tag: MetadefTag) {
  return { namespace_id: namespaceId, name: tag.name, created_at: tag.createdAt, updated_at: tag.updatedAt };
}

export function resourceTypeFromRow(row: Selectable<MetadefResourceTypesTable>): ResourceType {
  return { name: row.name, protected: toBool(row.protected), createdAt: toDate(row.created_at),
    updatedAt: toDate(row.updated_at) };
}

export function associationFromRow(
  row: Pick<Selectable<MetadefNamespaceResourceTypesTable>, 'prefix' | 'properties_target' | 'created_at' | 'updated_at'>
    & { name: string },
): ResourceTypeAssociation {
  return {
    name: row.name, prefix: row.prefix, propertiesTarget: row.properties_target,
    createdAt: toDate(row.created_at), updatedAt: toDate(row.updated_at),
  };
}
