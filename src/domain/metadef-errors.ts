// The metadata-definition errors shared by the repository and the service, worded as Glance's API words them.
import { conflict, notFound } from './errors.ts';

export const metadefErrors = {
  namespaceNotFound: (name: string) =>
    notFound('Metadata definition namespace={name} was not found.', { name }, 'metadef.namespace_not_found'),
  /** What the sub-resource routes say for a namespace that is missing or hidden. */
  namespaceNotFoundShort: (name: string) => notFound('Namespace {name} not found', { name }, 'metadef.namespace_not_found'),
  duplicateNamespace: (name: string) =>
    conflict('The metadata definition namespace={name} already exists.', { name }, 'metadef.duplicate_namespace'),
  duplicateNamespaceOnUpdate: (name: string) => conflict('Invalid update. It would result in a duplicate metadata '
    + 'definition namespace with the same name of {name}', { name }, 'metadef.duplicate_namespace'),
  objectNotFound: (name: string) => notFound('Could not find metadata object {name}', { name }, 'metadef.object_not_found'),
  duplicateObject: (name: string, namespace: string) => conflict('A metadata definition object with name={name} '
    + 'already exists in namespace={namespace}.', { name, namespace }, 'metadef.duplicate_object'),
  duplicateObjectOnUpdate: (name: string, namespace: string) => conflict('Invalid update. It would result in a '
    + 'duplicate metadata definition object with the same name={name} in namespace={namespace}.',
  { name, namespace }, 'metadef.duplicate_object'),
  propertyNotFound: (name: string) => notFound('Could not find property {name}', { name }, 'metadef.property_not_found'),
  duplicateProperty: (name: string, namespace: string) => conflict('A metadata definition property with name={name} '
    + 'already exists in namespace={namespace}.', { name, namespace }, 'metadef.duplicate_property'),
  duplicatePropertyOnUpdate: (name: string, namespace: string) => conflict('Invalid update. It would result in a '
    + 'duplicate metadata definition property with the same name={name} in namespace={namespace}.',
  { name, namespace }, 'metadef.duplicate_property'),
  tagNotFound: (name: string) => notFound('Could not find metadata tag {name}', { name }, 'metadef.tag_not_found'),
  duplicateTag: (name: string, namespace: string) => conflict('A metadata tag with name={name} already exists in '
    + 'namespace={namespace}. (Please note that metadata tag names are case insensitive).',
  { name, namespace }, 'metadef.duplicate_tag'),
  duplicateAssociation: (resourceType: string, namespace: string) => conflict('The metadata definition resource-type '
    + 'association of resource-type={resourceType} to namespace={namespace} already exists.',
  { resourceType, namespace }, 'metadef.duplicate_association'),
  associationNotFound: (resourceType: string) => notFound('Failed to find resource type {resourceType} to delete',
    { resourceType }, 'metadef.association_not_found'),
};
