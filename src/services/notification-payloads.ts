// Notification payloads in the shapes Glance's notifier sends (glance/notifier.py): the fields,
// their order and formats, so consumers written for Glance read them unchanged. Times are Glance's
// `isotime`: seconds precision, UTC, a trailing Z. Image locations are never included (they may
// carry credentials).
import type { Image, ImageMember } from '../domain/image.ts';
import type {
  MetadefNamespace, MetadefObject, MetadefProperty, MetadefTag, PropertyDefinition, ResourceTypeAssociation,
} from '../domain/metadef.ts';
import type { Task } from '../domain/task.ts';

export function isotime(at: Date | null): string | null {
  return at === null ? null : `${at.toISOString().slice(0, 19)}Z`;
}

type Payload = Record<string, unknown>;

/** The fields every deleted-object payload overrides. */
export function deletedFields(now: Date): Payload {
  return { deleted: true, deleted_at: isotime(now) };
}

export function imagePayload(image: Image): Payload {
  return {
    id: image.id, name: image.name, status: image.status,
    created_at: isotime(image.createdAt), updated_at: isotime(image.updatedAt),
    min_disk: image.minDisk, min_ram: image.minRam, protected: image.protected, checksum: image.checksum,
    owner: image.owner, disk_format: image.diskFormat, container_format: image.containerFormat,
    size: image.size, virtual_size: image.virtualSize,
    is_public: image.visibility === 'public', visibility: image.visibility,
    properties: { ...image.properties }, tags: [...image.tags],
    deleted: false, deleted_at: null,
  };
}

/** Glance v1's times: its registry's JSON (oslo's PERFECT_TIME_FORMAT), microseconds, no zone. */
export function v1Time(at: Date | null): string | null {
  return at === null ? null : `${at.toISOString().slice(0, 23)}000`;
}

/**
 * Glance v1's image payload: the registry's image dict (glance.db.IMAGE_ATTRS plus properties) with
 * the location fields removed (redact_loc). No visibility, tags, os_hash_* or import fields.
 */
export function v1ImagePayload(image: Image): Payload {
  return {
    id: image.id, name: image.name, status: image.status, size: image.size, virtual_size: image.virtualSize,
    disk_format: image.diskFormat, container_format: image.containerFormat, min_disk: image.minDisk, min_ram: image.minRam,
    is_public: image.visibility === 'public', checksum: image.checksum, owner: image.owner, protected: image.protected,
    created_at: v1Time(image.createdAt), updated_at: v1Time(image.updatedAt), deleted_at: null, deleted: false,
    properties: { ...image.properties },
  };
}

/** image.prepare and image.upload add the import's store lists (and the target store, when named). */
export function importProgressFields(image: Image, backend?: string): Payload {
  const list = (value: string | null | undefined) => value ? value.split(',') : [];
  return {
    os_glance_importing_to_stores: list(image.properties.os_glance_importing_to_stores),
    os_glance_failed_import: list(image.properties.os_glance_failed_import),
    ...(backend === undefined ? {} : { backend }),
  };
}

export function imageSendPayload(image: Image, bytesSent: number, receiver: { projectId: string | null; userId: string | null }): Payload {
  return {
    bytes_sent: bytesSent, image_id: image.id, owner_id: image.owner,
    receiver_tenant_id: receiver.projectId, receiver_user_id: receiver.userId,
  };
}

export function memberPayload(member: ImageMember): Payload {
  return {
    image_id: member.imageId, member_id: member.memberId, status: member.status,
    created_at: isotime(member.createdAt), updated_at: isotime(member.updatedAt),
    deleted: false, deleted_at: null,
  };
}

/**
 * The task's input, result and message are left out, as Glance does (they may hold credentials).
 * A task without an expiry yet reports `now`, as Glance's isotime(None) does.
 */
export function taskPayload(task: Task, now = new Date()): Payload {
  return {
    id: task.id, type: task.type, status: task.status, result: null, owner: task.owner, message: null,
    expires_at: isotime(task.expiresAt ?? now), created_at: isotime(task.createdAt), updated_at: isotime(task.updatedAt),
    deleted: false, deleted_at: null,
  };
}

export function namespacePayload(ns: MetadefNamespace, oldName = ns.namespace): Payload {
  return {
    namespace: ns.namespace, namespace_old: oldName, display_name: ns.displayName, protected: ns.protected,
    visibility: ns.visibility, owner: ns.owner, description: ns.description,
    created_at: isotime(ns.createdAt), updated_at: isotime(ns.updatedAt), deleted: false, deleted_at: null,
  };
}

const schemaKeys = ['type', 'title', 'description', 'default', 'minimum', 'maximum', 'enum', 'pattern', 'minLength',
  'maxLength', 'confidential', 'items', 'uniqueItems', 'minItems', 'maxItems', 'additionalItems'] as const;

/** A property inside an object payload: Glance writes `value or None`, so falsy values become null. */
function objectPropertyPayload(name: string, definition: PropertyDefinition): Payload {
  return { name, ...Object.fromEntries(schemaKeys.map((k) => [k, definition[k] || null])) };
}

export function objectPayload(namespace: string, object: MetadefObject, oldName = object.name): Payload {
  return {
    namespace, name: object.name, name_old: oldName,
    properties: Object.entries(object.properties).map(([name, definition]) => objectPropertyPayload(name, definition)),
    required: object.required, description: object.description,
    created_at: isotime(object.createdAt), updated_at: isotime(object.updatedAt), deleted: false, deleted_at: null,
  };
}

/** A namespace property: the schema's values as they are (absent → null); no times, as in Glance. */
export function propertyPayload(namespace: string, property: MetadefProperty, oldName = property.name): Payload {
  const d = property.definition;
  return {
    namespace, name: property.name, name_old: oldName,
    ...Object.fromEntries(schemaKeys.map((k) => [k, d[k] ?? null])),
    deleted: false, deleted_at: null,
  };
}

export function tagPayload(namespace: string, tag: MetadefTag, oldName = tag.name): Payload {
  return {
    namespace, name: tag.name, name_old: oldName,
    created_at: isotime(tag.createdAt), updated_at: isotime(tag.updatedAt), deleted: false, deleted_at: null,
  };
}

export function resourceTypePayload(namespace: string, association: ResourceTypeAssociation): Payload {
  return {
    namespace, name: association.name, name_old: association.name, prefix: association.prefix,
    properties_target: association.propertiesTarget,
    created_at: isotime(association.createdAt), updated_at: isotime(association.updatedAt), deleted: false, deleted_at: null,
  };
}
